//! Audit events the database could not take wait here, on this node, until it can: one JSON
//! line each in `audit-spool.jsonl` under `data_dir`, written and synced before `record`
//! returns, and appended to the chain oldest first by one task per process
//! (`super::start_spool`). While any event waits, new ones go behind it, so that this node's
//! events reach the chain in the order they happened; the chain link is made when an event is finally stored, over the
//! event as it was (its own time and every field).
//!
//! `audit-spool.offset` holds where in the file the events not yet stored begin; it moves past
//! each event once the database has it, and both files are emptied when nothing waits. A crash
//! between storing an event and moving the offset appends that one event again on restart (a
//! power loss, the events of the last batch at most: the offset is synced once per batch).
//! That is the at-least-once window; an event is never lost once `push` has returned, except
//! that when the file cannot be written (a full disk, say) the events wait in memory instead,
//! at most `IN_MEMORY` of them, and a process that stops meanwhile loses those.
//!
//! One process spools into a `data_dir`: the server (`idp serve`). The command line stores
//! its events directly, as before, and `idp audit verify` only reads the file.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use idp_core::model::AuditEvent;

/// The spool's file name under `data_dir`.
pub const FILE: &str = "audit-spool.jsonl";
/// Where in the spool the events not yet stored begin.
const OFFSET_FILE: &str = "audit-spool.offset";
/// Events the database refused for good (see `Spool::set_aside`).
pub const REJECTED_FILE: &str = "audit-spool.rejected.jsonl";
/// Events kept in memory at most, when the file cannot be written; past it they are dropped.
pub const IN_MEMORY: usize = 100_000;
/// How often the count is logged while events wait, and how often a file that could not be
/// written is tried again.
const TELL_EVERY: Duration = Duration::from_secs(10);

/// Where a waiting event is: a line of the file ending at this byte, or the front of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Disk { end: u64 },
    Memory,
}

pub struct Spool {
    path: PathBuf,
    /// Events waiting, on disk and in memory: read without the lock, so that `record` costs
    /// no more than this load while nothing waits.
    waiting: AtomicU64,
    /// Events that could not be kept at all (the memory bound was reached).
    dropped: AtomicU64,
    queue: Mutex<Queue>,
    /// Wakes the drainer: an event arrived.
    wake: tokio::sync::Notify,
}

struct Queue {
    /// The spool, open for appending; `None` while it cannot be opened.
    file: Option<File>,
    /// Where the events not yet stored begin, kept in `offset_file` too.
    offset_file: Option<File>,
    /// The spool was emptied but its offset could not be noted as 0: nothing is written to
    /// the file until it is, or a restart would skip the new events as if stored.
    offset_stale: bool,
    offset: u64,
    /// The length of the whole lines written: a line left half-written by a failed write is
    /// cut off before the next one.
    len: u64,
    /// Events in the file after `offset`.
    on_disk: u64,
    /// Events that could not be written to the file, all of them behind those on disk.
    memory: VecDeque<AuditEvent>,
    /// When to try the file again, after it failed.
    disk_retry: Option<Instant>,
    /// Events appended since the first one began to wait.
    appended: u64,
    /// The count last logged, and when.
    told: Option<(u64, Instant)>,
    /// When the last drop was logged.
    drop_told: Option<Instant>,
}

impl Spool {
    /// Opens the spool in `dir`, with whatever a previous run left waiting in it. A spool
    /// that cannot be opened is logged, and events wait in memory until it can.
    pub fn open(dir: &Path) -> Self {
        let path = dir.join(FILE);
        let mut queue = Queue {
            file: None,
            offset_file: None,
            offset_stale: false,
            offset: 0,
            len: 0,
            on_disk: 0,
            memory: VecDeque::new(),
            disk_retry: None,
            appended: 0,
            told: None,
            drop_told: None,
        };
        if let Err(error) = queue.recover(&path) {
            queue.file = None;
            queue.disk_retry = Some(Instant::now() + TELL_EVERY);
            tracing::error!(
                %error,
                path = %path.display(),
                "cannot open the audit spool; audit events that cannot be stored will wait in memory"
            );
        }
        let waiting = queue.on_disk;
        if waiting > 0 {
            tracing::warn!(
                waiting,
                path = %path.display(),
                "{waiting} audit events left by the previous run wait for the database"
            );
            queue.told = Some((waiting, Instant::now()));
        }
        Self {
            path,
            waiting: AtomicU64::new(waiting),
            dropped: AtomicU64::new(0),
            queue: Mutex::new(queue),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Events waiting for the database.
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Acquire)
    }

