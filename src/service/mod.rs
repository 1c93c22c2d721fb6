//! `virtprobe serve`: keep a JSON status, Prometheus metrics and NFD features current.
//!
//! Probes at start, then whenever something the probe reads changes ([`watch`]: inotify on the
//! folders it looked in, kernel uevents for modules and devices, `POLLPRI` on the mount table),
//! and every interval as a safety net. A burst of events gives one probe: the service waits for
//! [`QUIET`] without a new event (at most [`SETTLE`]) first. Each verdict change goes into the
//! status's history with the facts behind it ([`history`]). Every output is replaced atomically
//! ([`output`]); a write that fails (folder missing, read-only, full) is logged with its path and
//! retried at the next probe, and the last good file stays. An exclusive lock in a runtime folder
//! only its user can open keeps a second instance from writing the same files; temporary files a
//! killed run left are removed at start. systemd: READY=1 after the first probe, STATUS= with a
//! summary, WATCHDOG=1 when WatchdogSec is set; SIGTERM and SIGINT stop it, SIGHUP (or a change
//! of the data file) reloads the data file. What the service keeps between probes lives in
//! [`Service`], which the loop owns. Host files read: those of the probe.

pub mod history;
pub mod mounts;
pub mod output;
mod paths;
pub mod uevent;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::host::{HostError, HostFs, Mode, live};
use crate::render;
use crate::report::status::{ServiceInfo, Status};
use crate::report::{self, Report, Verdict};
use crate::rules::{DataError, Table};
use history::History;
use output::{Lock, LockError};
use watch::{Wake, Watcher};

/// How long a burst of events must stay quiet before the probe runs.
pub const QUIET: Duration = Duration::from_millis(100);
/// The longest a burst delays the probe.
pub const SETTLE: Duration = Duration::from_millis(500);

/// The shortest and longest probe intervals.
pub const INTERVALS: (Duration, Duration) = (
    Duration::from_millis(1),
    Duration::from_secs(366 * 24 * 3600),
);

/// The service's options, validated.
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder judged and what it stands for (`None`: this host).
    pub root: Option<(PathBuf, Mode)>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// Probe interval, within [`INTERVALS`].
    pub interval: Duration,
    /// Status JSON path.
    pub status: PathBuf,
    /// Prometheus textfile path.
    pub prometheus: Option<PathBuf>,
    /// NFD features path.
    pub nfd: Option<PathBuf>,
    /// Stop after this many probes (0 = never).
    pub cycles: u64,
    /// The runtime folder the lock is in ([`output::runtime_dir`]).
    pub runtime: PathBuf,
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The root folder cannot be used.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The data file cannot be used.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Another instance writes the same files.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Signal handling could not be set up.
    #[error("signal handling: {0}")]
    Signals(std::io::Error),
    /// A run of `--cycles N` ended with a probe that could not run.
    #[error("the last probe could not run: {0}")]
    Probe(HostError),
    /// A run of `--cycles N` ended with outputs that could not be written.
    #[error("{0} output(s) could not be written in the last probe (see the log above)")]
    Outputs(usize),
}

/// What went wrong in one probe and its writes.
enum Cycle {
    /// All written.
    Done,
    /// The host could not be opened: nothing was probed or written.
    ProbeFailed(HostError),
    /// This many outputs could not be written.
    OutputsFailed(usize),
}

/// What the wait between probes ends with.
enum Next {
    Stop,
    Probe,
}

/// Everything the service keeps from one probe to the next.
pub struct Service {
    opts: Options,
    table: Table,
    history: History,
    probes: u64,
    watcher: Watcher,
    /// The line systemd shows as STATUS=.
    summary: String,
    ready_sent: bool,
    /// Held while the service runs.
    _lock: Lock,
}

/// Open the host the options name.
fn open_host(root: &Option<(PathBuf, Mode)>) -> Result<HostFs, HostError> {
    match root {
        None => HostFs::live(),
        Some((dir, mode)) => HostFs::with_root(dir, *mode),
    }
}

