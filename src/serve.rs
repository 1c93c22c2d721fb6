//! `virtprobe serve`: keep a JSON status, Prometheus metrics and NFD features current.
//!
//! Probes at start and then every interval, and between intervals checks once a second, cheaply,
//! whether `/dev/kvm` appeared or vanished or the module set (`/sys/module`'s link count) changed;
//! if so it probes at once. In between it sleeps until the next of these (signals wake it through a
//! pipe), so an idle service wakes once a second, not twenty times. Every output is written
//! atomically, so a reader never sees a partial file: a hidden spare in the same folder is
//! rewritten and then exchanged with the output ([`crate::swap`]); when a verdict changed, the file
//! and the folder are also fsynced. A write that fails (folder missing, read-only, full) is logged
//! with its path and retried at the next probe; the last good file stays. systemd: READY=1 after
//! the first probe, STATUS= with a summary, WATCHDOG=1 when WatchdogSec is set; SIGTERM and SIGINT
//! stop within a second; SIGHUP reloads the data file. Host files read: those of the probe (some through
//! descriptors and stamps held between probes, [`crate::held`], with `/proc/self/mountinfo` polled
//! for mount events), plus `/sys/module` and `/dev/kvm` for the change check.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::render::{self, Render};
use crate::report::{Report, Verdict};
use crate::rules::{Table, Text};
use crate::swap::Swapped;
use crate::{Error, live_sources, load_table, open_host};

/// Options of the service.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--root`.
    pub root: Option<PathBuf>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// Probe interval.
    pub interval: Duration,
    /// Status JSON path.
    pub status: PathBuf,
    /// Prometheus textfile path.
    pub prometheus: Option<PathBuf>,
    /// NFD features path.
    pub nfd: Option<PathBuf>,
    /// Stop after this many probes (0 = never).
    pub cycles: u64,
}

/// A verdict that changed between two probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// Technology id.
    pub id: String,
    /// Verdict before.
    pub from: Verdict,
    /// Verdict now.
    pub to: Verdict,
}

/// What the status file adds to the report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ServiceInfo {
    /// When any verdict last changed (the first probe counts).
    pub verdicts_changed_at: String,
    /// What changed then.
    pub changes: Vec<Change>,
    /// Probes since start.
    pub probes: u64,
    /// How long the last probe took, in seconds.
    pub probe_duration_seconds: f64,
    /// The probe interval, in seconds.
    pub interval_seconds: f64,
}

/// The status file: the report plus `service`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Status {
    /// The report, as `virtprobe --json` prints it.
    #[serde(flatten)]
    pub report: Report,
    /// Service bookkeeping.
    pub service: ServiceInfo,
}

/// How [`Status`] is written: in two parts, a head with everything a probe whose facts did not
/// change leaves alone (the 70 KB of technologies among it), serialised again only when the facts
/// change, and a tail with the time and the service's counters, serialised at every probe. So
/// `generated_at` comes after the report's other fields in the status file (the keys of a JSON
/// object have no order; a test keeps the spliced file equal to the `Status`).
#[derive(Serialize)]
struct StatusHead<'a> {
    schema_version: u32,
    virtprobe_version: &'a str,
    root: &'a str,
    data: &'a str,
    host: &'a crate::report::HostSummary,
    technologies: &'a [crate::report::TechReport],
    errors: &'a [crate::facts::ProbeError],
    needs_privilege: &'a [String],
}

/// The part of the status that changes at every probe.
#[derive(Serialize)]
struct StatusTail<'a> {
    generated_at: &'a str,
    service: &'a ServiceInfo,
}

/// The status head as it starts the file: the JSON object without its closing brace, and a comma.
fn status_head(r: &Report, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.clear();
    let head = StatusHead {
        schema_version: r.schema_version,
        virtprobe_version: &r.virtprobe_version,
        root: &r.root,
        data: &r.data,
        host: &r.host,
        technologies: &r.technologies,
        errors: &r.errors,
        needs_privilege: &r.needs_privilege,
    };
    serde_json::to_writer(render::VecWriter(out), &head)?;
    // `{...}` → `{...,`
    out.pop();
    out.push(b',');
    Ok(())
}

/// The status tail as it ends the file: the JSON object without its opening brace, and a newline.
fn status_tail(status: &Status, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.clear();
    let tail = StatusTail {
        generated_at: &status.report.generated_at,
        service: &status.service,
    };
    serde_json::to_writer(render::VecWriter(out), &tail)?;
    // `{...}` → `...}\n`
    out.remove(0);
    out.push(b'\n');
    Ok(())
}

