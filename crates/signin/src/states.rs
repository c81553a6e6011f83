//! The states of a sign-in, the events that move it, and what a move asks the handler to do.

use idp_core::clock::UnixTime;
use idp_core::model::Channel;
use serde::{Deserialize, Serialize};

use crate::{Account, Level, Method, SecondFactor};

/// Who a step is for, and the credential epoch their password was given under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub user_id: String,
    pub epoch: i64,
}

/// What stands in for the password at the PIN step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Basis {
    /// The password was right in this sign-in, at `at`.
    Password { at: UnixTime },
    /// A step-up of the browser's live session `sid`: the password is not asked again, and
    /// the step-up claims no password.
    Session { sid: String },
}

/// Where a one-time code goes: chosen by the handler from the person's confirmed contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub channel: Channel,
    pub recipient: String,
    /// The code goes to an address not yet confirmed (a new account's first sign-in
    /// elsewhere): receiving it confirms the address.
    pub confirms_email: bool,
}

/// What this sign-in knows of the browser at the second-factor step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// Not trusted yet: the second factor verifies it.
    Unknown,
    /// Trusted by the person before this sign-in.
    Trusted,
    /// Verified in this sign-in: its new-device or recovery code was right.
    Verified,
}

/// What a finished authentication proved: what the session and the ID token say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub user_id: String,
    pub auth_time: UnixTime,
    pub level: Level,
    /// RFC 8176 methods used at `auth_time`, in a fixed order.
    pub methods: Vec<Method>,
    /// The person's credential epoch it was proven under: the session it opens records it.
    pub credential_epoch: i64,
}

/// A sign-in, one variant a step; each holds only what that step has proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum SignIn {
    /// Nothing proven. With `recover`, the person asked to recover their PIN from a step-up,
    /// which needs the password first.
    AwaitingPassword {
        #[serde(default)]
        recover: bool,
    },
    /// The password (or a live session, for a step-up) stands; the PIN is asked.
    AwaitingPin { user: Subject, basis: Basis },
    /// The password was right in this sign-in; a recovery code is asked for (`channel` once
    /// one was sent).
    Recovering {
        user: Subject,
        password_at: UnixTime,
        channel: Option<Channel>,
    },
    /// The password was right in this sign-in and either recovery proved the person again
    /// (`recovered_by`, or `by_saved_code`) or the account has no PIN (an administrator's unlock): a new PIN is
    /// chosen.
    ChoosingPin {
        user: Subject,
        password_at: UnixTime,
        recovered_by: Option<Channel>,
        /// Recovery proved the person again with one of their saved recovery codes.
        #[serde(default)]
        by_saved_code: bool,
    },
    /// "Forgot password?": a username was given. `user` is its person, or `None` when there
    /// is none that can reset (no such username, or disabled): the pages go on alike, so that
    /// they do not tell which, but no code goes out and none can be right. A code is asked for
    /// (`channel` once one was chosen).
    ResettingPassword {
        user: Option<Subject>,
        channel: Option<Channel>,
    },
    /// The reset code was right: the person's PIN is asked (it guards a password reset as
    /// the password guards a PIN recovery).
    ResetAwaitingPin {
        user: Subject,
        recovered_by: Channel,
    },
    /// Reset code and PIN proven in this sign-in: a new password is chosen.
    ChoosingPassword {
        user: Subject,
        recovered_by: Channel,
    },
    /// Password and PIN (or a step-up's PIN) proven: a browser not trusted yet needs the code
    /// sent to `to`.
    AwaitingDeviceCode {
        user: Subject,
        /// A step-up's code still needs the session it continues.
        basis: Basis,
        methods: Vec<Method>,
        to: Destination,
        /// The request needs a second factor the person does not have yet: after the code,
        /// they add one.
        #[serde(default)]
        second_factor: bool,
    },
    /// Password and PIN (or a step-up's PIN) proven, and the level asked for needs a second
    /// factor: one the person has is asked; a person with none adds one, on a browser
    /// trusted or verified in this sign-in only.
    AwaitingSecondFactor {
        user: Subject,
        basis: Basis,
        methods: Vec<Method>,
        device: Device,
        /// Where a texted code went, once the person asked for one.
        #[serde(default)]
        texted: Option<Destination>,
    },
    /// Every factor proven; the handler opens the session this proof describes. Never stored.
    Proven { user: Subject, proof: Proof },
    /// The browser's session `sid` answers the request.
    SignedIn { user_id: String, sid: String },
    /// The session `sid` answers the request; the person is asked to allow the client.
    AwaitingConsent { user_id: String, sid: String },
    /// The relying party has its answer.
    Done,
}

