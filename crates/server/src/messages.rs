//! What the provider tells people by e-mail or text, in the language of the page that caused
//! it (English outside a request), every word from the message files. No secret goes in a
//! notice; a one-time code goes only in the message that delivers it.

use idp_core::model::{Channel, Message, User};

use crate::i18n::Text;

/// A notice by e-mail: "Hello NAME," then `body`, then what to do if it was not them.
fn notice(user: &User, subject: &'static str, body: Text) -> Message {
    let hello = Text::new("mail-hello").with("username", user.username.clone());
    Message {
        channel: Channel::Email,
        recipient: user.email.clone(),
        subject: Text::new(subject).words(),
        body: format!(
            "{}\n\n{}\n\n{}\n{}",
            hello.words(),
            body.words(),
            Text::new("mail-not-you").words(),
            support_footer()
        ),
    }
}

/// The support contact, when the operator set one, as a message's last line.
fn support_footer() -> String {
    crate::brand::support_line()
        .map(|line| {
            format!(
                "\n{}\n",
                Text::new("mail-support").with("contact", line).words()
            )
        })
        .unwrap_or_default()
}

pub fn pin_locked(user: &User) -> Message {
    notice(
        user,
        "mail-pin-locked-subject",
        Text::new("mail-pin-locked"),
    )
}

pub fn pin_changed(user: &User) -> Message {
    notice(
        user,
        "mail-pin-changed-subject",
        Text::new("mail-pin-changed"),
    )
}

pub fn pin_unlocked(user: &User) -> Message {
    notice(
        user,
        "mail-pin-unlocked-subject",
        Text::new("mail-pin-unlocked"),
    )
}

pub fn sessions_ended(user: &User) -> Message {
    notice(
        user,
        "mail-sessions-ended-subject",
        Text::new("mail-sessions-ended"),
    )
}

/// A role given (`granted`) or taken away.
pub fn role_changed(user: &User, role: idp_core::model::Role, granted: bool) -> Message {
    let (subject, body) = if granted {
        ("mail-role-granted-subject", "mail-role-granted")
    } else {
        ("mail-role-revoked-subject", "mail-role-revoked")
    };
    notice(user, subject, Text::new(body).with("role", role.as_str()))
}

pub fn password_changed(user: &User) -> Message {
    notice(
        user,
        "mail-password-changed-subject",
        Text::new("mail-password-changed"),
    )
}

pub fn contact_changed(user: &User) -> Message {
    notice(
        user,
        "mail-contact-changed-subject",
        Text::new("mail-contact-changed"),
    )
}

pub fn profile_changed(user: &User) -> Message {
    notice(
        user,
        "mail-profile-changed-subject",
        Text::new("mail-profile-changed"),
    )
}

pub fn password_reset(user: &User) -> Message {
    notice(
        user,
        "mail-password-reset-subject",
        Text::new("mail-password-reset"),
    )
}

pub fn recovery_completed(user: &User) -> Message {
    notice(user, "mail-recovered-subject", Text::new("mail-recovered"))
}

pub fn new_device(user: &User, from: &crate::web::client_info::ClientInfo) -> Message {
    // Named as people say it ("Chrome on Windows"), as the account page names it.
    let (browser, place) = browser_and_place(from);
    notice(
        user,
        "mail-new-device-subject",
        Text::new("mail-new-device")
            .with("browser", browser)
            .with("place", place),
    )
}

/// Where a change was made from, as people say it: "Chrome on Windows, from 203.0.113.9".
fn browser_and_place(from: &crate::web::client_info::ClientInfo) -> (String, String) {
    let browser = crate::i18n::device::name(from.user_agent.as_deref()).words();
    let place = from
        .ip
        .clone()
        .unwrap_or_else(|| Text::new("mail-unknown-address").words());
    (browser, place)
}

fn factor_notice(
    user: &User,
    subject: &'static str,
    body: &'static str,
    factor: &idp_core::model::Factor,
    from: &crate::web::client_info::ClientInfo,
) -> Message {
    let (browser, place) = browser_and_place(from);
    notice(
        user,
        subject,
        Text::new(body)
            .with("kind", Text::new(kind_key(factor.kind)).words())
            .with("name", factor.name.clone())
            .with("browser", browser)
            .with("place", place),
    )
}

/// A factor's kind in words ("authenticator app", "passkey").
pub fn kind_key(kind: idp_core::model::FactorKind) -> &'static str {
    match kind {
        idp_core::model::FactorKind::App => "factor-kind-app",
        idp_core::model::FactorKind::Passkey => "factor-kind-passkey",
    }
}

pub fn factor_added(
    user: &User,
    factor: &idp_core::model::Factor,
    from: &crate::web::client_info::ClientInfo,
) -> Message {
    factor_notice(
        user,
        "mail-factor-added-subject",
        "mail-factor-added",
        factor,
        from,
    )
}

pub fn factor_removed(
    user: &User,
    factor: &idp_core::model::Factor,
    from: &crate::web::client_info::ClientInfo,
) -> Message {
    factor_notice(
        user,
        "mail-factor-removed-subject",
        "mail-factor-removed",
        factor,
        from,
    )
}

pub fn saved_codes_created(user: &User, from: &crate::web::client_info::ClientInfo) -> Message {
    let (browser, place) = browser_and_place(from);
    notice(
        user,
        "mail-saved-codes-subject",
        Text::new("mail-saved-codes")
            .with("browser", browser)
            .with("place", place),
    )
}

pub fn saved_code_used(
    user: &User,
    left: usize,
    from: &crate::web::client_info::ClientInfo,
) -> Message {
    let (browser, place) = browser_and_place(from);
    notice(
        user,
        "mail-saved-code-used-subject",
        Text::new("mail-saved-code-used")
            .count("left", left as i64)
            .with("browser", browser)
            .with("place", place),
    )
}

/// What a one-time code is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    RecoverPin,
    ResetPassword,
    ConfirmEmail,
    ConfirmPhone,
    NewDevice,
}

impl Purpose {
    fn text(self) -> Text {
        Text::new(match self {
            Self::RecoverPin => "purpose-recover-pin",
            Self::ResetPassword => "purpose-reset-password",
            Self::ConfirmEmail => "purpose-confirm-email",
            Self::ConfirmPhone => "purpose-confirm-phone",
            Self::NewDevice => "purpose-new-device",
        })
    }
}

/// A one-time code to `recipient` over `channel`, for `purpose`.
pub fn one_time_code(channel: Channel, recipient: &str, purpose: Purpose, code: &str) -> Message {
    let purpose = purpose.text().words();
    let (subject, body) = match channel {
        Channel::Email => (
            Text::new("mail-code-subject").with("purpose", purpose.clone()),
            Text::new("mail-code")
                .with("purpose", purpose)
                .with("code", code),
        ),
        Channel::Sms => (
            Text::new("mail-code-subject").with("purpose", purpose.clone()),
            Text::new("sms-code")
                .with("purpose", purpose)
                .with("code", code),
        ),
    };
    Message {
        channel,
        recipient: recipient.to_owned(),
        subject: subject.words(),
        body: body.words(),
    }
}
