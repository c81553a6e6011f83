//! A person's second factors, one service for every page and command that touches them: the
//! sign-in's second-factor step, the account page, and support's command line. Checking a
//! code, a saved code or a passkey, binding an app or a passkey, making saved codes and
//! removing a factor are each audited here, and the person is told of every change by e-mail.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{AuditKind, Factor, FactorKind, Message, User};
use idp_factors::{saved_codes, totp};
use idp_signin::{Factors, Level};

use crate::audit;
use crate::error::PageError;
use crate::messages;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;

mod passkeys;
pub use passkeys::{
    Begun, Ceremony, attestation_cas, begin_passkey_registration, begin_passkey_sign_in,
    finish_passkey_registration, finish_passkey_sign_in, relying_party,
};

/// What the machine needs to know of a person's factors.
pub async fn of(state: &AppState, user: &User) -> Result<Factors, StoreError> {
    let store = &state.stores.factors;
    let bound = store.list_factors(&user.id).await?;
    let (saved_left, _) = store.recovery_codes_left(&user.id).await?;
    Ok(Factors {
        app: bound.iter().any(|f| f.kind == FactorKind::App),
        passkey: bound.iter().any(|f| f.kind == FactorKind::Passkey),
        saved_codes: saved_left > 0,
        phone: user.phone.is_some() && user.phone_verified,
    })
}

/// A person's factors as pages and commands show them.
pub struct Listing {
    /// Oldest first.
    pub factors: Vec<Factor>,
    /// Saved codes not used yet.
    pub saved_left: usize,
    /// When the current set of saved codes was made (`None`: never).
    pub saved_made: Option<UnixTime>,
}

impl Listing {
    /// Whether the person has anything that signs in at `urn:idp:acr:aal2`.
    pub fn has_any(&self) -> bool {
        !self.factors.is_empty() || self.saved_left > 0
    }
}

pub async fn listing(state: &AppState, user_id: &str) -> Result<Listing, StoreError> {
    let store = &state.stores.factors;
    let factors = store.list_factors(user_id).await?;
    let (saved_left, saved_made) = store.recovery_codes_left(user_id).await?;
    Ok(Listing {
        factors,
        saved_left,
        saved_made,
    })
}

/// The level a session needs to bind a factor or make saved codes outside a sign-in: a
/// verified device for the first, and the level of a second factor once the person has one,
/// so that a stolen password and PIN never bind an attacker's factor over the person's.
pub fn level_to_add(has_one: bool) -> Level {
    if has_one {
        Level::Aal2
    } else {
        Level::PasswordPinDevice
    }
}

/// The level a session at `acr` must step up to before it adds a factor, or `None` when it
/// may add one now.
pub fn short_of(acr: &str, has_one: bool) -> Option<Level> {
    let needed = level_to_add(has_one);
    Level::from_acr(acr)
        .is_none_or(|have| have < needed)
        .then_some(needed)
}

/// Renames the person's factor `id` (audited); false when they have no such factor.
pub async fn rename(
    state: &AppState,
    user: &User,
    id: &str,
    name: &str,
    from: &ClientInfo,
) -> Result<bool, StoreError> {
    let renamed = state
        .stores
        .factors
        .rename_factor(&user.id, id, name)
        .await?;
    if renamed {
        let event = audit::event(state, AuditKind::FactorRenamed, from)
            .user(&user.id)
            .detail(id.to_owned());
        audit::record(state, event).await;
    }
    Ok(renamed)
}

/// The sealing context of an app's secret: it opens only as that factor of that person.
fn context(user_id: &str, factor_id: &str) -> Vec<u8> {
    format!("totp:{user_id}:{factor_id}").into_bytes()
}

fn seal(state: &AppState, user_id: &str, factor_id: &str, secret: &totp::Secret) -> Vec<u8> {
    idp_token_issuer::sealing::seal(
        &state.factor_key,
        &context(user_id, factor_id),
        secret.as_bytes(),
    )
    .unwrap_or_else(|_| unreachable!("AES-GCM seals with a 32-byte key"))
}

fn open(state: &AppState, factor: &Factor) -> Result<totp::Secret, StoreError> {
    let context = context(&factor.user_id, &factor.id);
    idp_token_issuer::sealing::open(&state.factor_key, &context, &factor.secret)
        .ok()
        .and_then(totp::Secret::from_bytes)
        .ok_or_else(|| StoreError::Corrupt(format!("factor {} does not open", factor.id)))
}

/// How a code typed at a second-factor step fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Right,
    Wrong,
    /// A code already used (the same time step again, or a saved code used before).
    Used,
}

/// Checks an authenticator-app code against each of the person's apps; a code is taken once
/// (its time step is recorded, and the same step again is refused, also from another node).
/// Wrong codes count toward the person's second-factor limit.
pub async fn check_app_code(
    state: &AppState,
    user: &User,
    code: &str,
    from: &ClientInfo,
) -> Result<Checked, PageError> {
    let checked = guarded(state, &user.id, app_code(state, user, code), |c| {
        *c == Checked::Right
    })
    .await?;
    audit_check(state, user, from, checked, "authenticator app").await;
    Ok(checked)
}

