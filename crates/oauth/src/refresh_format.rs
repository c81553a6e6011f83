//! A refresh token's form. A token is when it was made (microseconds since the epoch, 16 hex
//! digits), 32 random bytes (43 base64url characters), a dot, and what its check needs (its
//! [`Binding`], JSON in base64url). It is stored under its stamp and the digest of the whole
//! token, so what it carries cannot be changed without losing the record: a refresh judges
//! the token by what it carries, and rotates it without reading its record first.
//!
//! Earlier tokens carry nothing (the stamp and random part alone, or before that the random
//! part alone): their records are read for their check, as they always were.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp_core::Clock;
use idp_core::clock::UnixTime;
use idp_core::random::{random_token, sha256_b64};
use serde::{Deserialize, Serialize};

use crate::grant_error::GrantError;
use crate::issuer::Proven;
use crate::refresh_token::WHAT;
use crate::single_use::invalid;
use crate::tokens::{UserGrant, check_possession, narrowed_scopes};

/// What a refresh token's check needs: the grant it belongs to, the client it was issued to,
/// the grant's scopes, and the DPoP key or TLS client certificate it is bound to. Nothing
/// about the person: a client given pairwise subjects must not learn who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    #[serde(rename = "g")]
    pub grant_id: String,
    #[serde(rename = "c")]
    pub client_id: String,
    #[serde(rename = "s")]
    pub scopes: Vec<String>,
    #[serde(rename = "j", default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    #[serde(rename = "x", default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl Binding {
    /// What a refresh token of `grant` is bound to.
    pub fn of(grant: &UserGrant) -> Self {
        Self {
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            scopes: grant.scopes.clone(),
            dpop_jkt: grant.dpop_jkt.clone(),
            certificate: grant.certificate.clone(),
        }
    }

    /// Whether `client_id`, asking for `scope` with what `proven` holds, may use the token:
    /// the scopes this refresh answers.
    pub fn admits(
        &self,
        client_id: &str,
        scope: Option<&str>,
        proven: Proven<'_>,
    ) -> Result<Vec<String>, GrantError> {
        if self.client_id != client_id {
            return Err(invalid(WHAT));
        }
        check_possession(
            self.certificate.as_deref(),
            self.dpop_jkt.as_deref(),
            proven,
        )?;
        Ok(narrowed_scopes(&self.scopes, scope)?)
    }
}

/// A new refresh token, before it is stored: the token, the key it is stored under, and
/// when it expires. Counted in the metrics once stored.
pub struct RefreshToken {
    pub token: String,
    pub id: String,
    pub expires_at: UnixTime,
}

const STAMP: usize = 16;
/// The stamp and the random part: all of a token of the form before tokens carried their
/// binding, and the start of one that does.
const HEAD: usize = STAMP + 43;

impl RefreshToken {
    /// A new token bound to `binding` (none only where no record can be rotated into it),
    /// made now by `clock`, that lives `ttl` seconds.
    pub fn new(clock: &dyn Clock, ttl: i64, binding: Option<&Binding>) -> Self {
        let token = Self::made_at(clock.now_micros(), binding);
        Self {
            id: Self::id_of(&token),
            token,
            expires_at: clock.now() + ttl,
        }
    }

    /// A new token, stamped `micros`, carrying `binding`.
    fn made_at(micros: u64, binding: Option<&Binding>) -> String {
        let head = format!("{micros:016x}{}", random_token(32));
        match binding.map(serde_json::to_vec) {
            Some(Ok(json)) => format!("{head}.{}", URL_SAFE_NO_PAD.encode(json)),
            _ => head,
        }
    }

    /// The key a presented refresh token is stored under: its stamp, then the digest of the
    /// whole token (what it carries included). Keys made one after another sort one after
    /// another, so the store adds each new one at the end of its index rather than in a page
    /// of its own at random (a rotation writes a third of the pages it did). A token of the
    /// earliest form (the 43 random characters alone) is stored under its digest alone.
    pub fn id_of(token: &str) -> String {
        let stamped = token.len() == HEAD || token.as_bytes().get(HEAD) == Some(&b'.');
        match token.get(..STAMP) {
            Some(stamp) if stamped => format!("{stamp}{}", sha256_b64(token)),
            _ => sha256_b64(token),
        }
    }

