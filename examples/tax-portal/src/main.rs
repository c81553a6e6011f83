//! `tax-portal`: PORTAL_ISSUER, PORTAL_CLIENT_ID, PORTAL_CLIENT_SECRET, PORTAL_LISTEN
//! (default 127.0.0.1:3000) and PORTAL_URL (default http://127.0.0.1:3000).

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
    let config = PortalConfig {
        issuer,
        client_id,
        client_secret,
        base_url: base_url.clone(),
        transcript_max_age_secs: 300,
    };
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
    println!("tax-portal: listening on http://{bound}, open {base_url}/ in a browser");
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tax-portal: {error}");
            ExitCode::FAILURE
        }
    }
}
