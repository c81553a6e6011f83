//! The sign-in rules probed across a fault: PIN lockout stays exact, nobody is throttled for
//! the outage, and every wrong password reaches the audit log.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::site::{Site, Visitor};
use super::{Db, Findings, RECOVERY_WITHIN};
use crate::support::*;

/// The sign-in rules probed across the fault: a person with two wrong PINs before it, one who
/// keeps posting the right password during it, and wrong passwords that raise audit events.
pub(super) struct Probes {
    pinned: Visitor,
    pin_page: Page,
    /// Wrong PINs evaluated so far (the allowance is 5).
    pins_evaluated: usize,
    wrong: Visitor,
    wrong_login: Page,
    /// Wrong passwords answered as such during the fault: each an event to keep.
    wrong_answered: usize,
    patient: Visitor,
    patient_login: Page,
    /// Right-password posts refused with 503 during the fault.
    patient_refused: usize,
    wrong_before: i64,
}

const NOT_THE_PIN: &str = "000000";

impl Probes {
    pub(super) async fn prepare(site: &Site, db: &Db<'_>) -> Self {
        let login_page = |visitor: Visitor| {
            let url = site.rp.start(&[], &[], true).url;
            async move {
                let page = visitor.open(&url).await.expect("the login page");
                assert!(page.is("login"), "{}", page.body);
                (visitor, page)
            }
        };
        let (pinned, login) = login_page(site.visitor()).await;
        let pin_page = pinned
            .submit(&login, &[("username", "pinned"), ("password", PASSWORD)])
            .await
            .expect("the PIN page");
        assert!(pin_page.is("pin"), "{}", pin_page.body);
        for _ in 0..2 {
            let wrong = pinned.submit(&pin_page, &[("pin", NOT_THE_PIN)]).await;
            assert!(wrong.is_some_and(|w| wrong_pin_counted(&w)));
        }
        let (wrong, wrong_login) = login_page(site.visitor()).await;
        let (patient, patient_login) = login_page(site.visitor()).await;
        Self {
            pinned,
            pin_page,
            pins_evaluated: 2,
            wrong,
            wrong_login,
            wrong_answered: 0,
            patient,
            patient_login,
            patient_refused: 0,
            wrong_before: db.count("audit_log", "kind = 'password_wrong'").await,
        }
    }

    /// During the fault: three wrong PINs, three wrong passwords (for a username that needs
    /// no lookup, and for real ones), eight right-password posts until one goes through.
    pub(super) async fn during(&mut self, site: &Site) {
        let ledger = &site.ledger;
        for _ in 0..3 {
            let answer = self
                .pinned
                .submit(&self.pin_page, &[("pin", NOT_THE_PIN)])
                .await;
            ledger.page("wrong PIN", answer.as_ref());
            if answer.is_some_and(|a| wrong_pin_counted(&a)) {
                self.pins_evaluated += 1;
            }
        }
        for username in ["no such person!", "patient", "pinned"] {
            let answer = self
                .wrong
                .submit(
                    &self.wrong_login,
                    &[("username", username), ("password", "not the password")],
                )
                .await;
            ledger.page("wrong password", answer.as_ref());
            if answer.is_some_and(|a| a.status == StatusCode::UNAUTHORIZED) {
                self.wrong_answered += 1;
            }
        }
        for _ in 0..8 {
            let answer = self
                .patient
                .submit(
                    &self.patient_login,
                    &[("username", "patient"), ("password", PASSWORD)],
                )
                .await;
            ledger.page("password (patient)", answer.as_ref());
            match answer.map(|a| a.status) {
                Some(StatusCode::SERVICE_UNAVAILABLE) => self.patient_refused += 1,
                // Throttled (noted in the ledger): the person keeps trying.
                Some(StatusCode::TOO_MANY_REQUESTS) => {}
                _ => break,
            }
        }
    }

    /// At once after recovery: the patient person is not throttled for the outage.
    pub(super) async fn after_recovery(&self, site: &Site, findings: &Findings) {
        let again = site.visitor();
        let login = again
            .open(&site.rp.start(&[], &[], true).url)
            .await
            .expect("the login page");
        let answer = again
            .submit(&login, &[("username", "patient"), ("password", PASSWORD)])
            .await;
        site.ledger
            .page("password (patient, after)", answer.as_ref());
        let status = answer.as_ref().map(|a| a.status);
        findings.check(answer.is_some_and(|a| a.is("pin")), || {
            format!(
                "after {} right-password posts refused with 503 during the fault, the right password answers {status:?} once the store is back",
                self.patient_refused,
            )
        });
    }

    /// After recovery: the PIN allowance exact, the wrong passwords in the audit log.
    pub(super) async fn after(&self, site: &Site, db: &Db<'_>, findings: &Findings) {
        let before = self.pins_evaluated;
        let tries = (0..20).map(|_| self.pinned.submit(&self.pin_page, &[("pin", NOT_THE_PIN)]));
        let answers = futures_util::future::join_all(tries).await;
        let evaluated = answers
            .iter()
            .filter(|a| a.as_ref().is_some_and(wrong_pin_counted))
            .count();
        for answer in &answers {
            site.ledger.page("wrong PIN (after)", answer.as_ref());
        }
        findings.check(before + evaluated == 5, || {
            format!(
                "PIN lockout not exact: {before} wrong PINs evaluated before and during the fault, {evaluated} after (allowance 5)"
            )
        });
        let locked = db
            .count("users", "username = 'pinned' AND pin_failures = 5")
            .await;
        findings.check(locked == 1, || "pinned is not locked at 5 failures".into());
        let lock_events = db.count("audit_log", "kind = 'pin_locked'").await;
        findings.check(lock_events == 1, || {
            format!("{lock_events} pin_locked events")
        });

        let deadline = Instant::now() + RECOVERY_WITHIN;
        let expected = self.wrong_before + i64::try_from(self.wrong_answered).unwrap();
        let mut logged;
        loop {
            logged = db.count("audit_log", "kind = 'password_wrong'").await;
            if logged >= expected || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "{} wrong passwords answered during the fault; {} password_wrong events before, {logged} after",
            self.wrong_answered, self.wrong_before
        );
        findings.check(logged >= expected, || {
            format!(
                "audit events lost: {} wrong passwords answered during the fault, {} password_wrong rows added",
                self.wrong_answered,
                logged - self.wrong_before
            )
        });
    }
}
