//! What a node keeps in memory of revocations, so that checking an access token (its `jti`
//! not revoked, its grant active, its client enabled) reads no shared store.
//!
//! The database stays the truth. A node that changes one of them tells every node at once, on
//! a Redis channel ([`Notice`], sealed: see `crate::notices`); a node holds what it read only
//! while it hears that channel (its own heartbeat comes back), and forgets everything when it
//! stops hearing it, so that a node that cannot hear of changes reads the database each time
//! (as it would without Redis). A read that started before a notice is not kept (the view's
//! generation moved). Were a notice lost all the same (its sender could not reach Redis while
//! the others could), nothing is served from memory longer than [`STALE_AT_MOST`] after it
//! was read. (Dated from when the read ended, not when it began: a database slow to answer
//! must not make every read useless, and so every request a read.)
//!
//! What issues tokens (a client authenticating, a grant refreshed without rotation, a code
//! exchanged) does not rely on the view for grants: it reads the database
//! (`GrantStore::active_grant_user_now`, `grant_is_active`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use idp_core::clock::UnixTime;
use idp_core::model::{Client, User};

/// The longest anything read is served from memory, should its change's notice be lost.
pub const STALE_AT_MOST: Duration = Duration::from_secs(2);
/// Revoked `jti`s held at most; past it, each check reads the database.
pub const MAX_REVOKED: usize = 100_000;
/// Grants and clients held at most; past it, the view starts over.
const MAX_HELD: usize = 100_000;
/// People held at most (their claims, for UserInfo); past it, the view starts over.
const MAX_PEOPLE: usize = 10_000;

/// A change that every node must hear of, as it travels on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// An access token revoked on its own, until it would have expired.
    Token { jti: String, expires_at: UnixTime },
    /// One grant ended.
    Grant(String),
    /// Every grant of a person ended (password changed, account disabled, consent withdrawn).
    GrantsOfUser(String),
    /// Grants ended otherwise in bulk (a client disabled): every grant is read again.
    Grants,
    /// A client changed, was disabled or deleted.
    Client(String),
    /// A person's account changed (their claims, credentials or state).
    Person(String),
}

impl Notice {
    pub fn encode(&self) -> String {
        match self {
            Self::Token { jti, expires_at } => format!("token {expires_at} {jti}"),
            Self::Grant(id) => format!("grant {id}"),
            Self::GrantsOfUser(user_id) => format!("user {user_id}"),
            Self::Grants => "grants".to_owned(),
            Self::Client(id) => format!("client {id}"),
            Self::Person(id) => format!("person {id}"),
        }
    }

    pub fn decode(text: &str) -> Option<Self> {
        if text == "grants" {
            return Some(Self::Grants);
        }
        let (what, rest) = text.split_once(' ')?;
        Some(match what {
            "token" => {
                let (expires_at, jti) = rest.split_once(' ')?;
                Self::Token {
                    jti: jti.to_owned(),
                    expires_at: expires_at.parse().ok()?,
                }
            }
            "grant" => Self::Grant(rest.to_owned()),
            "user" => Self::GrantsOfUser(rest.to_owned()),
            "client" => Self::Client(rest.to_owned()),
            "person" => Self::Person(rest.to_owned()),
            _ => return None,
        })
    }
}

/// How long one request may take to read every revoked `jti` before another tries.
const LOADING_AT_MOST: Duration = Duration::from_secs(2);

/// What the view knows of a `jti`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked (`true`) or not.
    Known(bool),
    /// Read it from the database (unsubscribed, too many held, or another request is reading
    /// them all).
    ReadOne,
    /// Read every revoked `jti` from the database, and keep them under this ticket.
    ReadAll(Ticket),
}

/// Taken before a read from the database: the read may be kept only if the view was
/// subscribed when it started and heard nothing since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    generation: Option<u64>,
}

impl Ticket {
    /// Whether the view heard of changes when the ticket was taken.
    pub fn is_live(self) -> bool {
        self.generation.is_some()
    }
}

#[derive(Default)]
struct Held {
    /// Subscribed to the notices: what is held is current.
    live: bool,
    /// Moves with every notice and every (un)subscription.
    generation: u64,
    /// Every revoked `jti` with its expiry, when read (`None` inside: too many to hold).
    revoked: Option<(Instant, Option<HashMap<String, UnixTime>>)>,
    /// Since when one request reads every revoked `jti` for the others.
    loading: Option<Instant>,
    /// An active grant's person, or `None` for a grant that is not active.
    grants: Shelf<Option<String>>,
    clients: Shelf<Client>,
    people: Shelf<User>,
}

