//! The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2): checks the request,
//! answers from the SSO session when it can, and otherwise starts the sign-in.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum_extra::extract::CookieJar;

use idp_core::OAuthError;
use idp_oauth::authorization_request::{self, Rejection, RequestProblem};
use idp_oauth::authorization_response::AuthorizationResponse;
use idp_signin::SignIn;

use crate::error::PageError;
use crate::i18n::Text;
use crate::oauth::id_token_hint;
use crate::oauth::interaction::Interaction;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;

pub async fn authorize_get(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes())?;
    authorize(state, jar, from, pairs).await
}

/// OpenID Connect Core §3.1.2.1: the endpoint also takes form posts.
pub async fn authorize_post(
    State(state): State<AppState>,
    jar: CookieJar,
    from: ClientInfo,
    body: Bytes,
) -> Result<Response, PageError> {
    let pairs = parse_pairs(&body)?;
    authorize(state, jar, from, pairs).await
}

fn parse_pairs(raw: &[u8]) -> Result<Vec<(String, String)>, PageError> {
    // form_urlencoded replaces invalid UTF-8 with U+FFFD; refuse such input outright instead.
    if std::str::from_utf8(raw).is_err() {
        return Err(PageError::bad_request(
            "authorize-refused-title",
            Text::new("authorize-not-utf8"),
        ));
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw).into_owned().collect();
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}'))
    {
        return Err(PageError::bad_request(
            "authorize-refused-title",
            Text::new("authorize-not-utf8"),
        ));
    }
    Ok(pairs)
}

async fn authorize(
    state: AppState,
    jar: CookieJar,
    from: ClientInfo,
    pairs: Vec<(String, String)>,
) -> Result<Response, PageError> {
    let (pairs, arrival) = super::par::resolve(&state, pairs).await?;
    if pairs
        .iter()
        .any(|(name, value)| name == "request_uri" && !value.is_empty())
    {
        // The provider is about to call the address the request names: counted per address,
        // whatever the answer, so no one turns it into a caller of other people's servers.
        let action = crate::throttle::Action::RequestUriFetch;
        if let crate::throttle::Verdict::Wait(seconds) =
            crate::throttle::per_ip(&state, action, from.ip()).await?
        {
            return Err(PageError::TooMany(seconds));
        }
    }
    let clients = state.stores.clients.as_ref();
    let checked = match crate::oauth::request_objects::resolve(&state, pairs).await {
        Ok(pairs) => {
            // Read from the request as its request object left it: values inside win.
            let hint = pairs
                .iter()
                .find(|(name, value)| name == "id_token_hint" && !value.is_empty())
                .map(|(_, value)| value.clone());
            authorization_request::check(pairs, clients, arrival, state.protocol())
                .await
                .map(|(request, client)| (request, client, hint))
        }
        Err(rejection) => Err(rejection),
    };
    let (mut request, client, hint) = match checked {
        Ok(checked) => checked,
        Err(Rejection::Page(problem)) => {
            return Err(PageError::bad_request(
                "authorize-refused-title",
                problem.into(),
            ));
        }
        Err(Rejection::Redirect {
            redirect_uri,
            state: rp_state,
            mode,
            error,
        }) => {
            let answer = AuthorizationResponse::error(
                &redirect_uri,
                mode,
                rp_state.as_deref(),
                &error,
                state.issuer(),
            );
            return crate::web::authorization_response::respond(&answer);
        }
        Err(Rejection::Store(error)) => return Err(error.into()),
    };
    // The browser's session, once looked up: the hint and the sign-in both ask for it.
    let mut looked_up = None;
    if let Some(hint) = hint {
        // OpenID Connect Core §3.1.2.1: an ID token this provider issued to this client; the
        // sign-in machine decides what the person it names may reuse.
        let Some(sub) = id_token_hint::hinted_subject(&state, &client, &hint) else {
            let error = OAuthError::invalid_request(
                "id_token_hint is not an ID token this provider issued to this client",
            );
            let answer = AuthorizationResponse::error(
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                &error,
                state.issuer(),
            );
            return crate::web::authorization_response::respond(&answer);
        };
        let found = looked_up.insert(crate::session::current(&state, &jar).await?);
        request.hinted_user = Some(id_token_hint::hinted_user(
            &state,
            &client,
            sub,
            found.as_ref(),
        ));
    }
    // A `sub` asked for with a value in the ID token names the person as a hint does (OpenID
    // Connect Core §3.1.2.2, §5.5.1): only their session answers.
    let claimed_sub = request
        .claims
        .as_ref()
        .and_then(|claims| claims.id_token.get("sub"))
        .and_then(|sub| sub.value.as_ref())
        .and_then(|value| value.as_str())
        .map(str::to_owned);
    if request.hinted_user.is_none()
        && let Some(sub) = claimed_sub
    {
        let found = looked_up.insert(crate::session::current(&state, &jar).await?);
        request.hinted_user = Some(id_token_hint::hinted_user(
            &state,
            &client,
            sub,
            found.as_ref(),
        ));
    }
    let mut interaction = Interaction::new(
        state.now(),
        String::new(),
        request,
        client.name.clone(),
        SignIn::AwaitingPassword { recover: false },
    );
    interaction.client_links = client.metadata.links.clone();
    let session = match looked_up {
        Some(found) => found,
        None => crate::session::current(&state, &jar).await?,
    };
    crate::routes::sign_in::steps::begin(&state, jar, session, interaction, &client, &from).await
}

/// The words for a request whose client or redirect URI cannot be trusted.
impl From<RequestProblem> for Text {
    fn from(problem: RequestProblem) -> Self {
        Text::new(match problem {
            RequestProblem::TwoClients => "authorize-two-clients",
            RequestProblem::NoClient => "authorize-no-client",
            RequestProblem::UnknownClient => "authorize-unknown-client",
            RequestProblem::TwoRedirectUris => "authorize-two-redirects",
            RequestProblem::NoRedirectUri => "authorize-no-redirect",
            RequestProblem::UnknownRedirectUri => "authorize-unknown-redirect",
            RequestProblem::BadRequestObject => "authorize-bad-request-object",
        })
    }
}
