//! The `idp` command line: the server, and the admin commands scripts use. Output meant for
//! scripts is JSON on stdout; errors go to stderr with a non-zero exit.

use std::io::BufRead as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use idp_core::StoreError;
use idp_core::model::NewUser;
use idp_core::random::random_token;
use idp_core::validate;
use serde_json::json;

pub use crate::cli_client::{LinkArgs, NewClient, create_client};
use crate::state::AppState;

#[derive(Debug, Parser)]
#[command(
    name = "idp",
    version,
    about = "OpenID Connect provider with password and PIN sign-in"
)]
pub struct Cli {
    /// A TOML file of settings, applied over config/default.toml and under IDP_* variables.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage OAuth clients (relying parties).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Messages kept instead of sent (no SMTP server or SMS webhook configured).
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Signing keys: list, rotate, retire, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Initial access tokens for dynamic client registration.
    #[command(subcommand, name = "registration-token")]
    RegistrationToken(RegistrationTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print every key with its state (next, active, retired) and dates, as JSON.
    List,
    /// Create a `next` key per algorithm; it starts signing after the pre-publication window.
    Rotate,
    /// Retire an active key now, handing over to its published `next` key.
    Retire {
        /// The key's id as `idp keys list` prints it. A thumbprint may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Remove a key at once (it leaked): what it signed stops verifying.
    Revoke {
        /// The key's id as `idp keys list` prints it. A thumbprint may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Re-seal every private key under a new master key, read (base64) from stdin. Stop every
    /// node first, then start them with the new master key.
    Rewrap,
}

pub async fn run_keys(
    state: &AppState,
    command: KeysCommand,
) -> Result<serde_json::Value, CliError> {
    let refused = |e: crate::keys::KeyLoadError| CliError(e.to_string());
    let change = match &command {
        KeysCommand::List => None,
        KeysCommand::Rotate => Some(crate::staff::KeyChange::Rotate),
        KeysCommand::Retire { kid } => Some(crate::staff::KeyChange::Retire(kid)),
        KeysCommand::Revoke { kid } => Some(crate::staff::KeyChange::Revoke(kid)),
        KeysCommand::Rewrap => return rewrap(state).await,
    };
    if let Some(change) = change {
        let from = crate::web::client_info::ClientInfo::default();
        let acting = crate::staff::Acting {
            by: &crate::staff::Actor::Cli,
            reason: None,
            from: &from,
        };
        crate::staff::change_keys(state, change, &acting)
            .await
            .map_err(refused)?;
    }
    let records = state.stores.keys.list_signing_keys().await?;
    Ok(crate::keys::describe(&records))
}

pub(crate) async fn record_cli(state: &AppState, detail: String) {
    let event =
        idp_core::model::AuditEvent::new(idp_core::model::AuditKind::AdminAction, state.now())
            .actor("cli")
            .detail(detail);
    crate::audit::record(state, event).await;
}

async fn rewrap(state: &AppState) -> Result<serde_json::Value, CliError> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let line = read_line(&mut lines, "new master key")?;
    let new_master =
        crate::secrets::parse_master_key(&line).map_err(|e| CliError(e.to_string()))?;
    let count = crate::keys::rewrap(state, &new_master)
        .await
        .map_err(|e| CliError(e.to_string()))?;
    record_cli(state, format!("keys rewrap ({count} keys)")).await;
    let mut out = json!({ "rewrapped": count });
    match crate::secrets::generated_master_key_file(&state.settings) {
        Some(path) => {
            crate::secrets::replace_master_key_file(&path, &new_master).map_err(|e| {
                CliError(format!(
                    "keys re-sealed, but {} could not be replaced: {e}",
                    path.display()
                ))
            })?;
            out["master_key_file"] = json!(path.display().to_string());
        }
        None => {
            out["next_step"] = json!("set IDP_MASTER_KEY to the new key before the next start");
        }
    }
    Ok(out)
}

/// The most registrations one registration token serves.
pub const MAX_REGISTRATION_USES: u32 = 100_000;

#[derive(Debug, Subcommand)]
pub enum RegistrationTokenCommand {
    /// Print a new initial access token for registrations at POST /register.
    Create {
        /// How long it stays valid: seconds, or a number with s, m, h or d (default 24h).
        #[arg(long, value_name = "DUR", default_value = "24h")]
        expires_in: String,
        /// How many registrations it serves (a test suite registers many clients).
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_REGISTRATION_USES)))]
        uses: u32,
    },
}

