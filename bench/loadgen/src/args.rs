//! The command line: which provider, which scenario, for how long and how hard, and as which
//! client and person.

use clap::Parser;

#[derive(Parser, Clone)]
pub struct Args {
    /// The provider's issuer URL.
    #[arg(long)]
    pub base: String,
    #[arg(long)]
    pub scenario: String,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Iterations at once (closed loop), or at most at once with `--rate`.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Start iterations at this rate per second (open loop).
    #[arg(long)]
    pub rate: Option<f64>,
    #[arg(long, default_value = "bench")]
    pub client_id: String,
    #[arg(long, default_value = "bench-secret")]
    pub client_secret: String,
    #[arg(long, default_value = "http://127.0.0.1:9/callback")]
    pub redirect_uri: String,
    #[arg(long, default_value = "alice")]
    pub username: String,
    /// Sign in as `USERNAME0` .. `USERNAME{N-1}`, one per browser in turn (0: `USERNAME`).
    #[arg(long, default_value_t = 0)]
    pub users: usize,
    /// Send each browser's requests with `X-Forwarded-For` naming an address of its own, as a
    /// load balancer would (the provider must trust 127.0.0.1 as its proxy).
    #[arg(long)]
    pub forwarded_for: bool,
    #[arg(long, default_value = "correct horse battery staple")]
    pub password: String,
    #[arg(long, default_value = "482916")]
    pub pin: String,
    /// Extra parameters for authorization requests that ask for a refresh token (the peer
    /// needs `prompt=consent` to grant `offline_access`).
    #[arg(long, default_value = "")]
    pub offline_extra: String,
    /// Extra parameters for the token request whose access token is introspected (the peer
    /// introspects only opaque tokens: `resource=urn:bench:opaque`).
    #[arg(long, default_value = "")]
    pub introspect_extra: String,
    /// In the `mix` scenario, the refreshes after each sign-in.
    #[arg(long, default_value_t = 2)]
    pub mix_refreshes: usize,
    /// In the `mix` scenario, the introspections of the newest access token after them.
    #[arg(long, default_value_t = 10)]
    pub mix_introspections: usize,
}
