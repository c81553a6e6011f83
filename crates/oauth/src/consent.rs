//! Whether a person must be asked before a client receives their data. Clients an
//! administrator created are first-party and are never asked about; a third-party client is
//! asked about any scope not yet allowed.

use idp_core::StoreError;
use idp_core::model::Client;
use idp_core::store::ConsentStore;

/// Whether the person `user_id` must be asked before `client` gets these scopes.
pub async fn needed(
    consents: &dyn ConsentStore,
    client: &Client,
    user_id: &str,
    scopes: &[String],
) -> Result<bool, StoreError> {
    if client.metadata.first_party {
        return Ok(false);
    }
    Ok(
        match consents.consented_scopes(user_id, &client.id).await? {
            Some(granted) => !scopes.iter().all(|s| granted.contains(s)),
            None => true,
        },
    )
}

#[cfg(test)]
mod tests {
    use idp_core::model::TokenEndpointAuthMethod;
    use idp_core::store::ConsentStore as _;

    use super::needed;
    use crate::test_stores::{MemoryConsents, client};

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn a_third_party_client_is_asked_about_what_was_not_allowed_yet() {
        let consents = MemoryConsents::default();
        let budget = client("budget", TokenEndpointAuthMethod::None, None);
        let asked = scopes(&["openid", "email"]);
        assert!(needed(&consents, &budget, "ann", &asked).await.unwrap());
        consents
            .grant_consent("ann", "budget", &asked, 1)
            .await
            .unwrap();
        assert!(!needed(&consents, &budget, "ann", &asked).await.unwrap());
        assert!(
            !needed(&consents, &budget, "ann", &scopes(&["openid"]))
                .await
                .unwrap(),
            "fewer scopes than allowed"
        );
        assert!(
            needed(&consents, &budget, "ann", &scopes(&["openid", "phone"]))
                .await
                .unwrap(),
            "a scope not allowed yet"
        );
        assert!(
            needed(&consents, &budget, "ben", &asked).await.unwrap(),
            "another person's consent is not this one's"
        );
    }

    #[tokio::test]
    async fn a_first_party_client_is_never_asked_about() {
        let mut portal = client("portal", TokenEndpointAuthMethod::None, None);
        portal.metadata.first_party = true;
        let asked = scopes(&["openid", "email", "offline_access"]);
        let consents = MemoryConsents::default();
        assert!(!needed(&consents, &portal, "ann", &asked).await.unwrap());
    }
}
