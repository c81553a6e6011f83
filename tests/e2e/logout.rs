//! RP-initiated logout and back-channel logout.

use openidconnect::TokenResponse as _;
use reqwest::StatusCode;

use crate::code_flow::{decode_header, decode_payload};
use crate::sinks::logout_sink;
use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const AFTER: &str = "http://127.0.0.1:9/signed-out";

#[tokio::test]
async fn a_relying_party_signs_the_user_out_everywhere() {
    let (backchannel, tokens_received) = logout_sink().await;
    let idp = TestIdp::start().await;
    let client = idp.create_client(&[
        "--name",
        "Tax Portal",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        AFTER,
        "--backchannel-logout-uri",
        &backchannel,
    ]);
    idp.create_user("alice");
    let client_id = client["client_id"].as_str().unwrap();
    let rp =
        RelyingParty::discover(&idp, client_id, client["client_secret"].as_str(), REDIRECT).await;
    let browser = Browser::new(&idp);
    let tokens = rp
        .sign_in(&browser, "alice", &mut rp.start(&[], &[], true))
        .await;
    let id_token = tokens.id_token().unwrap().to_string();
    let sid = decode_payload(&id_token)["sid"]
        .as_str()
        .unwrap()
        .to_owned();

    let url = format!(
        "{}/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-123",
        idp.issuer,
        url::form_urlencoded::byte_serialize(AFTER.as_bytes()).collect::<String>()
    );
    let confirm = browser.get(&url).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.is("logout") && confirm.contains("Tax Portal"),
        "{}",
        confirm.body
    );
    assert_eq!(
        idp.count("sessions", "TRUE").await,
        1,
        "nothing happens before the person confirms"
    );
    let done = browser.submit(&confirm, &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("{AFTER}?state=bye-123").as_str())
    );
    assert_eq!(idp.count("sessions", "TRUE").await, 0);
    let again = browser
        .get(&rp.start(&[], &[("prompt", "none")], true).url)
        .await;
    assert_eq!(
        param(&again.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );

    // The relying party hears of it on its back channel.
    let token = tokens_received.wait_for("rp", ".", 0).await.text;
    assert_eq!(decode_header(&token)["typ"], "logout+jwt");
    let claims = decode_payload(&token);
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["iss"], idp.issuer);
    assert_eq!(claims["sid"], sid);
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_address() {
    let idp = TestIdp::start().await;
    let client = idp.create_client(&[
        "--name",
        "Tax Portal",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        AFTER,
    ]);
    idp.create_user("alice");
    let client_id = client["client_id"].as_str().unwrap();
    let rp =
        RelyingParty::discover(&idp, client_id, client["client_secret"].as_str(), REDIRECT).await;
    let browser = Browser::new(&idp);
    let tokens = rp
        .sign_in(&browser, "alice", &mut rp.start(&[], &[], true))
        .await;
    let id_token = tokens.id_token().unwrap().to_string();
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for url in [
        format!(
            "/logout?id_token_hint={id_token}&post_logout_redirect_uri={}",
            encode("https://attacker.example/")
        ),
        format!("/logout?post_logout_redirect_uri={}", encode(AFTER)),
        format!(
            "/logout?id_token_hint=forged.token.here&post_logout_redirect_uri={}",
            encode(AFTER)
        ),
        format!("/logout?id_token_hint={id_token}&client_id=someone-else"),
    ] {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.location.is_none());
    }
    // A confirmation posted without this browser's CSRF token changes nothing.
    let forged = browser
        .post("/logout/confirm", &[("client_id".into(), client_id.into())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(idp.count("sessions", "TRUE").await, 1);
    // Without a hint or a redirect, the person is simply signed out.
    let confirm = browser.get("/logout").await;
    let done = browser.submit(&confirm, &[]).await;
    assert!(done.is("signed-out"), "{}", done.body);
    assert_eq!(idp.count("sessions", "TRUE").await, 0);
}

#[tokio::test]
async fn relying_parties_signed_in_before_a_step_up_still_hear_of_the_logout() {
    let (backchannel, received) = logout_sink().await;
    let idp = TestIdp::start().await;
    let client = idp.create_client(&[
        "--name",
        "Tax Portal",
        "--redirect-uri",
        REDIRECT,
        "--backchannel-logout-uri",
        &backchannel,
    ]);
    idp.create_user("alice");
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;
    let browser = Browser::new(&idp);
    rp.sign_in(&browser, "alice", &mut rp.start(&[], &[], true))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let pin_page = browser
        .open(&rp.start(&[], &[("max_age", "0")], true).url)
        .await;
    browser.submit(&pin_page, &[("pin", PIN)]).await;
    let confirm = browser.get("/logout").await;
    browser.submit(&confirm, &[]).await;
    let token = received.wait_for("rp", ".", 0).await.text;
    assert_eq!(decode_payload(&token)["aud"], client["client_id"]);
}

#[tokio::test]
async fn a_third_party_logout_uri_into_the_providers_network_is_not_called() {
    // Both relying parties' back channels listen on loopback: the administrator's own
    // (first-party) client is called there; a third-party client's address is checked when
    // the call is made and, not being public, is not called.
    let (own_channel, own_received) = logout_sink().await;
    let (partner_channel, partner_received) = logout_sink().await;
    let mut idp = TestIdp::start().await;
    let own = idp.create_client(&[
        "--name",
        "Tax Portal",
        "--redirect-uri",
        REDIRECT,
        "--backchannel-logout-uri",
        &own_channel,
    ]);
    let partner = idp.create_client(&[
        "--name",
        "Partner",
        "--redirect-uri",
        REDIRECT,
        "--backchannel-logout-uri",
        &partner_channel,
        "--third-party",
    ]);
    idp.create_user("alice");
    let browser = Browser::new(&idp);
    let own_rp = RelyingParty::of_client(&idp, &own, REDIRECT).await;
    let partner_rp = RelyingParty::of_client(&idp, &partner, REDIRECT).await;
    let tokens = own_rp
        .sign_in(&browser, "alice", &mut own_rp.start(&[], &[], true))
        .await;
    // Signed in already: the partner asks for consent, then gets its code and tokens.
    let mut start = partner_rp.start(&[], &[], true);
    let consent = browser.open(&start.url).await;
    assert!(consent.is("consent"), "{}", consent.body);
    let back = browser.submit(&consent, &[("decision", "allow")]).await;
    let code = param(&back.location.unwrap(), "code").unwrap();
    partner_rp
        .exchange(&code, start.verifier.take())
        .await
        .unwrap();
    assert_eq!(idp.count("grants", "TRUE").await, 2);
    let url = format!(
        "{}/logout?id_token_hint={}",
        idp.issuer,
        tokens.id_token().unwrap()
    );
    let confirm = browser.get(&url).await;
    browser.submit(&confirm, &[]).await;
    assert_eq!(idp.count("sessions", "TRUE").await, 0);
    own_received.wait_for("rp", ".", 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        partner_received.all().is_empty(),
        "the partner's back channel was called"
    );
    let (_, logs) = idp.terminate();
    assert!(
        logs.contains("back-channel logout URI does not resolve to a public address"),
        "{logs}"
    );
}