    /// What `token` carries, where it is of the form that carries it. Whatever it says is
    /// only as good as its record: a changed token is stored under no record.
    pub fn binding(token: &str) -> Option<Binding> {
        let carried = token.get(HEAD..)?.strip_prefix('.')?;
        let json = URL_SAFE_NO_PAD.decode(carried).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use idp_core::random::sha256_b64;

    use super::{Binding, RefreshToken};

    fn binding() -> Binding {
        Binding {
            grant_id: "g-1".into(),
            client_id: "tax-portal".into(),
            scopes: vec!["openid".into(), "offline_access".into()],
            dpop_jkt: None,
            certificate: None,
        }
    }

    #[test]
    fn refresh_tokens_are_stored_in_the_order_they_were_made() {
        let micros = 1_790_000_000_000_000;
        let first = RefreshToken::made_at(micros, Some(&binding()));
        let next = RefreshToken::made_at(micros + 1, Some(&binding()));
        assert!(first.starts_with("00065bfeda25e000"), "{first}");
        let (first_id, next_id) = (RefreshToken::id_of(&first), RefreshToken::id_of(&next));
        assert!(first_id < next_id, "{first_id} then {next_id}");
        // The key holds the stamp and a digest of the whole token, none of its secret part.
        assert_eq!(first_id, format!("{}{}", &first[..16], sha256_b64(&first)));
        assert!(!first_id.contains(&first[16..59]));
        // Tokens made in the same microsecond still differ.
        assert_ne!(
            RefreshToken::id_of(&RefreshToken::made_at(micros, Some(&binding()))),
            first_id
        );
    }

    #[test]
    fn a_token_carries_its_binding_and_any_change_to_it_names_another_record() {
        let token = RefreshToken::made_at(1_790_000_000_000_000, Some(&binding()));
        assert_eq!(RefreshToken::binding(&token), Some(binding()));
        // Another client written into what it carries: a well-formed token, of no record.
        let (head, _) = token.split_at(59);
        let forged = Binding {
            client_id: "intruder".into(),
            ..binding()
        };
        let json = serde_json::to_vec(&forged).unwrap();
        use base64::Engine as _;
        let changed = format!(
            "{head}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        );
        assert_eq!(RefreshToken::binding(&changed), Some(forged));
        assert_ne!(RefreshToken::id_of(&changed), RefreshToken::id_of(&token));
        assert_eq!(&RefreshToken::id_of(&changed)[..16], &token[..16]);
        // Nothing is carried by a token of an earlier form, or a damaged one.
        let earlier = RefreshToken::made_at(1_790_000_000_000_000, None);
        assert_eq!(earlier.len(), 59);
        assert_eq!(RefreshToken::binding(&earlier), None);
        assert_eq!(RefreshToken::binding(&format!("{earlier}.!!")), None);
        assert_eq!(
            RefreshToken::binding(&format!("{earlier}x{}", &token[60..])),
            None
        );
    }

    #[test]
    fn tokens_of_earlier_forms_and_stray_input_are_looked_up_as_before() {
        let stamped = RefreshToken::made_at(1_790_000_000_000_000, None);
        assert_eq!(
            RefreshToken::id_of(&stamped),
            format!("{}{}", &stamped[..16], sha256_b64(&stamped))
        );
        let earliest = idp_core::random::random_token(32);
        assert_eq!(RefreshToken::id_of(&earliest), sha256_b64(&earliest));
        // Whatever is presented gives a key and never a panic: a multi-byte character where
        // the stamp would end, or the wrong length.
        let stray = format!("{}é{}", "a".repeat(15), "b".repeat(42));
        assert_eq!(stray.len(), 59);
        assert_eq!(RefreshToken::id_of(&stray), sha256_b64(&stray));
        for presented in ["", "0123456789abcdef", &"x".repeat(60), &"é".repeat(40)] {
            assert_eq!(RefreshToken::id_of(presented), sha256_b64(presented));
            assert_eq!(RefreshToken::binding(presented), None);
        }
    }
}