async fn app_code(state: &AppState, user: &User, code: &str) -> Result<Checked, PageError> {
    let now = state.now();
    for factor in state.stores.factors.list_factors(&user.id).await? {
        if factor.kind != FactorKind::App {
            continue;
        }
        let secret = open(state, &factor)?;
        match totp::verify(&secret, code, now, factor.last_step) {
            totp::Verdict::Accepted { step } => {
                let taken = state
                    .stores
                    .factors
                    .record_factor_use(&user.id, &factor.id, now, Some(step), None)
                    .await?;
                return Ok(if taken { Checked::Right } else { Checked::Used });
            }
            // Used before: never tried again against another app (two apps with one key).
            totp::Verdict::Replayed => return Ok(Checked::Used),
            totp::Verdict::Wrong => {}
        }
    }
    Ok(Checked::Wrong)
}

/// Checks a second factor's answer under the person's limits: tries in 15 minutes (waits
/// after the free ones, as for passwords) and wrong answers in a row across every one-time
/// code and second factor (`codes.max_failures`, NIST SP 800-63B's cap), both counted before
/// the check. A right answer gives the try back and forgets the failures in a row.
async fn guarded<T>(
    state: &AppState,
    user_id: &str,
    check: impl std::future::Future<Output = Result<T, PageError>>,
    right: impl Fn(&T) -> bool,
) -> Result<T, PageError> {
    let tried = throttle::second_factor_try(state, user_id).await?;
    let codes = &state.stores.codes;
    let max = state.settings.codes.max_failures;
    if codes.take_code_failure(user_id, max).await?.is_none() {
        tried.give_back(state).await;
        return Err(PageError::CodesBlocked);
    }
    let checked = check.await;
    if checked.as_ref().is_ok_and(&right) {
        codes.reset_code_failures(user_id).await?;
    }
    tried.settle(state, checked, |c| !right(c)).await
}

/// Uses one of the person's saved recovery codes: each works once. A use is audited and the
/// person is told, with how many are left.
pub async fn use_saved_code(
    state: &AppState,
    user: &User,
    typed: &str,
    from: &ClientInfo,
) -> Result<Checked, PageError> {
    let checked = guarded(state, &user.id, saved_code(state, user, typed), |c| {
        *c == Checked::Right
    })
    .await?;
    audit_check(state, user, from, checked, "saved code").await;
    if checked == Checked::Right {
        let (left, _) = state.stores.factors.recovery_codes_left(&user.id).await?;
        let event = audit::event(state, AuditKind::SavedCodeUsed, from)
            .user(&user.id)
            .detail(format!("{left} saved codes left"));
        audit::record(state, event).await;
        state
            .notifier
            .send_later(messages::saved_code_used(user, left, from));
    }
    Ok(checked)
}

async fn saved_code(state: &AppState, user: &User, typed: &str) -> Result<Checked, PageError> {
    let Some(canonical) = saved_codes::normalise(typed) else {
        return Ok(Checked::Wrong);
    };
    let hash = saved_codes::hash(&state.factor_key, &user.id, &canonical);
    let used = state
        .stores
        .factors
        .use_recovery_code(&user.id, &hash, state.now())
        .await?;
    // A used code and a wrong one read the same: the store keeps no difference to tell.
    Ok(if used { Checked::Right } else { Checked::Wrong })
}

async fn audit_check(
    state: &AppState,
    user: &User,
    from: &ClientInfo,
    checked: Checked,
    what: &str,
) {
    let kind = match checked {
        Checked::Right => AuditKind::SecondFactorVerified,
        Checked::Wrong | Checked::Used => AuditKind::SecondFactorWrong,
    };
    let detail = match checked {
        Checked::Used => format!("{what}: a code already used"),
        _ => what.to_owned(),
    };
    let event = audit::event(state, kind, from)
        .user(&user.id)
        .detail(detail);
    audit::record(state, event).await;
}

/// An authenticator app being added: its secret, kept (sealed) in the sign-in or the account
/// page's pending record until its first code is right.
pub struct NewApp {
    pub secret: totp::Secret,
}

impl NewApp {
    pub fn generate() -> Self {
        Self {
            secret: totp::Secret::generate(),
        }
    }

    /// The `otpauth://` URI an app scans, naming the service (its brand, else the issuer's
    /// host) and the person.
    pub fn uri(&self, state: &AppState, user: &User) -> String {
        let service = crate::brand::name().unwrap_or_else(|| {
            url::Url::parse(state.issuer())
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        });
        totp::otpauth_uri(&self.secret, &service, &user.username)
    }

    /// The secret sealed for the pending record (which may sit in Redis).
    pub fn sealed(&self, state: &AppState, pending_id: &str) -> Vec<u8> {
        seal(state, "pending", pending_id, &self.secret)
    }

