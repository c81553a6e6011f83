//! The signing keys' schedule, as decisions over the stored records and a time. Each key is
//! `next` (published in the JWKS, not signing yet), then `active` (signing), then `retired`
//! (published, not signing, until everything it signed has expired), then removed. A `next`
//! key becomes active only after the pre-publication window, at least the JWKS cache lifetime,
//! so every relying party that caches the JWKS as its `Cache-Control` allows already holds the
//! key before the first token it signs.
//!
//! Nothing here reads a clock or a store: the server applies these decisions under its lease
//! and logs each change it makes.

use idp_core::clock::UnixTime;
use idp_core::model::{KeyState, SigningAlg, SigningKeyRecord};

/// Why a change asked for by an operator is refused. The messages are shown to them as they
/// are, so they say what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    #[error("no key `{0}`")]
    Unknown(String),
    #[error("key `{kid}` is {}, not active", .state.as_str())]
    NotActive { kid: String, state: KeyState },
    #[error(
        "key `{kid}` is the only {} key that signs: run `idp keys rotate` and retire it once the new key has been published for {published_secs} seconds",
        .alg.as_str()
    )]
    OnlySigningKey {
        kid: String,
        alg: SigningAlg,
        published_secs: i64,
    },
}

/// The algorithms without an active key, which get one at once (on first start, or when
/// their key was revoked mid-rotation).
pub fn algorithms_without_active_key(records: &[SigningKeyRecord]) -> Vec<SigningAlg> {
    SigningAlg::ALL
        .into_iter()
        .filter(|alg| {
            !records
                .iter()
                .any(|r| r.alg == *alg && r.state == KeyState::Active)
        })
        .collect()
}

/// The `next` keys whose pre-publication window has passed by `now`: each becomes active.
pub fn due_for_activation(records: &[SigningKeyRecord], now: UnixTime) -> Vec<&SigningKeyRecord> {
    records
        .iter()
        .filter(|r| r.state == KeyState::Next && r.activate_at.is_some_and(|t| t <= now))
        .collect()
}

/// The retired keys whose time in the JWKS is over by `now`: each is removed.
pub fn due_for_removal(records: &[SigningKeyRecord], now: UnixTime) -> Vec<&SigningKeyRecord> {
    records
        .iter()
        .filter(|r| r.state == KeyState::Retired && r.remove_after.is_some_and(|t| t <= now))
        .collect()
}

/// What making a `next` key active changes: the key starts signing (from its `activate_at`)
/// and the other active keys of its algorithm retire, published until `remove_after`.
#[derive(Debug, PartialEq, Eq)]
pub struct Promotion<'a> {
    pub next: &'a SigningKeyRecord,
    pub retire: Vec<&'a SigningKeyRecord>,
    pub remove_after: UnixTime,
}

/// The promotion of `next` at `now`, among `records`; a retired key stays published for
/// `retired_lifetime_secs`, so that what it signed still verifies until it expires.
pub fn promotion<'a>(
    records: &'a [SigningKeyRecord],
    next: &'a SigningKeyRecord,
    now: UnixTime,
    retired_lifetime_secs: i64,
) -> Promotion<'a> {
    Promotion {
        next,
        retire: records
            .iter()
            .filter(|r| r.alg == next.alg && r.state == KeyState::Active && r.kid != next.kid)
            .collect(),
        remove_after: now + retired_lifetime_secs,
    }
}

/// A `next` key to create: published now, signing from `activate_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextKey {
    pub alg: SigningAlg,
    pub activate_at: UnixTime,
}

impl NextKey {
    /// A `next` key for `alg` created `now`, signing once the pre-publication window is over.
    pub fn new(alg: SigningAlg, now: UnixTime, prepublish_secs: i64) -> Self {
        Self {
            alg,
            activate_at: now + prepublish_secs,
        }
    }
}

