//! The cookies and transport headers a browser gets: prefixed, Secure cookies and HSTS when
//! the issuer is https; and a session id that is never one the browser brought along.

use reqwest::StatusCode;

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// A sign-up and a sign-in in one browser: every cookie the provider set on the way.
async fn cookies_of_a_sign_up_and_a_sign_in(idp: &TestIdp) -> Vec<String> {
    let browser = Browser::recording(idp);
    let done = browser.sign_up("ann").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let fresh = Browser::recording(idp);
    fresh.open_account("ann", PIN).await;
    let mut all = browser.cookies.as_ref().unwrap().set_cookie_headers();
    all.extend(fresh.cookies.as_ref().unwrap().set_cookie_headers());
    all
}

fn attributes(header: &str) -> Vec<String> {
    header
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn behind_tls_every_cookie_is_prefixed_and_secure_and_hsts_is_sent() {
    let idp = TestIdp::start_behind_tls_proxy().await;
    assert!(idp.issuer.starts_with("https://"));
    let headers = cookies_of_a_sign_up_and_a_sign_in(&idp).await;
    let names: Vec<&str> = headers
        .iter()
        .map(|h| h.split('=').next().unwrap())
        .collect();
    for expected in [
        "__Host-idp_csrf",
        "__Host-idp_session",
        "__Host-idp_device",
        "__Secure-idp_signup",
    ] {
        assert!(names.contains(&expected), "{expected} in {headers:#?}");
    }
    for header in &headers {
        let attributes = attributes(header);
        assert!(attributes.contains(&"secure".into()), "{header}");
        assert!(attributes.contains(&"httponly".into()), "{header}");
        assert!(attributes.contains(&"samesite=lax".into()), "{header}");
        assert!(
            !attributes.iter().any(|a| a.starts_with("domain")),
            "{header}"
        );
        if header.starts_with("__Host-") {
            // What browsers require of a `__Host-` cookie, or they drop it.
            assert!(attributes.contains(&"path=/".into()), "{header}");
        } else {
            assert!(header.starts_with("__Secure-idp_signup="), "{header}");
            assert!(
                attributes.iter().any(|a| a.starts_with("path=/signup")),
                "{header}"
            );
        }
    }

    // Every response carries HSTS: pages, discovery (answered before the router), errors.
    let http = reqwest::Client::new();
    for path in [
        "/signup",
        "/.well-known/openid-configuration",
        "/jwks.json",
        "/no-such-page",
    ] {
        let response = http
            .get(format!("{}{path}", idp.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some(HSTS),
            "{path}"
        );
    }
}

#[tokio::test]
async fn on_a_loopback_http_issuer_cookies_are_plain_and_there_is_no_hsts() {
    let idp = TestIdp::start().await;
    let headers = cookies_of_a_sign_up_and_a_sign_in(&idp).await;
    assert!(!headers.is_empty());
    for header in &headers {
        assert!(header.starts_with("idp_"), "{header}");
        assert!(!attributes(header).contains(&"secure".into()), "{header}");
        assert!(attributes(header).contains(&"httponly".into()), "{header}");
    }
    let response = reqwest::get(format!("{}/signup", idp.address))
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}

/// Whether a fresh browser presenting `session` as its session cookie is asked to sign in.
async fn signs_nobody_in(idp: &TestIdp, session: &str) -> bool {
    let browser = Browser::recording(idp);
    browser
        .cookies
        .as_ref()
        .unwrap()
        .plant("idp_session", session);
    browser.open("/account").await.is("login")
}

#[tokio::test]
async fn a_session_id_the_browser_brings_along_is_never_kept() {
    let idp = TestIdp::start().await;
    idp.create_user("ann");
    idp.create_user("mal");
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let rp = RelyingParty::of_client(&idp, &client, REDIRECT).await;

    // A value the attacker made up and planted: ignored, and replaced at sign-in.
    let victim = Browser::recording(&idp);
    let jar = victim.cookies.clone().unwrap();
    jar.plant("idp_session", "chosen-by-the-attacker");
    let login = victim.open("/account").await;
    assert!(login.is("login"), "{}", login.body);
    victim.sign_in(&login, "ann", PASSWORD, PIN).await;
    let ann_session = jar.get("idp_session").expect("a session cookie");
    assert_ne!(ann_session, "chosen-by-the-attacker");
    assert_eq!(ann_session.len(), 43, "256 random bits, base64url");
    assert!(signs_nobody_in(&idp, "chosen-by-the-attacker").await);

    // The attacker's own live session, planted in the victim's browser: when the victim signs
    // in (the relying party asks for a fresh login), the browser gets a new id, and the
    // attacker's session ends, so the attacker cannot ride along.
    let attacker = Browser::recording(&idp);
    attacker.open_account("mal", PIN).await;
    let mal_session = attacker
        .cookies
        .as_ref()
        .unwrap()
        .get("idp_session")
        .unwrap();
    let victim = Browser::recording(&idp);
    let jar = victim.cookies.clone().unwrap();
    jar.plant("idp_session", &mal_session);
    let start = rp.start(&[], &[("prompt", "login")], true);
    let login = victim.open(&start.url).await;
    let done = victim.sign_in(&login, "ann", PASSWORD, PIN).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.location.unwrap().starts_with(REDIRECT));
    let new_session = jar.get("idp_session").unwrap();
    assert_ne!(new_session, mal_session);
    let account = victim.open("/account").await;
    assert!(account.contains("ann"), "{}", account.body);
    let after = attacker.open("/account").await;
    assert!(
        after.is("login"),
        "the attacker's session ended: {}",
        after.body
    );

    // The same person signing in again also gets a new id; the old one stops working.
    let again = rp.start(&[], &[("prompt", "login")], true);
    let login = victim.open(&again.url).await;
    victim.sign_in(&login, "ann", PASSWORD, PIN).await;
    let newest = jar.get("idp_session").unwrap();
    assert_ne!(newest, new_session);
    assert!(signs_nobody_in(&idp, &new_session).await);
    // Ann's sessions in the first browser and the newest one here; Mal's ended.
    assert_eq!(idp.count("sessions", "TRUE").await, 2);
}