    pub fn unseal(state: &AppState, pending_id: &str, sealed: &[u8]) -> Option<Self> {
        let context = context("pending", pending_id);
        idp_token_issuer::sealing::open(&state.factor_key, &context, sealed)
            .ok()
            .and_then(totp::Secret::from_bytes)
            .map(|secret| Self { secret })
    }

    /// Binds the app once `code` is right for its secret: returns false (and binds nothing)
    /// when it is not.
    pub async fn bind(
        &self,
        state: &AppState,
        user: &User,
        name: &str,
        code: &str,
        from: &ClientInfo,
    ) -> Result<bool, PageError> {
        let now = state.now();
        let verified = async {
            Ok(match totp::verify(&self.secret, code, now, 0) {
                totp::Verdict::Accepted { step } => Some(step),
                _ => None,
            })
        };
        let step = guarded(state, &user.id, verified, Option::is_some).await?;
        let Some(step) = step else {
            return Ok(false);
        };
        let id = idp_core::random::random_token(12);
        let factor = Factor {
            secret: seal(state, &user.id, &id, &self.secret),
            id,
            user_id: user.id.clone(),
            kind: FactorKind::App,
            name: name.to_owned(),
            credential_id: None,
            created_at: now,
            last_used_at: Some(now),
            // The confirming code is used: it cannot sign in again.
            last_step: step,
        };
        state.stores.factors.add_factor(&factor).await?;
        added(state, user, &factor, from).await;
        Ok(true)
    }
}

/// A factor was bound: audited, and the person is told.
pub async fn added(state: &AppState, user: &User, factor: &Factor, from: &ClientInfo) {
    let event = audit::event(state, AuditKind::FactorAdded, from)
        .user(&user.id)
        .detail(format!("{} {}", factor.kind.as_str(), factor.id));
    audit::record(state, event).await;
    state
        .notifier
        .send_later(messages::factor_added(user, factor, from));
}

/// Makes the person a new set of saved codes; the old ones stop working. The codes are shown
/// once: only their keyed hashes are kept.
pub async fn new_saved_codes(
    state: &AppState,
    user: &User,
    from: &ClientInfo,
) -> Result<Vec<String>, StoreError> {
    let codes = saved_codes::generate();
    let hashes: Vec<String> = codes
        .iter()
        .map(|code| {
            let canonical = saved_codes::normalise(code).unwrap_or_default();
            saved_codes::hash(&state.factor_key, &user.id, &canonical)
        })
        .collect();
    state
        .stores
        .factors
        .replace_recovery_codes(&user.id, &hashes, state.now())
        .await?;
    let event = audit::event(state, AuditKind::SavedCodesCreated, from).user(&user.id);
    audit::record(state, event).await;
    state
        .notifier
        .send_later(messages::saved_codes_created(user, from));
    Ok(codes)
}

/// Removes the person's own factor `id`, at their request. False when they have no such
/// factor. The person is told in the background.
pub async fn remove(
    state: &AppState,
    user: &User,
    id: &str,
    from: &ClientInfo,
) -> Result<bool, StoreError> {
    let Some(notice) = take_away(state, user, id, from, None).await? else {
        return Ok(false);
    };
    state.notifier.send_later(notice);
    Ok(true)
}

/// Removes a factor the person lost, for staff (`acting`): the person is told before this
/// returns (a command exits once it answers, and a notice sent in the background could die
/// with it). `None` when they have no such factor; else whether the notice went out (the
/// factor is gone either way).
pub async fn remove_and_tell(
    state: &AppState,
    user: &User,
    id: &str,
    acting: &crate::staff::Acting<'_>,
) -> Result<Option<bool>, StoreError> {
    let Some(notice) = take_away(state, user, id, acting.from, Some(acting)).await? else {
        return Ok(None);
    };
    let told = crate::staff::tell(state, &notice).await;
    Ok(Some(told))
}

/// Removes and audits the factor (as staff's action when `by` names one); the notice to send,
/// or `None` when there is no such factor.
async fn take_away(
    state: &AppState,
    user: &User,
    id: &str,
    from: &ClientInfo,
    by: Option<&crate::staff::Acting<'_>>,
) -> Result<Option<Message>, StoreError> {
    let factors = state.stores.factors.list_factors(&user.id).await?;
    let Some(factor) = factors.into_iter().find(|f| f.id == id) else {
        return Ok(None);
    };
    if !state.stores.factors.remove_factor(&user.id, id).await? {
        return Ok(None);
    }
    let what = format!("{} {}", factor.kind.as_str(), factor.id);
    let event = match by {
        Some(acting) => acting.event(state, AuditKind::FactorRemoved, user, &what),
        None => audit::event(state, AuditKind::FactorRemoved, from)
            .user(&user.id)
            .detail(what),
    };
    audit::record(state, event).await;
    // Staff's browser and address are not the person's business: their notice names neither.
    let unnamed = ClientInfo::default();
    let from = if by.is_some() { &unnamed } else { from };
    Ok(Some(messages::factor_removed(user, &factor, from)))
}
