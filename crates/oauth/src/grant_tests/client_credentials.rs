//! The client-credentials grant (RFC 6749 §4.4): the token for the client itself.

use super::*;
use crate::issuer::IssuedToken;
use crate::tokens::issue_for_client;

#[test]
fn a_client_gets_an_access_token_for_itself_alone() {
    let endpoint = Endpoint::new();
    let mut admin = relying_party("ops", true);
    admin.admin = true;
    let scopes = crate::client_credentials::granted_scopes(&admin, Some("admin")).unwrap();
    let tokens = issue_for_client(&endpoint.issuer(), endpoint.now(), &admin, &scopes).unwrap();
    assert_eq!(tokens.scope, "admin");
    assert!(tokens.id_token.is_none() && tokens.refresh_token.is_none());
    let claims = endpoint.access_claims(&tokens);
    assert_eq!(
        (claims.sub.as_str(), claims.client_id.as_str()),
        ("ops", "ops")
    );
    assert_eq!(claims.exp, endpoint.now() + LIFETIMES.access_token);
    assert_eq!(
        (claims.grant_id, claims.auth_time, claims.acr, claims.amr),
        (None, None, None, None)
    );
    assert_eq!(endpoint.counted.of(IssuedToken::Access), 1);
    assert_eq!(endpoint.counted.of(IssuedToken::Id), 0);
}
