//! The command line's part in what the provider says about people: `idp user profile` sets a
//! person's names and address (the conformance suite needs a person with every standard
//! claim), and `idp client create` takes the client's subject type and UserInfo signing.

use idp_core::model::{ClientMetadata, SigningAlg, SubjectType};
use serde_json::json;

use crate::cli::CliError;
use crate::oauth::outbound::Caller;
use crate::state::AppState;

/// `idp user profile`'s flags: each one given replaces that field (an empty value removes
/// it); the others stay.
#[derive(Debug, Default, clap::Args)]
pub struct ProfileArgs {
    /// Full name (`name`).
    #[arg(long)]
    pub name: Option<String>,
    /// Given name (`given_name`).
    #[arg(long)]
    pub given_name: Option<String>,
    /// Family name (`family_name`).
    #[arg(long)]
    pub family_name: Option<String>,
    /// Street address; `\n` separates lines.
    #[arg(long)]
    pub street_address: Option<String>,
    /// City or town (`locality`).
    #[arg(long)]
    pub locality: Option<String>,
    /// State, province or region.
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub postal_code: Option<String>,
    #[arg(long)]
    pub country: Option<String>,
}

/// Sets the fields `args` names on the person `username`; prints the profile as the claims
/// carry it.
pub async fn set_profile(
    state: &AppState,
    username: &str,
    args: ProfileArgs,
) -> Result<serde_json::Value, CliError> {
    let user = crate::cli::find_user(state, username).await?;
    let mut profile = user.profile.clone();
    let set = |slot: &mut Option<String>, value: Option<String>| {
        if let Some(value) = value {
            *slot = Some(value.replace("\\n", "\n"));
        }
    };
    set(&mut profile.name, args.name);
    set(&mut profile.given_name, args.given_name);
    set(&mut profile.family_name, args.family_name);
    let address = &mut profile.address;
    set(&mut address.street_address, args.street_address);
    set(&mut address.locality, args.locality);
    set(&mut address.region, args.region);
    set(&mut address.postal_code, args.postal_code);
    set(&mut address.country, args.country);
    profile.updated_at = Some(state.now());
    let profile = profile
        .cleaned()
        .map_err(|e| CliError(format!("--{}: {e}", e.field.replace('_', "-"))))?;
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Cli,
        reason: None,
        from: &from,
    };
    crate::staff::set_profile(state, &user, &profile, &acting).await?;
    let user = crate::cli::find_user(state, username).await?;
    let mut out = idp_oauth::claims::standard_claims(&user);
    out.insert("sub".into(), json!(user.id));
    Ok(serde_json::Value::Object(out))
}

/// `idp client create`'s flags for the person's identifiers and claims, and for how its
/// tokens are bound.
#[derive(Debug, Default, clap::Args)]
pub struct ClientPersonArgs {
    /// `public` (people's own ids) or `pairwise` (ids made for the client's sector).
    #[arg(long, value_name = "TYPE", value_parser = ["public", "pairwise"])]
    pub subject_type: Option<String>,
    /// A JSON list of the client's redirect URIs at this URL, fetched now; its host is the
    /// pairwise client's sector.
    #[arg(long, value_name = "URI")]
    pub sector_identifier_uri: Option<String>,
    /// UserInfo answers as a JWT signed with this algorithm.
    #[arg(long, value_name = "ALG", value_parser = ["ES256", "RS256", "EdDSA"])]
    pub userinfo_alg: Option<String>,
    /// Every access token of the client is bound to a DPoP key (RFC 9449 §5.2): a token
    /// request without a DPoP proof is refused.
    #[arg(long)]
    pub dpop_bound_access_tokens: bool,
    /// For `tls_client_auth`: the subject of the client's certificate (RFC 4514, e.g.
    /// `CN=portal,O=Example,C=GB`).
    #[arg(long, value_name = "DN")]
    pub tls_client_auth_subject_dn: Option<String>,
    /// For `tls_client_auth`: a DNS name in the certificate's subject alternative names.
    #[arg(long, value_name = "NAME")]
    pub tls_client_auth_san_dns: Option<String>,
    /// For `tls_client_auth`: a URI in the certificate's subject alternative names.
    #[arg(long, value_name = "URI")]
    pub tls_client_auth_san_uri: Option<String>,
    /// For `tls_client_auth`: an IP address in the certificate's subject alternative names.
    #[arg(long, value_name = "IP")]
    pub tls_client_auth_san_ip: Option<String>,
    /// For `tls_client_auth`: an e-mail address in the certificate's subject alternative
    /// names.
    #[arg(long, value_name = "ADDRESS")]
    pub tls_client_auth_san_email: Option<String>,
    /// Every access token of the client is bound to its TLS client certificate (RFC 8705
    /// §3.4): a token request without one is refused.
    #[arg(long)]
    pub tls_client_certificate_bound_access_tokens: bool,
}

/// Checks `args` against the client's redirect URIs (fetching the sector document, trusted:
/// an administrator chose the URL) and sets them on `metadata`.
pub async fn apply(
    state: &AppState,
    args: &ClientPersonArgs,
    redirect_uris: &[String],
    metadata: &mut ClientMetadata,
) -> Result<(), CliError> {
    let subject_type = args
        .subject_type
        .as_deref()
        .map_or(Some(SubjectType::Public), SubjectType::parse)
        .ok_or_else(|| CliError("--subject-type: public or pairwise".into()))?;
    let sector_uri = args.sector_identifier_uri.as_deref();
    idp_oauth::subject::check_pairwise(subject_type, sector_uri, redirect_uris)
        .map_err(|e| CliError(format!("--subject-type: {e}")))?;
    if let Some(uri) = sector_uri {
        crate::oauth::sector::check(state, uri, Caller::Trusted, redirect_uris)
            .await
            .map_err(|e| CliError(format!("--sector-identifier-uri: {e}")))?;
    }
    metadata.subject_type = subject_type;
    metadata.sector_identifier_uri = sector_uri.map(str::to_owned);
    metadata.dpop_bound_access_tokens = args.dpop_bound_access_tokens;
    metadata.tls_client_auth = idp_core::model::TlsClientAuthName {
        tls_client_auth_subject_dn: args.tls_client_auth_subject_dn.clone(),
        tls_client_auth_san_dns: args.tls_client_auth_san_dns.clone(),
        tls_client_auth_san_uri: args.tls_client_auth_san_uri.clone(),
        tls_client_auth_san_ip: args.tls_client_auth_san_ip.clone(),
        tls_client_auth_san_email: args.tls_client_auth_san_email.clone(),
    };
    metadata.tls_client_certificate_bound_access_tokens =
        args.tls_client_certificate_bound_access_tokens;
    metadata.userinfo_signed_response_alg = args
        .userinfo_alg
        .as_deref()
        .map(|alg| {
            SigningAlg::parse(alg)
                .ok_or_else(|| CliError(format!("--userinfo-alg: `{alg}` is not supported")))
        })
        .transpose()?;
    Ok(())
}