/// What was read of one kind, by id, each with when it was read.
struct Shelf<T>(HashMap<String, (Instant, T)>);

impl<T> Default for Shelf<T> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<T: Clone> Shelf<T> {
    fn get(&self, id: &str) -> Option<T> {
        let (at, value) = self.0.get(id)?;
        fresh(*at).then(|| value.clone())
    }

    /// Keeps `value`; past `most`, everything held before is let go.
    fn keep(&mut self, id: &str, value: T, most: usize) {
        if self.0.len() >= most {
            self.0.clear();
        }
        self.0.insert(id.to_owned(), (Instant::now(), value));
    }
}

#[derive(Default)]
pub struct View {
    held: Mutex<Held>,
}

fn fresh(at: Instant) -> bool {
    at.elapsed() < STALE_AT_MOST
}

impl View {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribed (`true`) or not: either way, what was held is forgotten.
    pub fn set_live(&self, live: bool) {
        let mut held = self.held();
        *held = Held {
            live,
            generation: held.generation + 1,
            ..Held::default()
        };
    }

    pub fn is_live(&self) -> bool {
        self.held().live
    }

    pub fn ticket(&self) -> Ticket {
        let held = self.held();
        Ticket {
            generation: held.live.then_some(held.generation),
        }
    }

    /// Applies a change, heard on the channel or made by this node.
    pub fn hear(&self, notice: &Notice) {
        let mut held = self.held();
        held.generation += 1;
        match notice {
            Notice::Token { jti, expires_at } => {
                if let Some((_, all @ Some(_))) = &mut held.revoked {
                    match all {
                        Some(revoked) if revoked.len() < MAX_REVOKED => {
                            // A later notice never shortens a revocation.
                            let until = revoked.entry(jti.clone()).or_insert(*expires_at);
                            *until = (*until).max(*expires_at);
                        }
                        _ => *all = None,
                    }
                }
            }
            Notice::Grant(id) => {
                held.grants.0.remove(id);
            }
            Notice::GrantsOfUser(user_id) => held
                .grants
                .0
                .retain(|_, (_, user)| user.as_deref() != Some(user_id.as_str())),
            Notice::Grants => held.grants.0.clear(),
            Notice::Client(id) => {
                held.clients.0.remove(id);
            }
            Notice::Person(id) => {
                held.people.0.remove(id);
            }
        }
    }

    /// Whether `jti` is revoked at `now`, as far as the view knows.
    pub fn revoked(&self, jti: &str, now: UnixTime) -> Revoked {
        let mut held = self.held();
        if !held.live {
            return Revoked::ReadOne;
        }
        match &held.revoked {
            Some((at, Some(revoked))) if fresh(*at) => {
                Revoked::Known(revoked.get(jti).is_some_and(|&expires_at| expires_at > now))
            }
            Some((at, None)) if fresh(*at) => Revoked::ReadOne,
            _ if held
                .loading
                .is_some_and(|since| since.elapsed() < LOADING_AT_MOST) =>
            {
                Revoked::ReadOne
            }
            _ => {
                held.loading = Some(Instant::now());
                Revoked::ReadAll(Ticket {
                    generation: Some(held.generation),
                })
            }
        }
    }

    /// Keeps every revoked `jti` (`None`: too many to hold), as read under `ticket`.
    pub fn keep_revoked(&self, ticket: Ticket, revoked: Option<Vec<(String, UnixTime)>>) {
        let mut held = self.held();
        held.loading = None;
        if current(&held, ticket) {
            let revoked = revoked.map(|all| all.into_iter().collect());
            held.revoked = Some((Instant::now(), revoked));
        }
    }

    /// An active grant's person (`Some(None)`: not active), when the view knows.
    pub fn grant(&self, id: &str) -> Option<Option<String>> {
        let held = self.held();
        held.live.then(|| held.grants.get(id)).flatten()
    }

    pub fn keep_grant(&self, ticket: Ticket, id: &str, user: Option<String>) {
        let mut held = self.held();
        if current(&held, ticket) {
            held.grants.keep(id, user, MAX_HELD);
        }
    }

    /// An enabled client, when the view holds it (unknown ids are never held).
    pub fn client(&self, id: &str) -> Option<Client> {
        let held = self.held();
        held.live.then(|| held.clients.get(id)).flatten()
    }

    pub fn keep_client(&self, ticket: Ticket, client: &Client) {
        let mut held = self.held();
        if current(&held, ticket) {
            held.clients.keep(&client.id, client.clone(), MAX_HELD);
        }
    }

