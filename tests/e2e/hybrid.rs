//! The hybrid flow (`protocol.implicit_and_hybrid` on) as a relying party on the
//! `openidconnect` crate sees it: the ID token from the authorization endpoint, in the
//! fragment, validated by the library with its `at_hash` and `c_hash`, then the code
//! exchanged.

use std::str::FromStr as _;

use openidconnect::core::{CoreIdToken, CoreResponseType};
use openidconnect::{
    AccessToken, AccessTokenHash, AuthenticationFlow, AuthorizationCode, AuthorizationCodeHash,
    CsrfToken, Nonce, Scope, TokenResponse as _,
};
use reqwest::StatusCode;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

#[tokio::test]
async fn a_relying_party_validates_the_hybrid_flows_id_token_and_exchanges_its_code() {
    let idp = TestIdp::start_with(&[("IDP_PROTOCOL__IMPLICIT_AND_HYBRID", "true")]).await;
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let flow = AuthenticationFlow::Hybrid(vec![
        CoreResponseType::Code,
        CoreResponseType::IdToken,
        CoreResponseType::Token,
    ]);
    let (url, state, nonce) = rp
        .client
        .authorize_url(flow, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".to_owned()))
        .url();

    let browser = Browser::new(&idp);
    let login = browser.open(url.as_str()).await;
    let done = browser.sign_in(&login, "alice", PASSWORD, PIN).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let location = done.location.expect("a redirect to the relying party");
    let (base, fragment) = location
        .split_once('#')
        .expect("the answer in the fragment");
    assert_eq!(base, REDIRECT, "nothing in the query");
    let answer: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(&answer["state"], state.secret());
    assert_eq!(answer["iss"], idp.issuer);

    let id_token = CoreIdToken::from_str(&answer["id_token"]).expect("an ID token");
    let verifier = rp.client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("it validates");
    let alg = id_token.signing_alg().unwrap();
    let key = id_token.signing_key(&verifier).unwrap();
    let access_token = AccessToken::new(answer["access_token"].clone());
    let code = AuthorizationCode::new(answer["code"].clone());
    assert_eq!(
        claims.access_token_hash(),
        Some(&AccessTokenHash::from_token(&access_token, alg, key).unwrap())
    );
    assert_eq!(
        claims.code_hash(),
        Some(&AuthorizationCodeHash::from_code(&code, alg, key).unwrap())
    );

    let tokens = rp
        .exchange(code.secret(), None)
        .await
        .expect("the code exchanges");
    let exchanged = tokens.id_token().unwrap();
    let again = exchanged.claims(&verifier, &nonce).expect("it validates");
    assert_eq!(again.subject(), claims.subject());
}
