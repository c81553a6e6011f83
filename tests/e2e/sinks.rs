//! Local stand-ins for the outside world: an SMTP server that keeps what it receives, and an
//! HTTP endpoint that keeps the texts posted to the SMS webhook.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// A message as received: who it went to and its raw text (headers and body).
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub text: String,
}

#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Received>>>);

impl Inbox {
    fn push(&self, message: Received) {
        self.0.lock().unwrap().push(message);
    }

    pub fn all(&self) -> Vec<Received> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) for the `nth` message (0-based) to `to` that contains `needle`.
    pub async fn wait_for(&self, to: &str, needle: &str, nth: usize) -> Received {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let found: Vec<Received> = self
                .all()
                .into_iter()
                .filter(|m| m.to.contains(to) && m.text.contains(needle))
                .collect();
            if let Some(message) = found.get(nth) {
                return message.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no message {nth} to {to} with {needle:?}; have {:?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The one-time code in the `nth` message to `to` whose text names `purpose` (for example
    /// "recover your PIN").
    pub async fn code(&self, to: &str, purpose: &str, nth: usize) -> String {
        let message = self.wait_for(to, purpose, nth).await;
        six_digits(&message.text).unwrap_or_else(|| panic!("no code in {}", message.text))
    }

    /// How many messages so far name `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.text.contains(needle))
            .count()
    }
}

/// The first run of exactly six digits.
pub fn six_digits(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let run = &bytes[i..i + 6];
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 6).copied();
        let digit = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_digit());
        (run.iter().all(u8::is_ascii_digit) && !digit(before) && !digit(after))
            .then(|| String::from_utf8_lossy(run).into_owned())
    })
}

/// Starts an SMTP server on a free loopback port; returns its `smtp://` URL and its inbox.
pub async fn smtp_sink() -> (String, Inbox) {
    smtp_sink_over(None).await
}

/// An SMTP server as `smtp_sink`, speaking TLS from the first byte (`smtps://`) when given
/// an acceptor.
pub async fn smtp_sink_over(tls: Option<tokio_rustls::TlsAcceptor>) -> (String, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let url = match tls {
        Some(_) => format!("smtps://localhost:{}", address.port()),
        None => format!("smtp://{address}"),
    };
    let inbox = Inbox::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let inbox = kept.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            smtp_session(stream, inbox).await;
                        }
                    }
                    None => smtp_session(stream, inbox).await,
                }
            });
        }
    });
    (url, inbox)
}

async fn smtp_session<S>(stream: S, inbox: Inbox)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut to = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 sink\r\n",
            "RCPT" => {
                to.push_str(&line);
                b"250 OK\r\n"
            }
            "DATA" => {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let mut text = String::new();
                while let Ok(Some(data)) = lines.next_line().await {
                    if data == "." {
                        break;
                    }
                    text.push_str(&data);
                    text.push('\n');
                }
                inbox.push(Received {
                    to: std::mem::take(&mut to),
                    text,
                });
                b"250 kept\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                break;
            }
            _ => b"250 OK\r\n",
        };
        if write.write_all(reply).await.is_err() || write.flush().await.is_err() {
            break;
        }
    }
}

/// Starts an HTTP endpoint that keeps every JSON text posted to it; returns its URL.
pub async fn sms_sink() -> (String, Inbox) {
    sms_sink_over(None).await
}

/// The texting endpoint of `sms_sink`, over https when given an acceptor.
pub async fn sms_sink_over(tls: Option<tokio_rustls::TlsAcceptor>) -> (String, Inbox) {
    use axum::routing::post;
    let inbox = Inbox::default();
    let kept = inbox.clone();
    let app = axum::Router::new().route(
        "/sms",
        post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let inbox = kept.clone();
            async move {
                inbox.push(Received {
                    to: body["to"].as_str().unwrap_or_default().to_owned(),
                    text: body["body"].as_str().unwrap_or_default().to_owned(),
                });
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    match tls {
        None => {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (format!("http://{address}/sms"), inbox)
        }
        Some(acceptor) => {
            let listener = TlsListener { listener, acceptor };
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (format!("https://localhost:{}/sms", address.port()), inbox)
        }
    }
}

/// A TCP listener whose connections speak TLS (handshakes one at a time: enough for a test).
struct TlsListener {
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.listener.accept().await else {
                continue;
            };
            if let Ok(stream) = self.acceptor.accept(stream).await {
                return (stream, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

#[test]
fn finds_six_digit_codes() {
    assert_eq!(
        six_digits("Your code is 012345\n").as_deref(),
        Some("012345")
    );
    assert_eq!(
        six_digits("1234567 then 654321.").as_deref(),
        Some("654321")
    );
    assert_eq!(six_digits("no code"), None);
}

/// Starts an HTTP endpoint that keeps the `logout_token` of every form posted to it.
pub async fn logout_sink() -> (String, Inbox) {
    use axum::routing::post;
    let inbox = Inbox::default();
    let kept = inbox.clone();
    let app = axum::Router::new().route(
        "/backchannel",
        post(
            move |axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| {
                let inbox = kept.clone();
                async move {
                    inbox.push(Received {
                        to: "rp".into(),
                        text: form.get("logout_token").cloned().unwrap_or_default(),
                    });
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, inbox)
}
