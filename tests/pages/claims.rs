//! What the provider says about a person: the standard claims of each scope at UserInfo, the
//! `claims` parameter for the ID token and UserInfo, signed UserInfo, and the profile section
//! of the account page.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use idp_core::model::{Address, Profile, SigningAlg};
use serde_json::{Value, json};

use crate::page::param;
use crate::support::{Browser, Idp, authorize, exchange_code};

/// The tax portal (a first-party confidential client) and alice, with every standard claim.
struct Portal {
    idp: Idp,
    secret: String,
    alice: String,
}

fn profile() -> Profile {
    Profile {
        name: Some("Alice Example".into()),
        given_name: Some("Alice".into()),
        family_name: Some("Example".into()),
        address: Address {
            street_address: Some("1 Main St".into()),
            locality: Some("Springfield".into()),
            region: Some("IL".into()),
            postal_code: Some("62701".into()),
            country: Some("US".into()),
        },
        updated_at: Some(1_700_000_000),
    }
}

impl Portal {
    async fn start() -> Self {
        Self::with_client(|_| {}).await
    }

    async fn with_client(adjust: impl FnOnce(&mut idp_core::model::Client)) -> Self {
        let idp = Idp::with(|s| s.new_device.enabled = false).await;
        let secret = idp.confidential_client_with("portal", adjust).await;
        let alice = idp.user("alice").await;
        let users = &idp.state.stores.users;
        users.set_profile(&alice, &profile()).await.unwrap();
        users
            .set_phone(&alice, Some("+15550100"), true)
            .await
            .unwrap();
        Self { idp, secret, alice }
    }

    /// Signs alice in with `extra` authorization parameters: the token response.
    async fn tokens(&self, extra: &[(&str, &str)]) -> Value {
        let mut browser = Browser::new(&self.idp);
        let answer = browser.sign_in(&authorize("portal", extra), "alice").await;
        let (status, tokens) =
            exchange_code(&self.idp, Some(("portal", &self.secret)), &answer).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    /// UserInfo's answer to the access token of `tokens`: status, content type, body text.
    async fn userinfo(&self, tokens: &Value) -> (StatusCode, String, String) {
        let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
        let request = Request::get("/userinfo")
            .header(header::AUTHORIZATION, bearer)
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = self.idp.call_text(request).await;
        let kind = headers[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        (status, kind, body)
    }

    async fn userinfo_json(&self, tokens: &Value) -> Value {
        let (status, kind, body) = self.userinfo(tokens).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "application/json")
        );
        serde_json::from_str(&body).unwrap()
    }
}

fn address() -> Value {
    json!({
        "formatted": "1 Main St\nSpringfield IL 62701\nUS",
        "street_address": "1 Main St",
        "locality": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
    })
}

#[tokio::test]
async fn each_scope_releases_every_standard_claim_the_person_has_at_userinfo() {
    let portal = Portal::start().await;
    let all = portal
        .tokens(&[("scope", "openid profile email phone address")])
        .await;
    assert_eq!(all["scope"], "openid profile email address phone");
    let claims = portal.userinfo_json(&all).await;
    assert_eq!(
        claims,
        json!({
            "sub": portal.alice,
            "name": "Alice Example",
            "given_name": "Alice",
            "family_name": "Example",
            "preferred_username": "alice",
            "updated_at": 1_700_000_000,
            "email": "alice@example.com",
            "email_verified": true,
            "phone_number": "+15550100",
            "phone_number_verified": true,
            "address": address(),
        })
    );
    // With the code flow the ID token carries the protocol's claims, not the scopes'.
    let id = portal.idp.id_token_claims(&all);
    assert!(
        id.get("email").is_none() && id.get("name").is_none(),
        "{id}"
    );

    for (scope, expected) in [
        ("openid", vec!["sub"]),
        ("openid email", vec!["email", "email_verified", "sub"]),
        (
            "openid phone",
            vec!["phone_number", "phone_number_verified", "sub"],
        ),
        ("openid address", vec!["address", "sub"]),
    ] {
        let tokens = portal.tokens(&[("scope", scope)]).await;
        let claims = portal.userinfo_json(&tokens).await;
        let mut names: Vec<_> = claims.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(names, expected, "{scope}");
    }
}