/// What the between-probe check watches: whether `/dev/kvm` exists and the link count of
/// `/sys/module` (sysfs counts a folder's subfolders: one per module), both under the root the
/// service judges. One `stat` each, where listing the modules took five system calls.
fn change_signature(root: Option<&Path>) -> (bool, u64) {
    use std::os::unix::fs::MetadataExt;
    let base = root.unwrap_or(Path::new("/"));
    let kvm = base.join("dev/kvm").exists();
    let modules = std::fs::metadata(base.join("sys/module"))
        .map(|m| m.nlink())
        .unwrap_or(0);
    (kvm, modules)
}

/// Between probes the service sleeps until the next thing it has to do (the next probe, the
/// change check, the watchdog ping), and SIGTERM, SIGINT and SIGHUP wake it at once through a
/// pipe that signal-hook's handler writes to. (Sleeping in short slices to look at the signal
/// flags woke it 20 times a second: at a 5-minute interval, a hundred times the CPU of the
/// probes themselves.)
struct Wake {
    read: std::os::fd::OwnedFd,
    /// The handlers, each owning a copy of the pipe's write end (closed when it is unregistered).
    ids: Vec<signal_hook::SigId>,
}

impl Wake {
    fn new(signals: &[libc::c_int]) -> std::io::Result<Wake> {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills the two descriptors it returns; both are owned from here on.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above, each is a new descriptor nothing else owns.
        let (read, write) = unsafe {
            (
                std::os::fd::OwnedFd::from_raw_fd(fds[0]),
                std::os::fd::OwnedFd::from_raw_fd(fds[1]),
            )
        };
        let mut wake = Wake {
            read,
            ids: Vec::new(),
        };
        for &sig in signals {
            let id = signal_hook::low_level::pipe::register(sig, write.try_clone()?)?;
            wake.ids.push(id);
        }
        Ok(wake)
    }

