//! `tax-portal`: PORTAL_ISSUER, PORTAL_CLIENT_ID, PORTAL_CLIENT_SECRET, PORTAL_LISTEN
//! (default 127.0.0.1:3000) and PORTAL_URL (default http://127.0.0.1:3000).

use std::process::ExitCode;

use tax_portal::{PortalConfig, serve};

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
    let config = PortalConfig {
        issuer,
        client_id,
        client_secret,
        base_url,
        transcript_max_age_secs: 300,
    };
    match serve(config, listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tax-portal: {error}");
            ExitCode::FAILURE
        }
    }
}
