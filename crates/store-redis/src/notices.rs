//! The notices every node sends the others on Redis channels: the signing keys changed, and
//! revocations (see [`crate::revocations`]). Revocation notices are sealed like the records
//! (an HMAC under a key derived from the master key), so that whoever can publish on Redis
//! cannot make a node forget a revocation or fill its memory.
//!
//! A node holds what it read of revocations only while it hears its own heartbeat: every
//! [`HEARTBEAT`] it publishes a beat on the revocation channel through its command connection
//! and must hear it back on its subscription within as long. A subscription that is gone, that
//! stalls, or that hears another server than the one the nodes publish to (a failover) stops
//! the view at once, and the node reads the database until it has subscribed again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use idp_core::StoreError;
use redis::AsyncCommands as _;
use tokio::sync::Notify;

use crate::revocations::{Notice, View};
use crate::{RedisStore, redis_error};

/// How often a node checks that it hears the revocation channel, and how long its beat may
/// take to come back.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long a node waits before subscribing again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// What one notice may carry at most (ids are hashes, `jti`s and client ids).
const MAX_NOTICE: usize = 1024;

/// What a revocation channel message says, once its seal is checked.
enum Heard {
    Notice(Notice),
    /// A heartbeat: its sender's subscription and its number.
    Beat(String, u64),
}

/// Marks the view live while it exists: however the subscription ends (even by a panic or a
/// cancelled task), the view stops holding what it read.
struct Live<'a>(&'a View);

impl<'a> Live<'a> {
    fn start(view: &'a View) -> Self {
        view.set_live(true);
        Self(view)
    }
}

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.set_live(false);
    }
}

/// A name for one subscription of this process, unique enough to know its own beats.
fn subscription_name() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static SUBSCRIPTIONS: AtomicU64 = AtomicU64::new(0);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let nth = SUBSCRIPTIONS.fetch_add(1, Ordering::Relaxed);
    format!("{}-{random:x}-{nth}", std::process::id())
}

impl RedisStore {
    fn key_channel(&self) -> String {
        self.key(&["keys-changed"])
    }

    fn revocation_channel(&self) -> String {
        self.key(&["revoked"])
    }

    /// Tells every node that the signing keys changed.
    pub async fn publish_key_change(&self) -> Result<(), StoreError> {
        let _receivers: i64 = self
            .conn()
            .publish(self.key_channel(), "changed")
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    /// `TEXT` as sent on the revocation channel: `SEAL.TEXT`.
    fn sealed(&self, text: &str) -> String {
        format!("{}.{text}", self.seal(&self.revocation_channel(), &[text]))
    }

    fn unseal(&self, message: &str) -> Option<Heard> {
        if message.len() > MAX_NOTICE {
            return None;
        }
        let (seal, text) = message.split_once('.')?;
        self.verify(&self.revocation_channel(), &[text], seal)
            .ok()?;
        if let Some(beat) = text.strip_prefix("beat ") {
            let (name, nth) = beat.rsplit_once(' ')?;
            return Some(Heard::Beat(name.to_owned(), nth.parse().ok()?));
        }
        Notice::decode(text).map(Heard::Notice)
    }

    async fn publish_revocation(&self, text: &str) -> Result<(), StoreError> {
        let _receivers: i64 = self
            .conn()
            .publish(self.revocation_channel(), self.sealed(text))
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    /// Applies a revocation (a change already in the database) here, and tells every other
    /// node. A notice that cannot be sent is logged: the others see the change within
    /// [`crate::revocations::STALE_AT_MOST`].
    pub(crate) async fn announce(&self, notice: Notice) {
        self.view.hear(&notice);
        if let Err(error) = self.publish_revocation(&notice.encode()).await {
            tracing::error!(
                %error,
                "could not tell the other nodes of a revocation; they see it within {}s",
                crate::revocations::STALE_AT_MOST.as_secs()
            );
        }
    }

    /// Whether this node hears of revocations now (and so holds what it read of them).
    pub fn hears_revocations(&self) -> bool {
        self.view.is_live()
    }

    /// Listens for the notices of every node until the process ends: calls `on_key_change`
    /// whenever one says the signing keys changed (on a task of its own, several notices
    /// at once making one call), and once after each (re)subscription, since notices sent
    /// while unsubscribed are lost; applies revocations to this node's view, which holds
    /// nothing while it does not hear its own heartbeat.
    pub async fn watch<F, Fut>(&self, on_key_change: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let keys_changed = Notify::new();
        let reloads = async {
            loop {
                keys_changed.notified().await;
                on_key_change().await;
            }
        };
        let subscriptions = async {
            loop {
                if let Err(error) = self.subscribe(&keys_changed).await {
                    tracing::warn!(%error, "cannot subscribe to the notices");
                } else {
                    tracing::warn!("lost the subscription to the notices; resubscribing");
                }
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
            }
        };
        tokio::join!(reloads, subscriptions);
    }

    /// One subscription, until it is lost or stops hearing its heartbeat.
    async fn subscribe(&self, keys_changed: &Notify) -> Result<(), redis::RedisError> {
        let (keys, revoked) = (self.key_channel(), self.revocation_channel());
        let (mut sink, mut messages) = self.client.get_async_pubsub().await?.split();
        sink.subscribe(&[&keys, &revoked]).await?;
        let _live = Live::start(&self.view);
        keys_changed.notify_one();
        let (name, beats, echoed) = (subscription_name(), AtomicU64::new(0), Notify::new());
        let listen = async {
            while let Some(message) = messages.next().await {
                if message.get_channel_name() == keys {
                    keys_changed.notify_one();
                    continue;
                }
                let text = message.get_payload::<String>().unwrap_or_default();
                match self.unseal(&text) {
                    Some(Heard::Notice(notice)) => self.view.hear(&notice),
                    Some(Heard::Beat(from, nth)) => {
                        if from == name && nth == beats.load(Ordering::SeqCst) {
                            echoed.notify_one();
                        }
                    }
                    None => tracing::warn!(
                        "a revocation notice without a valid seal was ignored (someone else publishes on the channel?)"
                    ),
                }
            }
        };
        let heartbeat = async {
            let mut every = tokio::time::interval(HEARTBEAT);
            loop {
                every.tick().await;
                let nth = beats.fetch_add(1, Ordering::SeqCst) + 1;
                if self
                    .publish_revocation(&format!("beat {name} {nth}"))
                    .await
                    .is_err()
                    || tokio::time::timeout(HEARTBEAT, echoed.notified())
                        .await
                        .is_err()
                {
                    return;
                }
            }
        };
        tokio::select! {
            () = listen => {}
            () = heartbeat => {}
        }
        drop(sink);
        Ok(())
    }
}
