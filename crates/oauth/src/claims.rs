//! What the provider says about a person: the standard claims (OpenID Connect Core §5.1) each
//! scope releases (§5.4), and the `claims` request parameter (§5.5) that asks for single
//! claims in the ID token or at UserInfo. UserInfo and the ID token both take their claims
//! from [`released`], so the two never disagree.
//!
//! Consent: a claim asked for by name counts as its scope ([`consent_scopes`]): a third-party
//! client that asks for `email` in `claims` is shown, and must be granted, the `email` scope,
//! so the consent page never releases a claim the person was not shown.

use std::collections::BTreeMap;

use idp_core::OAuthError;
use idp_core::model::User;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Claims a request may name at most, over both targets.
const MAX_REQUESTED: usize = 64;

/// The standard claims of each scope (OpenID Connect Core §5.4).
pub const SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The scope a standard claim belongs to.
pub fn scope_of(claim: &str) -> Option<&'static str> {
    SCOPE_CLAIMS
        .iter()
        .find(|(_, claims)| claims.contains(&claim))
        .map(|(scope, _)| *scope)
}

/// How one claim is asked for (§5.5.1): `null` (voluntary), or with `essential`, `value` or
/// `values`. This provider releases a claim the same way whether it is essential or not: it
/// has the value or it does not; `value` and `values` cannot change what a person is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub essential: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
}

/// The `claims` request parameter, checked: the claims asked for in the ID token and at
/// UserInfo, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimsRequest {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub id_token: BTreeMap<String, ClaimRequest>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub userinfo: BTreeMap<String, ClaimRequest>,
}

impl ClaimsRequest {
    /// The parameter as sent; `None` when it is absent. Anything but a JSON object whose
    /// `id_token` and `userinfo` members are objects of `null` or well-formed claim requests
    /// is `invalid_request`; other top-level members are ignored (§5.5).
    pub fn from_param(param: Option<&str>) -> Result<Option<Self>, OAuthError> {
        let Some(text) = param else {
            return Ok(None);
        };
        let malformed = |why: &str| OAuthError::invalid_request(format!("claims: {why}"));
        let parsed: Value = serde_json::from_str(text).map_err(|_| malformed("not valid JSON"))?;
        let Value::Object(top) = parsed else {
            return Err(malformed("must be a JSON object"));
        };
        let mut request = Self::default();
        let mut count = 0;
        for (target, slot) in [
            ("id_token", &mut request.id_token),
            ("userinfo", &mut request.userinfo),
        ] {
            let members = match top.get(target) {
                None | Some(Value::Null) => continue,
                Some(Value::Object(members)) => members,
                Some(_) => return Err(malformed(&format!("`{target}` must be an object"))),
            };
            for (name, asked) in members {
                count += 1;
                if count > MAX_REQUESTED || name.is_empty() || name.len() > 128 {
                    return Err(malformed("too many claims, or a claim name too long"));
                }
                let asked = match asked {
                    Value::Null => ClaimRequest::default(),
                    Value::Object(fields) => claim_request(fields)
                        .map_err(|why| malformed(&format!("`{target}.{name}`: {why}")))?,
                    _ => {
                        return Err(malformed(&format!(
                            "`{target}.{name}` must be null or an object"
                        )));
                    }
                };
                slot.insert(name.clone(), asked);
            }
        }
        Ok(Some(request))
    }

    /// The names asked for at UserInfo (what the access token carries).
    pub fn userinfo_names(&self) -> Vec<String> {
        self.userinfo.keys().cloned().collect()
    }
}

fn claim_request(fields: &Map<String, Value>) -> Result<ClaimRequest, &'static str> {
    let essential = match fields.get("essential") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(essential)) => *essential,
        Some(_) => return Err("essential must be true or false"),
    };
    let values = match fields.get("values") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values.clone(),
        Some(_) => return Err("values must be an array"),
    };
    Ok(ClaimRequest {
        essential,
        value: fields.get("value").filter(|v| !v.is_null()).cloned(),
        values,
    })
}

/// The scopes a consent must cover: those asked for, and the scope of every standard claim
/// the `claims` parameter names (see the module's note on consent).
pub fn consent_scopes(scopes: &[String], claims: Option<&ClaimsRequest>) -> Vec<String> {
    let mut out = scopes.to_vec();
    let named = claims
        .into_iter()
        .flat_map(|c| c.id_token.keys().chain(c.userinfo.keys()));
    for scope in named.filter_map(|name| scope_of(name)) {
        if !out.iter().any(|s| s == scope) {
            out.push(scope.to_owned());
        }
    }
    // In the order of SCOPES_SUPPORTED, as the request's own scopes are.
    out.sort_by_key(|s| crate::SCOPES_SUPPORTED.iter().position(|known| known == s));
    out
}

