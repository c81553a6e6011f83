//! A person's second factors, one service for every page and command that touches them: the
//! sign-in's second-factor step, the account page, and support's command line. Checking a
//! code, a saved code or a passkey, binding an app or a passkey, making saved codes and
//! removing a factor are each audited here, and the person is told of every change by e-mail.

use idp_core::StoreError;
use idp_core::clock::UnixTime;
use idp_core::model::{AuditKind, Consumed, EphemeralKind, Factor, FactorKind, Message, User};
use idp_factors::{passkey, saved_codes, totp};
use idp_signin::{Factors, Level, SecondFactor};

use crate::audit;
use crate::error::PageError;
use crate::messages;
use crate::state::AppState;
use crate::throttle;
use crate::web::client_info::ClientInfo;

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

/// Renames the person's factor `id`; false when they have no such factor.
pub async fn rename(
    state: &AppState,
    user: &User,
    id: &str,
    name: &str,
) -> Result<bool, StoreError> {
    state.stores.factors.rename_factor(&user.id, id, name).await
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

/// Removes the person's factor `id`; `by` names who did (support's reason, or nobody for the
/// person themself). False when they have no such factor. The person is told in the
/// background.
pub async fn remove(
    state: &AppState,
    user: &User,
    id: &str,
    from: &ClientInfo,
    by: Option<&str>,
) -> Result<bool, StoreError> {
    let Some(notice) = take_away(state, user, id, from, by).await? else {
        return Ok(false);
    };
    state.notifier.send_later(notice);
    Ok(true)
}

/// How long a command waits for a notice to go out.
const NOTICE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// [`remove`] for a command that exits once it answers: the person is told before this
/// returns (a notice sent in the background could die with the process). `None` when they
/// have no such factor; else whether the notice went out (the factor is gone either way).
pub async fn remove_and_tell(
    state: &AppState,
    user: &User,
    id: &str,
    from: &ClientInfo,
    by: Option<&str>,
) -> Result<Option<bool>, StoreError> {
    let Some(notice) = take_away(state, user, id, from, by).await? else {
        return Ok(None);
    };
    // Bounded besides the transport's own timeouts: a mail server that accepts and then says
    // nothing must not hold the command forever.
    let sent = tokio::time::timeout(NOTICE_WAIT, state.notifier.send(&notice)).await;
    let told = match sent {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(%error, "notice of a removed factor not delivered");
            false
        }
        Err(_) => {
            tracing::warn!("notice of a removed factor not delivered: no answer in time");
            false
        }
    };
    Ok(Some(told))
}

/// Removes and audits the factor; the notice to send, or `None` when there is no such factor.
async fn take_away(
    state: &AppState,
    user: &User,
    id: &str,
    from: &ClientInfo,
    by: Option<&str>,
) -> Result<Option<Message>, StoreError> {
    let factors = state.stores.factors.list_factors(&user.id).await?;
    let Some(factor) = factors.into_iter().find(|f| f.id == id) else {
        return Ok(None);
    };
    if !state.stores.factors.remove_factor(&user.id, id).await? {
        return Ok(None);
    }
    let mut event = audit::event(state, AuditKind::FactorRemoved, from)
        .user(&user.id)
        .detail(format!("{} {}", factor.kind.as_str(), factor.id));
    if let Some(actor) = by {
        event = event.actor(actor);
    }
    audit::record(state, event).await;
    Ok(Some(messages::factor_removed(user, &factor, from)))
}

/// Passkeys' relying party for the issuer: its host as RP ID (a domain; WebAuthn allows no
/// IP address, so an issuer at one offers no passkeys), its origin, and the service's name.
pub fn relying_party(settings: &crate::config::Settings) -> Option<passkey::RelyingParty> {
    let issuer = url::Url::parse(&settings.issuer).ok()?;
    let Some(url::Host::Domain(host)) = issuer.host() else {
        return None;
    };
    let name = Some(settings.brand.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| host.to_owned());
    match passkey::RelyingParty::new(host, &issuer, &name) {
        Ok(rp) => Some(rp),
        Err(error) => {
            tracing::warn!(%error, "passkeys are not offered");
            None
        }
    }
}

