//! What a handler knows when it asks the machine: the request's policy, the browser's session
//! and the person, loaded fresh for every request.

use idp_core::clock::UnixTime;

use crate::{Level, SecondFactor};

/// What the relying party's request asks of the sign-in (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `prompt=login`: a live session is never reused.
    pub force_login: bool,
    /// `prompt=none`: nothing may be asked.
    pub no_prompt: bool,
    /// `prompt=consent`: the person is asked to consent even where they already did.
    pub force_consent: bool,
    /// The person an `id_token_hint` names (OpenID Connect Core §3.1.2.1): only a session of
    /// that person may answer the request or be stepped up; a session of anyone else is not
    /// reused (and under `prompt=none` the answer is `login_required`). The hint names a
    /// `sub`; whoever resolved it to this user id compared it with the session's person.
    pub hinted_user: Option<String>,
    /// `max_age`: the most seconds since the authentication a session may be reused for.
    pub max_age: Option<i64>,
    /// The lowest level the request accepts (`acr_values`, an essential `acr` claim).
    pub level: Option<Level>,
    /// The level was asked for as an essential `acr` claim: a sign-in that cannot reach it
    /// ends in `unmet_authentication_requirements` rather than at a lower level.
    pub level_essential: bool,
    /// Whether a code texted to a confirmed phone counts as a second factor (operator
    /// setting; NIST SP 800-63B-4 calls the public telephone network restricted).
    pub texted_codes_count: bool,
    /// Whether an unknown browser needs a one-time code after the PIN (operator setting).
    pub new_device_check: bool,
}

/// The browser's live session as the machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub sid: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    /// `None` for a level this release does not know: it answers no request for a level.
    pub level: Option<Level>,
    /// The person's credential epoch the session was opened under.
    pub epoch: i64,
}

/// The person a sign-in is about, as the store has them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user_id: String,
    /// Moves on at every credential change (PIN, password, recovery, unlock, disabling).
    pub epoch: i64,
    pub has_pin: bool,
    /// A confirmed e-mail address or phone a recovery code can go to.
    pub can_recover: bool,
    pub disabled: bool,
    /// The second factors the person has.
    pub factors: Factors,
}

/// The second factors a person has, as the store has them now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    /// An authenticator app.
    pub app: bool,
    /// At least one passkey.
    pub passkey: bool,
    /// Saved recovery codes not yet used.
    pub saved_codes: bool,
    /// A confirmed phone a code can be texted to.
    pub phone: bool,
}

impl Factors {
    /// Whether `factor` is one of these; a texted code only where it counts.
    pub fn has(&self, factor: SecondFactor, texted_codes_count: bool) -> bool {
        match factor {
            SecondFactor::App => self.app,
            SecondFactor::Passkey { .. } => self.passkey,
            SecondFactor::SavedCode => self.saved_codes,
            SecondFactor::TextedCode => self.phone && texted_codes_count,
        }
    }

    /// Whether the person has any second factor at all (every one reaches `aal2`).
    pub fn any(&self, texted_codes_count: bool) -> bool {
        self.reach(Level::Aal2, texted_codes_count)
    }

    /// Whether one of these reaches `level`.
    pub fn reach(&self, level: Level, texted_codes_count: bool) -> bool {
        [
            SecondFactor::App,
            SecondFactor::Passkey { synced: true },
            SecondFactor::SavedCode,
            SecondFactor::TextedCode,
        ]
        .into_iter()
        .any(|f| f.level() >= level && self.has(f, texted_codes_count))
    }
}

/// What a handler knows when it asks the machine: loaded fresh for every request.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: UnixTime,
    pub policy: &'a Policy,
    /// The live session this browser presents, if any.
    pub session: Option<&'a LiveSession>,
    /// The person the stored state is about, as loaded; at the start, the session's person,
    /// loaded only when the session does not answer the request by itself.
    pub account: Option<&'a Account>,
}
