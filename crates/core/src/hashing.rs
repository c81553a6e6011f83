//! Argon2id hashing of passwords and PINs, off the async runtime and bounded.
//!
//! Each Argon2id computation takes tens of milliseconds of CPU and `memory_kib` of RAM. Running
//! it on the async workers would stall every other request, and running an unbounded number at
//! once would let a burst of logins exhaust memory. So hashes run on the blocking pool, at most
//! `max_concurrent` at a time; a request that cannot get a slot within `queue_timeout` is
//! refused with [`HashError::Busy`] rather than queued without end. A new hash that plainly
//! could not start in time (the hashes waiting ahead of it, at the time a hash takes here,
//! fill the timeout) is refused at once instead of after waiting it out.
//!
//! A hash made before the parameters changed still verifies at the parameters it names; once
//! the secret is proven, [`HashPool::rehash_if_outdated`] makes it again at the current ones
//! (OWASP Password Storage Cheat Sheet, "Upgrading the work factor").
//!
//! When hashes queue, work already under way goes first ([`Turn::Continuing`]): a sign-in's PIN,
//! verified after its password, goes ahead of every new sign-in's password. Under a login storm
//! the pool then finishes the sign-ins it has started instead of spending half its hashes on
//! passwords whose PIN then times out in the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use argon2::password_hash::PasswordHasher as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HashParams {
    /// Memory per hash in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Passes over memory (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl HashParams {
    pub fn to_argon2(self) -> Result<Params, HashError> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many hashes in progress")]
    Busy,
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    #[error("stored hash is malformed")]
    Malformed,
    #[error("hashing failed: {0}")]
    Failed(String),
}

/// Where a hash queues when every slot is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// New work: a sign-in's password, a sign-up's hashes. Queues behind everything.
    New,
    /// The rest of work under way: the PIN of someone whose password was verified. Queues
    /// ahead of all new work but at most one new hash.
    Continuing,
}

/// A pool that runs Argon2id hashes on the blocking thread pool, a bounded number at a time.
#[derive(Clone)]
pub struct HashPool {
    params: Params,
    slots: Arc<Semaphore>,
    /// New work passes here one hash at a time before it queues for a slot (in order, as the
    /// slots are), so that continuing work never queues behind more than one new hash.
    new_work: Arc<Semaphore>,
    memory: Arc<Memory>,
    max_concurrent: usize,
    /// Hashes waiting for a slot now.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    queue_timeout: Duration,
    /// How long a hash takes here, in nanoseconds, learnt from the last ones (0: none yet).
    takes: Arc<AtomicU64>,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("available_slots", &self.slots.available_permits())
            .finish_non_exhaustive()
    }
}

/// A secret that keys the hash (a "pepper"): PIN hashes use one that is not in the database.
pub type Pepper = Arc<[u8]>;

impl HashPool {
    pub fn new(
        params: HashParams,
        max_concurrent: usize,
        queue_timeout: Duration,
    ) -> Result<Self, HashError> {
        let params = params.to_argon2()?;
        Ok(Self {
            memory: Arc::new(Memory {
                kept: std::sync::Mutex::default(),
                blocks: params.block_count(),
            }),
            params,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            new_work: Arc::new(Semaphore::new(1)),
            max_concurrent: max_concurrent.max(1),
            waiting: Arc::default(),
            queue_timeout,
            takes: Arc::default(),
        })
    }