/// How long a passkey ceremony may wait for the browser's answer.
const CEREMONY_SECS: i64 = 300;

/// What a passkey ceremony is for, bound into its stored state with the person and the place
/// (the sign-in or the session) it was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ceremony {
    Authenticate,
    Register,
}

/// A passkey ceremony begun: the options for the browser, and the id of its stored state (a
/// form field: the state itself never leaves the server).
pub struct Begun {
    pub options: serde_json::Value,
    pub id: String,
}

/// The person's stable, opaque handle for their authenticators (never their username).
fn user_handle(state: &AppState, user: &User) -> [u8; 16] {
    let keyed = crate::secrets::derive(&state.factor_key, &format!("passkey-user:{}", user.id));
    let mut handle = [0u8; 16];
    handle.copy_from_slice(&keyed[..16]);
    handle
}

async fn passkeys_of(state: &AppState, user: &User) -> Result<Vec<Factor>, StoreError> {
    let all = state.stores.factors.list_factors(&user.id).await?;
    Ok(all
        .into_iter()
        .filter(|f| f.kind == FactorKind::Passkey)
        .collect())
}

/// Keeps a ceremony's state, taken once, for `user` and `place`.
async fn keep(
    state: &AppState,
    ceremony: Ceremony,
    user: &User,
    place: &str,
    bytes: Vec<u8>,
) -> Result<String, StoreError> {
    let id = idp_core::random::random_token(24);
    let payload = serde_json::json!({
        "ceremony": ceremony,
        "user_id": user.id,
        "place": place,
        "state": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes),
    });
    let expires_at = state.now() + CEREMONY_SECS;
    state
        .stores
        .ephemeral
        .put(EphemeralKind::PasskeyCeremony, &id, &payload, expires_at)
        .await?;
    Ok(id)
}

/// Takes a ceremony's state, once: only for the person, purpose and place it was kept for.
async fn take(
    state: &AppState,
    id: &str,
    ceremony: Ceremony,
    user: &User,
    place: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let consumed = state
        .stores
        .ephemeral
        .consume(EphemeralKind::PasskeyCeremony, id, state.now())
        .await?;
    let Consumed::Fresh(payload) = consumed else {
        return Ok(None);
    };
    let ours = payload["ceremony"] == serde_json::json!(ceremony)
        && payload["user_id"] == user.id.as_str()
        && payload["place"] == place;
    Ok(payload["state"]
        .as_str()
        .filter(|_| ours)
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok()))
}

/// Starts a passkey sign-in for the person's passkeys, at `place` (the sign-in's id).
pub async fn begin_passkey_sign_in(
    state: &AppState,
    user: &User,
    place: &str,
) -> Result<Option<Begun>, StoreError> {
    let Some(rp) = &state.passkeys else {
        return Ok(None);
    };
    let stored: Vec<Vec<u8>> = passkeys_of(state, user)
        .await?
        .into_iter()
        .map(|f| f.secret)
        .collect();
    let Ok((options, bytes)) = rp.start_authentication(&stored) else {
        return Ok(None);
    };
    let id = keep(state, Ceremony::Authenticate, user, place, bytes).await?;
    Ok(Some(Begun { options, id }))
}

/// Finishes a passkey sign-in with the browser's answer: the factor it proved (with whether
/// the passkey may be synced), or `None` when it was refused (audited, and counted as a wrong
/// second factor).
pub async fn finish_passkey_sign_in(
    state: &AppState,
    user: &User,
    place: &str,
    (id, answer): (&str, &str),
    from: &ClientInfo,
) -> Result<Option<SecondFactor>, PageError> {
    let proved = passkey_sign_in(state, user, place, id, answer);
    let proved = guarded(state, &user.id, proved, Option::is_some).await?;
    let checked = if proved.is_some() {
        Checked::Right
    } else {
        Checked::Wrong
    };
    audit_check(state, user, from, checked, "passkey").await;
    Ok(proved)
}