/// The `next` keys a scheduled rotation creates at `now`: one for each algorithm whose newest
/// active key has signed for `rotation_interval_secs` (counted from when it was activated)
/// and that has no `next` key yet. An interval of 0 turns scheduled rotation off.
pub fn scheduled_rotation(
    records: &[SigningKeyRecord],
    now: UnixTime,
    rotation_interval_secs: i64,
    prepublish_secs: i64,
) -> Vec<NextKey> {
    if rotation_interval_secs <= 0 {
        return Vec::new();
    }
    SigningAlg::ALL
        .into_iter()
        .filter(|alg| {
            let newest_active = records
                .iter()
                .filter(|r| r.alg == *alg && r.state == KeyState::Active)
                .map(|r| r.created_at.max(r.activate_at.unwrap_or(0)))
                .max();
            let has_next = records
                .iter()
                .any(|r| r.alg == *alg && r.state == KeyState::Next);
            !has_next && newest_active.is_some_and(|t| t + rotation_interval_secs <= now)
        })
        .map(|alg| NextKey::new(alg, now, prepublish_secs))
        .collect()
}

/// One algorithm's part in a rotation an operator starts.
#[derive(Debug, PartialEq, Eq)]
pub enum RotationStep<'a> {
    /// A rotation already under way: its `next` key stands.
    Pending(&'a SigningKeyRecord),
    /// A new `next` key.
    Create(NextKey),
}

/// A rotation started at `now`: for each algorithm, in [`SigningAlg::ALL`] order, its pending
/// `next` key or a new one.
pub fn rotation(
    records: &[SigningKeyRecord],
    now: UnixTime,
    prepublish_secs: i64,
) -> Vec<RotationStep<'_>> {
    SigningAlg::ALL
        .into_iter()
        .map(|alg| {
            match records
                .iter()
                .find(|r| r.alg == alg && r.state == KeyState::Next)
            {
                Some(pending) => RotationStep::Pending(pending),
                None => RotationStep::Create(NextKey::new(alg, now, prepublish_secs)),
            }
        })
        .collect()
}

/// The `next` key that takes over when the active key `kid` is retired at `now`. Its algorithm
/// must keep a signing key, and the one taking over must have been published for at least the
/// JWKS cache lifetime plus `lag_secs` (how late a node may learn of a new key), so that every
/// cache holds it.
pub fn retirement<'a>(
    records: &'a [SigningKeyRecord],
    kid: &str,
    now: UnixTime,
    jwks_max_age_secs: i64,
    lag_secs: i64,
) -> Result<&'a SigningKeyRecord, KeyRefusal> {
    let key = find(records, kid)?;
    if key.state != KeyState::Active {
        return Err(KeyRefusal::NotActive {
            kid: kid.to_owned(),
            state: key.state,
        });
    }
    records
        .iter()
        .find(|r| {
            r.alg == key.alg
                && r.state == KeyState::Next
                && r.created_at + jwks_max_age_secs + lag_secs <= now
        })
        .ok_or_else(|| KeyRefusal::OnlySigningKey {
            kid: kid.to_owned(),
            alg: key.alg,
            published_secs: jwks_max_age_secs + lag_secs,
        })
}

/// What revoking a key (it leaked) changes: it goes at once, and when no other active key of
/// its algorithm is left, a new active one is created first, so that there is never a moment
/// without one.
#[derive(Debug, PartialEq, Eq)]
pub struct Revocation<'a> {
    pub key: &'a SigningKeyRecord,
    pub needs_replacement: bool,
}

/// The revocation of `kid`, any state.
pub fn revocation<'a>(
    records: &'a [SigningKeyRecord],
    kid: &str,
) -> Result<Revocation<'a>, KeyRefusal> {
    let key = find(records, kid)?;
    let still_signing = records
        .iter()
        .any(|r| r.kid != kid && r.alg == key.alg && r.state == KeyState::Active);
    Ok(Revocation {
        key,
        needs_replacement: !still_signing,
    })
}