    /// Hashes waiting for a slot now (the queue depth).
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long a hash takes here: a moving average over about the last eight (zero before
    /// the first).
    pub fn takes(&self) -> Duration {
        Duration::from_nanos(self.takes.load(Ordering::Relaxed))
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.max_concurrent
            .saturating_sub(self.slots.available_permits())
    }

    /// Hashes `secret` with a fresh salt into a PHC string (`$argon2id$v=19$...`).
    pub async fn hash(&self, secret: String, pepper: Option<Pepper>) -> Result<String, HashError> {
        self.run(Turn::New, self.hashing(secret, pepper)).await
    }

    /// The work of [`HashPool::hash`].
    fn hashing(
        &self,
        secret: String,
        pepper: Option<Pepper>,
    ) -> impl FnOnce() -> Result<String, HashError> + Send + 'static {
        let params = self.params.clone();
        let memory = self.memory.clone();
        move || {
            // The argon2 crate allocates this hash's memory itself.
            memory.make_room();
            let argon = keyed(
                Algorithm::Argon2id,
                Version::V0x13,
                params,
                pepper.as_deref(),
            )?;
            argon
                .hash_password(secret.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        }
    }

    /// A hash in this pool's current form that no secret matches: the stand-in verified for
    /// a person who does not exist, so that a wrong username costs the same Argon2id work as a
    /// wrong password (no enumeration by timing). It is made without running Argon2id, from a
    /// random salt and a random output: verifying against it runs the whole computation at
    /// these parameters and compares with the output, which no secret gives but by chance
    /// (2^-256). So nothing is hashed at start-up, and no hash's memory is held by an idle
    /// server.
    pub fn decoy(&self) -> String {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD_NO_PAD;
        let random = crate::random::random_key();
        let salt = STANDARD_NO_PAD.encode(&random[..16]);
        let output = STANDARD_NO_PAD.encode(crate::random::random_key());
        let p = &self.params;
        format!(
            "$argon2id$v=19$m={},t={},p={}${salt}${output}",
            p.m_cost(),
            p.t_cost(),
            p.p_cost()
        )
    }

    /// Whether `phc` is what [`HashPool::hash`] makes now: Argon2id, version 0x13, and this
    /// pool's memory, iterations and lanes.
    pub fn is_current(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        let ours = &self.params;
        Algorithm::try_from(parsed.algorithm.as_str()) == Ok(Algorithm::Argon2id)
            && matches!(
                parsed.version.map(Version::try_from),
                Some(Ok(Version::V0x13))
            )
            && (params.m_cost(), params.t_cost(), params.p_cost())
                == (ours.m_cost(), ours.t_cost(), ours.p_cost())
    }

    /// For a `secret` just verified against `stored`: `secret` hashed anew (with the same
    /// pepper) when `stored` was made at other parameters than this pool's, `None` when it is
    /// current. The rehash can wait for another time, so it runs only on a slot free now and
    /// is `Busy` otherwise: it never queues ahead of or among the hashes of sign-ins.
    pub async fn rehash_if_outdated(
        &self,
        secret: String,
        stored: &str,
        pepper: Option<Pepper>,
    ) -> Result<Option<String>, HashError> {
        if self.is_current(stored) {
            return Ok(None);
        }
        if self.waiting() > 0 {
            return Err(HashError::Busy);
        }
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let work = self.hashing(secret, pepper);
        self.run_holding(permit, work).await.map(Some)
    }

    /// Checks `secret` against a PHC string produced by [`HashPool::hash`] with the same pepper,
    /// at the parameters the string names (hashes made before a change of parameters still
    /// verify).
    pub async fn verify(
        &self,
        turn: Turn,
        secret: String,
        phc: String,
        pepper: Option<Pepper>,
    ) -> Result<bool, HashError> {
        let memory = self.memory.clone();
        self.run(turn, move || {
            let parsed = PasswordHash::new(&phc).map_err(|_| HashError::Malformed)?;
            let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
                return Err(HashError::Malformed);
            };
            let algorithm =
                Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| HashError::Malformed)?;
            let version = match parsed.version {
                Some(version) => Version::try_from(version).map_err(|_| HashError::Malformed)?,
                None => Version::default(),
            };
            let params = Params::try_from(&parsed).map_err(|_| HashError::Malformed)?;
            let argon = keyed(algorithm, version, params, pepper.as_deref())?;
            let mut computed = [0u8; 64];
            let computed = computed
                .get_mut(..expected.len())
                .ok_or(HashError::Malformed)?;
            memory.with(argon.params().block_count(), |blocks| {
                argon
                    .hash_password_into_with_memory(secret.as_bytes(), salt, computed, blocks)
                    .map_err(|e| HashError::Failed(e.to_string()))
            })?;
            Ok(bool::from(expected.as_bytes().ct_eq(computed)))
        })
        .await
    }

    /// Refuses (`Busy`) a hash of `turn` that `run` would refuse at once, before any work for
    /// it is done (a sign-in's user lookup, say); `run` checks again.
    pub fn admit(&self, turn: Turn) -> Result<(), HashError> {
        if turn == Turn::New && self.could_not_start_in_time() {
            return Err(HashError::Busy);
        }
        Ok(())
    }

    /// Whether a new hash queued now would plainly wait past `queue_timeout`: the hashes
    /// waiting ahead of it, `max_concurrent` at a time, take longer than that at the time a
    /// hash takes here, even if every running hash ended now (the least it could wait).
    fn could_not_start_in_time(&self) -> bool {
        let takes = Duration::from_nanos(self.takes.load(Ordering::Relaxed));
        let rounds = u32::try_from(self.waiting() / self.max_concurrent).unwrap_or(u32::MAX);
        takes.saturating_mul(rounds) > self.queue_timeout
    }

    async fn run<T: Send + 'static>(
        &self,
        turn: Turn,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        self.admit(turn)?;
        let waiting = WaitingGuard::enter(&self.waiting);
        let slot = async {
            let _in_line = match turn {
                Turn::New => Some(self.new_work.acquire().await?),
                Turn::Continuing => None,
            };
            self.slots.clone().acquire_owned().await
        };
        let permit = tokio::time::timeout(self.queue_timeout, slot)
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Busy)?;
        drop(waiting);
        self.run_holding(permit, work).await
    }

    /// Runs `work` on the blocking pool, holding `permit` (a slot) until it is done.
    async fn run_holding<T: Send + 'static>(
        &self,
        permit: OwnedSemaphorePermit,
        work: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let takes = self.takes.clone();
        let longest = u64::try_from(self.queue_timeout.as_nanos()).unwrap_or(u64::MAX);
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let result = work();
            drop(permit);
            // A moving average over about the last eight hashes; one that stalled (a paused
            // machine) counts as the queue timeout at most.
            let took = u64::try_from(started.elapsed().as_nanos())
                .unwrap_or(u64::MAX)
                .min(longest);
            let _ = takes.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |before| {
                Some(if before == 0 {
                    took
                } else {
                    before - before / 8 + took / 8
                })
            });
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }
}

