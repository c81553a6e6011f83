//! Page templates, compiled into the binary and auto-escaped.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::i18n::{self, Arg};

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    /// Every page, by file name.
    macro_rules! pages {
        ($($name:literal),* $(,)?) => {
            [$(($name, include_str!(concat!("../templates/", $name)))),*]
        };
    }
    let pages = pages!(
        "layout.html",
        "forms.html",
        "client.html",
        "passkey.html",
        "error.html",
        "front.html",
        "login.html",
        "pin.html",
        "locked.html",
        "signup.html",
        "pin_create.html",
        "signed_up.html",
        "help.html",
        "recover_choose.html",
        "reset_username.html",
        "reset_channel.html",
        "reset_password.html",
        "code.html",
        "second_factor.html",
        "add_app.html",
        "add_passkey.html",
        "account.html",
        "admin.html",
        "admin_person.html",
        "admin_keys.html",
        "admin_registration.html",
        "admin_audit.html",
        "admin_clients.html",
        "admin_client.html",
        "admin_client_created.html",
        "client_snippets.html",
        "console_step_up.html",
        "saved_codes.html",
        "consent.html",
        "logout.html",
        "signed_out.html",
        "form_post.html",
    );
    env.add_function("t", translate);
    for (name, source) in pages {
        if let Err(error) = env.add_template(name, source) {
            // Templates are compiled in; a broken one is caught by the tests that render it.
            tracing::error!(%error, name, "template does not compile");
        }
    }
    env
});

/// `t("message-id", name=value, ...)`: the message in the page's language.
fn translate(id: &str, kwargs: minijinja::value::Kwargs) -> Result<String, minijinja::Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: minijinja::Value = kwargs.get(name)?;
        let value = match i64::try_from(value.clone()) {
            Ok(n) if value.kind() == minijinja::value::ValueKind::Number => Arg::Number(n),
            _ => Arg::Text(value.to_string()),
        };
        args.push((name, value));
    }
    Ok(i18n::translate(i18n::current(), id, &args))
}

/// Renders a page with `status`, in the request's language (with the language switch). A
/// template failure is logged and shown as a plain error.
pub fn render(status: StatusCode, name: &str, context: impl Serialize) -> Response {
    let mut context = serde_json::to_value(context).unwrap_or_default();
    if let Some(fields) = context.as_object_mut() {
        fields.insert("lang".into(), i18n::current().code().into());
        fields.insert("languages".into(), i18n::switch());
        fields.insert("brand".into(), crate::brand::context());
    }
    let rendered = TEMPLATES
        .get_template(name)
        .and_then(|template| template.render(minijinja::value::Serde(context)));
    match rendered {
        Ok(body) => (status, Html(body)).into_response(),
        Err(error) => {
            tracing::error!(%error, name, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
        }
    }
}

pub fn page(name: &str, context: impl Serialize) -> Response {
    render(StatusCode::OK, name, context)
}

#[cfg(test)]
mod tests {
    /// Every page says which it is (`data-page`, through the layout's `page` block), so that
    /// tests and scripts find a page whatever its language and wording.
    #[test]
    fn every_page_names_itself() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/templates");
        let mut pages = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            if !source.contains("{% extends \"layout.html\" %}") {
                continue;
            }
            pages += 1;
            assert!(
                source.contains("{% block page %}"),
                "{} has no page id",
                path.display()
            );
        }
        assert!(pages > 10, "only {pages} pages found");
    }

    /// Every form's button has an `id` (`<page>-submit`, `<page>-cancel`, ...), so that
    /// browser automation (the OpenID conformance suite's scripts) can press it.
    #[test]
    fn every_button_has_an_id() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            for button in source.split("<button").skip(1) {
                let tag = &button[..button.find('>').unwrap()];
                assert!(
                    tag.contains(" id=\""),
                    "{}: a button without an id: <button{tag}>",
                    path.display()
                );
            }
        }
    }
}
