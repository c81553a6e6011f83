//! The scenarios: what a worker prepares before the clock starts (a sign-in, a token) and
//! what one iteration of each does; and `argon2`, the bound on sign-ins, measured without a
//! provider.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::Failure;
use crate::browser::Jar;
use crate::client::{Lean, Shared};
use crate::dpop::ProofKey;

/// The scopes of the `userinfo` scenario's sign-in: the person's claims at UserInfo.
const USERINFO_SCOPE: &str = "openid email profile";

/// What one worker keeps between iterations.
#[derive(Default)]
pub struct Worker {
    jar: Jar,
    refresh_token: Option<String>,
    access_token: Option<String>,
    lean: Option<Lean>,
    proof_key: Option<ProofKey>,
}

pub async fn prepare(shared: &Shared, worker: &mut Worker) -> Result<(), Failure> {
    worker.jar = shared.browser();
    match shared.args.scenario.as_str() {
        "code" => {
            // Signed in once: later authorization requests go straight back with a code.
            let (code, verifier) = shared.authorize(&mut worker.jar, "openid", "").await?;
            shared.exchange(&code, &verifier).await?;
        }
        "refresh" => {
            let extra = shared.args.offline_extra.clone();
            let (code, verifier) = shared
                .authorize(&mut worker.jar, "openid offline_access", &extra)
                .await?;
            let tokens = shared.exchange(&code, &verifier).await?;
            worker.refresh_token = tokens["refresh_token"].as_str().map(str::to_owned);
            if worker.refresh_token.is_none() {
                return Err("no refresh token".into());
            }
        }
        "userinfo" => {
            // Signed in once, as a person, for the scopes whose claims UserInfo answers with.
            let (code, verifier) = shared
                .authorize(&mut worker.jar, USERINFO_SCOPE, "")
                .await?;
            let tokens = shared.exchange(&code, &verifier).await?;
            worker.access_token = tokens["access_token"].as_str().map(str::to_owned);
            if worker.access_token.is_none() {
                return Err("no access token".into());
            }
        }
        "introspect" => {
            let mut params = vec![("grant_type", "client_credentials")];
            let extra: Vec<(String, String)> =
                url::form_urlencoded::parse(shared.args.introspect_extra.as_bytes())
                    .into_owned()
                    .collect();
            params.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let tokens = shared.token(&params).await?;
            worker.access_token = tokens["access_token"].as_str().map(str::to_owned);
        }
        "dpop-client-credentials" => worker.proof_key = Some(ProofKey::new()?),
        _ => {}
    }
    Ok(())
}