#[tokio::test]
async fn claims_asked_for_by_name_go_where_they_were_asked_essential_or_not() {
    let portal = Portal::start().await;
    let asked = json!({
        "id_token": { "email": { "essential": true }, "name": null, "address": { "essential": false }, "unknown_claim": null },
        "userinfo": { "phone_number": { "essential": true }, "given_name": { "value": "Someone else" } },
    })
    .to_string();
    let tokens = portal
        .tokens(&[("scope", "openid offline_access"), ("claims", &asked)])
        .await;
    let id = portal.idp.id_token_claims(&tokens);
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "Alice Example");
    assert_eq!(id["address"], address());
    assert!(id.get("unknown_claim").is_none());
    assert!(id.get("phone_number").is_none(), "asked of UserInfo only");
    let userinfo = portal.userinfo_json(&tokens).await;
    assert_eq!(
        userinfo,
        json!({ "sub": portal.alice, "phone_number": "+15550100", "given_name": "Alice" }),
        "without their scopes; a value asked for does not change what the person is"
    );

    // The claims travel with the refresh token.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _, refreshed) = portal
        .idp
        .post_as_client(
            "/token",
            Some(("portal", &portal.secret)),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let id = portal.idp.id_token_claims(&refreshed);
    assert_eq!(
        (id["email"].clone(), id["name"].clone()),
        (json!("alice@example.com"), json!("Alice Example"))
    );
    assert_eq!(portal.userinfo_json(&refreshed).await, userinfo);
}

#[tokio::test]
async fn a_malformed_claims_parameter_is_refused_and_issues_nothing() {
    let portal = Portal::start().await;
    for bad in [
        "{not json",
        "[]",
        r#"{"id_token":["email"]}"#,
        r#"{"userinfo":{"email":true}}"#,
        r#"{"id_token":{"email":{"essential":"yes"}}}"#,
    ] {
        let mut browser = Browser::new(&portal.idp);
        let answer = browser.get(&authorize("portal", &[("claims", bad)])).await;
        assert_eq!(
            param(answer.to(), "error").as_deref(),
            Some("invalid_request"),
            "{bad}: {answer:?}"
        );
        assert_eq!(param(answer.to(), "state").as_deref(), Some("st"));
    }
    assert_eq!(portal.idp.count("grants", "TRUE"), 0);
}

