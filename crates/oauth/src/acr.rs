//! Authentication context classes: what a relying party can ask for with `acr_values` or an
//! essential `acr` claim, and what the ID token's `acr` says was done. Higher levels satisfy
//! requests for lower ones.

use idp_core::{ErrorCode, OAuthError};
use idp_signin::Level;

use crate::claims::ClaimsRequest;

/// Password and PIN.
pub const PASSWORD_PIN: &str = Level::PasswordPin.acr();
/// Password and PIN on a verified device: a browser the user already trusted, or one that
/// just passed the new-device code.
pub const PASSWORD_PIN_DEVICE: &str = Level::PasswordPinDevice.acr();
/// Password, PIN and a possession factor.
pub const AAL2: &str = Level::Aal2.acr();
/// Password, PIN and a passkey.
pub const AAL2_PHISHING_RESISTANT: &str = Level::Aal2PhishingResistant.acr();

/// Every level, lowest first (the sign-in machine's [`Level::ALL`]).
pub const LEVELS: [&str; 4] = [
    PASSWORD_PIN,
    PASSWORD_PIN_DEVICE,
    AAL2,
    AAL2_PHISHING_RESISTANT,
];

pub fn level(acr: &str) -> Option<Level> {
    Level::from_acr(acr)
}

/// The level a request requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required {
    pub acr: String,
    /// Asked for as an essential `acr` claim: a sign-in that cannot reach it ends in
    /// `unmet_authentication_requirements` (OpenID Connect Core §5.5.1.1).
    pub essential: bool,
}

/// Whether a sign-in at `achieved` meets a request for `required`.
pub fn satisfies(achieved: &str, required: Option<&str>) -> bool {
    match required.and_then(level) {
        None => true,
        Some(needed) => level(achieved).is_some_and(|have| have >= needed),
    }
}

/// The level a request requires, from `acr_values` (voluntary: unknown values are ignored)
/// and the `claims` parameter (an essential `acr` that names no level this provider offers is
/// refused, OpenID Connect Core §5.5.1.1). The lowest requested level is enough; it is
/// essential when it came from an essential `acr` claim alone.
pub fn required(
    acr_values: Option<&str>,
    claims: Option<&ClaimsRequest>,
) -> Result<Option<Required>, OAuthError> {
    let voluntary: Vec<String> = acr_values
        .unwrap_or_default()
        .split(' ')
        .filter(|v| level(v).is_some())
        .map(str::to_owned)
        .collect();
    let (claimed, essential) = claimed(claims)?;
    let lowest = |values: &[String]| values.iter().filter_map(|v| level(v)).min();
    let required = lowest(&voluntary).into_iter().chain(lowest(&claimed)).min();
    Ok(required.map(|level| Required {
        acr: level.acr().to_owned(),
        essential: essential && lowest(&voluntary).is_none_or(|v| v > level),
    }))
}

/// The known levels of the `claims` parameter's `acr` (for the ID token), and whether it is
/// essential.
fn claimed(claims: Option<&ClaimsRequest>) -> Result<(Vec<String>, bool), OAuthError> {
    let Some(acr) = claims.and_then(|c| c.id_token.get("acr")) else {
        return Ok((Vec::new(), false));
    };
    let mut values: Vec<String> = acr
        .values
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some(value) = acr.value.as_ref().and_then(|v| v.as_str()) {
        values.push(value.to_owned());
    }
    let known: Vec<String> = values
        .iter()
        .filter(|v| level(v).is_some())
        .cloned()
        .collect();
    if acr.essential && !values.is_empty() && known.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::UnmetAuthenticationRequirements,
            "none of the essential acr values can be met",
        ));
    }
    let essential = acr.essential && !known.is_empty();
    Ok((known, essential))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_levels_satisfy_lower_requests() {
        assert!(satisfies(PASSWORD_PIN_DEVICE, Some(PASSWORD_PIN)));
        assert!(satisfies(PASSWORD_PIN, None));
        assert!(!satisfies(PASSWORD_PIN, Some(PASSWORD_PIN_DEVICE)));
    }

    #[test]
    fn the_lowest_requested_known_level_is_required() {
        assert_eq!(
            required(Some("urn:other urn:idp:acr:password-pin-device"), None)
                .unwrap()
                .map(|r| r.acr)
                .as_deref(),
            Some(PASSWORD_PIN_DEVICE)
        );
        assert_eq!(
            required(
                Some("urn:idp:acr:password-pin-device urn:idp:acr:password-pin"),
                None
            )
            .unwrap()
            .map(|r| r.acr)
            .as_deref(),
            Some(PASSWORD_PIN)
        );
        assert_eq!(
            required(Some("urn:other"), None).unwrap(),
            None,
            "voluntary unknown values are ignored"
        );
    }

    fn parsed(claims: &str) -> Option<ClaimsRequest> {
        ClaimsRequest::from_param(Some(claims)).unwrap()
    }

    #[test]
    fn an_essential_unknown_acr_is_unmet() {
        let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:other:loa:4"]}}}"#;
        assert_eq!(
            required(None, parsed(claims).as_ref()).unwrap_err().code,
            ErrorCode::UnmetAuthenticationRequirements
        );
        let claims =
            r#"{"id_token":{"acr":{"essential":true,"value":"urn:idp:acr:password-pin-device"}}}"#;
        assert_eq!(
            required(None, parsed(claims).as_ref()).unwrap(),
            Some(Required {
                acr: PASSWORD_PIN_DEVICE.into(),
                essential: true
            })
        );
        // A voluntary lower level keeps the request voluntary.
        let both = required(Some(PASSWORD_PIN), parsed(claims).as_ref())
            .unwrap()
            .unwrap();
        assert_eq!((both.acr.as_str(), both.essential), (PASSWORD_PIN, false));
        let essential_aal2 =
            r#"{"id_token":{"acr":{"essential":true,"values":["urn:idp:acr:aal2"]}}}"#;
        let r = required(
            Some(AAL2_PHISHING_RESISTANT),
            parsed(essential_aal2).as_ref(),
        )
        .unwrap()
        .unwrap();
        assert_eq!((r.acr.as_str(), r.essential), (AAL2, true));
        let voluntary = r#"{"id_token":{"acr":{"values":["urn:other:loa:4"]}}}"#;
        assert_eq!(required(None, parsed(voluntary).as_ref()).unwrap(), None);
    }
}
