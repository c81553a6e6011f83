//! The audit log's hash chain: `idp audit verify` passes on the log as written, and names the
//! rows that someone with access to the database changed, removed or slipped in.

use serde_json::Value;

use crate::support::*;

fn verify(idp: &TestIdp, expect: Option<&str>) -> Result<Value, String> {
    let mut args = vec!["audit", "verify"];
    if let Some(expect) = expect {
        args.extend(["--expect", expect]);
    }
    let out = idp.cli(&args, "");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("verify prints JSON"))
    } else {
        assert_eq!(out.status.code(), Some(1));
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A provider whose log holds events from the server (wrong PINs, a sign-in) and from the
/// command line (an unlock), in one chain; its report, and the `ID:LINK` of its newest row.
async fn logged() -> (TestIdp, Value, String) {
    let idp = TestIdp::start().await;
    idp.create_user("ruth");
    let browser = Browser::new(&idp);
    let pin_page = browser.at_pin_step("ruth").await;
    for _ in 0..2 {
        browser.submit(&pin_page, &[("pin", "135790")]).await;
    }
    browser.submit_pin(&pin_page, PIN).await;
    let unlock = idp.cli(&["user", "unlock", "ruth"], "");
    assert!(unlock.status.success(), "{unlock:?}");
    let rows = idp.count("audit_log", "TRUE").await;
    assert!(rows >= 4, "{rows} events");
    let report = verify(&idp, None).expect("an untouched log verifies");
    assert_eq!(report["verified"], rows);
    assert_eq!(report["before_chain"], 0);
    let noted = format!(
        "{}:{}",
        report["last_id"],
        report["last_chain"].as_str().expect("a link")
    );
    assert_eq!(report["last_chain"].as_str().unwrap().len(), 43);
    (idp, report, noted)
}

#[tokio::test]
async fn a_changed_or_removed_row_breaks_the_chain_where_it_was() {
    let (idp, _, noted) = logged().await;
    assert!(verify(&idp, Some(&noted)).is_ok());
    // Changed: someone clears the actor of the unlock (the support agent covering tracks).
    let unlock_row: i64 = idp
        .count(
            "audit_log",
            "id <= (SELECT id FROM audit_log WHERE kind = 'pin_unlocked')",
        )
        .await;
    let changed = idp
        .execute("UPDATE audit_log SET actor = NULL WHERE kind = 'pin_unlocked'")
        .await;
    assert_eq!(changed, 1);
    let error = verify(&idp, None).unwrap_err();
    assert!(
        error.contains(&format!("row {unlock_row} does not follow")),
        "{error}"
    );
    assert!(error.contains("(1 breaks)"), "{error}");
    idp.execute("UPDATE audit_log SET actor = 'cli' WHERE kind = 'pin_unlocked'")
        .await;
    assert!(
        verify(&idp, None).is_ok(),
        "put back as it was, it verifies again"
    );

    // Removed: the first wrong PIN; the row after it no longer follows.
    let first_wrong: i64 = idp
        .count(
            "audit_log",
            "id <= (SELECT MIN(id) FROM audit_log WHERE kind = 'pin_wrong')",
        )
        .await;
    let removed = idp
        .execute(&format!("DELETE FROM audit_log WHERE id = {first_wrong}"))
        .await;
    assert_eq!(removed, 1);
    let error = verify(&idp, None).unwrap_err();
    assert!(
        error.contains(&format!("row {} does not follow", first_wrong + 1)),
        "{error}"
    );

    // Removed at the end: only the link noted earlier shows it.
    let (idp, _, noted) = logged().await;
    idp.execute("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)")
        .await;
    assert!(verify(&idp, None).is_ok(), "the chain alone cannot tell");
    let error = verify(&idp, Some(&noted)).unwrap_err();
    assert!(error.contains("noted earlier, is gone"), "{error}");
}

#[tokio::test]
async fn cleared_links_and_slipped_in_rows_show() {
    // The links of the first rows cleared, to pass them off as older than the chain.
    let (idp, _, _) = logged().await;
    idp.execute("UPDATE audit_log SET chain = NULL WHERE id <= 2")
        .await;
    let error = verify(&idp, None).unwrap_err();
    assert!(error.contains("row 3 does not follow"), "{error}");

    // Every link cleared: the log looks older than the chain, but not to the noted link.
    let (idp, _, noted) = logged().await;
    idp.execute("UPDATE audit_log SET chain = NULL").await;
    let report = verify(&idp, None).expect("nothing to check it against");
    assert_eq!(report["verified"], 0);
    let error = verify(&idp, Some(&noted)).unwrap_err();
    assert!(
        error.contains("no longer has the link noted for it"),
        "{error}"
    );

    // A row slipped in before the first, and one copied from the first to the end.
    let (idp, _, _) = logged().await;
    let copy = |id: &str| {
        // PostgreSQL makes ids itself unless told otherwise.
        let overriding = if on_postgres() {
            "OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        format!(
            "INSERT INTO audit_log (id, at, kind, user_id, actor, detail, chain) {overriding}
             SELECT {id}, at, kind, user_id, 'cli', '', chain FROM audit_log
             WHERE id = (SELECT MIN(id) FROM audit_log)"
        )
    };
    idp.execute(&copy("-5")).await;
    let error = verify(&idp, None).unwrap_err();
    assert!(error.contains("row -5 does not follow"), "{error}");
    idp.execute("DELETE FROM audit_log WHERE id = -5").await;
    assert!(verify(&idp, None).is_ok());
    idp.execute(&copy("1000")).await;
    let error = verify(&idp, None).unwrap_err();
    assert!(error.contains("row 1000 does not follow"), "{error}");
}
