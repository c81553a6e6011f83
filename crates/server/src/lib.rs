//! The OpenID Connect provider: HTTP server, pages and command line. The only crate that
//! knows axum; protocol and domain rules live in the library crates and in `oauth`.

pub mod audit;
pub mod brand;
pub mod cli;
pub mod cli_client;
pub mod cli_person;
pub mod codes;
pub mod config;
pub mod error;
pub mod factors;
pub mod front;
pub mod i18n;
pub mod keys;
pub mod messages;
pub mod metrics;
pub mod notify;
pub mod oauth;
pub mod prompt;
pub mod published;
pub mod readiness;
pub mod rehash;
pub mod routes;
pub mod secrets;
pub mod session;
pub mod staff;
pub mod start;
pub mod state;
pub mod store;
pub mod throttle;
pub mod timestamps;
pub mod trusted_device;
pub mod web;

use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use state::AppState;

/// How often expired records are deleted.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);
/// How long a consumed authorization code is kept past its expiry, so that a late replay is
/// still recognised and revokes what the code issued.
const REPLAY_MEMORY_SECS: i64 = 86_400;

/// What an operator needs to know as the server starts: where it serves, where people sign
/// up, where messages go, and settings that disagree.
pub fn announce(state: &AppState, listen: &str) {
    let settings = &state.settings;
    let issuer = state.issuer();
    tracing::info!(
        %issuer,
        %listen,
        front_door = %format_args!("{issuer}/"),
        signup = %format_args!("{issuer}/signup"),
        "serving"
    );
    match (
        settings.smtp_url.is_some(),
        settings.sms_webhook_url.is_some(),
    ) {
        (false, false) => tracing::info!(
            "no SMTP server (IDP_SMTP_URL) or SMS webhook (IDP_SMS_WEBHOOK_URL) is set: one-time codes and notices are kept in the outbox; read them with `idp outbox list`"
        ),
        (true, false) => tracing::info!(
            "e-mail goes to the SMTP server; no SMS webhook (IDP_SMS_WEBHOOK_URL) is set: texts are kept in the outbox; read them with `idp outbox list`"
        ),
        (false, true) => tracing::info!(
            "texts go to the SMS webhook; no SMTP server (IDP_SMTP_URL) is set: e-mail is kept in the outbox; read it with `idp outbox list`"
        ),
        (true, true) => tracing::info!("e-mail goes to the SMTP server, texts to the SMS webhook"),
    }
    if let Some((issuer_port, listen_port)) = settings.issuer_port_differs() {
        tracing::warn!(
            %issuer,
            %listen,
            "the issuer (IDP_ISSUER) names port {issuer_port} but the server listens on port {listen_port} (IDP_LISTEN): discovery and every link point at the issuer; set IDP_ISSUER to the address people reach, e.g. http://127.0.0.1:{listen_port}"
        );
    }
}

/// Serves the provider on `listener` (and `/metrics` alone on `metrics`, when given) until
/// ctrl-c or SIGTERM; then stops accepting connections and finishes the requests in flight.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    metrics: Option<TcpListener>,
) -> std::io::Result<()> {
    audit::start_spool(&state);
    tokio::spawn(purge_expired(state.clone()));
    tokio::spawn(keys::run_lifecycle(state.clone()));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.send_replace(true);
    });
    let stopped = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    if let Some(metrics) = metrics {
        let app = routes::metrics::router(state.clone());
        let stopping = stopping.clone();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(metrics, app)
                .with_graceful_shutdown(stopped(stopping))
                .await
            {
                tracing::error!(%error, "the metrics listener failed");
            }
        });
    }
    let spool = state.audit_spool.get().cloned();
    let app = front::Front::new(state.clone(), routes::router(state));
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            SocketAddr,
        >(app),
    )
    .with_graceful_shutdown(stopped(stopping))
    .await?;
    if let Some(spool) = spool
        && spool.waiting() > 0
    {
        let (waiting, lost) = tokio::task::spawn_blocking(move || {
            let lost = spool.settle();
            (spool.waiting(), lost)
        })
        .await
        .unwrap_or_default();
        tracing::warn!(
            waiting,
            "{waiting} audit events still wait for the database; the next start appends them"
        );
        if lost > 0 {
            tracing::error!(
                lost,
                "{lost} of them are lost: they waited in memory, and the audit spool cannot be written"
            );
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn purge_expired(state: AppState) {
    let mut interval = tokio::time::interval(PURGE_INTERVAL);
    loop {
        interval.tick().await;
        let now = state.now();
        let ephemeral = state
            .stores
            .ephemeral
            .purge_expired(now - REPLAY_MEMORY_SECS)
            .await;
        let sessions = state.stores.sessions.purge_expired_sessions(now).await;
        match (ephemeral, sessions) {
            (Ok(records), Ok(sessions)) => {
                tracing::debug!(records, sessions, "purged expired records");
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "purging expired records failed");
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
