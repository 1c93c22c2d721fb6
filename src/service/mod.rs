//! `virtprobe serve`: keep a JSON status, Prometheus metrics and NFD features current.
//!
//! Probes at start and then every interval; between probes it looks once a second whether
//! `/dev/kvm` appeared or vanished or the module set changed (`/sys/module`), and probes at once if
//! so. Every output is replaced atomically ([`output`]); a write that fails (folder missing,
//! read-only, full) is logged with its path and retried at the next probe, and the last good file
//! stays. An exclusive lock in a runtime folder only its user can open keeps a second instance
//! from writing the same files; temporary files a killed run left are removed at start. systemd:
//! READY=1 after the first probe, STATUS= with a summary, WATCHDOG=1 when WatchdogSec is set;
//! SIGTERM and SIGINT stop it, SIGHUP reloads the data file. What the service keeps between
//! probes lives in [`Service`], which the loop owns. Host files read: those of the probe, plus
//! `/dev/kvm` and `/sys/module` for the change check.

pub mod output;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use crate::host::{HostError, HostFs, Mode, live};
use crate::render;
use crate::report::status::{Change, ServiceInfo, Status};
use crate::report::{self, Report, Verdict};
use crate::rules::{DataError, Table};
use output::{Lock, LockError};

/// How often, between probes, `/dev/kvm` and the module set are looked at for a change.
const CHANGE_CHECK: Duration = Duration::from_secs(1);

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

/// What wakes the service between probes.
enum Event {
    Stop,
    Reload,
}

/// Everything the service keeps from one probe to the next.
pub struct Service {
    opts: Options,
    table: Table,
    /// The verdicts of the last probe.
    last: Option<Vec<(String, Verdict)>>,
    changed_at: String,
    changes: Vec<Change>,
    probes: u64,
    verdict_changes: u64,
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
        open_host(&opts.root)?;
        let lock = Lock::take(&opts.runtime, &opts.status)?;
        Ok(Service {
            opts,
            table,
            last: None,
            changed_at: String::new(),
            changes: Vec::new(),
            probes: 0,
            verdict_changes: 0,
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
        let events = signal_events().map_err(ServiceError::Signals)?;
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
            if self.opts.cycles > 0 && self.probes >= self.opts.cycles {
                return match cycle {
                    Cycle::Done => Ok(()),
                    Cycle::ProbeFailed(e) => Err(ServiceError::Probe(e)),
                    Cycle::OutputsFailed(n) => Err(ServiceError::Outputs(n)),
                };
            }
            match self.wait(&events, watchdog) {
                Some(Event::Stop) => {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                    tracing::info!("stopping");
                    return Ok(());
                }
                Some(Event::Reload) => self.reload(),
                None => {}
            }
        }
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

    /// One probe and its outputs.
    fn cycle(&mut self) -> Cycle {
        let started = Instant::now();
        let report = match open_host(&self.opts.root) {
            Ok(fs) => report::run(&fs, live::sources_for(&fs).as_ref(), &self.table),
            Err(e) => {
                tracing::error!(error = %e, "cannot probe; keeping the last outputs, retrying next probe");
                self.probes += 1;
                return Cycle::ProbeFailed(e);
            }
        };
        let took = started.elapsed();
        self.probes += 1;
        self.note_changes(&report);
        let status = Status {
            service: ServiceInfo {
                verdicts_changed_at: self.changed_at.clone(),
                changes: self.changes.clone(),
                probes: self.probes,
                verdict_changes: self.verdict_changes,
                probe_duration_seconds: took.as_secs_f64(),
                interval_seconds: self.opts.interval.as_secs_f64(),
            },
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

    /// Compare this probe's verdicts with the last one's.
    fn note_changes(&mut self, report: &Report) {
        let now: Vec<(String, Verdict)> = report
            .technologies
            .iter()
            .map(|t| (t.id.clone(), t.verdict))
            .collect();
        if self.last.as_ref() == Some(&now) {
            return;
        }
        self.changes = match &self.last {
            Some(prev) => now
                .iter()
                .filter_map(|(id, v)| {
                    let before = prev.iter().find(|(p, _)| p == id).map(|(_, pv)| *pv);
                    (before != Some(*v)).then(|| Change {
                        id: id.clone(),
                        from: before.unwrap_or(Verdict::Unknown),
                        to: *v,
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        if self.last.is_some() {
            self.verdict_changes += self.changes.len() as u64;
            tracing::info!(changes = self.changes.len(), "verdicts changed");
        }
        self.changed_at = report.generated_at.clone();
        self.summary = summary(report);
        self.last = Some(now);
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
                verdict_changes: self.verdict_changes,
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

    /// Sleep until the next probe: ping the watchdog, watch for changes, stop on a signal.
    fn wait(&self, events: &mpsc::Receiver<Event>, watchdog: Option<Duration>) -> Option<Event> {
        let deadline = Instant::now() + self.opts.interval;
        let watch = self.opts.interval > CHANGE_CHECK;
        let signature = watch.then(|| change_signature(&self.opts.root));
        let mut next_check = Instant::now() + CHANGE_CHECK;
        let mut next_ping = Instant::now();
        loop {
            let now = Instant::now();
            if let Some(wd) = watchdog
                && now >= next_ping
            {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                next_ping = now + wd / 3;
            }
            if now >= deadline {
                return None;
            }
            if watch && now >= next_check {
                next_check = now + CHANGE_CHECK;
                if Some(change_signature(&self.opts.root)) != signature {
                    tracing::info!("/dev/kvm or the module set changed: probing now");
                    return None;
                }
            }
            let mut until = deadline;
            if watch {
                until = until.min(next_check);
            }
            if watchdog.is_some() {
                until = until.min(next_ping);
            }
            match events.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(e) => return Some(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Some(Event::Stop),
            }
        }
    }
}

/// How long NFD keeps the labels without a rewrite: three intervals, at least a minute.
pub fn nfd_lifetime(interval: Duration) -> Duration {
    interval.saturating_mul(3).max(Duration::from_secs(60))
}

/// The signals the service acts on, delivered as events by a thread of signal-hook's.
fn signal_events() -> std::io::Result<mpsc::Receiver<Event>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let event = if sig == SIGHUP {
                    Event::Reload
                } else {
                    Event::Stop
                };
                if tx.send(event).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// Whether `/dev/kvm` exists and how many modules `/sys/module` lists, under the judged root (a
/// failure is part of the signature: a change of it probes again, and the probe reports it).
fn change_signature(root: &Option<(PathBuf, Mode)>) -> Option<(Option<bool>, Option<usize>)> {
    let fs = open_host(root).ok()?;
    Some((
        fs.exists("/dev/kvm").ok(),
        fs.read_dir("/sys/module").ok().map(|n| n.len()),
    ))
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
