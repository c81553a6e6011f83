//! Page templates, compiled into the binary and auto-escaped.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

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
        "error.html",
        "login.html",
        "pin.html",
        "locked.html",
        "signup.html",
        "pin_create.html",
        "signed_up.html",
        "help.html",
        "recover_choose.html",
        "recover_code.html",
        "account.html",
        "account_code.html",
        "device.html",
        "consent.html",
        "logout.html",
        "signed_out.html",
    );
    for (name, source) in pages {
        if let Err(error) = env.add_template(name, source) {
            // Templates are compiled in; a broken one is caught by the tests that render it.
            tracing::error!(%error, name, "template does not compile");
        }
    }
    env
});

/// Renders a page with `status`. A template failure is logged and shown as a plain error.
pub fn render(status: StatusCode, name: &str, context: impl Serialize) -> Response {
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
