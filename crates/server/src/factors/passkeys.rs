//! Passkeys: the relying party, the ceremony's state kept server-side and taken once, and
//! signing in with or binding a passkey, under the same limits and audit as the other factors.

use idp_core::StoreError;
use idp_core::model::{Consumed, EphemeralKind, Factor, FactorKind, User};
use idp_factors::passkey;
use idp_signin::SecondFactor;

use super::{Checked, added, audit_check, guarded};
use crate::error::PageError;
use crate::state::AppState;
use crate::web::client_info::ClientInfo;

/// Passkeys' relying party for the issuer: its host as RP ID (a domain; WebAuthn allows no
/// IP address, so an issuer at one offers no passkeys), its origin, and the service's name;
/// with `factors.passkey_attestation_cas`, registration requires attestation by one of the
/// file's CAs, and sign-in passkeys so registered (see `idp_factors::passkey`). A file that
/// cannot be read here (it was checked at start) offers no passkeys rather than unattested
/// ones.
pub fn relying_party(settings: &crate::config::Settings) -> Option<passkey::RelyingParty> {
    let issuer = url::Url::parse(&settings.issuer).ok()?;
    let Some(url::Host::Domain(host)) = issuer.host() else {
        return None;
    };
    let name = Some(settings.brand.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| host.to_owned());
    let rp = match passkey::RelyingParty::new(host, &issuer, &name) {
        Ok(rp) => rp,
        Err(error) => {
            tracing::warn!(%error, "passkeys are not offered");
            return None;
        }
    };
    let Some(path) = settings.factors.passkey_attestation_cas_file() else {
        return Some(rp);
    };
    match attestation_cas(path) {
        Ok(cas) => {
            tracing::info!(cas = cas.len(), "passkeys require attestation");
            Some(rp.with_attestation(cas))
        }
        Err(error) => {
            tracing::warn!(%error, "passkeys are not offered");
            None
        }
    }
}

/// Reads the file of attestation CAs (`factors.passkey_attestation_cas`): what is wrong with
/// it names the file.
pub fn attestation_cas(path: &std::path::Path) -> Result<passkey::AttestationCas, String> {
    let pem = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    passkey::AttestationCas::from_pem(&pem).map_err(|e| format!("`{}` {e}", path.display()))
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
    let (options, bytes) = match rp.start_authentication(&stored) {
        Ok(begun) => begun,
        Err(error @ passkey::PasskeyError::NotAttested) => {
            tracing::info!(%error, "the person's passkeys lack the attestation now required");
            return Ok(None);
        }
        Err(_) => return Ok(None),
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
    // A counting passkey's count is taken with a compare-and-set, as an app's time step is:
    // two answers finished at once on two nodes cannot both use one count.
    let counted = (used.counter > 0).then_some(i64::from(used.counter));
    let recorded = state
        .stores
        .factors
        .record_factor_use(
            &user.id,
            &factor.id,
            state.now(),
            counted,
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
