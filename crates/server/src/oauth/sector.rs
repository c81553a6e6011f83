//! A pairwise client's `sector_identifier_uri` (OpenID Connect Core §8.1): fetched when the
//! client is registered (or created by an administrator), it must be a JSON array that lists
//! every redirect URI of the client.

use super::outbound::{Caller, fetch};
use crate::state::AppState;

/// Fetches the document at `uri` for `caller` and checks that it lists each of
/// `redirect_uris`; the refusal's words are safe to show the client.
pub async fn check(
    state: &AppState,
    uri: &str,
    caller: Caller,
    redirect_uris: &[String],
) -> Result<(), String> {
    let fetched = fetch(&state.http, uri, caller, "application/json")
        .await
        .map_err(|e| format!("sector_identifier_uri: {e}"))?;
    idp_oauth::subject::check_sector_document(&fetched.body, redirect_uris)
}

/// The client's subject type, sector identifier and UserInfo signing, as registration
/// answers describe a client (RFC 7591 §3.2.1).
pub fn describe(client: &idp_core::model::Client, out: &mut serde_json::Value) {
    let metadata = &client.metadata;
    out["subject_type"] = serde_json::json!(metadata.subject_type.as_str());
    if let Some(uri) = &metadata.sector_identifier_uri {
        out["sector_identifier_uri"] = serde_json::json!(uri);
    }
    if let Some(alg) = metadata.userinfo_signed_response_alg {
        out["userinfo_signed_response_alg"] = serde_json::json!(alg.as_str());
    }
}

/// A change of registration that would move a pairwise client to another sector, and so
/// change the `sub` of everyone it knows: refused (RFC 7592 §2.2 lets the server refuse
/// changes it cannot make).
pub fn check_same_sector(
    before: &idp_core::model::Client,
    after: &idp_core::model::Client,
) -> Result<(), String> {
    use idp_core::model::SubjectType;
    let pairwise = |c: &idp_core::model::Client| c.metadata.subject_type == SubjectType::Pairwise;
    if pairwise(before)
        && (!pairwise(after)
            || idp_oauth::subject::sector(before) != idp_oauth::subject::sector(after))
    {
        return Err(
            "a pairwise client keeps its subject type and sector: the people it knows would change their sub".into(),
        );
    }
    Ok(())
}