    /// Events that could not be kept at all.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Makes the count read without the lock that of the queue.
    fn publish(&self, queue: &Queue) -> u64 {
        let waiting = queue.on_disk + queue.memory.len() as u64;
        self.waiting.store(waiting, Ordering::Release);
        waiting
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        match self.queue.lock() {
            Ok(queue) => queue,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Puts the event behind those waiting: a line in the file, synced, or, when the file
    /// cannot be written, memory. Blocks on the disk: call it off the async threads.
    pub fn push(&self, event: AuditEvent) {
        let mut queue = self.lock();
        let mut kept = false;
        if queue.memory.is_empty() {
            match queue.append(&self.path, std::slice::from_ref(&event)) {
                Ok(()) => kept = true,
                Err(error) => queue.disk_failed(&self.path, &error),
            }
        }
        if !kept {
            if queue.memory.len() >= IN_MEMORY {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if queue
                    .drop_told
                    .is_none_or(|told| told.elapsed() >= TELL_EVERY)
                {
                    queue.drop_told = Some(Instant::now());
                    tracing::error!(
                        target: "audit",
                        dropped,
                        kind = event.kind.as_str(),
                        "{dropped} audit events could not be kept: {IN_MEMORY} already wait in memory for the database and the audit spool"
                    );
                }
                return;
            }
            queue.memory.push_back(event);
        }
        let waiting = self.publish(&queue);
        let magnitude = |n: u64| n.checked_ilog10().unwrap_or(0);
        let tell = match queue.told {
            None => true,
            Some((told, at)) => magnitude(waiting) > magnitude(told) || at.elapsed() >= TELL_EVERY,
        };
        if tell {
            queue.told = Some((waiting, Instant::now()));
            tracing::warn!(waiting, "{waiting} audit events wait for the database");
        }
        drop(queue);
        self.wake.notify_one();
    }

    /// Up to `limit` events waiting, oldest first, each with where it is (for `stored`). A
    /// line that is not an event is given as Err, to be skipped. Blocks on the disk.
    pub fn peek(&self, limit: usize) -> Vec<(Result<AuditEvent, String>, Place)> {
        let mut queue = self.lock();
        queue.settle(&self.path);
        self.publish(&queue);
        if queue.on_disk == 0 {
            return queue
                .memory
                .iter()
                .take(limit)
                .map(|event| (Ok(event.clone()), Place::Memory))
                .collect();
        }
        match queue.read(&self.path, limit) {
            Ok(lines) => lines,
            Err(error) => {
                tracing::error!(%error, path = %self.path.display(), "cannot read the audit spool");
                Vec::new()
            }
        }
    }

    /// The oldest waiting event, at `place`, is stored (or skipped): it no longer waits.
    /// Blocks on the disk.
    pub fn stored(&self, place: Place) {
        let mut queue = self.lock();
        match place {
            Place::Memory => {
                queue.memory.pop_front();
            }
            Place::Disk { end } => {
                queue.offset = end;
                queue.on_disk = queue.on_disk.saturating_sub(1);
                if queue.on_disk == 0 {
                    queue.empty_file();
                } else {
                    queue.write_offset(false);
                }
            }
        }
        queue.appended += 1;
        if self.publish(&queue) == 0 {
            let appended = std::mem::take(&mut queue.appended);
            queue.told = None;
            tracing::info!(appended, "appended {appended} waiting audit events");
        }
    }

    /// The end of a batch: the offset is synced, so that a power loss appends no more than
    /// this batch again.
    pub fn batch_done(&self) {
        self.lock().write_offset(true);
    }

    /// The database refused again: every `TELL_EVERY`, how many events wait.
    pub(super) fn refused(&self, error: &idp_core::StoreError) {
        let mut queue = self.lock();
        let waiting = self.waiting();
        if waiting > 0 && queue.told.is_none_or(|(_, at)| at.elapsed() >= TELL_EVERY) {
            queue.told = Some((waiting, Instant::now()));
            tracing::warn!(
                waiting,
                %error,
                "{waiting} audit events wait for the database"
            );
        }
    }

    /// Writes the events still in memory to the file, if it can be written again; used at
    /// shutdown so that they outlive the process. How many are still only in memory.
    pub fn settle(&self) -> usize {
        let mut queue = self.lock();
        queue.disk_retry = None;
        queue.settle(&self.path);
        self.publish(&queue);
        queue.memory.len()
    }

    /// Returns once an event has been put in the spool since the last call.
    pub async fn arrival(&self) {
        self.wake.notified().await;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps an event the database refused for a reason of its own (not an outage: trying
    /// again would fail again, and hold up every event behind it) in `REJECTED_FILE`, for the
    /// operator; logged either way. Blocks on the disk.
    pub(super) fn set_aside(&self, event: &AuditEvent, why: &idp_core::StoreError) {
        let rejected = self.path.with_file_name(REJECTED_FILE);
        let kept = serde_json::to_string(event)
            .map_err(std::io::Error::other)
            .and_then(|line| {
                let mut file = open_private(&rejected, OpenOptions::new().append(true))?;
                file.write_all(format!("{line}\n").as_bytes())?;
                file.sync_data()
            });
        match kept {
            Ok(()) => tracing::error!(
                target: "audit",
                error = %why,
                kind = event.kind.as_str(),
                path = %rejected.display(),
                "the database refused an audit event; it is set aside there, and the events behind it go on"
            ),
            Err(error) => tracing::error!(
                target: "audit",
                error = %why,
                kind = event.kind.as_str(),
                set_aside = %error,
                "the database refused an audit event, and it could not be set aside; the events behind it go on"
            ),
        }
    }
}

impl Queue {
    /// Opens the files and finds the events a previous run left: the whole lines after the
    /// offset (a line cut short by a crash is removed: its `record` never returned).
    fn recover(&mut self, path: &Path) -> std::io::Result<()> {
        let mut file = open_private(path, OpenOptions::new().read(true).append(true))?;
        let offset_file = open_private(
            &path.with_file_name(OFFSET_FILE),
            OpenOptions::new().read(true).write(true),
        )?;
        let length = file.metadata()?.len();
        let offset = read_offset(&offset_file, path)?.min(length);
        file.seek(SeekFrom::Start(offset))?;
        let (mut end, mut lines) = (offset, 0u64);
        let mut reader = BufReader::new(&file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 || line.last() != Some(&b'\n') {
                break;
            }
            end += read as u64;
            lines += 1;
        }
        drop(reader);
        if end < length {
            tracing::warn!(
                path = %path.display(),
                bytes = length - end,
                "the audit spool ends in a line cut short (the process stopped while writing it); it is removed"
            );
            file.set_len(end)?;
        }
        self.file = Some(file);
        self.offset_file = Some(offset_file);
        self.offset = offset;
        self.len = end;
        self.on_disk = lines;
        if lines == 0 {
            self.empty_file();
        }
        Ok(())
    }

    /// Appends `events` to the file as lines, and syncs it.
    fn append(&mut self, path: &Path, events: &[AuditEvent]) -> std::io::Result<()> {
        if self.file.is_none() {
            if self.disk_retry.is_some_and(|at| Instant::now() < at) {
                return Err(std::io::Error::other("the audit spool could not be opened"));
            }
            self.recover(path)?;
        }
        if self.offset_stale {
            if !self.write_offset(true) {
                return Err(std::io::Error::other(
                    "the audit spool's offset could not be noted",
                ));
            }
            self.offset_stale = false;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(std::io::Error::other("the audit spool is not open"));
        };
        let mut text = Vec::new();
        for event in events {
            serde_json::to_writer(&mut text, event)?;
            text.push(b'\n');
        }
        let written = (|| {
            if file.metadata()?.len() != self.len {
                file.set_len(self.len)?;
            }
            file.write_all(&text)?;
            file.sync_data()
        })();
        match written {
            Ok(()) => {
                self.len += text.len() as u64;
                self.on_disk += events.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Cut off what part of it was written; failing that, before the next line.
                let _ = file.set_len(self.len);
                Err(error)
            }
        }
    }

    fn disk_failed(&mut self, path: &Path, error: &std::io::Error) {
        if self.disk_retry.is_none() {
            tracing::error!(
                %error,
                path = %path.display(),
                "cannot write the audit spool; waiting audit events are kept in memory (lost if the process stops) and still appended when the database returns"
            );
        }
        self.disk_retry = Some(Instant::now() + TELL_EVERY);
    }

    /// Moves the events waiting in memory to the file, once it may be tried again.
    fn settle(&mut self, path: &Path) {
        if self.memory.is_empty() || self.disk_retry.is_some_and(|at| Instant::now() < at) {
            return;
        }
        let events: Vec<AuditEvent> = self.memory.iter().cloned().collect();
        match self.append(path, &events) {
            Ok(()) => {
                self.memory.clear();
                self.disk_retry = None;
                tracing::warn!(
                    moved = events.len(),
                    path = %path.display(),
                    "the audit spool can be written again; the audit events waiting in memory are in it"
                );
            }
            Err(error) => self.disk_failed(path, &error),
        }
    }

    /// Up to `limit` lines from the offset on.
    fn read(
        &mut self,
        path: &Path,
        limit: usize,
    ) -> std::io::Result<Vec<(Result<AuditEvent, String>, Place)>> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(self.offset))?;
        let mut reader = BufReader::new(file.take(self.len.saturating_sub(self.offset)));
        let mut events = Vec::new();
        let mut end = self.offset;
        let mut line = Vec::new();
        while events.len() < limit {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            end += read as u64;
            let event = serde_json::from_slice::<AuditEvent>(&line).map_err(|e| e.to_string());
            events.push((event, Place::Disk { end }));
        }
        Ok(events)
    }

    /// Nothing waits on disk: both files start over. The spool is cut first, so that a crash
    /// in between leaves an offset past its end (read as nothing waiting), never an offset
    /// of 0 before events already stored.
    fn empty_file(&mut self) {
        if let Some(file) = &self.file {
            if let Err(error) = file.set_len(0).and_then(|()| file.sync_data()) {
                tracing::warn!(%error, "cannot empty the audit spool");
                self.write_offset(true);
                return;
            }
            self.len = 0;
            self.offset = 0;
        }
        if !self.write_offset(true) {
            self.offset_stale = true;
        }
    }

    /// Notes the offset in its file: whether it was noted.
    fn write_offset(&mut self, sync: bool) -> bool {
        let Some(offset_file) = &self.offset_file else {
            return true;
        };
        let text = format!("{:020}\n", self.offset);
        let written = offset_file
            .write_all_at(text.as_bytes(), 0)
            .and_then(|()| offset_file.set_len(text.len() as u64))
            .and_then(|()| {
                if sync {
                    offset_file.sync_data()
                } else {
                    Ok(())
                }
            });
        if let Err(error) = written {
            tracing::warn!(
                %error,
                "cannot note how far the audit spool was appended; a restart may append some events twice"
            );
            return false;
        }
        true
    }
}

fn open_private(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    options.create(true).mode(0o600).open(path)
}

fn read_offset(file: &File, path: &Path) -> std::io::Result<u64> {
    let mut text = String::new();
    (&*file).read_to_string(&mut text)?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    Ok(text.parse().unwrap_or_else(|_| {
        tracing::error!(
            path = %path.display(),
            "the audit spool's offset is unreadable; every event in the spool is appended, some perhaps twice"
        );
        0
    }))
}

/// How many events wait in the spool in `dir`, as `idp audit verify` tells (read only).
pub fn waiting_in(dir: &Path) -> std::io::Result<u64> {
    let path = dir.join(FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let offset = match std::fs::read_to_string(dir.join(OFFSET_FILE)) {
        Ok(text) => text.trim().parse().unwrap_or(0),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
        Err(error) => return Err(error),
    };
    let mut file = file;
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(offset.min(length)))?;
    let mut lines = 0;
    let mut line = Vec::new();
    let mut reader = BufReader::new(file);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
            return Ok(lines);
        }
        lines += 1;
    }
}

#[cfg(test)]
mod tests;
