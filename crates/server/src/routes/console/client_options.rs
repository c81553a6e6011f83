//! What an administrator may set on a new client beyond what a developer may: everything
//! `idp client create` takes (consent, introspection of others' tokens, the admin API, FAPI
//! 2.0, DPoP-bound tokens, the ID token's algorithm, pairwise subjects, request object URIs,
//! mutual TLS and the links shown to people), read from the form as the command line reads its
//! flags, so both are checked alike.

use serde::{Deserialize, Serialize};

use crate::cli::LinkArgs;
use crate::cli_person::ClientPersonArgs;

/// The ID token algorithms a client may ask for, as on the command line.
const ID_TOKEN_ALGS: [&str; 3] = ["ES256", "RS256", "EdDSA"];

/// The administrators' part of the new-client form; a checkbox is on when it sends anything.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AdminOptions {
    #[serde(default)]
    pub third_party: String,
    #[serde(default)]
    pub resource_server: String,
    #[serde(default)]
    pub admin_api: String,
    #[serde(default)]
    pub fapi2: String,
    #[serde(default)]
    pub dpop_bound: String,
    #[serde(default)]
    pub id_token_alg: String,
    #[serde(default)]
    pub subject_type: String,
    #[serde(default)]
    pub sector_identifier_uri: String,
    /// One a line.
    #[serde(default)]
    pub request_uris: String,
    #[serde(default)]
    pub tls_client_auth_subject_dn: String,
    #[serde(default)]
    pub logo_uri: String,
    #[serde(default)]
    pub client_uri: String,
    #[serde(default)]
    pub policy_uri: String,
    #[serde(default)]
    pub tos_uri: String,
}

/// The options as the command line takes them.
pub struct Chosen {
    pub third_party: bool,
    pub resource_server: bool,
    pub admin: bool,
    pub fapi2: bool,
    pub id_token_alg: &'static str,
    pub person: ClientPersonArgs,
    pub request_uris: Vec<String>,
    pub links: LinkArgs,
}

fn owned(value: &str) -> Option<String> {
    super::clients::given(value).map(str::to_owned)
}

impl AdminOptions {
    /// The options chosen, or the field that is wrong and why (a key of the pages' text).
    pub fn chosen(&self) -> Result<Chosen, (&'static str, &'static str)> {
        let on = |value: &str| !value.is_empty();
        let id_token_alg = match self.id_token_alg.trim() {
            "" => "ES256",
            alg => ID_TOKEN_ALGS
                .into_iter()
                .find(|known| *known == alg)
                .ok_or(("id_token_alg", "console-clients-alg-invalid"))?,
        };
        let subject_type = match self.subject_type.trim() {
            "" => None,
            kind @ ("public" | "pairwise") => Some(kind.to_owned()),
            _ => return Err(("subject_type", "console-clients-subject-invalid")),
        };
        let person = ClientPersonArgs {
            subject_type,
            sector_identifier_uri: owned(&self.sector_identifier_uri),
            dpop_bound_access_tokens: on(&self.dpop_bound),
            tls_client_auth_subject_dn: owned(&self.tls_client_auth_subject_dn),
            ..ClientPersonArgs::default()
        };
        let links = LinkArgs {
            logo_uri: owned(&self.logo_uri),
            client_uri: owned(&self.client_uri),
            policy_uri: owned(&self.policy_uri),
            tos_uri: owned(&self.tos_uri),
        };
        Ok(Chosen {
            third_party: on(&self.third_party),
            resource_server: on(&self.resource_server),
            admin: on(&self.admin_api),
            fapi2: on(&self.fapi2),
            id_token_alg,
            person,
            request_uris: super::clients::lines(&self.request_uris),
            links,
        })
    }
}
