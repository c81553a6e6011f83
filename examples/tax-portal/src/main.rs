//! `tax-portal`: PORTAL_ISSUER, PORTAL_CLIENT_ID, PORTAL_CLIENT_SECRET, PORTAL_LISTEN
//! (default 127.0.0.1:3000) and PORTAL_URL (default http://127.0.0.1:3000); how recent a
//! sign-in must be, in seconds, for the transcript (PORTAL_TRANSCRIPT_MAX_AGE, default 300),
//! for filing a return (PORTAL_FILING_MAX_AGE, default 600) and for changing the bank details
//! (PORTAL_BANK_MAX_AGE, default 600). PORTAL_DPOP=1 binds the portal's tokens to a key it makes
//! at start-up (DPoP, RFC 9449); its client must be registered with `--dpop-bound-access-tokens`.

use std::process::ExitCode;

use tax_portal::{PortalConfig, app};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let var = |name: &str| std::env::var(name).ok();
    let (Some(issuer), Some(client_id), Some(client_secret)) = (
        var("PORTAL_ISSUER"),
        var("PORTAL_CLIENT_ID"),
        var("PORTAL_CLIENT_SECRET"),
    ) else {
        eprintln!("tax-portal: set PORTAL_ISSUER, PORTAL_CLIENT_ID and PORTAL_CLIENT_SECRET");
        return ExitCode::from(2);
    };
    let listen = var("PORTAL_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into());
    let base_url = var("PORTAL_URL").unwrap_or_else(|| format!("http://{listen}"));
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("tax-portal: cannot listen on {listen}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = PortalConfig::new(&issuer, &client_id, &client_secret, &base_url);
    for (name, secs) in [
        (
            "PORTAL_TRANSCRIPT_MAX_AGE",
            &mut config.transcript_max_age_secs,
        ),
        ("PORTAL_FILING_MAX_AGE", &mut config.filing_max_age_secs),
        ("PORTAL_BANK_MAX_AGE", &mut config.bank_max_age_secs),
    ] {
        if let Some(value) = var(name) {
            match value.parse::<i64>() {
                Ok(parsed) if parsed >= 0 => *secs = parsed,
                _ => {
                    eprintln!("tax-portal: {name} must be a number of seconds, not {value:?}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    match var("PORTAL_DPOP").as_deref() {
        None | Some("" | "0" | "false") => {}
        Some("1" | "true") => config.dpop = true,
        Some(other) => {
            eprintln!("tax-portal: PORTAL_DPOP must be 1 or 0, not {other:?}");
            return ExitCode::from(2);
        }
    }
    let dpop = config.dpop;
    let app = match app(config).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("tax-portal: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bound = listener
        .local_addr()
        .map_or_else(|_| listen.clone(), |a| a.to_string());
    let mode = if dpop {
        ", tokens bound to its DPoP key"
    } else {
        ""
    };
    println!("tax-portal: listening on http://{bound}{mode}, open {base_url}/ in a browser");
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tax-portal: {error}");
            ExitCode::FAILURE
        }
    }
}
