//! Messages to people: e-mail over SMTP, texts through an HTTP webhook, or, when neither is
//! configured, the outbox in the database that `idp outbox list` shows.

use std::sync::Arc;
use std::time::Duration;

use idp_core::Clock;
use idp_core::model::{Channel, Message};
use idp_core::store::OutboxStore;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use serde_json::json;

use crate::config::{ConfigError, Settings};

const SEND_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("e-mail: {0}")]
    Smtp(String),
    #[error("text message: {0}")]
    Sms(String),
    #[error(transparent)]
    Store(#[from] idp_core::StoreError),
}

enum Email {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox,
}

enum Sms {
    Webhook { url: String, http: reqwest::Client },
    Outbox,
}

#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

struct Inner {
    email: Email,
    sms: Sms,
    outbox: Arc<dyn OutboxStore>,
    clock: Arc<dyn Clock>,
}

impl Notifier {
    pub fn new(
        settings: &Settings,
        outbox: Arc<dyn OutboxStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let email = match &settings.smtp_url {
            Some(url) => Email::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| {
                        ConfigError(format!("invalid setting `smtp_url` (IDP_SMTP_URL): {e}"))
                    })?
                    .timeout(Some(SEND_TIMEOUT))
                    .build(),
                from: settings.smtp_from.parse().map_err(|e| {
                    ConfigError(format!("invalid setting `smtp_from` (IDP_SMTP_FROM): {e}"))
                })?,
            },
            None => Email::Outbox,
        };
        let sms = match &settings.sms_webhook_url {
            Some(url) => Sms::Webhook {
                url: url.clone(),
                http: reqwest::Client::builder()
                    .timeout(SEND_TIMEOUT)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| {
                        ConfigError(format!("cannot build the SMS webhook client: {e}"))
                    })?,
            },
            None => Sms::Outbox,
        };
        Ok(Self(Arc::new(Inner {
            email,
            sms,
            outbox,
            clock,
        })))
    }

    /// Delivers the message now; an error means it did not go out.
    pub async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        match (message.channel, &self.0.email, &self.0.sms) {
            (Channel::Email, Email::Smtp { transport, from }, _) => {
                let to: Mailbox = message
                    .recipient
                    .parse()
                    .map_err(|e| NotifyError::Smtp(format!("bad recipient: {e}")))?;
                let email = lettre::Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&message.subject)
                    .body(message.body.clone())
                    .map_err(|e| NotifyError::Smtp(e.to_string()))?;
                transport
                    .send(email)
                    .await
                    .map(drop)
                    .map_err(|e| NotifyError::Smtp(e.to_string()))
            }
            (Channel::Sms, _, Sms::Webhook { url, http }) => {
                let body = json!({ "to": message.recipient, "body": message.body });
                let response = http
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| NotifyError::Sms(e.without_url().to_string()))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(NotifyError::Sms(format!(
                        "the webhook answered {}",
                        response.status()
                    )))
                }
            }
            _ => Ok(self.0.outbox.push(message, self.0.clock.now()).await?),
        }
    }

    /// Sends in the background: for notices whose failure must not fail the request.
    pub fn send_later(&self, message: Message) {
        let notifier = self.clone();
        tokio::spawn(async move {
            if let Err(error) = notifier.send(&message).await {
                tracing::warn!(%error, channel = message.channel.as_str(), "notification not delivered");
            }
        });
    }
}