    /// Sleep until `until`, or until a signal arrives.
    fn sleep_until(&self, until: Instant) {
        use std::os::fd::AsRawFd;
        let Some(d) = until.checked_duration_since(Instant::now()) else {
            return;
        };
        let ts = libc::timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as _,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        };
        let mut pfd = libc::pollfd {
            fd: self.read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd and a valid timeout for the duration of the call. An error
        // (EINTR from a signal) only ends the sleep early; the caller looks at its flags again.
        let ready = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if ready <= 0 || pfd.revents & libc::POLLIN == 0 {
            // Timed out (or interrupted): nothing was written to the pipe.
            return;
        }
        // Empty the pipe of what the handlers wrote (it is non-blocking).
        let mut buf = [0u8; 64];
        // SAFETY: reads into a buffer of the length given.
        while unsafe { libc::read(self.read.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) } > 0 {
        }
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

fn summary(r: &Report) -> String {
    let ready: Vec<&str> = r
        .technologies
        .iter()
        .filter(|t| t.verdict == Verdict::Ready)
        .map(|t| &*t.id)
        .collect();
    format!(
        "{} ready ({}); {} errors",
        ready.len(),
        ready.join(", "),
        r.errors.len()
    )
}

/// How often, between probes, `/dev/kvm` and the module set are looked at for a change.
const CHANGE_CHECK: Duration = Duration::from_secs(1);

/// Give glibc's free heap memory back to the system (the musl build's dlmalloc trims itself past
/// 2 MiB free).
fn trim_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of glibc's heap.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Probes between two returns of freed heap memory to the system.
const TRIM_EVERY: u64 = 64;

/// Run the service until SIGTERM/SIGINT (or `cycles` probes).
pub fn run(opts: Options) -> Result<(), Error> {
    let term = Arc::new(AtomicBool::new(false));
    let hup = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, Arc::clone(&term))
            .map_err(|e| Error::Unsupported(format!("signal handler: {e}")))?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(|e| Error::Unsupported(format!("signal handler: {e}")))?;
    let wake = Wake::new(&[
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(|e| Error::Unsupported(format!("signal wake-up pipe: {e}")))?;

    // Keep up to 1 MiB of freed heap between the periodic trims instead of returning it at
    // every probe (glibc's default is 128 KiB): a probe frees and allocates about that much, and
    // each returned page costs a page fault when the next probe takes it back.
    // SAFETY: mallopt only sets a tuning parameter.
    // The same for the status file's buffer (about 100 KiB): from the heap, reused, rather than
    // a fresh mapping (and its page faults) at every probe.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
    let mut table: Table = load_table(opts.data.as_deref())?;
    // CPU, firmware, hypervisor and container facts are read once per run (and per SIGHUP).
    crate::probe::keep_stable_facts(true);
    // Validate the root once; a bad root is a bad argument.
    open_host(opts.root.as_deref())?;
    let watchdog = sd_notify::watchdog_enabled();
    let mut last: Option<Vec<(Text, Verdict)>> = None;
    let mut changed_at = String::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut probes = 0u64;
    let mut notified_ready = false;
    let mut previous: Option<(crate::facts::Facts, Report)> = None;
    let mut needs = table.needs();
    // The status file's head (see `StatusHead`), serialised again only when the report was
    // built again; its generation tells the file writer whether a file already holds it.
    let mut head_buf: Vec<u8> = Vec::new();
    let mut head: Option<u64> = None;
    let mut head_generation = 0u64;
    // The summary for systemd's STATUS=.
    let mut line = String::new();
    let mut reloaded = false;
    let mut trim = false;
    let mut out_buf: Vec<u8> = Vec::new();
    // The status, Prometheus and NFD files, each swapped with a spare at every probe.
    let mut files = [Swapped::new(), Swapped::new(), Swapped::new()];
    tracing::info!(interval = ?opts.interval, status = %opts.status.display(), "virtprobe serve starting");
    loop {
        if hup.swap(false, Ordering::SeqCst) {
            let _ = sd_notify::notify(&[
                sd_notify::NotifyState::Reloading,
                sd_notify::NotifyState::monotonic_usec_now()
                    .unwrap_or(sd_notify::NotifyState::Status("reloading")),
            ]);
            match load_table(opts.data.as_deref()) {
                Ok(t) => {
                    tracing::info!(source = %t.source, technologies = t.technologies.len(), "data file reloaded");
                    table = t;
                    needs = table.needs();
                    crate::probe::keep_stable_facts(true);
                    reloaded = true;
                    trim = true;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reloading the data file failed; keeping the previous table")
                }
            }
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
        }
        let started = Instant::now();
        let report = match open_host(opts.root.as_deref()).map(|fs| {
            let live = live_sources(&fs);
            let probed = crate::probe::probe(&fs, live.as_ref(), &needs);
            // The same facts and the same table give the same report but for its time: build it
            // again only on a change. (The previous report is moved in and out, never copied.)
            let report = match previous.take() {
                Some((facts, mut report)) if facts == probed.facts && !reloaded => {
                    report.generated_at = crate::report::timestamp();
                    (report, false)
                }
                _ => (
                    crate::report::build(&probed, &table, &crate::root_label(&fs)),
                    true,
                ),
            };
            reloaded = false;
            (probed.facts, report)
        }) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "probe failed");
                None
            }
        };
        let took = started.elapsed();
        probes += 1;
        if let Some((facts, (report, fresh))) = report {
            let mut changed = false;
            if fresh {
                head = None;
                line = summary(&report);
                let now_verdicts: Vec<(Text, Verdict)> = report
                    .technologies
                    .iter()
                    .map(|t| (t.id.clone(), t.verdict))
                    .collect();
                changed = last.as_ref() != Some(&now_verdicts);
                if changed {
                    changes = match &last {
                        Some(prev) => now_verdicts
                            .iter()
                            .filter_map(|(id, v)| {
                                let before = prev.iter().find(|(p, _)| p == id).map(|(_, pv)| *pv);
                                (before != Some(*v)).then(|| Change {
                                    id: id.to_string(),
                                    from: before.unwrap_or(Verdict::Unknown),
                                    to: *v,
                                })
                            })
                            .collect(),
                        None => Vec::new(),
                    };
                    changed_at = report.generated_at.clone();
                    if last.is_some() {
                        tracing::info!(changes = changes.len(), "verdicts changed");
                    }
                    last = Some(now_verdicts);
                }
            }
            let mut status = Status {
                service: ServiceInfo {
                    verdicts_changed_at: std::mem::take(&mut changed_at),
                    changes: std::mem::take(&mut changes),
                    probes,
                    probe_duration_seconds: took.as_secs_f64(),
                    interval_seconds: opts.interval.as_secs_f64(),
                },
                report,
            };
            if head.is_none() {
                match status_head(&status.report, &mut head_buf) {
                    Ok(()) => {
                        head_generation += 1;
                        head = Some(head_generation);
                    }
                    Err(e) => tracing::error!(error = %e, "cannot serialise the status"),
                }
            }
            write_outputs(
                &opts,
                &status,
                head.map(|g| (g, &head_buf[..])),
                took,
                changed,
                &mut out_buf,
                &mut files,
            );
            changed_at = std::mem::take(&mut status.service.verdicts_changed_at);
            changes = std::mem::take(&mut status.service.changes);
            previous = Some((facts, status.report));
            if !notified_ready {
                let _ = sd_notify::notify(&[
                    sd_notify::NotifyState::Ready,
                    sd_notify::NotifyState::Status(&line),
                ]);
                notified_ready = true;
            } else if fresh {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&line)]);
            }
        }
        // Give freed heap back now and then, so fragments cannot pile up however long the service
        // runs; trimming every cycle would also hand back the pages the next probe is about to
        // use again (a page fault each). After a reload, the old table's memory goes back at once.
        if probes % TRIM_EVERY == 1 || std::mem::take(&mut trim) {
            trim_heap();
        }
        if opts.cycles > 0 && probes >= opts.cycles {
            break;
        }
        // Sleep until the next thing to do: watch the stop flag, ping the watchdog, check for
        // changes. (With an interval shorter than the check's period the next probe comes first:
        // no signature.)
        let deadline = Instant::now() + opts.interval;
        let mut next_check = Instant::now() + CHANGE_CHECK;
        let signature =
            (opts.interval > CHANGE_CHECK).then(|| change_signature(opts.root.as_deref()));
        let mut next_ping = Instant::now();
        loop {
            if term.load(Ordering::SeqCst) {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                tracing::info!("stopping");
                finish(&opts, &mut files);
                return Ok(());
            }
            if hup.load(Ordering::SeqCst) {
                break;
            }
            let now = Instant::now();
            if let Some(wd) = watchdog
                && now >= next_ping
            {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                next_ping = now + wd / 3;
            }
            if now >= deadline {
                break;
            }
            if now >= next_check
                && let Some(signature) = signature
            {
                next_check = now + CHANGE_CHECK;
                if change_signature(opts.root.as_deref()) != signature {
                    tracing::info!("/dev/kvm or the module set changed: probing now");
                    break;
                }
            }
            let mut until = deadline;
            if signature.is_some() {
                until = until.min(next_check);
            }
            if watchdog.is_some() {
                until = until.min(next_ping);
            }
            wake.sleep_until(until);
        }
        if term.load(Ordering::SeqCst) {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            finish(&opts, &mut files);
            return Ok(());
        }
    }
    finish(&opts, &mut files);
    Ok(())
}