/// `90`, `90s`, `15m`, `24h`, `7d` as seconds.
pub fn parse_duration(text: &str) -> Result<i64, CliError> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let multiplier = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    let value: i64 = digits.parse().unwrap_or(0);
    match value.checked_mul(multiplier) {
        Some(seconds) if seconds > 0 && seconds <= 365 * 86_400 => Ok(seconds),
        _ => Err(CliError(format!(
            "--expires-in: `{text}` is not a duration like 3600, 30m, 24h or 7d (at most 365d)"
        ))),
    }
}

pub async fn create_registration_token(
    state: &AppState,
    expires_in: &str,
    uses: u32,
) -> Result<serde_json::Value, CliError> {
    let seconds = parse_duration(expires_in)?;
    let expires_at = state.now() + seconds;
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Cli,
        reason: None,
        from: &from,
    };
    let token = crate::staff::create_registration_token(state, uses, expires_at, &acting).await?;
    Ok(json!({
        "initial_access_token": token,
        "uses": uses,
        "expires_at": expires_at,
        "expiry": crate::timestamps::rfc3339(expires_at),
    }))
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the log's hash chain from its first row: prints what was checked as JSON (with
    /// the newest row's id and link, to note elsewhere), or names the rows where the chain
    /// breaks, and exits 1.
    Verify {
        /// `ID:LINK`, as an earlier run printed them: that row must still be there, unchanged.
        #[arg(long, value_name = "ID:LINK")]
        expect: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Print every kept message as JSON, oldest first.
    List,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; reads the password, then the PIN: prompted for without echo at a
    /// terminal, else one per line on stdin.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        /// The e-mail address is confirmed already (the operator checked it): it receives
        /// recovery and new-device codes before any sign-in.
        #[arg(long)]
        email_verified: bool,
        /// The phone number is confirmed already; needs --phone.
        #[arg(long)]
        phone_verified: bool,
    },
    /// Support-assisted PIN unlock, after support confirmed who the user is: the PIN is
    /// cleared and the user chooses a new one at the next sign-in.
    Unlock {
        /// The username.
        username: String,
    },
    /// Set the person's names and postal address, which the standard claims carry: each flag
    /// given replaces that field (an empty value removes it). Prints the claims as JSON.
    Profile {
        /// The username.
        username: String,
        #[command(flatten)]
        fields: crate::cli_person::ProfileArgs,
    },
    /// Print the person's second factors (id, kind, name, when added and last used) and how
    /// many saved recovery codes they have left, as JSON.
    Factors {
        /// The username.
        username: String,
    },
    /// Remove a second factor the person lost, after support confirmed who they are: audited,
    /// and the person is told by e-mail.
    RemoveFactor {
        /// The username.
        username: String,
        /// The factor's id as `idp user factors` prints it.
        id: String,
    },
    /// Give the person a role (admin, support, developer) or take one away; audited, and the
    /// person is told. Without --grant or --revoke, prints their roles.
    Role {
        /// The username.
        username: String,
        /// The role to give: admin, support or developer.
        #[arg(long, value_name = "ROLE", conflicts_with = "revoke")]
        grant: Option<String>,
        /// The role to take away.
        #[arg(long, value_name = "ROLE")]
        revoke: Option<String>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints JSON with client_id (and client_secret unless --public).
    Create {
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat the flag or list several. Required, except for an
        /// --admin client (it signs no one in).
        #[arg(long = "redirect-uri", value_name = "URI", num_args = 1..)]
        redirect_uris: Vec<String>,
        /// A public client (a native or browser app): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// May use the admin API.
        #[arg(long)]
        admin: bool,
        /// Treat as a third party: people are asked to consent before it gets their data
        /// (clients created here are first-party otherwise).
        #[arg(long)]
        third_party: bool,
        /// A resource server: may introspect tokens issued to other clients (admin tokens
        /// only when it is also --admin).
        #[arg(long)]
        resource_server: bool,
        /// Where the client may send people after RP-initiated logout; repeat for several.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Where logout tokens are POSTed when a session ends (back-channel logout).
        #[arg(long, value_name = "URI")]
        backchannel_logout_uri: Option<String>,
        /// How a confidential client authenticates at the token endpoint.
        #[arg(long, value_name = "METHOD", default_value = "client_secret_basic",
              value_parser = ["client_secret_basic", "client_secret_post", "private_key_jwt",
                              "tls_client_auth", "self_signed_tls_client_auth"])]
        token_endpoint_auth_method: String,
        /// The client's public keys, a JWK Set (JSON): for private_key_jwt, signed request
        /// objects, and the certificates of self_signed_tls_client_auth (`x5c`).
        #[arg(long, value_name = "JSON", conflicts_with = "jwks_uri")]
        jwks: Option<String>,
        /// Where the client publishes its public keys (a JWK Set), fetched when needed.
        #[arg(long, value_name = "URL")]
        jwks_uri: Option<String>,
        /// A URL the client keeps request objects at (RFC 9101 `request_uri`), repeatable:
        /// only these are then fetched for it, and at any address (others must be https at a
        /// public address).
        #[arg(long = "request-uri", value_name = "URL")]
        request_uris: Vec<String>,
        /// Put the client under the FAPI 2.0 Security Profile: needs https redirect URIs and
        /// --token-endpoint-auth-method private_key_jwt, tls_client_auth or
        /// self_signed_tls_client_auth.
        #[arg(long)]
        fapi2: bool,
        /// Algorithm of the client's ID tokens.
        #[arg(long, value_name = "ALG", default_value = "ES256", value_parser = ["ES256", "RS256", "EdDSA"])]
        id_token_alg: String,
        #[command(flatten)]
        person: Box<crate::cli_person::ClientPersonArgs>,
        #[command(flatten)]
        links: LinkArgs,
    },
}

