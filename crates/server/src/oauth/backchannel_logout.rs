//! Back-Channel Logout 1.0: when a session ends, every relying party it signed in to that
//! registered a `backchannel_logout_uri` is sent a logout token, in the background.

use idp_core::StoreError;
use idp_core::model::Session;
use idp_token_issuer::LogoutTokenClaims;

use crate::state::AppState;

/// Sends a logout token for `session` (already ended) to each of its relying parties that
/// registered a `backchannel_logout_uri`; the calls run in the background.
pub async fn notify(state: &AppState, session: &Session) -> Result<(), StoreError> {
    for client_id in state.stores.grants.clients_of_session(&session.sid).await? {
        let Some(client) = state.stores.clients.find_client(&client_id).await? else {
            continue;
        };
        let Some(uri) = client.metadata.backchannel_logout_uri.clone() else {
            continue;
        };
        let claims = LogoutTokenClaims::new(
            state.issuer(),
            &client.id,
            &state.subject_for(&client, &session.user_id),
            &session.sid,
            state.now(),
        );
        let token =
            match state
                .keys()
                .sign(client.id_token_signed_response_alg, "logout+jwt", &claims)
            {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(%error, "cannot sign a logout token");
                    continue;
                }
            };
        let http = if client.metadata.first_party {
            // Set up by an administrator: any address they chose.
            state.http.clone()
        } else {
            match super::outbound::public_client(&uri).await {
                Some(http) => http,
                None => {
                    tracing::warn!(client_id = %client.id, "back-channel logout URI does not resolve to a public address; not called");
                    continue;
                }
            }
        };
        tokio::spawn(async move {
            let sent = http
                .post(&uri)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::warn!(client_id = %client.id, status = %response.status(), "back-channel logout refused")
                }
                Err(error) => {
                    tracing::warn!(client_id = %client.id, error = %error.without_url(), "back-channel logout failed")
                }
            }
        });
    }
    Ok(())
}