/// Counts a hash as waiting until dropped (also when its request is cancelled).
struct WaitingGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> WaitingGuard<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn keyed(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    pepper: Option<&[u8]>,
) -> Result<Argon2<'_>, HashError> {
    match pepper {
        Some(key) => Argon2::new_with_secret(key, algorithm, version, params)
            .map_err(|e| HashError::Params(e.to_string())),
        None => Ok(Argon2::new(algorithm, version, params)),
    }
}

/// Argon2 memory kept from one verification to the next. A fresh allocation is handed out
/// zeroed, which writes all 19 MiB once more before the hash begins (about 5% of a
/// verification); Argon2 writes every block before it reads it, so what a block held before
/// makes no difference. Only the pool's own size is kept, and a hash that needs memory of its
/// own first lets one kept buffer go: the memory for hashing stays within one buffer per slot
/// (`max_concurrent × memory_kib`), running or kept.
struct Memory {
    kept: std::sync::Mutex<Vec<Vec<Block>>>,
    /// The block count of the pool's parameters: the only size kept.
    blocks: usize,
}

impl Memory {
    fn take(&self) -> Option<Vec<Block>> {
        self.kept.lock().ok().and_then(|mut kept| kept.pop())
    }

    /// Lets one kept buffer go, for a hash about to allocate its own.
    fn make_room(&self) {
        drop(self.take());
    }

    fn with<T>(
        &self,
        blocks: usize,
        hash: impl FnOnce(&mut [Block]) -> Result<T, HashError>,
    ) -> Result<T, HashError> {
        let own_size = blocks == self.blocks;
        let reused = if own_size {
            self.take()
        } else {
            self.make_room();
            None
        };
        let mut memory = match reused {
            Some(memory) => memory,
            None => {
                // Fallible, as the argon2 crate's own allocation is: a hash whose stored
                // parameters ask for more memory than there is fails alone.
                let mut memory = Vec::new();
                memory.try_reserve_exact(blocks).map_err(|_| {
                    HashError::Failed(format!("cannot allocate {blocks} Argon2 blocks"))
                })?;
                memory.resize(blocks, Block::default());
                memory
            }
        };
        let result = hash(&mut memory);
        if own_size && let Ok(mut kept) = self.kept.lock() {
            kept.push(memory);
        }
        result
    }
}

#[cfg(test)]
mod tests;
