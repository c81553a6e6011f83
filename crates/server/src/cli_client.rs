//! `idp client create`: a client an administrator sets up, checked as registration checks
//! one (redirect and logout URIs, keys, links, the FAPI 2.0 profile) before it is stored.

use clap::Args;
use idp_core::model::{Client, ClientMetadata, SigningAlg, TokenEndpointAuthMethod};
use idp_core::random::{random_token, sha256_b64};
use serde_json::json;

use crate::cli::CliError;
use crate::state::AppState;

/// The logo and links the sign-in and consent pages show for a client (https URLs).
#[derive(Debug, Clone, Default, Args)]
pub struct LinkArgs {
    /// The client's logo, shown beside its name.
    #[arg(long, value_name = "URL")]
    pub logo_uri: Option<String>,
    /// The client's home page: its name links there.
    #[arg(long, value_name = "URL")]
    pub client_uri: Option<String>,
    /// The client's privacy policy.
    #[arg(long, value_name = "URL")]
    pub policy_uri: Option<String>,
    /// The client's terms of service.
    #[arg(long, value_name = "URL")]
    pub tos_uri: Option<String>,
}

impl LinkArgs {
    /// The links, each checked as registration checks them.
    fn checked(&self) -> Result<idp_core::model::ClientLinks, CliError> {
        let check = |flag: &str, uri: &Option<String>| {
            uri.as_deref()
                .map(|uri| {
                    idp_oauth::client_metadata::check_shown_uri(uri)
                        .map_err(|why| CliError(format!("--{flag}: `{uri}` {why}")))
                })
                .transpose()
        };
        Ok(idp_core::model::ClientLinks {
            logo_uri: check("logo-uri", &self.logo_uri)?,
            client_uri: check("client-uri", &self.client_uri)?,
            policy_uri: check("policy-uri", &self.policy_uri)?,
            tos_uri: check("tos-uri", &self.tos_uri)?,
        })
    }
}

/// What `idp client create` was asked for.
pub struct NewClient<'a> {
    pub name: &'a str,
    pub redirect_uris: &'a [String],
    pub post_logout_redirect_uris: &'a [String],
    pub backchannel_logout_uri: Option<&'a str>,
    pub public: bool,
    pub admin: bool,
    pub third_party: bool,
    pub resource_server: bool,
    pub auth_method: &'a str,
    pub id_token_alg: &'a str,
    /// Subject type, sector and UserInfo signing.
    pub person: &'a crate::cli_person::ClientPersonArgs,
    /// A JWK Set, as JSON text.
    pub jwks: Option<&'a str>,
    pub jwks_uri: Option<&'a str>,
    pub request_uris: &'a [String],
    pub links: &'a LinkArgs,
    /// Under the FAPI 2.0 Security Profile (`--fapi2`).
    pub fapi2: bool,
    /// The developer who registered it in the developer console (`None`: an administrator).
    pub owner: Option<&'a str>,
}