/// Every standard claim the person has, by name (`sub` is the caller's: it depends on the
/// client, see `crate::subject`).
pub fn standard_claims(user: &User) -> Map<String, Value> {
    let mut out = Map::new();
    let profile = &user.profile;
    for (name, value) in profile.names() {
        if let Some(value) = value {
            out.insert(name.into(), json!(value));
        }
    }
    out.insert("preferred_username".into(), json!(user.username));
    out.insert(
        "updated_at".into(),
        json!(profile.updated_at.unwrap_or(user.created_at)),
    );
    out.insert("email".into(), json!(user.email));
    out.insert("email_verified".into(), json!(user.email_verified));
    if let Some(phone) = &user.phone {
        out.insert("phone_number".into(), json!(phone));
        out.insert("phone_number_verified".into(), json!(user.phone_verified));
    }
    if let Some(formatted) = profile.address.formatted() {
        let mut address = Map::new();
        address.insert("formatted".into(), json!(formatted));
        for (name, value) in profile.address.parts() {
            if let Some(value) = value {
                address.insert(name.into(), json!(value));
            }
        }
        out.insert("address".into(), Value::Object(address));
    }
    out
}

/// The claims about `user` one target gets: every standard claim of `scopes` the person has
/// (when `with_scopes`: always at UserInfo, in the ID token only when no access token is
/// issued, Core §5.4), and every standard claim `named` asks for by name.
pub fn released<'a>(
    user: &User,
    scopes: &[String],
    with_scopes: bool,
    named: impl IntoIterator<Item = &'a str>,
) -> Map<String, Value> {
    let mut wanted: Vec<&str> = named.into_iter().collect();
    if with_scopes {
        for (scope, claims) in SCOPE_CLAIMS {
            if scopes.iter().any(|s| s == scope) {
                wanted.extend_from_slice(claims);
            }
        }
    }
    let mut all = standard_claims(user);
    let mut out = Map::new();
    for name in wanted {
        if scope_of(name).is_some()
            && let Some(value) = all.remove(name)
        {
            out.insert(name.to_owned(), value);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use idp_core::model::{Address, Profile};

    use super::*;

    fn person() -> User {
        let mut user = crate::test_stores::person("u1");
        user.phone = Some("+15550100".into());
        user.profile = Profile {
            name: Some("Ann Example".into()),
            given_name: Some("Ann".into()),
            family_name: None,
            address: Address {
                locality: Some("Springfield".into()),
                country: Some("US".into()),
                ..Address::default()
            },
            updated_at: Some(77),
        };
        user
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_scope_releases_the_claims_the_person_has() {
        let user = person();
        let profile = released(&user, &scopes(&["openid", "profile"]), true, []);
        assert_eq!(
            profile,
            json!({ "name": "Ann Example", "given_name": "Ann", "preferred_username": "u1",
                    "updated_at": 77 })
            .as_object()
            .unwrap()
            .clone()
        );
        let rest = released(&user, &scopes(&["email", "phone", "address"]), true, []);
        assert_eq!(rest["email"], "u1@example.org");
        assert_eq!(rest["email_verified"], true);
        assert_eq!(rest["phone_number"], "+15550100");
        assert_eq!(rest["phone_number_verified"], false);
        assert_eq!(
            rest["address"],
            json!({ "formatted": "Springfield\nUS", "locality": "Springfield", "country": "US" })
        );
        assert!(released(&user, &scopes(&["openid"]), true, []).is_empty());
    }

    #[test]
    fn named_claims_come_without_their_scope_and_unknown_names_are_ignored() {
        let user = person();
        let out = released(
            &user,
            &scopes(&["openid"]),
            false,
            ["email", "nonce", "sub"],
        );
        assert_eq!(out.keys().collect::<Vec<_>>(), ["email"]);
        let scoped = released(&user, &scopes(&["email"]), false, []);
        assert!(scoped.is_empty(), "scopes only where the target takes them");
    }

    #[test]
    fn the_claims_parameter_is_checked() {
        let parsed = ClaimsRequest::from_param(Some(
            r#"{"id_token":{"email":{"essential":true},"name":null},
                "userinfo":{"address":{"values":["a"]},"x":{"value":1}},"other":5}"#,
        ))
        .unwrap()
        .unwrap();
        assert!(parsed.id_token["email"].essential);
        assert_eq!(parsed.id_token["name"], ClaimRequest::default());
        assert_eq!(parsed.userinfo_names(), ["address", "x"]);
        assert_eq!(ClaimsRequest::from_param(None).unwrap(), None);
        for bad in [
            "{not json",
            "[]",
            r#"{"id_token":[]}"#,
            r#"{"userinfo":{"email":true}}"#,
            r#"{"id_token":{"email":{"essential":"yes"}}}"#,
            r#"{"id_token":{"email":{"values":"a"}}}"#,
        ] {
            assert!(ClaimsRequest::from_param(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn named_claims_count_as_their_scope_for_consent() {
        let claims = ClaimsRequest::from_param(Some(
            r#"{"id_token":{"phone_number":null,"acr":null},"userinfo":{"email":null}}"#,
        ))
        .unwrap();
        assert_eq!(
            consent_scopes(&scopes(&["openid", "offline_access"]), claims.as_ref()),
            scopes(&["openid", "email", "phone", "offline_access"])
        );
    }
}
