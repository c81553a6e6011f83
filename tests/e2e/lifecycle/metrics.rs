//! The metrics that sign-ins and tokens are counted and timed in.

use super::signed_in;
use crate::support::*;

#[tokio::test]
async fn metrics_count_sign_ins_tokens_and_time_each_endpoint() {
    let f = TaxPortal::start().await;
    let browser = Browser::new(&f.idp);
    let login = browser.open(&f.rp.start(&[], &[], true).url).await;
    let pin_page = browser
        .submit(&login, &[("username", "alice"), ("password", PASSWORD)])
        .await;
    browser.submit(&pin_page, &[("pin", "000000")]).await;
    signed_in(&f, &["offline_access"]).await;
    let response = reqwest::get(format!("{}/metrics", f.idp.issuer))
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for line in [
        "idp_security_events_total{kind=\"sign_in_succeeded\"} 1",
        "idp_security_events_total{kind=\"pin_wrong\"} 1",
        "idp_tokens_issued_total{type=\"refresh\"} 1",
        "idp_http_request_duration_seconds_count{route=\"/token\",method=\"POST\",status=\"200\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    assert!(
        text.contains("route=\"/login/{id}\""),
        "routes, not raw paths, label the timings"
    );
    assert!(!text.contains("alice"), "no personal data in metrics");
    // How long a hash takes here, learnt from the sign-in's password and PIN.
    let hash_seconds: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("idp_hash_seconds "))
        .expect("idp_hash_seconds")
        .parse()
        .unwrap();
    assert!(hash_seconds > 0.0 && hash_seconds < 10.0, "{hash_seconds}");
}
