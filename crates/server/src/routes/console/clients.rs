//! Clients (relying parties) in the consoles: administrators see and manage every client at
//! `/admin/applications`, developers their own at `/developer` (SPEC "Consoles"). One list,
//! one form and one page serve both; only whose clients, the path, and what a change needs
//! differ ([`Scope`]). A new client is checked as `idp client create` checks one, its secret
//! shown once; then its redirect and logout URIs change, its secret is replaced, and an
//! administrator disables it or a developer deletes it. Every change is audited with the
//! client; an administrator's also asks for a reason.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{Client, TokenEndpointAuthMethod};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client_options::AdminOptions;
use super::{Console, DoneQuery, Intent, Staff, admit, after_change, no_store};
use crate::error::PageError;
use crate::i18n::{FieldError, Text, when};
use crate::staff::{Acting, ClientRefusal};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::CsrfForm;

/// Whose clients a page manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every client: administrators.
    All,
    /// The developer's own.
    Own,
}

impl Scope {
    fn console(self) -> Console {
        match self {
            Self::All => Console::Operations,
            Self::Own => Console::Developer,
        }
    }

    /// The list's path; a client's page is below it.
    fn base(self) -> &'static str {
        match self {
            Self::All => "/admin/applications",
            Self::Own => "/developer/clients",
        }
    }

    /// Whether `staff` manages `client` here.
    fn covers(self, staff: &Staff, client: &Client) -> bool {
        match self {
            Self::All => true,
            Self::Own => client.metadata.owner.as_deref() == Some(staff.user.id.as_str()),
        }
    }

    /// The authentication methods a new client may use here: mutual TLS, which needs the
    /// deployment's proxy set up for it, only from administrators.
    fn methods(self) -> &'static [&'static str] {
        const METHODS: [&str; 6] = [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
            "tls_client_auth",
            "self_signed_tls_client_auth",
        ];
        match self {
            Self::All => &METHODS,
            Self::Own => &METHODS[..4],
        }
    }

    /// The reason given, or why it is refused: administrators give one; a developer changing
    /// their own client may.
    fn reason(self, given: &str) -> Result<Option<&str>, &'static str> {
        let given = given.trim();
        match (self, super::reason_problem(given)) {
            (_, None) => Ok(Some(given)),
            (Self::Own, Some(_)) if given.is_empty() => Ok(None),
            (_, Some(problem)) => Err(problem),
        }
    }
}

/// One URI a line; blank lines dropped.
pub(super) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn has_secret(client: &Client) -> bool {
    matches!(
        client.token_endpoint_auth_method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    )
}

fn shown(client: &Client, state: &AppState) -> Value {
    let now = state.now();
    let zone = state.settings.time_zone();
    json!({
        "id": client.id,
        "name": client.name,
        "method": client.token_endpoint_auth_method.as_str(),
        "has_secret": has_secret(client),
        "disabled": client.metadata.disabled,
        "created_at": when::moment(client.created_at, now, zone),
        "redirect_uris": client.redirect_uris.join("\n"),
        "first_redirect_uri": client.redirect_uris.first(),
        "post_logout_redirect_uris": client.metadata.post_logout_redirect_uris.join("\n"),
    })
}

/// What every page of the scope's templates needs.
fn frame(scope: Scope) -> Value {
    json!({
        "base": scope.base(),
        "developer": scope == Scope::Own,
        "console": scope.console().path(),
        "methods": scope.methods(),
    })
}

/// GET `/admin/applications`.
pub async fn admin_list(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
) -> Result<Response, PageError> {
    list(state, jar, from, Scope::All).await
}

/// GET `/developer`.
pub async fn developer_list(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
) -> Result<Response, PageError> {
    list(state, jar, from, Scope::Own).await
}

async fn list(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    scope: Scope,
) -> Result<Response, PageError> {
    let (jar, staff) = admitted!(admit(&state, jar, &from, scope.console(), Intent::Look).await);
    let form = NewForm::default();
    list_page(&state, jar, scope, &staff, StatusCode::OK, &form, None).await
}