async fn passkey_sign_in(
    state: &AppState,
    user: &User,
    place: &str,
    id: &str,
    answer: &str,
) -> Result<Option<SecondFactor>, PageError> {
    let (Some(rp), Ok(answer)) = (&state.passkeys, serde_json::from_str(answer)) else {
        return Ok(None);
    };
    let Some(ceremony) = take(state, id, Ceremony::Authenticate, user, place).await? else {
        return Ok(None);
    };
    let passkeys = passkeys_of(state, user).await?;
    let stored: Vec<Vec<u8>> = passkeys.iter().map(|f| f.secret.clone()).collect();
    let used = match rp.finish_authentication(&answer, &ceremony, &stored) {
        Ok(used) => used,
        Err(error) => {
            tracing::info!(%error, "a passkey answer was refused");
            return Ok(None);
        }
    };
    let Some(factor) = passkeys
        .iter()
        .find(|f| f.credential_id.as_deref() == Some(used.credential_id.as_str()))
    else {
        return Ok(None);
    };
    let recorded = state
        .stores
        .factors
        .record_factor_use(
            &user.id,
            &factor.id,
            state.now(),
            None,
            used.updated.as_deref(),
        )
        .await?;
    Ok(recorded.then_some(SecondFactor::Passkey {
        synced: used.backup_eligible,
    }))
}

/// Starts registering a passkey for the person, at `place` (the sign-in's id or the session).
pub async fn begin_passkey_registration(
    state: &AppState,
    user: &User,
    place: &str,
) -> Result<Option<Begun>, StoreError> {
    let Some(rp) = &state.passkeys else {
        return Ok(None);
    };
    let existing: Vec<Vec<u8>> = passkeys_of(state, user)
        .await?
        .into_iter()
        .filter_map(|f| f.credential_id)
        .filter_map(|id| {
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id).ok()
        })
        .collect();
    let handle = user_handle(state, user);
    let username = &user.username;
    let Ok((options, bytes)) = rp.start_registration(handle, username, username, &existing) else {
        return Ok(None);
    };
    let id = keep(state, Ceremony::Register, user, place, bytes).await?;
    Ok(Some(Begun { options, id }))
}

/// Finishes registering a passkey named `name`: the factor bound (audited, the person told)
/// and whether it may be synced, or `None` when the answer was refused or the passkey is
/// already registered.
pub async fn finish_passkey_registration(
    state: &AppState,
    user: &User,
    place: &str,
    (id, answer): (&str, &str),
    name: &str,
    from: &ClientInfo,
) -> Result<Option<(Factor, bool)>, PageError> {
    let (Some(rp), Ok(answer)) = (&state.passkeys, serde_json::from_str(answer)) else {
        return Ok(None);
    };
    let Some(ceremony) = take(state, id, Ceremony::Register, user, place).await? else {
        return Ok(None);
    };
    let new = match rp.finish_registration(&answer, &ceremony) {
        Ok(new) => new,
        Err(error) => {
            tracing::info!(%error, "a passkey registration was refused");
            return Ok(None);
        }
    };
    let now = state.now();
    let factor = Factor {
        id: idp_core::random::random_token(12),
        user_id: user.id.clone(),
        kind: FactorKind::Passkey,
        name: name.to_owned(),
        secret: new.stored.clone(),
        credential_id: Some(new.credential_id.clone()),
        created_at: now,
        last_used_at: Some(now),
        last_step: 0,
    };
    match state.stores.factors.add_factor(&factor).await {
        Ok(()) => {}
        // A credential someone already registered is refused (WebAuthn §7.1 step 26).
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    added(state, user, &factor, from).await;
    Ok(Some((factor, new.backup_eligible)))
}
