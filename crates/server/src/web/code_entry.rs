//! The one screen where a person types a one-time code: a new device, PIN recovery (with
//! security questions when set), a new contact on the account page. One template and one way
//! of saying what went wrong, so the screens cannot drift apart.

use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Serialize;
use serde_json::json;

use crate::i18n::{FieldError, Text};
use crate::state::AppState;
use crate::web::csrf;

/// How the person asks for another code.
pub enum Resend {
    /// A button that posts to this path.
    Post(String),
    /// A link to this page (where the channel is chosen again).
    Link(String),
    /// None here: a link back to this page instead.
    Back(String),
}

/// Which code screen this is; its page id (`data-page`) is this, then `-code`.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CodePage {
    /// A browser the person has not used before.
    Device,
    /// PIN recovery.
    Recovery,
    /// A forgotten password's reset.
    Reset,
    /// A new contact on the account page.
    Contact,
}

/// What a code screen says and where it posts.
pub struct CodeScreen {
    pub page: CodePage,
    pub title: Text,
    /// Where the code went, as a sentence.
    pub hint: Text,
    pub action: String,
    pub submit: Text,
    pub resend: Resend,
    /// Security questions asked with the code: `(field, question)`.
    pub questions: Vec<(String, Text)>,
    /// Where a code from the person's authenticator app (field `otp`) may be posted instead.
    pub app: Option<String>,
    /// A passkey ceremony that may stand in for the code (`web::passkey::ceremony`).
    pub passkey: Option<serde_json::Value>,
    /// The sign-in's way back to the relying party (`web::sign_in::cancel`), on its pages.
    pub cancel: Option<serde_json::Value>,
}

impl CodeScreen {
    pub fn render(
        self,
        state: &AppState,
        jar: CookieJar,
        status: StatusCode,
        error: Option<FieldError>,
    ) -> Response {
        let (resend_form, resend_link, back) = match self.resend {
            Resend::Post(path) => (Some(path), None, None),
            Resend::Link(path) => (None, Some(path), None),
            Resend::Back(path) => (None, None, Some(path)),
        };
        let questions: Vec<_> = self
            .questions
            .into_iter()
            .map(|(field, text)| json!({ "field": field, "text": text }))
            .collect();
        let response = csrf::form_page(
            state,
            jar,
            status,
            "code.html",
            json!({
                "page": self.page,
                "title": self.title,
                "hint": self.hint,
                "action": self.action,
                "submit": self.submit,
                "resend_form": resend_form,
                "resend_link": resend_link,
                "back": back,
                "questions": questions,
                "app": self.app,
                "passkey": self.passkey.clone(),
                "cancel": self.cancel,
                "error": error,
            }),
        );
        if self.passkey.is_some() {
            crate::web::passkey::allow(response)
        } else {
            response
        }
    }
}

/// What a wrong code (or a wrong answer beside it) is told, the same on every screen.
pub fn wrong_code(tries_left: u32, with_questions: bool) -> FieldError {
    FieldError::on(
        "code",
        match (tries_left, with_questions) {
            (0, false) => Text::new("code-wrong-last"),
            (0, true) => Text::new("code-or-answer-wrong-last"),
            (n, false) => Text::new("code-wrong").count("tries", i64::from(n)),
            (n, true) => Text::new("code-or-answer-wrong").count("tries", i64::from(n)),
        },
    )
}
