//! Where a sign-in goes once a step is proven: after the PIN (a second factor, the browser's
//! code, or done), after a verified browser, and the proof or the code it ends with.

use idp_core::clock::UnixTime;
use idp_core::model::Channel;

use crate::{
    Authorization, Basis, Context, Destination, Device, Effect, Level, Method, Policy, Proof,
    SecondFactor, SignIn, Step, Subject,
};

pub(crate) fn with_code(mut methods: Vec<Method>, channel: Channel) -> Vec<Method> {
    methods.push(Method::Otp);
    if channel == Channel::Sms {
        methods.push(Method::Sms);
    }
    methods
}

/// After the PIN. A level above password and PIN asks for a second factor: at once when the
/// person has one (one that reaches the level verifies the browser too) or the browser is
/// trusted, else after the browser's code (a person with no factor adds one then, and only on
/// a browser known to be theirs). Any other request goes on [`without_factor`].
pub(crate) fn after_pin(
    user: &Subject,
    basis: &Basis,
    methods: Vec<Method>,
    trusted_device: bool,
    code_to: Destination,
    ctx: Context<'_>,
) -> Step {
    if !ctx.policy.level.is_some_and(Level::needs_second_factor) {
        return without_factor(user, basis, methods, trusted_device, code_to, ctx);
    }
    // A person with any factor goes to it at once: one that reaches the level verifies the
    // browser too, and one that does not can bind nothing here (they decline, or add the
    // factor asked for on the account page after proving theirs).
    let has = ctx
        .account
        .is_some_and(|a| a.factors.any(ctx.policy.texted_codes_count));
    if has || trusted_device {
        let device = if trusted_device {
            Device::Trusted
        } else {
            Device::Unknown
        };
        return Step::to(second_factor(user.clone(), basis.clone(), methods, device));
    }
    device_code(user, basis, methods, code_to, true)
}

/// Without a second factor: a trusted browser (or one the operator does not check) is signed
/// in at once; any other browser gets a one-time code first. A request for the device level
/// or above always checks the browser.
pub(crate) fn without_factor(
    user: &Subject,
    basis: &Basis,
    methods: Vec<Method>,
    trusted_device: bool,
    code_to: Destination,
    ctx: Context<'_>,
) -> Step {
    let device_level_required = ctx.policy.level >= Some(Level::PasswordPinDevice);
    if trusted_device || !(ctx.policy.new_device_check || device_level_required) {
        let level = if trusted_device {
            Level::PasswordPinDevice
        } else {
            Level::PasswordPin
        };
        return proven(user.clone(), ctx.now, level, methods, false);
    }
    device_code(user, basis, methods, code_to, false)
}

pub(crate) fn device_code(
    user: &Subject,
    basis: &Basis,
    methods: Vec<Method>,
    code_to: Destination,
    second_factor: bool,
) -> Step {
    Step::with(
        SignIn::AwaitingDeviceCode {
            user: user.clone(),
            basis: basis.clone(),
            methods,
            to: code_to.clone(),
            second_factor,
        },
        vec![Effect::SendDeviceCode(code_to)],
    )
}

/// The browser was verified in this sign-in (a new-device or recovery code): signed in at the
/// device level and trusted, unless the request needs a second factor.
pub(crate) fn device_verified(
    user: Subject,
    basis: Basis,
    methods: Vec<Method>,
    ctx: Context<'_>,
) -> Step {
    if ctx.policy.level.is_some_and(Level::needs_second_factor) {
        return Step::to(second_factor(user, basis, methods, Device::Verified));
    }
    proven(user, ctx.now, Level::PasswordPinDevice, methods, true)
}

pub(crate) fn second_factor(
    user: Subject,
    basis: Basis,
    methods: Vec<Method>,
    device: Device,
) -> SignIn {
    SignIn::AwaitingSecondFactor {
        user,
        basis,
        methods,
        device,
        texted: None,
    }
}

/// Whether `factor` reaches the level the request asks for.
pub(crate) fn reaches(factor: SecondFactor, policy: &Policy) -> bool {
    policy.level.is_none_or(|level| factor.level() >= level)
}

pub(crate) fn proven(
    user: Subject,
    now: UnixTime,
    level: Level,
    methods: Vec<Method>,
    trust: bool,
) -> Step {
    let proof = Proof {
        user_id: user.user_id.clone(),
        auth_time: now,
        level,
        methods,
        credential_epoch: user.epoch,
    };
    // The session first: a browser is trusted only once its session stands.
    let mut effects = vec![Effect::OpenSession(proof.clone())];
    if trust {
        effects.push(Effect::TrustDevice);
    }
    Step::with(SignIn::Proven { user, proof }, effects)
}

pub(crate) fn issue(user_id: &str, sid: &str) -> Step {
    let authorization = Authorization {
        user_id: user_id.to_owned(),
        sid: sid.to_owned(),
    };
    Step::with(SignIn::Done, vec![Effect::IssueCode(authorization)])
}