impl Service {
    /// Check the root and take the lock.
    pub fn new(opts: Options, table: Table) -> Result<Service, ServiceError> {
        let live = open_host(&opts.root)?.has_live_sources();
        let lock = Lock::take(&opts.runtime, &opts.status)?;
        let outputs: Vec<&Path> = [
            Some(&opts.status),
            opts.prometheus.as_ref(),
            opts.nfd.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
        let watcher =
            Watcher::new(live, opts.data.as_deref(), &outputs).map_err(ServiceError::Signals)?;
        Ok(Service {
            opts,
            table,
            history: History::default(),
            probes: 0,
            watcher,
            summary: String::new(),
            ready_sent: false,
            _lock: lock,
        })
    }

    /// The outputs' paths.
    fn outputs(&self) -> Vec<&Path> {
        let mut v = vec![self.opts.status.as_path()];
        v.extend(self.opts.prometheus.as_deref());
        v.extend(self.opts.nfd.as_deref());
        v
    }

    /// Run until SIGTERM/SIGINT, or `cycles` probes.
    pub fn run(mut self) -> Result<(), ServiceError> {
        let watchdog = sd_notify::watchdog_enabled();
        tracing::info!(interval = ?self.opts.interval, status = %self.opts.status.display(), "virtprobe serve starting");
        if let Some(p) = &self.opts.prometheus
            && p.extension().is_none_or(|e| e != "prom")
        {
            tracing::warn!(path = %p.display(), "node_exporter's textfile collector reads only files ending in .prom: it will not see this one");
        }
        // What a run killed while writing left behind (the lock says no other instance writes
        // these outputs now).
        match output::remove_stale(&self.outputs()) {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed temporary files a killed run left"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for temporary files a killed run left")
            }
        }
        loop {
            let cycle = self.cycle();
            if self.done() {
                return match cycle {
                    Cycle::Done => Ok(()),
                    Cycle::ProbeFailed(e) => Err(ServiceError::Probe(e)),
                    Cycle::OutputsFailed(n) => Err(ServiceError::Outputs(n)),
                };
            }
            if let Next::Stop = self.wait(watchdog) {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                tracing::info!("stopping");
                return Ok(());
            }
        }
    }

    /// Whether `--cycles N` probes have run.
    fn done(&self) -> bool {
        self.opts.cycles > 0 && self.probes >= self.opts.cycles
    }

    /// Load the data file again; a bad one keeps the table in use.
    fn reload(&mut self) {
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Reloading]);
        match load_table(self.opts.data.as_deref()) {
            Ok(t) => {
                tracing::info!(source = %t.source, technologies = t.technologies.len(), "data file reloaded");
                self.table = t;
            }
            Err(e) => {
                tracing::error!(error = %e, "reloading the data file failed; keeping the previous table")
            }
        }
        let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    }

    /// Probe, and watch what the probe looked at.
    fn probe(&mut self) -> Result<Report, HostError> {
        let fs = open_host(&self.opts.root)?.noting_paths();
        let report = report::run(&fs, live::sources_for(&fs).as_ref(), &self.table);
        let added = self.watcher.arm(&fs, &fs.take_looked());
        if added == 0 {
            return Ok(report);
        }
        // A folder watched only now may have changed after the probe read it: read again.
        tracing::debug!(added, "new folders watched: probing again");
        let fs = open_host(&self.opts.root)?.noting_paths();
        let report = report::run(&fs, live::sources_for(&fs).as_ref(), &self.table);
        self.watcher.arm(&fs, &fs.take_looked());
        Ok(report)
    }

    /// One probe and its outputs.
    fn cycle(&mut self) -> Cycle {
        let started = Instant::now();
        let report = match self.probe() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot probe; keeping the last outputs, retrying next probe");
                self.probes += 1;
                return Cycle::ProbeFailed(e);
            }
        };
        let took = started.elapsed();
        self.probes += 1;
        let changed = self.history.note(&report, &self.table, SystemTime::now());
        for c in changed {
            tracing::info!(technology = %c.id, from = %c.from, to = %c.to, "verdict changed");
        }
        self.summary = summary(&report);
        let status = Status {
            service: ServiceInfo {
                verdicts_changed_at: self.history.changed_at.clone(),
                changes: self.history.latest.clone(),
                probes: self.probes,
                verdict_changes: self.history.verdict_changes,
                probe_duration_seconds: took.as_secs_f64(),
                interval_seconds: self.opts.interval.as_secs_f64(),
            },
            changes: self.history.entries.iter().cloned().collect(),
            report,
        };
        let failed = self.write_outputs(&status, took);
        let mut states = vec![sd_notify::NotifyState::Status(&self.summary)];
        if !self.ready_sent {
            states.push(sd_notify::NotifyState::Ready);
            self.ready_sent = true;
        }
        let _ = sd_notify::notify(&states);
        match failed {
            0 => Cycle::Done,
            n => Cycle::OutputsFailed(n),
        }
    }

    /// Write the status, metrics and features; returns how many failed.
    fn write_outputs(&self, status: &Status, took: Duration) -> usize {
        let now = SystemTime::now();
        let ctx = render::Context {
            service: Some(render::ServiceFigures {
                duration: took,
                finished: now,
                expiry: now + nfd_lifetime(self.opts.interval),
                probes: self.probes,
                verdict_changes: self.history.verdict_changes,
                interval: self.opts.interval,
                last_change: self.history.last_change.clone(),
            }),
            ..Default::default()
        };
        let mut outputs: Vec<(&Path, &str, std::io::Result<Vec<u8>>)> = Vec::new();
        let status_json = serde_json::to_vec(status)
            .map(|mut v| {
                v.push(b'\n');
                v
            })
            .map_err(std::io::Error::other);
        outputs.push((&self.opts.status, "the status file", status_json));
        if let Some(p) = &self.opts.prometheus {
            let bytes = render::to_bytes(&render::Prometheus, &status.report, &ctx);
            outputs.push((p, "the Prometheus file", bytes));
        }
        if let Some(p) = &self.opts.nfd {
            let bytes = render::to_bytes(&render::Nfd, &status.report, &ctx);
            outputs.push((p, "the NFD features file", bytes));
        }
        let mut failed = 0;
        for (path, what, bytes) in outputs {
            if let Err(e) = bytes.and_then(|b| output::write_atomic(path, &b)) {
                failed += 1;
                tracing::error!(path = %path.display(), error = %e, "cannot write {what}; keeping the last good one, retrying next probe");
            }
        }
        failed
    }

    /// Wait for the next probe: a change (once a burst of events has settled), a reload, or the
    /// interval; ping the watchdog meanwhile.
    fn wait(&mut self, watchdog: Option<Duration>) -> Next {
        let deadline = Instant::now() + self.opts.interval;
        let mut next_ping = Instant::now();
        // The first event of a burst and the last one so far, with what they said.
        let mut burst: Option<(Instant, Instant)> = None;
        let mut reasons: Vec<String> = Vec::new();
        let mut reload = false;
        loop {
            let now = Instant::now();
            if let Some(wd) = watchdog
                && now >= next_ping
            {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                next_ping = now + wd / 3;
            }
            let settled = burst.map(|(first, last)| (last + QUIET).min(first + SETTLE));
            if settled.is_some_and(|t| now >= t) {
                reasons.dedup();
                tracing::info!(changes = %reasons.join("; "), "probing: something the probe reads changed");
                if reload {
                    self.reload();
                }
                return Next::Probe;
            }
            if now >= deadline {
                tracing::debug!("probing: interval");
                return Next::Probe;
            }
            let mut until = deadline;
            if let Some(t) = settled {
                until = until.min(t);
            }
            if watchdog.is_some() {
                until = until.min(next_ping);
            }
            for wake in self
                .watcher
                .wait(Some(until.saturating_duration_since(now)))
            {
                let why = match wake {
                    Wake::Stop => return Next::Stop,
                    Wake::Reload(why) => {
                        reload = true;
                        why
                    }
                    Wake::Changed(why) => why,
                };
                let now = Instant::now();
                burst = Some(burst.map_or((now, now), |(first, _)| (first, now)));
                reasons.push(why);
            }
        }
    }
}

/// How long NFD keeps the labels without a rewrite: three intervals, at least a minute.
pub fn nfd_lifetime(interval: Duration) -> Duration {
    interval.saturating_mul(3).max(Duration::from_secs(60))
}

fn summary(r: &Report) -> String {
    let ready: Vec<&str> = r
        .technologies
        .iter()
        .filter(|t| t.verdict == Verdict::Ready)
        .map(|t| t.id.as_str())
        .collect();
    format!(
        "{} ready ({}); {} errors",
        ready.len(),
        ready.join(", "),
        r.errors.len()
    )
}

/// The table: a data file, or the embedded one.
pub fn load_table(data: Option<&Path>) -> Result<Table, DataError> {
    match data {
        Some(p) => Table::load(p),
        None => Table::embedded(),
    }
}