/// The outputs' paths, in the order of the writers kept for them.
fn output_paths(opts: &Options) -> [Option<&Path>; 3] {
    [
        Some(opts.status.as_path()),
        opts.prometheus.as_deref(),
        opts.nfd.as_deref(),
    ]
}

/// Remove the outputs' spares; the outputs stay.
fn finish(opts: &Options, files: &mut [Swapped; 3]) {
    for (path, file) in output_paths(opts).into_iter().zip(files) {
        if let Some(path) = path {
            file.finish(path);
        }
    }
}

/// Write the three outputs (the status from its serialised head, `None` when that failed);
/// `durable` when the verdicts changed (or on the first probe): the
/// probes in between change only counters and times, which need not survive a crash.
fn write_outputs(
    opts: &Options,
    status: &Status,
    head: Option<(u64, &[u8])>,
    took: Duration,
    durable: bool,
    buf: &mut Vec<u8>,
    files: &mut [Swapped; 3],
) {
    let [status_file, prometheus_file, nfd_file] = files;
    // One buffer for every output of every probe, reused.
    if let Some((generation, head)) = head {
        match status_tail(status, buf) {
            Ok(()) => {
                if let Err(e) =
                    status_file.write_parts(&opts.status, head, buf, Some(generation), durable)
                {
                    tracing::error!(path = %opts.status.display(), error = %e, "cannot write the status file; keeping the last good one, retrying next probe");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot serialise the status"),
        }
    }
    let now = SystemTime::now();
    let ctx = render::Context {
        color: false,
        pretty: false,
        duration: Some(took),
        finished: Some(now),
        expiry: Some(now + (opts.interval * 3).max(Duration::from_secs(60))),
    };
    let outputs: [(&Option<PathBuf>, &dyn Render, &mut Swapped); 2] = [
        (&opts.prometheus, &render::Prometheus, prometheus_file),
        (&opts.nfd, &render::Nfd, nfd_file),
    ];
    for (path, r, file) in outputs {
        let Some(path) = path else { continue };
        buf.clear();
        if r.render(&status.report, &ctx, &mut *buf).is_ok()
            && let Err(e) = file.write(path, buf, durable)
        {
            tracing::error!(path = %path.display(), error = %e, "cannot write output; retrying next probe");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status file spliced from its head and tail is the `Status` itself.
    #[test]
    fn status_view_is_the_status() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hosts/intel-vtx");
        let table = crate::rules::Table::embedded();
        let report = crate::run_with(&root, None, &table).unwrap();
        let status = Status {
            report,
            service: ServiceInfo {
                verdicts_changed_at: "2026-11-25T00:00:00Z".into(),
                changes: vec![Change {
                    id: "kvm".into(),
                    from: Verdict::Unknown,
                    to: Verdict::Ready,
                }],
                probes: 7,
                probe_duration_seconds: 0.25,
                interval_seconds: 60.0,
            },
        };
        let (mut head, mut tail) = (Vec::new(), Vec::new());
        status_head(&status.report, &mut head).unwrap();
        status_tail(&status, &mut tail).unwrap();
        let file = [head, tail].concat();
        assert!(file.ends_with(b"}\n"));
        let view: serde_json::Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(view, serde_json::to_value(&status).unwrap());
    }
}