pub async fn iterate(shared: &Shared, worker: &mut Worker) -> Result<(), Failure> {
    let e = &shared.endpoints;
    match shared.args.scenario.as_str() {
        "discovery" | "jwks" => {
            let url = if shared.args.scenario == "jwks" {
                e.jwks.clone()
            } else {
                format!("{}/.well-known/openid-configuration", shared.args.base)
            };
            if shared.args.rate.is_some() {
                // Open loop: each iteration is a worker of its own; the shared pool keeps the
                // connections.
                return shared.get(&url).await;
            }
            let url = url::Url::parse(&url).map_err(|e| e.to_string())?;
            if worker.lean.is_none() {
                worker.lean = Some(Lean::connect(&url).await?);
            }
            let lean = worker.lean.as_mut().ok_or("no connection")?;
            let status = match lean.get(&url).await {
                Ok(status) => status,
                Err(why) => {
                    worker.lean = None;
                    return Err(why);
                }
            };
            shared.tally.status(status);
            if status == StatusCode::OK {
                Ok(())
            } else {
                Err(format!("GET answered {status}"))
            }
        }
        "client-credentials" => {
            let tokens = shared
                .token(&[("grant_type", "client_credentials")])
                .await?;
            tokens["access_token"]
                .as_str()
                .map(drop)
                .ok_or_else(|| "no access token".into())
        }
        "dpop-client-credentials" => {
            let key = worker.proof_key.as_ref().ok_or("no DPoP key")?;
            let proof = key.proof("POST", &e.token)?;
            let tokens = shared
                .token_with_proof(&[("grant_type", "client_credentials")], Some(&proof))
                .await?;
            match (
                tokens["access_token"].as_str(),
                tokens["token_type"].as_str(),
            ) {
                (Some(_), Some("DPoP")) => Ok(()),
                (None, _) => Err("no access token".into()),
                (Some(_), other) => Err(format!("token_type {other:?}, not DPoP")),
            }
        }
        "introspect" => {
            let token = worker
                .access_token
                .clone()
                .ok_or("no token to introspect")?;
            shared.introspect(&token).await
        }
        "userinfo" => {
            let token = worker.access_token.as_deref().ok_or("no access token")?;
            let mut jar = Jar::default();
            let (status, _, body) = shared
                .send(shared.http.get(&e.userinfo).bearer_auth(token), &mut jar)
                .await?;
            if status != StatusCode::OK {
                return Err(format!("UserInfo answered {status}: {body}"));
            }
            let claims: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
            // The person's claims: who they are and the email address the scope asked for.
            if claims["sub"].is_string() && claims["email"].is_string() {
                Ok(())
            } else {
                Err(format!("UserInfo answered without sub and email: {body}"))
            }
        }
        "refresh" => {
            let token = worker.refresh_token.clone().ok_or("no refresh token")?;
            worker.refresh_token = Some(shared.refresh(&token).await?.1);
            Ok(())
        }
        "code" => {
            let (code, verifier) = shared.authorize(&mut worker.jar, "openid", "").await?;
            shared.exchange(&code, &verifier).await.map(drop)
        }
        "sign-in" => {
            let mut jar = shared.browser();
            let (code, verifier) = shared.authorize(&mut jar, "openid", "").await?;
            shared.exchange(&code, &verifier).await.map(drop)
        }
        "mix" => mix(shared).await,
        other => Err(format!("no scenario `{other}`")),
    }
}

/// One sign-in with the token traffic it brings (the capacity model's mix, `bench/capacity.py`):
/// a fresh browser signs in asking for a refresh token, then the client refreshes
/// `--mix-refreshes` times and introspects the newest access token `--mix-introspections`
/// times. The iteration counts as one; its requests are in the answers by status.
async fn mix(shared: &Shared) -> Result<(), Failure> {
    let mut jar = shared.browser();
    let extra = shared.args.offline_extra.clone();
    let (code, verifier) = shared
        .authorize(&mut jar, "openid offline_access", &extra)
        .await?;
    let tokens = shared.exchange(&code, &verifier).await?;
    let mut access = tokens["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    let mut refresh = tokens["refresh_token"]
        .as_str()
        .ok_or("no refresh token")?
        .to_owned();
    for _ in 0..shared.args.mix_refreshes {
        (access, refresh) = shared.refresh(&refresh).await?;
    }
    for _ in 0..shared.args.mix_introspections {
        shared.introspect(&access).await?;
    }
    Ok(())
}

/// Argon2id verifications per second on this core at the provider's default parameters: the
/// bound on sign-ins (each verifies a password and a PIN).
pub async fn argon2(seconds: f64) -> Result<Value, Failure> {
    let pool = idp_core::hashing::HashPool::new(
        idp_core::hashing::HashParams::default(),
        1,
        Duration::from_secs(60),
    )
    .map_err(|e| e.to_string())?;
    let phc = pool
        .hash("correct horse battery staple".into(), None)
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut verified = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let ok = pool
            .verify(
                idp_core::hashing::Turn::New,
                "correct horse battery staple".into(),
                phc.clone(),
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !ok {
            return Err("the hash did not verify".into());
        }
        verified += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "argon2",
        "iterations": verified,
        "seconds": elapsed,
        "per_second": verified as f64 / elapsed,
        "ms_each": elapsed * 1000.0 / verified.max(1) as f64,
    }))
}