    /// A person, when the view holds them (unknown ids are never held).
    pub fn person(&self, id: &str) -> Option<User> {
        let held = self.held();
        held.live.then(|| held.people.get(id)).flatten()
    }

    pub fn keep_person(&self, ticket: Ticket, person: &User) {
        let mut held = self.held();
        if current(&held, ticket) {
            held.people.keep(&person.id, person.clone(), MAX_PEOPLE);
        }
    }
}

/// Whether what was read under `ticket` may be kept: subscribed then and now, nothing heard.
fn current(held: &Held, ticket: Ticket) -> bool {
    held.live && ticket.generation == Some(held.generation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_travel_as_text_and_back() {
        let notices = [
            Notice::Token {
                jti: "a b".into(),
                expires_at: 1_700_000_000,
            },
            Notice::Grant("g 1".into()),
            Notice::GrantsOfUser("u1".into()),
            Notice::Grants,
            Notice::Client("https://rp.example/ c".into()),
            Notice::Person("u-1".into()),
        ];
        for notice in notices {
            assert_eq!(Notice::decode(&notice.encode()), Some(notice));
        }
        for junk in ["", "grant", "token x y", "token 5", "other x", "grants x"] {
            assert_eq!(Notice::decode(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn nothing_is_held_while_unsubscribed() {
        let view = View::default();
        let ticket = view.ticket();
        view.keep_grant(ticket, "g1", Some("u1".into()));
        view.keep_revoked(ticket, Some(vec![]));
        assert_eq!(view.grant("g1"), None);
        assert_eq!(view.revoked("j1", 0), Revoked::ReadOne);
    }

    #[test]
    fn what_is_read_is_held_until_a_notice_says_it_changed() {
        let view = View::default();
        view.set_live(true);
        view.keep_grant(view.ticket(), "g1", Some("u1".into()));
        view.keep_grant(view.ticket(), "g2", Some("u2".into()));
        view.keep_grant(view.ticket(), "g3", None);
        let Revoked::ReadAll(ticket) = view.revoked("j1", 0) else {
            panic!("nothing read yet")
        };
        view.keep_revoked(ticket, Some(vec![("j1".into(), 100)]));
        assert_eq!(view.grant("g1"), Some(Some("u1".into())));
        assert_eq!(view.grant("g3"), Some(None));
        assert_eq!(view.revoked("j1", 99), Revoked::Known(true));
        assert_eq!(view.revoked("j1", 100), Revoked::Known(false), "expired");
        assert_eq!(view.revoked("j2", 0), Revoked::Known(false));

        view.hear(&Notice::Token {
            jti: "j2".into(),
            expires_at: 200,
        });
        assert_eq!(view.revoked("j2", 0), Revoked::Known(true));
        view.hear(&Notice::Token {
            jti: "j2".into(),
            expires_at: 0,
        });
        assert_eq!(
            view.revoked("j2", 100),
            Revoked::Known(true),
            "a later notice never shortens a revocation"
        );
        view.hear(&Notice::GrantsOfUser("u1".into()));
        assert_eq!(view.grant("g1"), None, "read again");
        assert_eq!(view.grant("g2"), Some(Some("u2".into())));
        view.hear(&Notice::Grant("g2".into()));
        assert_eq!(view.grant("g2"), None);
    }

    #[test]
    fn a_read_that_started_before_a_notice_is_not_kept() {
        let view = View::default();
        view.set_live(true);
        let ticket = view.ticket();
        view.hear(&Notice::Grant("g1".into()));
        view.keep_grant(ticket, "g1", Some("u1".into()));
        assert_eq!(view.grant("g1"), None);
        let ticket = view.ticket();
        view.keep_revoked(ticket, Some(vec![]));
        assert_eq!(view.revoked("j1", 0), Revoked::Known(false));
        view.set_live(false);
        view.set_live(true);
        assert!(
            matches!(view.revoked("j1", 0), Revoked::ReadAll(_)),
            "forgotten on resubscribing"
        );
    }

    #[test]
    fn one_request_reads_every_revoked_token_while_the_others_read_theirs() {
        let view = View::default();
        view.set_live(true);
        let Revoked::ReadAll(ticket) = view.revoked("j1", 0) else {
            panic!("the first reads them all")
        };
        assert_eq!(view.revoked("j2", 0), Revoked::ReadOne, "meanwhile");
        view.keep_revoked(ticket, None);
        assert_eq!(view.revoked("j1", 0), Revoked::ReadOne, "too many to hold");
    }
}