async fn list_page(
    state: &AppState,
    jar: CookieJar,
    scope: Scope,
    staff: &Staff,
    status: StatusCode,
    form: &NewForm,
    error: Option<FieldError>,
) -> Result<Response, PageError> {
    let clients: Vec<Value> = state
        .stores
        .clients
        .list_clients()
        .await?
        .iter()
        .filter(|c| scope.covers(staff, c))
        .map(|c| shown(c, state))
        .collect();
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_clients.html",
        json!({ "clients": clients, "form": form, "error": error, "scope": frame(scope) }),
    )))
}

/// A new client, as the form sends it.
#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct NewForm {
    #[serde(default)]
    name: String,
    /// One a line.
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`, or `none` (a public
    /// client: PKCE, no secret).
    #[serde(default)]
    method: String,
    /// A JWK Set (JSON), for `private_key_jwt`.
    #[serde(default)]
    jwks: String,
    #[serde(default)]
    jwks_uri: String,
    #[serde(default)]
    reason: String,
    /// Read for administrators only.
    #[serde(flatten)]
    more: AdminOptions,
}

/// POST `/admin/applications`.
pub async fn admin_create(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    form: CsrfForm<NewForm>,
) -> Result<Response, PageError> {
    create(state, jar, from, form, Scope::All).await
}

/// POST `/developer/clients`.
pub async fn developer_create(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    form: CsrfForm<NewForm>,
) -> Result<Response, PageError> {
    create(state, jar, from, form, Scope::Own).await
}

/// Registers the client; its id and secret (shown this once) and ready configuration.
async fn create(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(form): CsrfForm<NewForm>,
    scope: Scope,
) -> Result<Response, PageError> {
    let (jar, staff) = admitted!(admit(&state, jar, &from, scope.console(), Intent::Change).await);
    let refused = |field, text: Text| Some(FieldError::on(field, text));
    let reason = scope.reason(&form.reason);
    // A developer's client is a third party, and takes none of the administrators' options.
    let chosen = match scope {
        Scope::All => form.more.chosen(),
        Scope::Own => AdminOptions {
            third_party: "on".into(),
            ..AdminOptions::default()
        }
        .chosen(),
    };
    let problem = match (reason, &chosen) {
        (Err(key), _) => refused("reason", Text::new(key)),
        _ if !scope.methods().contains(&form.method.as_str()) => {
            refused("method", Text::new("console-clients-method-choose"))
        }
        (_, Err((field, key))) => refused(field, Text::new(key)),
        _ => None,
    };
    let (Some(reason), Ok(chosen), None) = (reason.ok(), chosen, problem.as_ref()) else {
        let status = StatusCode::BAD_REQUEST;
        return list_page(&state, jar, scope, &staff, status, &form, problem).await;
    };
    let (redirect_uris, logout_uris) = (
        lines(&form.redirect_uris),
        lines(&form.post_logout_redirect_uris),
    );
    let owner = (scope == Scope::Own).then_some(staff.user.id.as_str());
    let new = crate::cli::NewClient {
        name: &form.name,
        redirect_uris: &redirect_uris,
        post_logout_redirect_uris: &logout_uris,
        backchannel_logout_uri: given(&form.backchannel_logout_uri),
        public: form.method == "none",
        admin: chosen.admin,
        third_party: chosen.third_party,
        resource_server: chosen.resource_server,
        auth_method: &form.method,
        id_token_alg: chosen.id_token_alg,
        person: &chosen.person,
        jwks: given(&form.jwks),
        jwks_uri: given(&form.jwks_uri),
        request_uris: &chosen.request_uris,
        links: &chosen.links,
        fapi2: chosen.fapi2,
        owner,
    };
    let made = match crate::cli::create_client(&state, new).await {
        Ok(made) => made,
        Err(refusal) => {
            let why = Text::new("console-clients-refused").with("why", refusal.0);
            let error = refused("redirect_uris", why);
            let status = StatusCode::BAD_REQUEST;
            return list_page(&state, jar, scope, &staff, status, &form, error).await;
        }
    };
    let id = made["client_id"].as_str().unwrap_or_default().to_owned();
    let by = staff.actor();
    let acting = Acting {
        by: &by,
        reason,
        from: &from,
    };
    crate::staff::client_created(&state, &id, &acting).await;
    let mut context = json!({
        "client_id": id,
        "client_secret": made.get("client_secret"),
        "issuer": state.issuer(),
        "redirect_uri": redirect_uris.first(),
        "scope": frame(scope),
    });
    context["snippets"] = snippets(
        state.issuer(),
        &id,
        redirect_uris.first(),
        has_secret_method(&form.method),
    );
    Ok(no_store(csrf::form_page(
        &state,
        jar,
        StatusCode::CREATED,
        "admin_client_created.html",
        context,
    )))
}

/// A field given, trimmed; `None` when left empty.
pub(super) fn given(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

fn has_secret_method(method: &str) -> bool {
    matches!(method, "client_secret_basic" | "client_secret_post")
}

/// Ready configuration for the `openidconnect` crate and for `openid-client` (JavaScript):
/// the issuer, the client id and the first redirect URI filled in, the secret read from the
/// environment (never written into code).
fn snippets(issuer: &str, client_id: &str, redirect: Option<&String>, secret: bool) -> Value {
    let redirect = redirect.map_or("https://your.app/callback", String::as_str);
    let rust_secret = if secret {
        "Some(ClientSecret::new(std::env::var(\"CLIENT_SECRET\")?))"
    } else {
        "None"
    };
    let js_secret = if secret {
        ", process.env.CLIENT_SECRET"
    } else {
        ""
    };
    let rust = format!(
        "use openidconnect::core::{{CoreClient, CoreProviderMetadata}};\n\
         use openidconnect::{{ClientId, ClientSecret, IssuerUrl, RedirectUrl}};\n\n\
         let provider = CoreProviderMetadata::discover_async(\n    \
         IssuerUrl::new(\"{issuer}\".to_string())?,\n    &http_client,\n).await?;\n\
         let client = CoreClient::from_provider_metadata(\n    provider,\n    \
         ClientId::new(\"{client_id}\".to_string()),\n    {rust_secret},\n)\n\
         .set_redirect_uri(RedirectUrl::new(\"{redirect}\".to_string())?);\n\
         // Ask for the scopes \"openid\" (and \"email\", \"profile\" as needed), with PKCE.\n"
    );
    let js = format!(
        "import * as oidc from \"openid-client\";\n\n\
         const config = await oidc.discovery(\n  new URL(\"{issuer}\"),\n  \
         \"{client_id}\"{js_secret},\n);\n\
         // redirect_uri: \"{redirect}\"; scope: \"openid\"; with PKCE (S256).\n"
    );
    json!({ "rust": rust, "js": js })
}

/// GET `/admin/applications/{id}`.
pub async fn admin_page(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    id: Path<String>,
    query: Query<DoneQuery>,
) -> Result<Response, PageError> {
    page(state, jar, from, id, query, Scope::All).await
}

/// GET `/developer/clients/{id}`.
pub async fn developer_page(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    id: Path<String>,
    query: Query<DoneQuery>,
) -> Result<Response, PageError> {
    page(state, jar, from, id, query, Scope::Own).await
}

async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
    scope: Scope,
) -> Result<Response, PageError> {
    let (jar, staff) = admitted!(admit(&state, jar, &from, scope.console(), Intent::Look).await);
    let notice = query.done.as_deref().and_then(|done| {
        Some(Text::new(match done {
            "uris" => "console-clients-uris-changed",
            "disable" => "console-clients-disabled",
            _ => return None,
        }))
    });
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    client_page(&state, jar, scope, &staff, &id, StatusCode::OK, shown).await
}

/// What a client's page shows beside the client.
#[derive(Default)]
struct Shown {
    notice: Option<Text>,
    error: Option<FieldError>,
    /// A new secret, shown on this answer only.
    secret: Option<String>,
}

async fn client_page(
    state: &AppState,
    jar: CookieJar,
    scope: Scope,
    staff: &Staff,
    id: &str,
    status: StatusCode,
    shown_too: Shown,
) -> Result<Response, PageError> {
    let clients = state.stores.clients.list_clients().await?;
    let client = clients
        .iter()
        .find(|c| c.id == id && scope.covers(staff, c))
        .ok_or_else(|| PageError::NotFound(Text::new("console-clients-none")))?;
    let first = client.redirect_uris.first();
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_client.html",
        json!({
            "client": shown(client, state),
            "notice": shown_too.notice.map(|n| n.words()),
            "error": shown_too.error,
            "secret": shown_too.secret,
            "scope": frame(scope),
            "snippets": snippets(state.issuer(), &client.id, first, has_secret(client)),
        }),
    )))
}

/// A change to one client, as its form sends it.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    reason: String,
}

/// POST `/admin/applications/{id}/uris`, `.../rotate-secret` and `.../disable`.
pub async fn admin_change(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    path: Path<(String, String)>,
    form: CsrfForm<ChangeForm>,
) -> Result<Response, PageError> {
    change(state, jar, from, path, form, Scope::All).await
}

/// POST `/developer/clients/{id}/uris`, `.../rotate-secret` and `.../delete`.
pub async fn developer_change(
    state: State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    path: Path<(String, String)>,
    form: CsrfForm<ChangeForm>,
) -> Result<Response, PageError> {
    change(state, jar, from, path, form, Scope::Own).await
}

async fn change(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ChangeForm>,
    scope: Scope,
) -> Result<Response, PageError> {
    let ends = match scope {
        Scope::All => "disable",
        Scope::Own => "delete",
    };
    if !["uris", "rotate-secret", ends].contains(&action.as_str()) {
        return Err(PageError::NotFound(Text::new("error-not-found")));
    }
    let (jar, staff) = admitted!(admit(&state, jar, &from, scope.console(), Intent::Change).await);
    // Another developer's client is no more there than one that does not exist.
    let clients = state.stores.clients.list_clients().await?;
    if !clients
        .iter()
        .any(|c| c.id == id && scope.covers(&staff, c))
    {
        return Err(PageError::NotFound(Text::new("console-clients-none")));
    }
    let reason = match scope.reason(&form.reason) {
        Ok(reason) => reason,
        Err(key) => {
            let error = Some(FieldError::on("reason", Text::new(key)));
            let shown = Shown {
                error,
                ..Shown::default()
            };
            let status = StatusCode::BAD_REQUEST;
            return client_page(&state, jar, scope, &staff, &id, status, shown).await;
        }
    };
    let by = staff.actor();
    let acting = Acting {
        by: &by,
        reason,
        from: &from,
    };
    let done = match action.as_str() {
        "uris" => crate::staff::set_client_uris(
            &state,
            &id,
            lines(&form.redirect_uris),
            lines(&form.post_logout_redirect_uris),
            &acting,
        )
        .await
        .map(|()| None),
        "rotate-secret" => crate::staff::rotate_client_secret(&state, &id, &acting)
            .await
            .map(Some),
        "delete" => {
            return match crate::staff::delete_client(&state, &id, &acting).await {
                Ok(()) => Ok(after_change(&format!(
                    "{}?done=deleted",
                    scope.console().path()
                ))),
                Err(ClientRefusal::Store(error)) => Err(error.into()),
                Err(_) => Err(PageError::NotFound(Text::new("console-clients-none"))),
            };
        }
        _ => crate::staff::disable_client(&state, &id, &acting)
            .await
            .map(|_| None),
    };
    let answer = |status, shown| client_page(&state, jar, scope, &staff, &id, status, shown);
    match done {
        // The new secret is shown on this answer only, never stored where it could be read.
        Ok(Some(secret)) => {
            let shown = Shown {
                notice: Some(Text::new("console-clients-secret-rotated")),
                secret: Some(secret),
                ..Shown::default()
            };
            answer(StatusCode::OK, shown).await
        }
        Ok(None) => Ok(after_change(&format!(
            "{}/{id}?done={action}",
            scope.base()
        ))),
        Err(ClientRefusal::Missing) => Err(PageError::NotFound(Text::new("console-clients-none"))),
        Err(ClientRefusal::Uri(why)) => {
            let text = Text::new("console-clients-refused").with("why", why);
            let shown = Shown {
                error: Some(FieldError::on("redirect_uris", text)),
                ..Shown::default()
            };
            answer(StatusCode::BAD_REQUEST, shown).await
        }
        Err(ClientRefusal::NoSecret) => {
            let shown = Shown {
                error: Some(FieldError::general(Text::new("console-clients-no-secret"))),
                ..Shown::default()
            };
            answer(StatusCode::CONFLICT, shown).await
        }
        Err(ClientRefusal::Store(error)) => Err(error.into()),
    }
}
