//! The administrators' part of `/admin` for clients (relying parties): the list, a new client
//! (checked as `idp client create` checks one; its secret shown once), and for each its
//! redirect and logout URIs, a new secret, or disabling it. Each change asks for a reason,
//! kept in the audit log with the client.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use idp_core::model::{Client, TokenEndpointAuthMethod};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Console, DoneQuery, Intent, admit, after_change, no_store};
use crate::error::PageError;
use crate::i18n::{FieldError, Text, when};
use crate::staff::{Acting, ClientRefusal};
use crate::state::AppState;
use crate::web::client_info::ClientInfo;
use crate::web::csrf;
use crate::web::extract::CsrfForm;

/// The list's path.
const LIST: &str = "/admin/applications";

/// One URI a line; blank lines dropped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn shown(client: &Client, state: &AppState) -> Value {
    let now = state.now();
    let zone = state.settings.time_zone();
    json!({
        "id": client.id,
        "name": client.name,
        "method": client.token_endpoint_auth_method.as_str(),
        "has_secret": matches!(
            client.token_endpoint_auth_method,
            TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
        ),
        "admin": client.admin,
        "disabled": client.metadata.disabled,
        "created_at": when::moment(client.created_at, now, zone),
        "redirect_uris": client.redirect_uris.join("\n"),
        "post_logout_redirect_uris": client.metadata.post_logout_redirect_uris.join("\n"),
    })
}

/// GET `/admin/applications`: every client, and the form for a new one.
pub async fn list(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
) -> Result<Response, PageError> {
    let (jar, _) = admitted!(admit(&state, jar, &from, Console::Operations, Intent::Look).await);
    list_page(&state, jar, StatusCode::OK, &NewForm::default(), None).await
}

async fn list_page(
    state: &AppState,
    jar: CookieJar,
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
        .map(|c| shown(c, state))
        .collect();
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_clients.html",
        json!({ "clients": clients, "form": form, "error": error }),
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
    /// `confidential` (a secret) or `public` (PKCE, no secret).
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

/// POST `/admin/applications`: registers the client; its id and secret, shown this once.
pub async fn create(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    CsrfForm(form): CsrfForm<NewForm>,
) -> Result<Response, PageError> {
    let (jar, staff) =
        admitted!(admit(&state, jar, &from, Console::Operations, Intent::Change).await);
    let refused = |field, text: Text| Some(FieldError::on(field, text));
    let reason = form.reason.trim();
    let problem = match super::reason_problem(reason) {
        Some(key) => refused("reason", Text::new(key)),
        None if !matches!(form.kind.as_str(), "confidential" | "public") => {
            refused("kind", Text::new("console-clients-kind"))
        }
        None => None,
    };
    if let Some(error) = problem {
        return list_page(&state, jar, StatusCode::BAD_REQUEST, &form, Some(error)).await;
    }
    let (redirect_uris, logout_uris) = (
        lines(&form.redirect_uris),
        lines(&form.post_logout_redirect_uris),
    );
    let person = crate::cli_person::ClientPersonArgs::default();
    let links = crate::cli::LinkArgs::default();
    let new = crate::cli::NewClient {
        name: &form.name,
        redirect_uris: &redirect_uris,
        post_logout_redirect_uris: &logout_uris,
        backchannel_logout_uri: None,
        public: form.kind == "public",
        admin: false,
        third_party: false,
        resource_server: false,
        auth_method: "client_secret_basic",
        id_token_alg: "ES256",
        person: &person,
        jwks: None,
        jwks_uri: None,
        request_uris: &[],
        links: &links,
        fapi2: false,
    };
    let made = match crate::cli::create_client(&state, new).await {
        Ok(made) => made,
        Err(refusal) => {
            let why = Text::new("console-clients-refused").with("why", refusal.0);
            let error = refused("redirect_uris", why);
            return list_page(&state, jar, StatusCode::BAD_REQUEST, &form, error).await;
        }
    };
    let id = made["client_id"].as_str().unwrap_or_default().to_owned();
    let by = staff.actor();
    let acting = Acting {
        by: &by,
        reason: Some(reason),
        from: &from,
    };
    crate::staff::client_created(&state, &id, &acting).await;
    Ok(no_store(csrf::form_page(
        &state,
        jar,
        StatusCode::CREATED,
        "admin_client_created.html",
        json!({
            "client_id": id,
            "client_secret": made.get("client_secret"),
            "issuer": state.issuer(),
        }),
    )))
}

/// GET `/admin/applications/{id}`.
pub async fn page(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let (jar, _) = admitted!(admit(&state, jar, &from, Console::Operations, Intent::Look).await);
    let notice = query.done.as_deref().and_then(|done| {
        Some(Text::new(match done {
            "uris" => "console-clients-uris-changed",
            "disable" => "console-clients-disabled",
            _ => return None,
        }))
    });
    client_page(&state, jar, &id, StatusCode::OK, notice, None, None).await
}

async fn client_page(
    state: &AppState,
    jar: CookieJar,
    id: &str,
    status: StatusCode,
    notice: Option<Text>,
    error: Option<FieldError>,
    secret: Option<String>,
) -> Result<Response, PageError> {
    let clients = state.stores.clients.list_clients().await?;
    let client = clients
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| PageError::NotFound(Text::new("console-clients-none")))?;
    Ok(no_store(csrf::form_page(
        state,
        jar,
        status,
        "admin_client.html",
        json!({
            "client": shown(client, state),
            "notice": notice.map(|n| n.words()),
            "error": error,
            "secret": secret,
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
pub async fn change(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> Result<Response, PageError> {
    if !["uris", "rotate-secret", "disable"].contains(&action.as_str()) {
        return Err(PageError::NotFound(Text::new("error-not-found")));
    }
    let (jar, staff) =
        admitted!(admit(&state, jar, &from, Console::Operations, Intent::Change).await);
    let reason = form.reason.trim();
    if let Some(key) = super::reason_problem(reason) {
        let error = FieldError::on("reason", Text::new(key));
        return client_page(
            &state,
            jar,
            &id,
            StatusCode::BAD_REQUEST,
            None,
            Some(error),
            None,
        )
        .await;
    }
    let by = staff.actor();
    let acting = Acting {
        by: &by,
        reason: Some(reason),
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
        _ => crate::staff::disable_client(&state, &id, &acting)
            .await
            .map(|_| None),
    };
    match done {
        // The new secret is shown on this answer only, never stored where it could be read.
        Ok(Some(secret)) => {
            let notice = Text::new("console-clients-secret-rotated");
            client_page(
                &state,
                jar,
                &id,
                StatusCode::OK,
                Some(notice),
                None,
                Some(secret),
            )
            .await
        }
        Ok(None) => Ok(after_change(&format!("{LIST}/{id}?done={action}"))),
        Err(ClientRefusal::Missing) => Err(PageError::NotFound(Text::new("console-clients-none"))),
        Err(ClientRefusal::Uri(why)) => {
            let text = Text::new("console-clients-refused").with("why", why);
            let error = FieldError::on("redirect_uris", text);
            client_page(
                &state,
                jar,
                &id,
                StatusCode::BAD_REQUEST,
                None,
                Some(error),
                None,
            )
            .await
        }
        Err(ClientRefusal::NoSecret) => {
            let error = FieldError::general(Text::new("console-clients-no-secret"));
            client_page(
                &state,
                jar,
                &id,
                StatusCode::CONFLICT,
                None,
                Some(error),
                None,
            )
            .await
        }
        Err(ClientRefusal::Store(error)) => Err(error.into()),
    }
}
