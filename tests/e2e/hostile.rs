//! The hostile-input suite: malformed and malicious requests over HTTP, each answered with its
//! specific error, and none of them changing anything that is stored. Every case runs against
//! one provider whose stored state is fingerprinted before and after.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::support::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// One hostile request and what must come of it.
struct Case {
    name: &'static str,
    method: &'static str,
    /// Path and query, or a full URL.
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    status: u16,
    /// Text the answer must contain (an error code, a page's id or words).
    expect: &'static str,
    /// Text the answer must not contain.
    refuse: Option<&'static str>,
    /// Where a redirect must (not) go: `None` forbids any redirect.
    redirect_to: Option<&'static str>,
}

fn case(name: &'static str, method: &'static str, path: impl Into<String>) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        headers: Vec::new(),
        body: None,
        status: 400,
        expect: "",
        refuse: None,
        redirect_to: None,
    }
}

impl Case {
    fn form(mut self, body: impl Into<String>) -> Self {
        self.headers.push((
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ));
        self.body = Some(body.into().into_bytes());
        self
    }

    fn raw(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers.push(("content-type", content_type.to_owned()));
        self.body = Some(body);
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn basic(self, id: &str, secret: &str) -> Self {
        use base64::Engine as _;
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.header("authorization", format!("Basic {pair}"))
    }

    fn answers(mut self, status: u16, expect: &'static str) -> Self {
        self.status = status;
        self.expect = expect;
        self
    }

    /// An error sent back to the registered redirect URI.
    fn redirects_with(mut self, error: &'static str) -> Self {
        self.status = 303;
        self.redirect_to = Some(REDIRECT);
        self.expect = error;
        self
    }

    fn without(mut self, text: &'static str) -> Self {
        self.refuse = Some(text);
        self
    }
}

/// What is stored, in numbers: any change shows.
async fn fingerprint(idp: &TestIdp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for (table, filter) in [
        ("users", "TRUE"),
        ("users", "pin_failures > 0"),
        ("users", "disabled_at IS NOT NULL"),
        ("clients", "TRUE"),
        ("grants", "TRUE"),
        ("grants", "revoked_at IS NOT NULL"),
        ("sessions", "TRUE"),
        ("ephemeral", "TRUE"),
        ("consents", "TRUE"),
        ("one_time_codes", "TRUE"),
        ("signing_keys", "TRUE"),
        ("outbox", "TRUE"),
        (
            "audit_log",
            "kind IN ('sign_up', 'sign_in_succeeded', 'password_changed', 'pin_changed', \
             'client_registered', 'pin_locked')",
        ),
    ] {
        out.push((table, idp.count(table, filter).await));
    }
    out
}

fn authorize(client_id: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid\
         &state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256{extra}",
        urlencode(REDIRECT)
    )
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn jwt(header: &str, claims: &str) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.", b64(header), b64(claims))
}