/// A command failure, printed as one line on stderr.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> Self {
        Self(format!("database: {error}"))
    }
}

impl From<idp_core::hashing::HashError> for CliError {
    fn from(error: idp_core::hashing::HashError) -> Self {
        Self(format!("hashing: {error}"))
    }
}

fn read_line(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    what: &str,
) -> Result<String, CliError> {
    match lines.next() {
        Some(Ok(line)) => Ok(line.trim_end_matches(['\r', '\n']).to_owned()),
        Some(Err(e)) => Err(CliError(format!("cannot read the {what} from stdin: {e}"))),
        None => Err(CliError(format!(
            "expected the {what} on stdin (password, then PIN, one per line)"
        ))),
    }
}

/// The password, then the PIN: asked for without echo when a person types them at a terminal,
/// else one line each from stdin, as scripts give them.
fn read_password_and_pin() -> Result<(String, String), CliError> {
    if crate::prompt::stdin_is_terminal() {
        let ask = |prompt: &str, what: &str| {
            crate::prompt::read_hidden(prompt)
                .map_err(|e| CliError(format!("cannot read the {what} from the terminal: {e}")))
        };
        return Ok((ask("Password: ", "password")?, ask("PIN: ", "PIN")?));
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let password = read_line(&mut lines, "password")?;
    let pin = read_line(&mut lines, "PIN")?;
    Ok((password, pin))
}

/// What `idp user create` was asked for.
pub struct NewUserRequest<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub email_verified: bool,
    pub phone_verified: bool,
}

pub async fn create_user(
    state: &AppState,
    request: NewUserRequest<'_>,
) -> Result<serde_json::Value, CliError> {
    let NewUserRequest {
        username,
        email,
        phone,
        email_verified,
        phone_verified,
    } = request;
    if phone_verified && phone.is_none() {
        return Err(CliError("--phone-verified needs --phone".into()));
    }
    let username =
        validate::username(username).map_err(|e| CliError(format!("--username: {e}")))?;
    let email = validate::email(email).map_err(|e| CliError(format!("--email: {e}")))?;
    let phone = phone
        .map(|p| validate::phone(p).map_err(|e| CliError(format!("--phone: {e}"))))
        .transpose()?;
    let (password, pin) = read_password_and_pin()?;
    state
        .password_policy
        .check(&password, &password, &username)
        .map_err(|e| CliError(format!("password: {e}")))?;
    state
        .pins
        .policy()
        .check_new(&pin, &pin, phone.as_deref())
        .map_err(|e| CliError(format!("PIN: {e}")))?;
    let user = NewUser {
        id: random_token(16),
        username: username.clone(),
        email,
        email_verified,
        phone,
        phone_verified,
        password_hash: state.hasher.hash(password, None).await?,
        pin_hash: state.pins.hash_new_pin(&pin).await?,
        created_at: state.now(),
    };
    match state.stores.users.create_user(&user).await {
        Ok(()) => Ok(json!({ "sub": user.id, "username": username })),
        Err(StoreError::Conflict(_)) => Err(CliError(format!("username `{username}` is taken"))),
        Err(other) => Err(other.into()),
    }
}

pub(crate) async fn find_user(
    state: &AppState,
    username: &str,
) -> Result<idp_core::model::User, CliError> {
    let name = validate::username(username).map_err(|e| CliError(format!("username: {e}")))?;
    state
        .stores
        .users
        .find_user_by_username(&name)
        .await?
        .ok_or_else(|| CliError(format!("no user `{name}`")))
}