/// What the person did, as the handler verified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The right password for `account`.
    PasswordVerified {
        account: Account,
    },
    /// The right PIN of the state's person; `code_to` is where a new-device code would go.
    PinVerified {
        trusted_device: bool,
        code_to: Destination,
    },
    /// "Forgot PIN?" or "Unlock your PIN".
    ForgotPin,
    /// "Forgot password?", with the username given: `account` is its person as the store has
    /// them, or `None` for no such username.
    ForgotPassword {
        account: Option<Account>,
    },
    /// A recovery code went out by `channel` (for a password reset of nobody, the page went
    /// on as if one had).
    RecoveryCodeSent {
        channel: Channel,
    },
    /// The right recovery code (and security answers); `channel` is where that code went, as
    /// the code's own record says (the person's latest code may come from another sign-in).
    RecoveryVerified {
        channel: Channel,
    },
    /// The new PIN is stored; the person's credential epoch is now `epoch`.
    NewPinChosen {
        epoch: i64,
        trusted_device: bool,
        code_to: Destination,
    },
    /// The new password is stored; the person's credential epoch is now `epoch`.
    NewPasswordChosen {
        epoch: i64,
    },
    /// The right new-device code.
    DeviceCodeVerified,
    /// The right code, assertion or saved code of one of the person's second factors: at the
    /// second-factor step; at the new-device step (an app or a passkey stands in for the
    /// code); in PIN recovery (a saved code stands in for a code sent to a contact).
    SecondFactorVerified {
        factor: SecondFactor,
    },
    /// The person asked for a code texted to `to` (a confirmed phone) at the second-factor
    /// step.
    TextCodeAsked {
        to: Destination,
    },
    /// A new second factor, its first code or assertion checked, for a person who had none
    /// that reaches the level asked for. The handler asks [`crate::advance`] whether it is
    /// accepted (`Loaded::accepts`) before it stores the factor.
    FactorAdded {
        factor: SecondFactor,
    },
    /// The person cannot give a second factor now ("try another way"); `code_to` is where a
    /// new-device code would go.
    SecondFactorDeclined {
        code_to: Destination,
    },
    /// The handler opened the session the proof described.
    SessionOpened {
        sid: String,
    },
    /// A sign-up started from this sign-in made the account `user_id` (password and PIN
    /// chosen just now) and its session `sid`.
    SignedUp {
        user_id: String,
        sid: String,
    },
    /// Whether the client needs the person's consent for what it asks.
    ConsentChecked {
        needed: bool,
    },
    ConsentGiven,
    ConsentRefused,
    /// The person chose to go back to the relying party without signing in.
    Cancelled,
}

/// Permission to issue an authorization code for the session `sid` of `user_id`; only this
/// crate makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub(crate) user_id: String,
    pub(crate) sid: String,
}

impl Authorization {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn sid(&self) -> &str {
        &self.sid
    }
}

/// What the handler carries out after a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a session with these facts (a new session id, no fixation).
    OpenSession(Proof),
    /// Send a new-device code.
    SendDeviceCode(Destination),
    /// Give this browser a device cookie and trust it for the person.
    TrustDevice,
    /// Send the relying party its code.
    IssueCode(Authorization),
    /// Send the relying party `access_denied`.
    Deny,
}

/// Why the machine would not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The sign-in no longer stands (its session ended, its person's credentials changed, the
    /// account is gone or disabled): start again.
    Void,
    /// This event does not belong to this step (a replayed or reordered page).
    OutOfStep,
    /// The account is disabled (said only after its right password).
    Disabled,
    /// `prompt=none` and the person must sign in.
    LoginRequired,
    /// `prompt=none` and the person must allow the client.
    ConsentRequired,
    /// The request's essential `acr` cannot be reached: the person has no factor for it and
    /// added none.
    UnmetAuthenticationRequirements,
}

/// The next state and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub state: SignIn,
    pub effects: Vec<Effect>,
}

impl Step {
    pub(crate) fn to(state: SignIn) -> Self {
        Self {
            state,
            effects: Vec::new(),
        }
    }

    pub(crate) fn with(state: SignIn, effects: Vec<Effect>) -> Self {
        Self { state, effects }
    }
}

impl SignIn {
    /// The person this step is for, if it knows one.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::AwaitingPassword { .. } | Self::Done => None,
            Self::ResettingPassword { user, .. } => user.as_ref().map(|u| u.user_id.as_str()),
            Self::AwaitingPin { user, .. }
            | Self::Recovering { user, .. }
            | Self::ChoosingPin { user, .. }
            | Self::ResetAwaitingPin { user, .. }
            | Self::ChoosingPassword { user, .. }
            | Self::AwaitingDeviceCode { user, .. }
            | Self::AwaitingSecondFactor { user, .. }
            | Self::Proven { user, .. } => Some(&user.user_id),
            Self::SignedIn { user_id, .. } | Self::AwaitingConsent { user_id, .. } => Some(user_id),
        }
    }
}