#[tokio::test]
async fn a_client_that_asks_for_signed_userinfo_gets_a_jwt_of_its_algorithm() {
    let portal = Portal::with_client(|client| {
        client.metadata.userinfo_signed_response_alg = Some(SigningAlg::RS256);
    })
    .await;
    let tokens = portal.tokens(&[("scope", "openid email")]).await;
    let (status, kind, jwt) = portal.userinfo(&tokens).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/jwt"));
    // Signed by a key the JWKS publishes, with the client's algorithm.
    let (_, _, jwks) = portal
        .idp
        .call(Request::get("/jwks").body(Body::empty()).unwrap())
        .await;
    let header: Value = {
        use base64::Engine as _;
        let part = jwt.split('.').next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(header["alg"], "RS256");
    let published = jwks["keys"].as_array().unwrap();
    assert!(
        published.iter().any(|k| k["kid"] == header["kid"]),
        "{jwks}"
    );
    let state = &portal.idp.state;
    // Verified with the published key, as a relying party does; no `exp`, so that it never
    // passes for an ID token.
    let jwk = published
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.set_audience(&["portal"]);
    validation.set_issuer(&[state.issuer()]);
    let claims: Value = jsonwebtoken::decode(&jwt, &key, &validation)
        .unwrap()
        .claims;
    assert!(claims.get("exp").is_none(), "{claims}");
    assert_eq!(claims["iss"], state.issuer());
    assert_eq!(claims["aud"], "portal");
    assert_eq!(claims["sub"], portal.alice);
    assert_eq!(claims["email"], "alice@example.com");

    let discovery = portal
        .idp
        .call(
            Request::get("/.well-known/openid-configuration")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .2;
    let algs = discovery["userinfo_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("RS256")), "{discovery}");
    assert!(
        discovery["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("address"))
    );
    assert_eq!(
        discovery["subject_types_supported"],
        json!(["public", "pairwise"])
    );
}

#[tokio::test]
async fn consent_covers_the_claims_asked_for_by_name_as_their_scopes() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    idp.confidential_client_with("budget", |c| c.metadata.first_party = false)
        .await;
    idp.user("alice").await;
    let asked = json!({ "userinfo": { "address": null } }).to_string();
    let mut browser = Browser::new(&idp);
    let signed_in = browser
        .sign_in(
            &authorize("budget", &[("scope", "openid"), ("claims", &asked)]),
            "alice",
        )
        .await;
    let consent = browser.follow(signed_in).await;
    assert!(consent.is("consent"), "{consent:?}");
    assert!(consent.contains("See your postal address"), "{consent:?}");
    let answer = browser.submit(&consent, &[("decision", "allow")]).await;
    assert!(answer.gives_code(), "{answer:?}");
    let consents = &idp.state.stores.consents;
    let granted = consents
        .consented_scopes("id-alice", "budget")
        .await
        .unwrap()
        .unwrap();
    assert!(granted.contains(&"address".to_owned()), "{granted:?}");
}

#[tokio::test]
async fn a_person_sets_their_name_and_address_on_the_account_page() {
    let idp = Idp::with(|s| s.new_device.enabled = false).await;
    let alice = idp.user("alice").await;
    let mut browser = Browser::new(&idp);
    let account = browser.open_account("alice", crate::support::PIN).await;
    assert!(account.contains("Name and address"), "{account:?}");
    let profile = account.form_to("/account/profile");
    let fields = [
        ("name", "Alice Example"),
        ("given_name", " Alice "),
        ("family_name", "Example"),
        ("street_address", "1 Main St\r\nApt 2"),
        ("locality", "Springfield"),
        ("region", ""),
        ("postal_code", "62701"),
        ("country", "US"),
    ];
    let saved = browser.submit(&profile, &fields).await;
    assert!(
        saved.contains("Your name and address are saved."),
        "{saved:?}"
    );
    let stored = idp.state.stores.users.find_user(&alice).await.unwrap();
    let stored = stored.unwrap().profile;
    assert_eq!(stored.given_name.as_deref(), Some("Alice"));
    assert_eq!(
        stored.address.street_address.as_deref(),
        Some("1 Main St\nApt 2")
    );
    assert_eq!(stored.address.region, None);
    assert_eq!(stored.updated_at, Some(idp.state.now()));
    assert_eq!(
        idp.count(
            "audit_log",
            &format!("kind = 'profile_changed' AND user_id = '{alice}'")
        ),
        1
    );
    // The page shows what is stored, and a refused value changes nothing.
    assert!(saved.contains("Springfield"));
    let refused = browser
        .submit(
            &saved.form_to("/account/profile"),
            &[("name", "A\u{7}lice")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("control characters"), "{refused:?}");
    assert!(
        refused.contains("id=\"profile-change\" open>"),
        "its form comes back open"
    );
    let after = idp.state.stores.users.find_user(&alice).await.unwrap();
    assert_eq!(after.unwrap().profile, stored);
}

#[tokio::test]
async fn userinfo_takes_the_access_token_from_a_form_body_but_not_two_ways_at_once() {
    let portal = Portal::start().await;
    let tokens = portal.tokens(&[("scope", "openid profile")]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let form = serde_urlencoded::to_string([("access_token", access)]).unwrap();
    let post = |bearer: Option<&str>| {
        let mut request = Request::post("/userinfo")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        request.body(Body::from(form.clone())).unwrap()
    };
    let (status, _, body) = portal.idp.call(post(None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["preferred_username"], "alice");
    let (status, _, body) = portal.idp.call(post(Some(access))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
}