pub async fn create_client(
    state: &AppState,
    new: NewClient<'_>,
) -> Result<serde_json::Value, CliError> {
    let NewClient {
        name,
        redirect_uris,
        public,
        admin,
        resource_server,
        auth_method,
        id_token_alg,
        ..
    } = new;
    let logout_uris = new
        .post_logout_redirect_uris
        .iter()
        .map(String::as_str)
        .chain(new.backchannel_logout_uri);
    for uri in logout_uris {
        idp_oauth::client_metadata::check_redirect_uri(uri)
            .map_err(|e| CliError(format!("logout URI: {e}")))?;
    }
    // A developer's client is a third party's: the server will call its back-channel URI, so it
    // is checked as dynamic registration checks one.
    if let (Some(_), Some(uri)) = (new.owner, new.backchannel_logout_uri) {
        idp_oauth::client_metadata::check_backchannel_logout_uri(uri).map_err(CliError)?;
    }
    if name.trim().is_empty() {
        return Err(CliError("--name may not be empty".into()));
    }
    if redirect_uris.is_empty() && !admin {
        return Err(CliError(
            "--redirect-uri is required: the exact URI where the client receives people back with a code (only an --admin client, which signs no one in, may go without)".into(),
        ));
    }
    for uri in redirect_uris {
        idp_oauth::client_metadata::check_redirect_uri(uri)
            .map_err(|e| CliError(format!("--redirect-uri: {e}")))?;
    }
    if public && admin {
        return Err(CliError(
            "an --admin client must be confidential (not --public)".into(),
        ));
    }
    if public && resource_server {
        return Err(CliError(
            "a --resource-server client must be confidential (not --public)".into(),
        ));
    }
    let alg = SigningAlg::parse(id_token_alg).ok_or_else(|| {
        CliError(format!(
            "--id-token-alg: `{id_token_alg}` is not ES256, RS256 or EdDSA"
        ))
    })?;
    let (jwks, jwks_uri) = client_keys(&new)?;
    let method = if public {
        TokenEndpointAuthMethod::None
    } else {
        TokenEndpointAuthMethod::parse(auth_method)
            .filter(|m| *m != TokenEndpointAuthMethod::None)
            .ok_or_else(|| {
                CliError(format!("--token-endpoint-auth-method: `{auth_method}` is not client_secret_basic, client_secret_post, private_key_jwt, tls_client_auth or self_signed_tls_client_auth"))
            })?
    };
    let key_auth = method == TokenEndpointAuthMethod::PrivateKeyJwt;
    if key_auth && jwks.is_none() && jwks_uri.is_none() {
        return Err(CliError(
            "private_key_jwt needs the client's keys: --jwks or --jwks-uri".into(),
        ));
    }
    for uri in new.request_uris {
        let parsed = url::Url::parse(uri).map_err(|e| CliError(format!("--request-uri: {e}")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(CliError(format!(
                "--request-uri: `{uri}` is not an http(s) URL"
            )));
        }
    }
    let links = new.links.checked()?;
    let secret = matches!(
        method,
        TokenEndpointAuthMethod::ClientSecretBasic | TokenEndpointAuthMethod::ClientSecretPost
    )
    .then(|| random_token(32));
    let mut metadata = ClientMetadata {
        first_party: !new.third_party,
        resource_server,
        post_logout_redirect_uris: new.post_logout_redirect_uris.to_vec(),
        backchannel_logout_uri: new.backchannel_logout_uri.map(str::to_owned),
        jwks,
        jwks_uri: jwks_uri.clone(),
        request_uris: new.request_uris.to_vec(),
        links,
        fapi2_security_profile: new.fapi2,
        require_pushed_authorization_requests: new.fapi2,
        owner: new.owner.map(str::to_owned),
        ..ClientMetadata::default()
    };
    crate::cli_person::apply(state, new.person, redirect_uris, &mut metadata).await?;
    idp_oauth::mtls::check_registration(
        method,
        &metadata.tls_client_auth,
        metadata.tls_client_certificate_bound_access_tokens,
        (metadata.jwks.as_ref(), metadata.jwks_uri.is_some()),
        state.settings.mtls.offer(),
    )
    .map_err(|e| {
        CliError(format!(
            "--token-endpoint-auth-method {}: {e}",
            method.as_str()
        ))
    })?;
    let client = Client {
        id: random_token(16),
        name: name.trim().to_owned(),
        secret_hash: secret.as_deref().map(sha256_b64),
        redirect_uris: redirect_uris.to_vec(),
        token_endpoint_auth_method: method,
        id_token_signed_response_alg: alg,
        admin,
        created_at: state.now(),
        metadata,
    };
    idp_oauth::fapi::Rules::new(new.fapi2)
        .check_client(
            &client.redirect_uris,
            client.token_endpoint_auth_method,
            (
                client.id_token_signed_response_alg,
                client.metadata.userinfo_signed_response_alg,
            ),
        )
        .map_err(|e| CliError(format!("--fapi2: {e}")))?;
    state.stores.clients.create_client(&client).await?;
    let mut out = json!({
        "client_id": client.id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
        "id_token_signed_response_alg": alg.as_str(),
        "subject_type": client.metadata.subject_type.as_str(),
        "fapi2_security_profile": client.metadata.fapi2_security_profile,
    });
    if let Some(alg) = client.metadata.userinfo_signed_response_alg {
        out["userinfo_signed_response_alg"] = json!(alg.as_str());
    }
    if let (Ok(serde_json::Value::Object(links)), Some(out)) = (
        serde_json::to_value(&client.metadata.links),
        out.as_object_mut(),
    ) {
        out.extend(links);
    }
    if let Some(secret) = secret {
        out["client_secret"] = json!(secret);
    }
    if let Some(uri) = jwks_uri {
        out["jwks_uri"] = json!(uri);
    }
    if let (Ok(serde_json::Value::Object(names)), Some(out)) = (
        serde_json::to_value(&client.metadata.tls_client_auth),
        out.as_object_mut(),
    ) {
        out.extend(names);
    }
    if client.metadata.tls_client_certificate_bound_access_tokens {
        out["tls_client_certificate_bound_access_tokens"] = json!(true);
    }
    Ok(out)
}

/// `--jwks` (a JWK Set with at least one key) or `--jwks-uri` (an http(s) URL: an
/// administrator may name any host).
fn client_keys(
    new: &NewClient<'_>,
) -> Result<(Option<serde_json::Value>, Option<String>), CliError> {
    let jwks = match new.jwks {
        Some(text) => {
            let set: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| CliError(format!("--jwks is not JSON: {e}")))?;
            if set["keys"].as_array().is_none_or(|keys| keys.is_empty()) {
                return Err(CliError(
                    "--jwks must be a JWK Set with at least one key".into(),
                ));
            }
            Some(set)
        }
        None => None,
    };
    if let Some(uri) = new.jwks_uri {
        // An administrator may name any host; a developer only what registration allows.
        idp_oauth::client_keys::check_jwks_uri(uri, new.owner.is_none())
            .map_err(|e| CliError(format!("--jwks-uri: {e}")))?;
    }
    Ok((jwks, new.jwks_uri.map(str::to_owned)))
}
