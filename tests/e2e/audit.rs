//! The audit log's hash chain: `idp audit verify` passes on the log as written, and names the
//! first row that someone with access to the database changed, removed or slipped in.

use serde_json::Value;

use crate::support::*;

fn verify(idp: &TestIdp) -> Result<Value, String> {
    let out = idp.cli(&["audit", "verify"], "");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("verify prints JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn the_audit_chain_shows_a_changed_removed_or_added_row() {
    let idp = TestIdp::start().await;
    idp.create_user("ruth");
    // Security events from the server and from the command line, in one chain.
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
    let report = verify(&idp).expect("an untouched log verifies");
    assert_eq!(report["verified"], rows);
    assert_eq!(report["before_chain"], 0);
    assert!(report["last_chain"].as_str().is_some_and(|c| c.len() == 43));

    // Changed: someone clears the actor of the unlock (the support agent covering tracks).
    let changed = idp
        .execute("UPDATE audit_log SET actor = NULL WHERE kind = 'pin_unlocked'")
        .await;
    assert_eq!(changed, 1);
    let unlock_row: i64 = report["last_id"].as_i64().unwrap();
    let error = verify(&idp).unwrap_err();
    assert!(error.contains(&format!("row {unlock_row} ")), "{error}");
    idp.execute("UPDATE audit_log SET actor = 'cli' WHERE kind = 'pin_unlocked'")
        .await;
    assert!(
        verify(&idp).is_ok(),
        "put back as it was, it verifies again"
    );

    // Removed: the first wrong PIN.
    let first_wrong = "(SELECT MIN(id) FROM audit_log WHERE kind = 'pin_wrong')";
    let next = "(SELECT MIN(id) FROM audit_log WHERE id > (SELECT MIN(id) FROM audit_log WHERE kind = 'pin_wrong'))";
    let next_id = idp.count("audit_log", &format!("id <= {next}")).await;
    assert_eq!(
        idp.execute(&format!("DELETE FROM audit_log WHERE id = {first_wrong}"))
            .await,
        1
    );
    let error = verify(&idp).unwrap_err();
    assert!(error.contains("does not follow"), "{error}");
    assert!(error.contains(&format!("row {next_id} ")), "{error}");

    // Added: a made-up row that copies a real one, chain value and all, on a fresh log.
    let other = TestIdp::start().await;
    other.create_user("saul");
    other.create_user("tina");
    other.cli(&["user", "unlock", "saul"], "");
    other.cli(&["user", "unlock", "tina"], "");
    assert!(verify(&other).is_ok());
    other
        .execute(
            "INSERT INTO audit_log (at, kind, user_id, actor, detail, chain)
             SELECT at, kind, user_id, 'cli', '', chain FROM audit_log WHERE id = (SELECT MIN(id) FROM audit_log)",
        )
        .await;
    let error = verify(&other).unwrap_err();
    assert!(error.contains("does not follow"), "{error}");
}