fn find<'a>(
    records: &'a [SigningKeyRecord],
    kid: &str,
) -> Result<&'a SigningKeyRecord, KeyRefusal> {
    records
        .iter()
        .find(|r| r.kid == kid)
        .ok_or_else(|| KeyRefusal::Unknown(kid.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored key as the schedule sees it (no key material: the schedule never opens one).
    fn key(kid: &str, alg: SigningAlg, state: KeyState, created_at: UnixTime) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: kid.into(),
            alg,
            sealed_private_key: Vec::new(),
            state,
            created_at,
            activate_at: None,
            remove_after: None,
        }
    }

    fn next(
        kid: &str,
        alg: SigningAlg,
        created_at: UnixTime,
        activate_at: UnixTime,
    ) -> SigningKeyRecord {
        SigningKeyRecord {
            activate_at: Some(activate_at),
            ..key(kid, alg, KeyState::Next, created_at)
        }
    }

    fn retired(kid: &str, alg: SigningAlg, remove_after: UnixTime) -> SigningKeyRecord {
        SigningKeyRecord {
            remove_after: Some(remove_after),
            ..key(kid, alg, KeyState::Retired, 0)
        }
    }

    fn kids<'a>(records: impl IntoIterator<Item = &'a SigningKeyRecord>) -> Vec<&'a str> {
        records.into_iter().map(|r| r.kid.as_str()).collect()
    }

    /// One active key for each algorithm, created at 100.
    fn one_active_each() -> Vec<SigningKeyRecord> {
        vec![
            key("es", SigningAlg::ES256, KeyState::Active, 100),
            key("rs", SigningAlg::RS256, KeyState::Active, 100),
            key("ed", SigningAlg::EdDSA, KeyState::Active, 100),
        ]
    }

    #[test]
    fn every_algorithm_without_an_active_key_is_named() {
        assert_eq!(algorithms_without_active_key(&[]), SigningAlg::ALL.to_vec());
        let mut records = one_active_each();
        assert!(algorithms_without_active_key(&records).is_empty());
        // A `next` or retired key does not sign: it does not count.
        records[1].state = KeyState::Retired;
        records.push(next("rs2", SigningAlg::RS256, 200, 800));
        assert_eq!(
            algorithms_without_active_key(&records),
            vec![SigningAlg::RS256]
        );
    }

    #[test]
    fn a_next_key_becomes_due_when_its_window_is_over() {
        let records = vec![
            next("a", SigningAlg::ES256, 100, 700),
            next("b", SigningAlg::RS256, 100, 701),
            // A `next` key without a time is never activated by the schedule.
            key("c", SigningAlg::EdDSA, KeyState::Next, 100),
            SigningKeyRecord {
                activate_at: Some(0),
                ..key("d", SigningAlg::EdDSA, KeyState::Active, 0)
            },
        ];
        assert!(due_for_activation(&records, 699).is_empty());
        assert_eq!(kids(due_for_activation(&records, 700)), ["a"]);
        assert_eq!(kids(due_for_activation(&records, 10_000)), ["a", "b"]);
    }

    #[test]
    fn a_retired_key_is_removed_when_its_lifetime_is_over() {
        let records = vec![
            retired("a", SigningAlg::ES256, 5_000),
            retired("b", SigningAlg::ES256, 6_000),
            key("c", SigningAlg::ES256, KeyState::Retired, 0),
            SigningKeyRecord {
                remove_after: Some(0),
                ..key("d", SigningAlg::ES256, KeyState::Active, 0)
            },
        ];
        assert!(due_for_removal(&records, 4_999).is_empty());
        assert_eq!(kids(due_for_removal(&records, 5_000)), ["a"]);
        assert_eq!(kids(due_for_removal(&records, 6_000)), ["a", "b"]);
    }

    #[test]
    fn a_promotion_retires_the_other_active_keys_of_its_algorithm_only() {
        let mut records = one_active_each();
        records.push(key("es-old", SigningAlg::ES256, KeyState::Active, 50));
        records.push(retired("es-older", SigningAlg::ES256, 9_000));
        records.push(next("es-new", SigningAlg::ES256, 200, 800));
        let promoted = promotion(&records, &records[5], 800, 86_400);
        assert_eq!(promoted.next.kid, "es-new");
        assert_eq!(kids(promoted.retire), ["es", "es-old"]);
        assert_eq!(promoted.remove_after, 800 + 86_400);
    }

    #[test]
    fn a_scheduled_rotation_starts_once_the_interval_has_passed() {
        let records = one_active_each();
        assert!(scheduled_rotation(&records, 1_099, 1_000, 600).is_empty());
        assert_eq!(
            scheduled_rotation(&records, 1_100, 1_000, 600),
            SigningAlg::ALL.map(|alg| NextKey {
                alg,
                activate_at: 1_700
            })
        );
        // Turned off.
        assert!(scheduled_rotation(&records, 1_000_000, 0, 600).is_empty());
    }

    #[test]
    fn a_scheduled_rotation_counts_from_activation_and_waits_for_a_pending_one() {
        let mut records = one_active_each();
        // Activated at 500 though created at 100: its interval runs from 500.
        records[0].activate_at = Some(500);
        // RS256 already has a rotation under way.
        records.push(next("rs2", SigningAlg::RS256, 900, 1_500));
        // EdDSA's newest active key is the one that counts.
        records.push(key("ed2", SigningAlg::EdDSA, KeyState::Active, 400));
        assert!(scheduled_rotation(&records, 1_399, 1_000, 600).is_empty());
        assert_eq!(
            scheduled_rotation(&records, 1_400, 1_000, 600),
            [NextKey {
                alg: SigningAlg::EdDSA,
                activate_at: 2_000
            }]
        );
        assert_eq!(
            scheduled_rotation(&records, 1_500, 1_000, 600),
            [SigningAlg::ES256, SigningAlg::EdDSA].map(|alg| NextKey {
                alg,
                activate_at: 2_100
            })
        );
    }

    #[test]
    fn an_algorithm_without_an_active_key_is_not_rotated() {
        assert!(scheduled_rotation(&[], 1_000_000, 1_000, 600).is_empty());
    }

    #[test]
    fn a_rotation_keeps_a_pending_next_key_and_creates_the_others() {
        let mut records = one_active_each();
        records.push(next("rs2", SigningAlg::RS256, 900, 1_500));
        let steps = rotation(&records, 1_000, 600);
        assert_eq!(
            steps,
            [
                RotationStep::Create(NextKey {
                    alg: SigningAlg::ES256,
                    activate_at: 1_600
                }),
                RotationStep::Pending(&records[3]),
                RotationStep::Create(NextKey {
                    alg: SigningAlg::EdDSA,
                    activate_at: 1_600
                }),
            ]
        );
    }

    #[test]
    fn an_active_key_retires_only_for_a_next_key_every_cache_holds() {
        let mut records = one_active_each();
        records.push(next("es2", SigningAlg::ES256, 1_000, 1_600));
        // Published for the JWKS cache lifetime (300) plus a tick (30) at 1 330.
        let refused = retirement(&records, "es", 1_329, 300, 30).unwrap_err();
        assert_eq!(
            refused,
            KeyRefusal::OnlySigningKey {
                kid: "es".into(),
                alg: SigningAlg::ES256,
                published_secs: 330
            }
        );
        assert_eq!(
            refused.to_string(),
            "key `es` is the only ES256 key that signs: run `idp keys rotate` and retire it once the new key has been published for 330 seconds"
        );
        assert_eq!(
            retirement(&records, "es", 1_330, 300, 30).unwrap().kid,
            "es2"
        );
        // Another algorithm's `next` key does not take over.
        assert!(matches!(
            retirement(&records, "rs", 10_000, 300, 30),
            Err(KeyRefusal::OnlySigningKey { .. })
        ));
    }

    #[test]
    fn only_a_known_active_key_retires() {
        let mut records = one_active_each();
        records.push(next("es2", SigningAlg::ES256, 0, 600));
        let unknown = retirement(&records, "nope", 10_000, 300, 30).unwrap_err();
        assert_eq!(unknown.to_string(), "no key `nope`");
        let not_active = retirement(&records, "es2", 10_000, 300, 30).unwrap_err();
        assert_eq!(not_active.to_string(), "key `es2` is next, not active");
    }

    #[test]
    fn a_revoked_key_is_replaced_when_it_was_its_algorithms_only_signing_key() {
        let mut records = one_active_each();
        records.push(key("es2", SigningAlg::ES256, KeyState::Active, 200));
        records.push(next("rs2", SigningAlg::RS256, 200, 800));
        let es = revocation(&records, "es").unwrap();
        assert_eq!((es.key.kid.as_str(), es.needs_replacement), ("es", false));
        // A `next` key does not sign yet: it does not stand in.
        let rs = revocation(&records, "rs").unwrap();
        assert_eq!((rs.key.kid.as_str(), rs.needs_replacement), ("rs", true));
        // Revoking a key that does not sign leaves the active one to sign.
        assert!(!revocation(&records, "rs2").unwrap().needs_replacement);
        assert_eq!(
            revocation(&records, "nope").unwrap_err(),
            KeyRefusal::Unknown("nope".into())
        );
    }
}
