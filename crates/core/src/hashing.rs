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
mod tests {
    use super::*;

    fn small_pool(max: usize) -> HashPool {
        let params = HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        HashPool::new(params, max, Duration::from_secs(5)).expect("valid params")
    }

    /// Starts a hash that keeps its slot until `release` is sent; answers once it runs.
    async fn hold_a_slot(
        pool: &HashPool,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<Result<(), HashError>>,
    ) {
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let running = pool.running() + 1;
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(Turn::New, move || {
                    blocked.recv().map_err(|e| HashError::Failed(e.to_string()))
                })
                .await
            })
        };
        while pool.running() < running {
            tokio::task::yield_now().await;
        }
        (release, busy)
    }

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let pool = small_pool(2);
        let phc = pool.hash("correct horse".into(), None).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            pool.verify(Turn::New, "correct horse".into(), phc.clone(), None)
                .await
                .expect("verify")
        );
        assert!(
            !pool
                .verify(Turn::New, "wrong horse".into(), phc, None)
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn pepper_is_part_of_the_hash() {
        let pool = small_pool(2);
        let pepper: Pepper = Arc::from(&b"server-side secret, 32 bytes...."[..]);
        let phc = pool
            .hash("482916".into(), Some(pepper.clone()))
            .await
            .expect("hash");
        assert!(
            pool.verify(Turn::New, "482916".into(), phc.clone(), Some(pepper))
                .await
                .expect("verify")
        );
        // The same PIN without the server-side key does not verify: a stolen database alone
        // cannot be brute-forced offline.
        assert!(
            !pool
                .verify(Turn::New, "482916".into(), phc.clone(), None)
                .await
                .expect("verify")
        );
        let other: Pepper = Arc::from(&b"another secret, also 32 bytes..."[..]);
        assert!(
            !pool
                .verify(Turn::New, "482916".into(), phc, Some(other))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn a_new_hash_that_could_not_start_in_time_is_refused_at_once() {
        let params = HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let pool = HashPool::new(params, 1, Duration::from_secs(60)).expect("pool");
        let phc = pool.hash("x".into(), None).await.expect("hash");
        // As if a hash took 70 s here, against a 60 s timeout.
        let an_hour = Duration::from_secs(3600).as_nanos() as u64;
        pool.takes
            .store(Duration::from_secs(70).as_nanos() as u64, Ordering::Relaxed);
        let (release, busy) = hold_a_slot(&pool).await;
        // Behind a running hash alone, a new one may start at any moment: it waits.
        let first = {
            let (pool, phc) = (pool.clone(), phc.clone());
            tokio::spawn(async move { pool.verify(Turn::New, "x".into(), phc, None).await })
        };
        while pool.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        // Behind one waiting as well, it could not start for at least 70 s: refused at once,
        // not after 60 s.
        let refused = tokio::time::timeout(
            Duration::from_secs(10),
            pool.verify(Turn::New, "x".into(), phc.clone(), None),
        )
        .await
        .expect("answered before the queue timeout");
        assert!(matches!(refused, Err(HashError::Busy)), "{refused:?}");
        // A sign-in's PIN is not refused so: it goes ahead of the new hash waiting.
        let continuing = {
            let (pool, phc) = (pool.clone(), phc.clone());
            tokio::spawn(async move { pool.verify(Turn::Continuing, "x".into(), phc, None).await })
        };
        while pool.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        release.send(()).expect("the busy hash is waiting");
        busy.await.expect("joined").expect("ran");
        assert!(continuing.await.expect("joined").expect("verified"));
        assert!(first.await.expect("joined").expect("verified"));
        // The time learnt from real hashes brings the one set above down.
        let learnt = Duration::from_nanos(pool.takes.load(Ordering::Relaxed));
        assert!(learnt < Duration::from_secs(70), "{learnt:?}");
        // However long a hash is thought to take, an idle pool refuses nothing.
        pool.takes.store(an_hour, Ordering::Relaxed);
        assert!(
            pool.verify(Turn::New, "x".into(), phc, None)
                .await
                .expect("verified")
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_at_the_parameters_it_names() {
        // Made elsewhere, at parameters, algorithms and versions other than the pool's own:
        // hashes made before a change of settings keep verifying.
        let pool = small_pool(1);
        let pepper: Pepper = Arc::from(&b"server-side secret, 32 bytes...."[..]);
        let made = [
            (Algorithm::Argon2id, Version::V0x13, 2048, 2, 2, None),
            // The pool's own block count in two lanes: its kept memory serves this one too.
            (Algorithm::Argon2id, Version::V0x13, 1024, 1, 2, None),
            (Algorithm::Argon2d, Version::V0x10, 1024, 3, 1, None),
            (
                Algorithm::Argon2i,
                Version::V0x13,
                1024,
                1,
                1,
                Some(pepper.clone()),
            ),
        ];
        for (algorithm, version, m, t, p, key) in made {
            let params = Params::new(m, t, p, None).expect("params");
            let argon = keyed(algorithm, version, params, key.as_deref()).expect("argon2");
            let phc = argon
                .hash_password(b"correct horse")
                .expect("hash")
                .to_string();
            // In turn, so that memory kept from one verification serves the next.
            for (typed, expected) in [("wrong horse", false), ("correct horse", true)].repeat(2) {
                let verified = pool
                    .verify(Turn::New, typed.into(), phc.clone(), key.clone())
                    .await
                    .expect("verify");
                assert_eq!(verified, expected, "{phc} against {typed:?}");
            }
        }
        // The pool's own size is kept between verifications, another size is not; a new hash
        // allocates its own memory, so it lets the kept buffer go first.
        assert_eq!(pool.memory.kept.lock().expect("lock").len(), 1);
        let own = pool.hash("x".into(), None).await.expect("hash");
        assert!(pool.memory.kept.lock().expect("lock").is_empty());
        assert!(
            pool.verify(Turn::New, "x".into(), own, None)
                .await
                .expect("verify")
        );
        let kept = pool.memory.kept.lock().expect("lock");
        assert_eq!(kept.len(), 1);
        assert!(kept.iter().all(|m| m.len() == 1024));
    }

    #[tokio::test]
    async fn a_hash_made_at_other_parameters_is_made_again_at_the_current_ones() {
        let pool = small_pool(1);
        let pepper: Pepper = Arc::from(&b"server-side secret, 32 bytes...."[..]);
        let current = pool
            .hash("482916".into(), Some(pepper.clone()))
            .await
            .expect("hash");
        assert!(pool.is_current(&current));
        assert_eq!(
            pool.rehash_if_outdated("482916".into(), &current, Some(pepper.clone()))
                .await
                .expect("rehash"),
            None
        );
        let other = HashParams {
            memory_kib: 2048,
            iterations: 1,
            parallelism: 1,
        };
        let before = HashPool::new(other, 1, Duration::from_secs(5))
            .expect("pool")
            .hash("482916".into(), Some(pepper.clone()))
            .await
            .expect("hash");
        assert!(!pool.is_current(&before));
        assert!(!pool.is_current("not a phc string"));
        let after = pool
            .rehash_if_outdated("482916".into(), &before, Some(pepper.clone()))
            .await
            .expect("rehash")
            .expect("outdated");
        assert!(
            after.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{after}"
        );
        assert!(pool.is_current(&after));
        assert!(
            pool.verify(Turn::New, "482916".into(), after, Some(pepper.clone()))
                .await
                .expect("verify"),
            "keyed with the same pepper"
        );
        // A busy pool leaves it for another time rather than queue it.
        let (release, busy) = hold_a_slot(&pool).await;
        let result = pool
            .rehash_if_outdated("482916".into(), &before, Some(pepper))
            .await;
        assert!(matches!(result, Err(HashError::Busy)), "{result:?}");
        release.send(()).expect("the busy hash is waiting");
        busy.await.expect("joined").expect("ran");
    }

    #[tokio::test]
    async fn a_hash_without_its_output_is_malformed() {
        let pool = small_pool(1);
        let phc = pool.hash("x".into(), None).await.expect("hash");
        let (without, _) = phc.rsplit_once('$').expect("a PHC string");
        let result = pool
            .verify(Turn::New, "x".into(), without.into(), None)
            .await;
        assert!(matches!(result, Err(HashError::Malformed)), "{without}");
    }

    #[tokio::test]
    async fn malformed_hash_is_an_error_not_a_match() {
        let pool = small_pool(1);
        let result = pool
            .verify(Turn::New, "x".into(), "not a phc string".into(), None)
            .await;
        assert!(matches!(result, Err(HashError::Malformed)));
    }

    #[tokio::test]
    async fn a_full_pool_refuses_after_the_queue_timeout() {
        let params = HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let pool = HashPool::new(params, 1, Duration::from_millis(10)).expect("pool");
        let held = pool.slots.clone().acquire_owned().await.expect("permit");
        let result = pool.hash("x".into(), None).await;
        assert!(matches!(result, Err(HashError::Busy)));
        drop(held);
        assert!(pool.hash("x".into(), None).await.is_ok());
    }

    #[tokio::test]
    async fn continuing_work_goes_ahead_of_new_work_in_the_queue() {
        let pool = small_pool(1);
        let done = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (release, busy) = hold_a_slot(&pool).await;
        // Three new hashes, then one that continues work under way, queue in that order.
        let mut queued = Vec::new();
        for (name, turn) in [
            ("new 1", Turn::New),
            ("new 2", Turn::New),
            ("new 3", Turn::New),
            ("continuing", Turn::Continuing),
        ] {
            let (queuer, done) = (pool.clone(), done.clone());
            let before = pool.waiting();
            queued.push(tokio::spawn(async move {
                queuer
                    .run(turn, move || {
                        done.lock()
                            .map_err(|e| HashError::Failed(e.to_string()))?
                            .push(name);
                        Ok(())
                    })
                    .await
            }));
            while pool.waiting() == before {
                tokio::task::yield_now().await;
            }
        }
        release.send(()).expect("the busy hash is waiting");
        busy.await.expect("joined").expect("ran");
        for task in queued {
            task.await.expect("joined").expect("ran");
        }
        // Only the new hash already queued for a slot is served before the continuing one.
        let order = done.lock().expect("lock").clone();
        assert_eq!(order, ["new 1", "continuing", "new 2", "new 3"]);
    }
}
