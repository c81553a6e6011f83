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
            &session.user_id,
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
            match public_client(&uri).await {
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

/// An HTTP client that reaches `uri`'s host only at the public address it resolves to now, so
/// a later DNS answer cannot point the request into the provider's own network.
async fn public_client(uri: &str) -> Option<reqwest::Client> {
    use idp_oauth::client_metadata::is_public_address;
    let url = url::Url::parse(uri).ok()?;
    // An IPv6 literal without its brackets, as the resolver takes it.
    let host = match url.host()? {
        url::Host::Domain(name) => name.to_owned(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    let port = url.port_or_known_default()?;
    let addresses: Vec<_> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()?
        .collect();
    let address = *addresses.first()?;
    if addresses.iter().any(|a| !is_public_address(a.ip())) {
        return None;
    }
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, address)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::public_client;

    #[tokio::test]
    async fn a_registered_logout_uri_is_called_only_where_it_resolves_to_public_addresses() {
        // Names are resolved when the call is made: `localhost` stands for any name whose
        // owner points it into the provider's network after registration.
        for uri in [
            "https://localhost/logout",
            "https://localhost:8443/logout",
            "http://127.0.0.1:9/logout",
            "https://10.0.0.7/logout",
            "https://192.168.1.1/logout",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/logout",
            "https://[fd00::1]/logout",
            "https://[::ffff:127.0.0.1]/logout",
            "https://100.64.0.1/logout",
            "https://0.0.0.0/logout",
            "not a url",
            "https://no-such-host.invalid/logout",
        ] {
            assert!(public_client(uri).await.is_none(), "{uri}");
        }
        // A public address is called (pinned to the address it resolved to).
        for uri in ["https://93.184.216.34/logout", "https://[2606:4700::1111]/"] {
            assert!(public_client(uri).await.is_some(), "{uri}");
        }
    }
}
