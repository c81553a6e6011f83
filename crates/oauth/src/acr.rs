//! Authentication context classes: what a relying party can ask for with `acr_values` or an
//! essential `acr` claim, and what the ID token's `acr` says was done. Higher levels satisfy
//! requests for lower ones.

use idp_core::{ErrorCode, OAuthError};

/// Password and PIN.
pub const PASSWORD_PIN: &str = "urn:idp:acr:password-pin";
/// Password and PIN on a verified device: a browser the user already trusted, or one that
/// just passed the new-device code.
pub const PASSWORD_PIN_DEVICE: &str = "urn:idp:acr:password-pin-device";

/// Every level, lowest first.
pub const LEVELS: [&str; 2] = [PASSWORD_PIN, PASSWORD_PIN_DEVICE];

pub fn level(acr: &str) -> Option<usize> {
    LEVELS.iter().position(|known| *known == acr)
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
/// refused, OpenID Connect Core §5.5.1.1). The lowest requested level is enough.
pub fn required(
    acr_values: Option<&str>,
    claims: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let mut requested: Vec<String> = acr_values
        .unwrap_or_default()
        .split(' ')
        .filter(|v| level(v).is_some())
        .map(str::to_owned)
        .collect();
    if let Some(claims) = claims {
        let parsed: serde_json::Value = serde_json::from_str(claims)
            .map_err(|_| OAuthError::invalid_request("claims is not valid JSON"))?;
        let acr = &parsed["id_token"]["acr"];
        let mut values: Vec<String> = acr["values"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(value) = acr["value"].as_str() {
            values.push(value.to_owned());
        }
        let known: Vec<String> = values
            .iter()
            .filter(|v| level(v).is_some())
            .cloned()
            .collect();
        if acr["essential"].as_bool() == Some(true) && !values.is_empty() && known.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::UnmetAuthenticationRequirements,
                "none of the essential acr values can be met",
            ));
        }
        requested.extend(known);
    }
    Ok(requested.into_iter().min_by_key(|v| level(v)))
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
                .as_deref(),
            Some(PASSWORD_PIN_DEVICE)
        );
        assert_eq!(
            required(
                Some("urn:idp:acr:password-pin-device urn:idp:acr:password-pin"),
                None
            )
            .unwrap()
            .as_deref(),
            Some(PASSWORD_PIN)
        );
        assert_eq!(
            required(Some("urn:other"), None).unwrap(),
            None,
            "voluntary unknown values are ignored"
        );
    }

    #[test]
    fn an_essential_unknown_acr_is_unmet() {
        let claims = r#"{"id_token":{"acr":{"essential":true,"values":["urn:other:loa:4"]}}}"#;
        assert_eq!(
            required(None, Some(claims)).unwrap_err().code,
            ErrorCode::UnmetAuthenticationRequirements
        );
        let claims =
            r#"{"id_token":{"acr":{"essential":true,"value":"urn:idp:acr:password-pin-device"}}}"#;
        assert_eq!(
            required(None, Some(claims)).unwrap().as_deref(),
            Some(PASSWORD_PIN_DEVICE)
        );
        let voluntary = r#"{"id_token":{"acr":{"values":["urn:other:loa:4"]}}}"#;
        assert_eq!(required(None, Some(voluntary)).unwrap(), None);
        assert!(required(None, Some("{not json")).is_err());
    }
}
