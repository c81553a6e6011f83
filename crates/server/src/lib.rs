//! The OpenID Connect provider: HTTP server, pages and command line. The only crate that
//! knows axum; protocol and domain rules live in the library crates and in `oauth`.

pub mod cli;
pub mod config;
pub mod error;
pub mod keys;
pub mod oauth;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod store;
pub mod web;

use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use state::AppState;

/// Serves the provider on `listener` until ctrl-c or SIGTERM.
pub async fn serve(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let app = routes::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
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
