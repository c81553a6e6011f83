//! What the provider tells people by e-mail or text. No secret goes in a notice; a one-time
//! code goes only in the message that delivers it.

use idp_core::model::{Channel, Message, User};

fn email(user: &User, subject: &str, body: String) -> Message {
    Message {
        channel: Channel::Email,
        recipient: user.email.clone(),
        subject: subject.to_owned(),
        body,
    }
}

const NOT_YOU: &str = "If this was not you, change your password now and contact support.";

pub fn pin_locked(user: &User) -> Message {
    email(
        user,
        "Your PIN is locked",
        format!(
            "Hello {},\n\nYour PIN was locked after too many wrong tries. To unlock it, choose \
             “Forgot PIN?” the next time you sign in.\n\n{NOT_YOU}\n",
            user.username
        ),
    )
}

pub fn pin_changed(user: &User) -> Message {
    email(
        user,
        "Your PIN was changed",
        format!(
            "Hello {},\n\nThe PIN of your account was just changed.\n\n{NOT_YOU}\n",
            user.username
        ),
    )
}

pub fn password_changed(user: &User) -> Message {
    email(
        user,
        "Your password was changed",
        format!(
            "Hello {},\n\nThe password of your account was just changed.\n\n{NOT_YOU}\n",
            user.username
        ),
    )
}

pub fn contact_changed(user: &User) -> Message {
    email(
        user,
        "Your contact details were changed",
        format!(
            "Hello {},\n\nThe e-mail address or phone number of your account was just \
             changed.\n\n{NOT_YOU}\n",
            user.username
        ),
    )
}

pub fn recovery_completed(user: &User) -> Message {
    email(
        user,
        "Your account was recovered",
        format!(
            "Hello {},\n\nYou proved who you are with a code and chose a new PIN.\n\n{NOT_YOU}\n",
            user.username
        ),
    )
}

pub fn new_device(user: &User, from: &crate::web::client_info::ClientInfo) -> Message {
    let browser = from.user_agent.as_deref().unwrap_or("an unknown browser");
    let place = from.ip.as_deref().unwrap_or("an unknown address");
    email(
        user,
        "New sign-in to your account",
        format!(
            "Hello {},\n\nYour account was just signed in to on a new device: {browser}, from \
             {place}.\n\n{NOT_YOU}\n",
            user.username
        ),
    )
}

/// A one-time code to `recipient` over `channel`, for `purpose` (“recover your PIN”).
pub fn one_time_code(channel: Channel, recipient: &str, purpose: &str, code: &str) -> Message {
    let body = match channel {
        Channel::Email => format!(
            "Your code to {purpose} is {code}\n\nIt works once, for 10 minutes. Nobody from us \
             will ever ask you for it.\n"
        ),
        Channel::Sms => format!("{code} is your code to {purpose}. Do not share it."),
    };
    Message {
        channel,
        recipient: recipient.to_owned(),
        subject: format!("Your code to {purpose}"),
        body,
    }
}
