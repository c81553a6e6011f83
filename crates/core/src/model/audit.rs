//! The audit log's records: a security event, its kind, and where the hash chain starts.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// A security event for the audit log. It names what happened and to whom, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The event's own random id, given when it is recorded: an event appended twice (the
    /// database took an append the node had given up on, and the node's spool appended it
    /// again) is stored once. `None` until recorded, for rows from before events had ids, and
    /// for spooled events written by them.
    #[serde(default)]
    pub id: Option<String>,
    pub at: UnixTime,
    pub kind: AuditKind,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// Who acted, when not the user: `cli`, or an admin client id.
    pub actor: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A short, secret-free note (for example the channel a code went to).
    pub detail: String,
}

/// The value the audit hash chain starts from, which the first linked row covers: where the
/// rows written before the chain began end (`after`, the newest such row's id), so that
/// clearing the links of the first rows shows, as does any row slipped in before them.
pub fn chain_start(after: Option<i64>) -> String {
    match after {
        Some(id) => format!("start after {id}"),
        None => "start".to_owned(),
    }
}

impl AuditEvent {
    pub fn new(kind: AuditKind, at: UnixTime) -> Self {
        Self {
            id: None,
            at,
            kind,
            user_id: None,
            client_id: None,
            actor: None,
            ip: None,
            user_agent: None,
            detail: String::new(),
        }
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn actor(mut self, actor: &str) -> Self {
        self.actor = Some(actor.to_owned());
        self
    }

    pub fn origin(mut self, ip: Option<&str>, user_agent: Option<&str>) -> Self {
        self.ip = ip.map(str::to_owned);
        self.user_agent = user_agent.map(str::to_owned);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// Which events a search of the audit log asks for: each field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<AuditKind>,
    /// At or after.
    pub from: Option<UnixTime>,
    /// At or before.
    pub until: Option<UnixTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    SignUp,
    SignInSucceeded,
    PasswordWrong,
    PasswordThrottled,
    PinWrong,
    PinLocked,
    PinChanged,
    PasswordChanged,
    PinUnlocked,
    RecoveryStarted,
    RecoveryCodeWrong,
    RecoveryCompleted,
    PasswordResetStarted,
    PasswordReset,
    ContactConfirmed,
    ContactChanged,
    SessionEnded,
    NewDeviceCodeSent,
    NewDeviceVerified,
    DeviceForgotten,
    SecurityQuestionsChanged,
    /// Names or postal address changed (the standard claims).
    ProfileChanged,
    KeyRevoked,
    AdminAction,
    FactorAdded,
    FactorRemoved,
    FactorRenamed,
    SecondFactorVerified,
    SecondFactorWrong,
    SavedCodesCreated,
    SavedCodeUsed,
    RoleGranted,
    RoleRevoked,
}

impl AuditKind {
    /// Every kind, in the order they were added.
    pub const ALL: [AuditKind; 33] = [
        Self::SignUp,
        Self::SignInSucceeded,
        Self::PasswordWrong,
        Self::PasswordThrottled,
        Self::PinWrong,
        Self::PinLocked,
        Self::PinChanged,
        Self::PasswordChanged,
        Self::PinUnlocked,
        Self::RecoveryStarted,
        Self::RecoveryCodeWrong,
        Self::RecoveryCompleted,
        Self::PasswordResetStarted,
        Self::PasswordReset,
        Self::ContactConfirmed,
        Self::ContactChanged,
        Self::SessionEnded,
        Self::NewDeviceCodeSent,
        Self::NewDeviceVerified,
        Self::DeviceForgotten,
        Self::SecurityQuestionsChanged,
        Self::ProfileChanged,
        Self::KeyRevoked,
        Self::AdminAction,
        Self::FactorAdded,
        Self::FactorRemoved,
        Self::FactorRenamed,
        Self::SecondFactorVerified,
        Self::SecondFactorWrong,
        Self::SavedCodesCreated,
        Self::SavedCodeUsed,
        Self::RoleGranted,
        Self::RoleRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::SignInSucceeded => "sign_in_succeeded",
            Self::PasswordWrong => "password_wrong",
            Self::PasswordThrottled => "password_throttled",
            Self::PinWrong => "pin_wrong",
            Self::PinLocked => "pin_locked",
            Self::PinChanged => "pin_changed",
            Self::PasswordChanged => "password_changed",
            Self::PinUnlocked => "pin_unlocked",
            Self::RecoveryStarted => "recovery_started",
            Self::RecoveryCodeWrong => "recovery_code_wrong",
            Self::RecoveryCompleted => "recovery_completed",
            Self::PasswordResetStarted => "password_reset_started",
            Self::PasswordReset => "password_reset",
            Self::ContactConfirmed => "contact_confirmed",
            Self::ContactChanged => "contact_changed",
            Self::SessionEnded => "session_ended",
            Self::NewDeviceCodeSent => "new_device_code_sent",
            Self::NewDeviceVerified => "new_device_verified",
            Self::DeviceForgotten => "device_forgotten",
            Self::SecurityQuestionsChanged => "security_questions_changed",
            Self::ProfileChanged => "profile_changed",
            Self::KeyRevoked => "key_revoked",
            Self::AdminAction => "admin_action",
            Self::FactorAdded => "factor_added",
            Self::FactorRemoved => "factor_removed",
            Self::FactorRenamed => "factor_renamed",
            Self::SecondFactorVerified => "second_factor_verified",
            Self::SecondFactorWrong => "second_factor_wrong",
            Self::SavedCodesCreated => "saved_codes_created",
            Self::SavedCodeUsed => "saved_code_used",
            Self::RoleGranted => "role_granted",
            Self::RoleRevoked => "role_revoked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}
