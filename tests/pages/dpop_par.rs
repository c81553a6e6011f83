//! DPoP at the pushed authorization request (RFC 9449 §10): a proof or `dpop_jkt` binds the
//! authorization code to a key, and only a proof from that key exchanges it.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::page::param;
use crate::support::dpop::{ProofKey, access_claims, post_with_proofs};
use crate::support::{Browser, Idp, REDIRECT, VERIFIER, authorize};

struct Portal {
    idp: Idp,
    secret: String,
}

impl Portal {
    async fn start() -> Self {
        let idp = Idp::with(|s| s.new_device.enabled = false).await;
        let secret = idp.confidential_client("portal").await;
        idp.user("alice").await;
        Self { idp, secret }
    }

    fn auth(&self) -> Option<(&str, &str)> {
        Some(("portal", self.secret.as_str()))
    }

    /// Pushes the usual request with `extra` parameters and these proofs.
    async fn push(&self, extra: &[(&str, &str)], proofs: &[&str]) -> (StatusCode, Value) {
        let url = authorize("portal", extra);
        let query = url.split_once('?').unwrap().1;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let form: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (status, _, body) =
            post_with_proofs(&self.idp, "/par", self.auth(), &form, proofs).await;
        (status, body)
    }

    /// Alice signs in through the pushed request: the code.
    async fn code(&self, pushed: &Value) -> String {
        let request_uri = pushed["request_uri"].as_str().unwrap();
        let query =
            serde_urlencoded::to_string([("client_id", "portal"), ("request_uri", request_uri)]);
        let mut browser = Browser::new(&self.idp);
        let done = browser
            .sign_in(&format!("/authorize?{}", query.unwrap()), "alice")
            .await;
        param(done.to(), "code").unwrap()
    }

    async fn exchange(&self, code: &str, proofs: &[&str]) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let (status, _, body) =
            post_with_proofs(&self.idp, "/token", self.auth(), &form, proofs).await;
        (status, body)
    }
}

#[tokio::test]
async fn a_proof_at_par_binds_the_code_to_its_key() {
    let portal = Portal::start().await;
    let idp = &portal.idp;
    let key = ProofKey::new();
    let proof = key.proof(idp, "POST", "/par", None);
    let (status, pushed) = portal.push(&[], &[&proof]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let code = portal.code(&pushed).await;

    // Without a proof, or with another key's: refused, and the code stays good.
    let (status, body) = portal.exchange(&code, &[]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let other = ProofKey::new().proof(idp, "POST", "/token", None);
    let (status, body) = portal.exchange(&code, &[&other]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let proof = key.proof(idp, "POST", "/token", None);
    let (status, tokens) = portal.exchange(&code, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(access_claims(idp, access)["cnf"]["jkt"], key.jkt());
}

#[tokio::test]
async fn dpop_jkt_binds_the_code_and_must_agree_with_a_proof() {
    let portal = Portal::start().await;
    let idp = &portal.idp;
    let key = ProofKey::new();
    let jkt = key.jkt();
    let (status, pushed) = portal.push(&[("dpop_jkt", &jkt)], &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let code = portal.code(&pushed).await;
    let (status, body) = portal.exchange(&code, &[]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let proof = key.proof(idp, "POST", "/token", None);
    let (status, tokens) = portal.exchange(&code, &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // A dpop_jkt of another key than the proof's, or not a thumbprint at all.
    let other = ProofKey::new();
    let proof = key.proof(idp, "POST", "/par", None);
    let (status, body) = portal.push(&[("dpop_jkt", &other.jkt())], &[&proof]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let (status, body) = portal.push(&[("dpop_jkt", "not-a-thumbprint")], &[]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_request"))
    );
    // A proof for another endpoint.
    let proof = key.proof(idp, "POST", "/token", None);
    let (status, body) = portal.push(&[], &[&proof]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
}

/// A client asks for bound tokens when it registers (RFC 9449 §5.2), or an administrator
/// creates it so (`idp client create --dpop-bound-access-tokens`): then a token request
/// without a proof is refused.
#[tokio::test]
async fn bound_tokens_are_asked_for_at_registration_and_by_the_cli() {
    let idp = Idp::with(|s| s.registration.require_initial_access_token = false).await;
    let metadata = json!({
        "client_name": "Batch",
        "redirect_uris": [REDIRECT],
        "grant_types": ["client_credentials"],
        "dpop_bound_access_tokens": true,
    });
    let (status, client) = idp
        .json_request("POST", "/register", None, Some(&metadata))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    assert_eq!(client["dpop_bound_access_tokens"], true);
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let form = [("grant_type", "client_credentials")];
    let (status, _, body) = post_with_proofs(&idp, "/token", Some((id, secret)), &form, &[]).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof"))
    );
    let proof = ProofKey::new().proof(&idp, "POST", "/token", None);
    let (status, _, body) =
        post_with_proofs(&idp, "/token", Some((id, secret)), &form, &[&proof]).await;
    assert_eq!(
        (status, &body["token_type"]),
        (StatusCode::OK, &json!("DPoP")),
        "{body}"
    );

    let person = idp_server::cli_person::ClientPersonArgs {
        dpop_bound_access_tokens: true,
        ..Default::default()
    };
    let links = idp_server::cli::LinkArgs::default();
    let redirect_uris = [REDIRECT.to_owned()];
    let created = idp_server::cli::create_client(
        &idp.state,
        idp_server::cli::NewClient {
            name: "Batch",
            redirect_uris: &redirect_uris,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            public: false,
            admin: false,
            third_party: false,
            resource_server: false,
            auth_method: "client_secret_basic",
            id_token_alg: "ES256",
            jwks: None,
            jwks_uri: None,
            request_uris: &[],
            links: &links,
            person: &person,
            fapi2: false,
            owner: None,
        },
    )
    .await
    .unwrap();
    let id = created["client_id"].as_str().unwrap();
    let stored = idp
        .state
        .stores
        .clients
        .find_client(id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.metadata.dpop_bound_access_tokens);
}