pub async fn unlock_user(state: &AppState, username: &str) -> Result<serde_json::Value, CliError> {
    let user = find_user(state, username).await?;
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Cli,
        reason: None,
        from: &from,
    };
    let told = crate::staff::unlock_pin(state, &user, &acting).await?;
    Ok(json!({ "sub": user.id, "username": user.username, "pin": "reset", "notified": told }))
}

/// `idp user role`: gives or takes away `role` (neither: changes nothing) and prints the
/// person's roles.
pub async fn set_role(
    state: &AppState,
    username: &str,
    change: Option<(&str, bool)>,
    reason: Option<&str>,
) -> Result<serde_json::Value, CliError> {
    let user = find_user(state, username).await?;
    let mut out = json!({ "sub": user.id, "username": user.username });
    let mut roles = user.roles;
    if let Some((name, grant)) = change {
        let role = idp_core::model::Role::parse(name).ok_or_else(|| {
            CliError(format!(
                "no role `{name}`: give admin, support or developer"
            ))
        })?;
        let from = crate::web::client_info::ClientInfo::default();
        let acting = crate::staff::Acting {
            by: &crate::staff::Actor::Cli,
            reason,
            from: &from,
        };
        let told = crate::staff::set_role(state, &user, role, grant, &acting).await?;
        out["changed"] = json!(told.is_some());
        if let Some(told) = told {
            out["notified"] = json!(told);
        }
        roles = if grant {
            roles.with(role)
        } else {
            roles.without(role)
        };
    }
    out["roles"] = json!(
        roles
            .iter()
            .map(idp_core::model::Role::as_str)
            .collect::<Vec<_>>()
    );
    Ok(out)
}

/// The person's second factors and saved codes, for support.
pub async fn list_factors(state: &AppState, username: &str) -> Result<serde_json::Value, CliError> {
    let user = find_user(state, username).await?;
    let listing = crate::factors::listing(state, &user.id).await?;
    let factors: Vec<_> = listing
        .factors
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "kind": f.kind.as_str(),
                "name": f.name,
                "created_at": crate::timestamps::rfc3339(f.created_at),
                "last_used_at": f.last_used_at.and_then(crate::timestamps::rfc3339),
            })
        })
        .collect();
    Ok(json!({
        "sub": user.id,
        "username": user.username,
        "factors": factors,
        "saved_codes": {
            "left": listing.saved_left,
            "created_at": listing.saved_made.and_then(crate::timestamps::rfc3339),
        },
    }))
}

/// Removes a factor the person lost: audited with actor `cli`, and the person is told.
pub async fn remove_factor(
    state: &AppState,
    username: &str,
    id: &str,
) -> Result<serde_json::Value, CliError> {
    let user = find_user(state, username).await?;
    let from = crate::web::client_info::ClientInfo::default();
    let acting = crate::staff::Acting {
        by: &crate::staff::Actor::Cli,
        reason: None,
        from: &from,
    };
    let told = crate::factors::remove_and_tell(state, &user, id, &acting)
        .await?
        .ok_or_else(|| CliError(format!("`{}` has no factor `{id}`", user.username)))?;
    Ok(json!({
        "sub": user.id,
        "username": user.username,
        "removed": id,
        "notified": told,
    }))
}

pub async fn list_outbox(state: &AppState) -> Result<serde_json::Value, CliError> {
    let messages = state.stores.outbox.list().await?;
    Ok(messages
        .into_iter()
        .map(|(at, m)| {
            json!({
                "at": at,
                "time": crate::timestamps::rfc3339(at),
                "channel": m.channel.as_str(),
                "to": m.recipient,
                "subject": m.subject,
                "body": m.body,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("15m").unwrap(), 900);
        assert_eq!(parse_duration("24h").unwrap(), 86_400);
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        for bad in ["", "0", "5y", "h", "-3", "999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    /// Key ids are base64url thumbprints, so one in 64 begins with `-`.
    #[test]
    fn a_kid_that_begins_with_a_dash_is_taken_as_the_kid() {
        let kid = "-q3fJ0c9yH2mXn1pVbW8sZk4tLr6uDe5aOg7iCh_EwA";
        for verb in ["retire", "revoke"] {
            let cli = Cli::try_parse_from(["idp", "keys", verb, kid]).unwrap();
            let Command::Keys(
                KeysCommand::Retire { kid: parsed } | KeysCommand::Revoke { kid: parsed },
            ) = cli.command
            else {
                panic!("{verb} parsed as another command");
            };
            assert_eq!(parsed, kid);
        }
    }
}
