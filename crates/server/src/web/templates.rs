//! Page templates, compiled into the binary and auto-escaped.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    let pages: [(&str, &str); 11] = [
        ("layout.html", include_str!("../templates/layout.html")),
        ("error.html", include_str!("../templates/error.html")),
        ("login.html", include_str!("../templates/login.html")),
        ("pin.html", include_str!("../templates/pin.html")),
        ("locked.html", include_str!("../templates/locked.html")),
        ("signup.html", include_str!("../templates/signup.html")),
        (
            "pin_create.html",
            include_str!("../templates/pin_create.html"),
        ),
        (
            "signed_up.html",
            include_str!("../templates/signed_up.html"),
        ),
        ("help.html", include_str!("../templates/help.html")),
        (
            "recover_choose.html",
            include_str!("../templates/recover_choose.html"),
        ),
        (
            "recover_code.html",
            include_str!("../templates/recover_code.html"),
        ),
    ];
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
