//! Talking to the provider: its endpoints from discovery, what every worker shares (the
//! arguments, the HTTP client with its pool, the tally), sending a request as a browser would
//! (its cookies, its address), the token endpoint, and a lean kept-alive connection for the
//! GET scenarios.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::Failure;
use crate::args::Args;
use crate::browser::Jar;
use crate::report::Tally;

/// The endpoints, from discovery.
#[derive(Clone)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub jwks: String,
    pub introspection: String,
    pub userinfo: String,
}

pub async fn discover(http: &reqwest::Client, base: &str) -> Result<Endpoints, Failure> {
    let doc: Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .await
        .map_err(|e| format!("discovery: {e}"))?
        .json()
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    let field = |name: &str| {
        doc[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("discovery has no {name}"))
    };
    Ok(Endpoints {
        authorization: field("authorization_endpoint")?,
        token: field("token_endpoint")?,
        jwks: field("jwks_uri")?,
        introspection: field("introspection_endpoint")?,
        userinfo: field("userinfo_endpoint")?,
    })
}

/// What every worker shares.
pub struct Shared {
    pub args: Args,
    pub http: reqwest::Client,
    pub endpoints: Endpoints,
    pub tally: Tally,
}

impl Shared {
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.args.base)
        } else {
            location.to_owned()
        }
    }

    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        jar: &mut Jar,
    ) -> Result<(StatusCode, HeaderMap, String), Failure> {
        let mut request = request;
        if !jar.0.is_empty() {
            request = request.header(reqwest::header::COOKIE, jar.header());
        }
        if let Some(address) = &jar.1.address {
            request = request.header("x-forwarded-for", address.as_str());
        }
        let response = request.send().await.map_err(|e| format!("request: {e}"))?;
        let status = response.status();
        self.tally.status(status);
        let headers = response.headers().clone();
        jar.take(&headers);
        let body = response.text().await.map_err(|e| format!("body: {e}"))?;
        Ok((status, headers, body))
    }

    pub async fn token(&self, params: &[(&str, &str)]) -> Result<Value, Failure> {
        self.token_with_proof(params, None).await
    }

    /// A token request as the bench client, with a `DPoP` header when `proof` is given.
    pub async fn token_with_proof(
        &self,
        params: &[(&str, &str)],
        proof: Option<&str>,
    ) -> Result<Value, Failure> {
        let mut request = self
            .http
            .post(&self.endpoints.token)
            .basic_auth(&self.args.client_id, Some(&self.args.client_secret))
            .form(params);
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        let mut jar = Jar::default();
        let (status, _, body) = self.send(request, &mut jar).await?;
        if status != StatusCode::OK {
            return Err(format!("token endpoint answered {status}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("token response: {e}"))
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> Result<Value, Failure> {
        let tokens = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.args.redirect_uri),
                ("code_verifier", verifier),
            ])
            .await?;
        if tokens["id_token"].is_string() {
            Ok(tokens)
        } else {
            Err("no ID token".into())
        }
    }

    /// A rotating refresh: the new access token and the new refresh token.
    pub async fn refresh(&self, token: &str) -> Result<(String, String), Failure> {
        let tokens = self
            .token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await?;
        let field = |name: &str| tokens[name].as_str().map(str::to_owned);
        let access = field("access_token").ok_or("no access token from the refresh")?;
        let refresh = field("refresh_token").ok_or("no rotated refresh token")?;
        Ok((access, refresh))
    }

    /// Introspects `token` as the bench client; it must be active.
    pub async fn introspect(&self, token: &str) -> Result<(), Failure> {
        let mut jar = Jar::default();
        let (status, _, body) = self
            .send(
                self.http
                    .post(&self.endpoints.introspection)
                    .basic_auth(&self.args.client_id, Some(&self.args.client_secret))
                    .form(&[("token", token)]),
                &mut jar,
            )
            .await?;
        let answer: Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        if status == StatusCode::OK && answer["active"] == true {
            Ok(())
        } else {
            Err(format!("introspection answered {status}: {body}"))
        }
    }

    pub async fn get(&self, url: &str) -> Result<(), Failure> {
        let mut jar = Jar::default();
        let (status, _, _) = self.send(self.http.get(url), &mut jar).await?;
        if status == StatusCode::OK {
            Ok(())
        } else {
            Err(format!("GET answered {status}"))
        }
    }
}

/// One kept-alive HTTP/1.1 connection for the GET scenarios, driven with hyper's own client:
/// reqwest's pool, redirect and header handling cost the generator more than discovery and
/// JWKS cost a server, and the generator's core would cap the rate.
pub struct Lean {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Empty<hyper::body::Bytes>>,
}

impl Lean {
    pub async fn connect(url: &url::Url) -> Result<Self, Failure> {
        let host = url.host_str().ok_or("no host")?;
        let port = url.port_or_known_default().ok_or("no port")?;
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(connection);
        Ok(Self { send })
    }

    /// GETs `url`, reads the whole body, and answers its status.
    pub async fn get(&mut self, url: &url::Url) -> Result<StatusCode, Failure> {
        use http_body_util::BodyExt as _;
        self.send
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let host = url.host_str().unwrap_or_default();
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let request = hyper::Request::get(url.path())
            .header(hyper::header::HOST, authority)
            .body(http_body_util::Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .send
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = StatusCode::from_u16(response.status().as_u16()).map_err(|e| e.to_string())?;
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok(status)
    }
}
