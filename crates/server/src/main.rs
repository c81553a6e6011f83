use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser as _;
use idp_core::SystemClock;
use idp_server::AppState;
use idp_server::cli::{
    AuditCommand, Cli, ClientCommand, Command, OutboxCommand, RegistrationTokenCommand, UserCommand,
};
use idp_server::config::{LogFormat, Settings};
use idp_server::state::StartError;
use tracing_subscriber::EnvFilter;

/// mimalloc: small allocations (every request makes many) cost less than with the system
/// allocator, and the large Argon2id blocks are reused rather than mapped and faulted in anew.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // No transparent huge pages for this process: where the kernel gives them to every large
    // mapping (`always`), the allocator's arena is backed by 2 MiB pages as soon as any of it
    // is touched, 12 of an idle node's 32 MiB. Without them an idle node holds about 22 MiB,
    // and sign-ins (Argon2id's 19 MiB) run as fast within the machine's drift (BENCHMARKS.md).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("idp: transparent huge pages stay on: {error}");
    }
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("idp: {error}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        // One JSON object per line, with the request's id and the span it ran in.
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("idp: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(message)) => {
            eprintln!("idp: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Other(message)) => {
            eprintln!("idp: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Configuration errors exit with 2, like a bad command line; anything else with 1.
enum Failure {
    Config(String),
    Other(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::Other(message)
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), Failure> {
    let listen = settings.listen.clone();
    let state = AppState::build(settings, Arc::new(SystemClock))
        .await
        .map_err(|e| match e {
            StartError::Config(config) => Failure::Config(config.to_string()),
            other => Failure::Other(other.to_string()),
        })?;
    let print = |value: serde_json::Value| println!("{value:#}");
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let metrics = match state.settings.metrics_listen.clone() {
                Some(address) => Some(
                    tokio::net::TcpListener::bind(&address)
                        .await
                        .map_err(|e| format!("cannot listen on {address} (metrics): {e}"))?,
                ),
                None => None,
            };
            for link in state.settings.plaintext_links() {
                if !link.to_loopback {
                    tracing::warn!(
                        setting = link.setting,
                        host = %link.host,
                        "clear-text link to another host (allow_plaintext_backends)"
                    );
                }
            }
            idp_server::announce(&state, &listen);
            idp_server::serve(state, listener, metrics)
                .await
                .map_err(|e| Failure::Other(e.to_string()))
        }
        Command::Migrate => {
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::User(UserCommand::Create {
            username,
            email,
            phone,
            email_verified,
            phone_verified,
        }) => {
            let request = idp_server::cli::NewUserRequest {
                username: &username,
                email: &email,
                phone: phone.as_deref(),
                email_verified,
                phone_verified,
            };
            let out = idp_server::cli::create_user(&state, request)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::User(UserCommand::Unlock { username }) => {
            let out = idp_server::cli::unlock_user(&state, &username)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::User(UserCommand::Profile { username, fields }) => {
            let out = idp_server::cli_person::set_profile(&state, &username, fields)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::User(UserCommand::Factors { username }) => {
            let out = idp_server::cli::list_factors(&state, &username)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::User(UserCommand::Role {
            username,
            grant,
            revoke,
            reason,
        }) => {
            let change = match (&grant, &revoke) {
                (Some(role), _) => Some((role.as_str(), true)),
                (None, Some(role)) => Some((role.as_str(), false)),
                (None, None) => None,
            };
            let out = idp_server::cli::set_role(&state, &username, change, reason.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::User(UserCommand::RemoveFactor { username, id }) => {
            let out = idp_server::cli::remove_factor(&state, &username, &id)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::RegistrationToken(RegistrationTokenCommand::Create { expires_in, uses }) => {
            let out = idp_server::cli::create_registration_token(&state, &expires_in, uses)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::Keys(command) => {
            let out = idp_server::cli::run_keys(&state, command)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { expect }) => {
            let expect = match &expect {
                Some(given) => Some(
                    given
                        .split_once(':')
                        .and_then(|(id, link)| Some((id.parse::<i64>().ok()?, link)))
                        .ok_or_else(|| format!("--expect `{given}`: give ID:LINK"))?,
                ),
                None => None,
            };
            let report = idp_server::audit::verify(&state, expect).await;
            // The chain covers only stored events: say so when some of this node's wait.
            let spool = state.settings.data_dir.join(idp_server::audit::spool::FILE);
            match idp_server::audit::spool::waiting_in(&state.settings.data_dir) {
                Ok(0) => {}
                Ok(waiting) => eprintln!(
                    "idp: {waiting} audit events wait in {} for the database; `idp serve` appends them to the chain when it takes them again",
                    spool.display()
                ),
                Err(error) => eprintln!("idp: cannot read {}: {error}", spool.display()),
            }
            let report = report?;
            print(serde_json::to_value(report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Outbox(OutboxCommand::List) => {
            let out = idp_server::cli::list_outbox(&state)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
        Command::Client(ClientCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            public,
            admin,
            third_party,
            resource_server,
            token_endpoint_auth_method,
            id_token_alg,
            person,
            jwks,
            jwks_uri,
            request_uris,
            fapi2,
            links,
        }) => {
            let new = idp_server::cli::NewClient {
                name: &name,
                redirect_uris: &redirect_uris,
                post_logout_redirect_uris: &post_logout_redirect_uris,
                backchannel_logout_uri: backchannel_logout_uri.as_deref(),
                public,
                admin,
                third_party,
                resource_server,
                auth_method: &token_endpoint_auth_method,
                id_token_alg: &id_token_alg,
                person: &person,
                jwks: jwks.as_deref(),
                jwks_uri: jwks_uri.as_deref(),
                request_uris: &request_uris,
                links: &links,
                fapi2,
                owner: None,
            };
            let out = idp_server::cli::create_client(&state, new)
                .await
                .map_err(|e| e.to_string())?;
            print(out);
            Ok(())
        }
    }
}