#[tokio::test]
async fn hostile_requests_get_their_specific_error_and_change_nothing() {
    let idp = TestIdp::start().await;
    idp.create_user("alice");
    let client = idp.create_client(&["--name", "Tax Portal", "--redirect-uri", REDIRECT]);
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let public = idp.create_client(&["--name", "App", "--redirect-uri", REDIRECT, "--public"]);
    let public_id = public["client_id"].as_str().unwrap().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token_url = format!("{}/token", idp.issuer);

    // A browser half-way through a sign-in: its interaction and its CSRF token.
    let browser = Browser::new(&idp);
    let login = browser.open(&authorize(&id, "")).await;
    let csrf_of = |page: &Page| {
        let (action, fields) = page.form();
        let csrf = fields
            .into_iter()
            .find(|(name, _)| name == "csrf")
            .unwrap()
            .1;
        (action, csrf)
    };
    let (action, csrf) = csrf_of(&login);
    let (_, signup_csrf) = csrf_of(&browser.get("/signup").await);

    let long = "x".repeat(2_000);
    let mut cases = vec![
        // The authorization endpoint: an untrusted client or redirect URI gets a page, never a
        // redirect; other faults go back to the verified redirect URI.
        case("unknown client", "GET", authorize("nobody", "")).answers(400, "not registered with us"),
        case("client_id twice", "GET", authorize(&id, &format!("&client_id={id}"))).answers(400, "more than one client"),
        case("no client_id", "GET", "/authorize?response_type=code&redirect_uri=x").answers(400, "which site it comes from"),
        case("no redirect_uri", "GET", format!("/authorize?response_type=code&client_id={id}")).answers(400, "where to return to"),
        case("open redirect", "GET", authorize(&id, "").replace(&urlencode(REDIRECT), &urlencode("https://evil.example/cb"))).answers(400, "not registered for this site"),
        case("redirect_uri prefix", "GET", authorize(&id, "").replace(&urlencode(REDIRECT), &urlencode(&format!("{REDIRECT}/../../evil")))).answers(400, "not registered for this site"),
        case("redirect_uri with a query added", "GET", authorize(&id, "").replace(&urlencode(REDIRECT), &urlencode(&format!("{REDIRECT}?next=https://evil.example")))).answers(400, "not registered for this site"),
        case("redirect_uri with a slash added", "GET", authorize(&id, "").replace(&urlencode(REDIRECT), &urlencode(&format!("{REDIRECT}/")))).answers(400, "not registered for this site"),
        case("redirect_uri with userinfo", "GET", authorize(&id, "").replace(&urlencode(REDIRECT), &urlencode("http://127.0.0.1:9@evil.example/callback"))).answers(400, "not registered for this site"),
        case("redirect_uri with a fragment", "GET", authorize(&id, "").replace(&urlencode(REDIRECT), &urlencode(&format!("{REDIRECT}#x")))).answers(400, "not registered for this site"),
        case("redirect_uri twice", "GET", authorize(&id, &format!("&redirect_uri={}", urlencode(REDIRECT)))).answers(400, "more than one redirect_uri"),
        case("invalid UTF-8", "GET", authorize(&id, "&state=%FF%FE")).answers(400, "not valid UTF-8"),
        case("invalid UTF-8 in a form post", "POST", "/authorize").form(format!("client_id={id}&state=%C3%28")).answers(400, "not valid UTF-8"),
        case("implicit flow", "GET", authorize(&id, "").replace("response_type=code", "response_type=token")).redirects_with("unsupported_response_type"),
        case("no response_type", "GET", authorize(&id, "").replace("response_type=code&", "")).redirects_with("invalid_request"),
        case("PKCE downgrade to plain", "GET", authorize(&id, "").replace("code_challenge_method=S256", "code_challenge_method=plain")).redirects_with("invalid_request"),
        case("public client without PKCE", "GET", authorize(&public_id, "").replace("&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256", "")).redirects_with("invalid_request"),
        case("oversized state", "GET", authorize(&id, "").replace("state=s1", &format!("state={long}{long}"))).redirects_with("invalid_request").without("xxxxxxxx"),
        case("oversized nonce", "GET", authorize(&id, &format!("&nonce={long}"))).redirects_with("invalid_request"),
        case("oversized login_hint", "GET", authorize(&id, &format!("&login_hint={long}"))).redirects_with("invalid_request"),
        case("oversized ui_locales", "GET", authorize(&id, &format!("&ui_locales={long}"))).redirects_with("invalid_request"),
        case("unsigned request object", "GET", authorize(&id, "&request=eyJhbGciOiJub25lIn0.e30.")).redirects_with("invalid_request_object"),
        case("request_uri into the provider's network", "GET", authorize(&id, "&request_uri=https%3A%2F%2F127.0.0.1%3A9%2Fr")).redirects_with("invalid_request_uri"),
        case("prompt=none without a session", "GET", authorize(&id, "&prompt=none")).redirects_with("login_required"),
        case("negative max_age", "GET", authorize(&id, "&max_age=-1")).redirects_with("invalid_request"),
        case("max_age not a number", "GET", authorize(&id, "&max_age=1e9")).redirects_with("invalid_request"),
        case("state twice", "GET", authorize(&id, "&state=s2")).redirects_with("%60state%60+is+repeated").without("code="),
        case("unknown prompt", "GET", authorize(&id, "&prompt=consent%20select_account%20bogus")).redirects_with("invalid_request"),
        case("claims not JSON", "GET", authorize(&id, "&claims=%7Bnot%20json")).redirects_with("invalid_request"),
        // The token endpoint.
        case("no grant_type", "POST", token_url.clone()).form("code=x").basic(&id, &secret).answers(400, "invalid_request"),
        case("password grant", "POST", token_url.clone()).form("grant_type=password&username=alice&password=x").basic(&id, &secret).answers(400, "unsupported_grant_type"),
        case("wrong client secret", "POST", token_url.clone()).form("grant_type=client_credentials").basic(&id, "wrong").answers(401, "invalid_client"),
        case("unknown client", "POST", token_url.clone()).form("grant_type=client_credentials").basic("nobody", "x").answers(401, "invalid_client"),
        case("two ways of authenticating", "POST", token_url.clone()).form(format!("grant_type=client_credentials&client_id={id}&client_secret={secret}")).basic(&id, &secret).answers(400, "invalid_request"),
        case("forged code", "POST", token_url.clone()).form(format!("grant_type=authorization_code&code=forged&redirect_uri={}&code_verifier={}", urlencode(REDIRECT), "v".repeat(43))).basic(&id, &secret).answers(400, "invalid_grant"),
        case("code twice", "POST", token_url.clone()).form("grant_type=authorization_code&code=a&code=b").basic(&id, &secret).answers(400, "invalid_request"),
        case("no code", "POST", token_url.clone()).form("grant_type=authorization_code").basic(&id, &secret).answers(400, "invalid_request"),
        case("forged refresh token", "POST", token_url.clone()).form("grant_type=refresh_token&refresh_token=forged").basic(&id, &secret).answers(400, "invalid_grant"),
        case("no refresh token", "POST", token_url.clone()).form("grant_type=refresh_token").basic(&id, &secret).answers(400, "invalid_request"),
        case("client assertion alg none", "POST", token_url.clone()).form(format!(
            "grant_type=client_credentials&client_id={id}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}",
            jwt(r#"{"alg":"none"}"#, &format!(r#"{{"iss":"{id}","sub":"{id}","aud":"{token_url}","exp":{},"jti":"j1"}}"#, now + 60)),
        )).answers(401, "invalid_client"),
        case("client assertion that is not a JWT", "POST", token_url.clone()).form(format!(
            "grant_type=client_credentials&client_id={id}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c"
        )).answers(401, "invalid_client"),
        case("client assertion of the wrong type", "POST", token_url.clone()).form(format!(
            "grant_type=client_credentials&client_id={id}&client_assertion_type=urn%3Aexample%3Asaml&client_assertion=x"
        )).answers(401, "invalid_client"),
        case("client assertion with a forged HMAC", "POST", token_url.clone()).form(format!(
            "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={}AAAA",
            jwt(r#"{"alg":"HS256"}"#, &format!(r#"{{"iss":"{id}","sub":"{id}","aud":"{token_url}","exp":{}}}"#, now + 60)),
        )).answers(401, "invalid_client"),
        case("token request with invalid UTF-8", "POST", token_url.clone()).raw("application/x-www-form-urlencoded", b"grant_type=client_credentials&scope=%FF".to_vec()).basic(&id, &secret).answers(400, "invalid_request"),
        case("token request as JSON", "POST", token_url.clone()).raw("application/json", br#"{"grant_type":"client_credentials"}"#.to_vec()).basic(&id, &secret).answers(400, "invalid_request"),
        case("oversized token request", "POST", token_url.clone()).form(format!("grant_type=client_credentials&scope={}", "a".repeat(20_000))).basic(&id, &secret).answers(413, ""),
        case("client_credentials asking for openid", "POST", token_url.clone()).form("grant_type=client_credentials&scope=openid").basic(&id, &secret).answers(400, "invalid_scope"),
        // Other endpoints.
        case("introspection without a client", "POST", "/introspect").form("token=x").answers(401, "invalid_client"),
        case("introspection of a forged token", "POST", "/introspect").form(format!("token={}", jwt(r#"{"alg":"none","typ":"at+jwt"}"#, r#"{"sub":"alice"}"#))).basic(&id, &secret).answers(200, r#""active":false"#),
        case("revocation without a client", "POST", "/revoke").form("token=x").answers(401, "invalid_client"),
        case("userinfo without a token", "GET", "/userinfo").answers(401, ""),
        case("userinfo with an unsigned token", "GET", "/userinfo").header("authorization", format!("Bearer {}", jwt(r#"{"alg":"none","typ":"at+jwt"}"#, r#"{"sub":"alice"}"#))).answers(401, ""),
        case("registration without an initial access token", "POST", "/register").raw("application/json", br#"{"redirect_uris":["https://evil.example/cb"]}"#.to_vec()).answers(401, "invalid_token"),
        case("registration with a forged initial access token", "POST", "/register").raw("application/json", br#"{"redirect_uris":["https://evil.example/cb"]}"#.to_vec()).header("authorization", "Bearer forged").answers(401, "invalid_token"),
        case("admin API without a token", "GET", "/admin/users/alice").answers(401, ""),
        case("admin API with a client that is not an admin", "POST", "/admin/users/alice/disable").basic(&id, &secret).answers(401, ""),
        case("logout to an unregistered address", "GET", format!("/logout?client_id={id}&post_logout_redirect_uri={}", urlencode("https://evil.example/"))).answers(400, "not registered for this site"),
        case("logout with a forged ID token", "GET", "/logout?id_token_hint=a.b.c").answers(400, "ID token we did not issue"),
        case("path traversal", "GET", "/static/../../Cargo.toml").answers(404, ""),
        case("language link to another site", "GET", "//evil.example/x").answers(404, "lang=es").without("&#x2f;&#x2f;evil"),
        // Forms: without the CSRF token, with another browser's, with hostile values.
        case("sign-in without CSRF token", "POST", action.clone()).form("username=alice&password=correct+horse+battery+staple").answers(403, r#"data-page="error-csrf""#),
        case("sign-up without CSRF token", "POST", "/signup").form("username=mallory&email=m%40example.com&password=correct+horse+battery+staple&password_confirm=correct+horse+battery+staple").answers(403, r#"data-page="error-csrf""#),
        case("sign-up with another browser's CSRF token", "POST", "/signup").form(format!("csrf={signup_csrf}&username=mallory&email=m%40example.com&password=correct+horse+battery+staple&password_confirm=correct+horse+battery+staple")).answers(403, r#"data-page="error-csrf""#),
        case("password change without CSRF token", "POST", "/account/password").form("current_password=x&password=a+brand+new+passphrase&password_confirm=a+brand+new+passphrase").answers(403, r#"data-page="error-csrf""#),
        case("PIN change without CSRF token", "POST", "/account/pin").form("current_pin=482916&pin=739154&pin_confirm=739154").answers(403, r#"data-page="error-csrf""#),
        case("sign-out without CSRF token", "POST", "/logout/confirm").form("").answers(403, r#"data-page="error-csrf""#),
        case("request id that would forge a log line", "GET", "/healthz").header("x-request-id", "abc\t{\"level\":\"ERROR\"}").answers(200, "ok"),
    ];
    // Cases that need this browser's cookies.
    let mut browser_cases = vec![
        case("SQL in the username", "POST", action.clone()).form(format!("csrf={csrf}&username=%27+OR+%271%27%3D%271&password=x")).answers(401, "not correct"),
        case("a sign-in that is not this browser's", "POST", "/login/not-an-interaction").form(format!("csrf={csrf}&username=alice&password=x")).answers(400, r#"data-page="error-expired""#),
        case("script in the username", "POST", "/signup").form(format!("csrf={signup_csrf}&username=%3Cscript%3Ealert(1)%3C%2Fscript%3E&email=m%40example.com&password=correct+horse+battery+staple&password_confirm=correct+horse+battery+staple")).answers(400, "&lt;script&gt;").without("<script>alert"),
        case("oversized username", "POST", "/signup").form(format!("csrf={signup_csrf}&username={}&email=m%40example.com&password=correct+horse+battery+staple&password_confirm=correct+horse+battery+staple", "a".repeat(5_000))).answers(400, "3 to 32 characters"),
        case("oversized password", "POST", "/signup").form(format!("csrf={signup_csrf}&username=mallory&email=m%40example.com&password={0}&password_confirm={0}", "p".repeat(5_000))).answers(400, "at most"),
        case("header injection in the e-mail address", "POST", "/signup").form(format!("csrf={signup_csrf}&username=mallory&email=m%40example.com%0D%0ABcc%3A+all%40example.com&password=correct+horse+battery+staple&password_confirm=correct+horse+battery+staple")).answers(400, "e-mail address like"),
        case("skipping the password step", "GET", format!("{action}/pin")).answers(303, "/login/").without("/pin"),
    ];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let before = fingerprint(&idp).await;
    let mut failures = Vec::new();
    let total = cases.len() + browser_cases.len();
    for (with_browser, case) in cases
        .drain(..)
        .map(|c| (false, c))
        .chain(browser_cases.drain(..).map(|c| (true, c)))
    {
        let url = if case.path.starts_with("http") {
            case.path.clone()
        } else {
            format!("{}{}", idp.issuer, case.path)
        };
        let client = if with_browser { browser.http() } else { &http };
        let mut headers = HeaderMap::new();
        for (name, value) in &case.headers {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        let request = match case.method {
            "GET" => client.get(&url),
            _ => client.post(&url),
        }
        .headers(headers);
        let request = match &case.body {
            Some(body) => request.body(body.clone()),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let request_id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        let text = format!("{}\n{}", location.clone().unwrap_or_default(), body);
        let mut wrong = Vec::new();
        if status != StatusCode::from_u16(case.status).unwrap() {
            wrong.push(format!("status {status}, not {}", case.status));
        }
        if !text.contains(case.expect) {
            wrong.push(format!("no `{}`", case.expect));
        }
        if let Some(refused) = case.refuse
            && text.contains(refused)
        {
            wrong.push(format!("has `{refused}`"));
        }
        match (&location, case.redirect_to) {
            (Some(to), Some(expected)) if !to.starts_with(expected) => {
                wrong.push(format!("redirects to {to}"));
            }
            (None, Some(_)) => wrong.push("no redirect".into()),
            (Some(to), None) if !to.starts_with('/') => wrong.push(format!("redirects to {to}")),
            _ => {}
        }
        if case.name == "request id that would forge a log line"
            && request_id.as_deref().is_none_or(|id| id.contains('{'))
        {
            wrong.push(format!("request id {request_id:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n    {}",
                case.name,
                wrong.join("; "),
                text.chars().take(300).collect::<String>()
            ));
        }
    }
    assert!(total >= 60, "only {total} hostile requests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        fingerprint(&idp).await,
        before,
        "a hostile request changed what is stored"
    );
}
