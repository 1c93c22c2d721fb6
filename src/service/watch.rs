//! What wakes `virtprobe serve` between full probes, so that a change is seen at once without a
//! periodic look:
//!
//! 1. inotify on the folders of every path the last probe looked at (found or not: `/dev` for
//!    the KVM, TUN and vhost nodes, the folders searched for tools, `/etc` for `/etc/subuid`…),
//!    each for the names in it the probe read, and on the data file's folder. A folder that does
//!    not exist is watched through its nearest existing parent. The device nodes under `/dev`
//!    are watched themselves too: one bind-mounted in (a container's `/dev/kvm`) tells its
//!    folder nothing when its mode or owner changes. Folders are opened through the
//!    host layer (under the root, confined) and watched as `/proc/self/fd/N`. `/proc` and `/sys`
//!    of a running host give no such events; the two sources below stand in for them.
//! 2. Kernel uevents (netlink) for modules loaded and removed and misc devices (`kvm`, `tun`,
//!    `vhost-*`) added or removed: the running host only.
//! 3. `POLLPRI` on `/proc/self/mountinfo`: a mount or unmount in this mount namespace over a path
//!    the probe looked at or a folder above one (a bind mount over `/dev/kvm`, cgroup file
//!    systems; [`super::mounts`]): the running host only.
//! 4. SIGTERM, SIGINT (stop) and SIGHUP (reload the data file), through signal-hook's pipes.
//!
//! In `--root` mode only the tree's folders are watched (a captured tree has no kernel of its
//! own). What cannot be set up is logged once, and the interval's full probe covers it.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags};
use rustix::io::Errno;

use super::mounts::{self, MountTable};
use super::paths::{Watch, merge, watch_flags, watch_paths};
use crate::host::{HostFs, Looked};

/// What woke the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// SIGTERM or SIGINT.
    Stop,
    /// SIGHUP, or the data file changed: load it again, then probe.
    Reload(String),
    /// Something the probe reads changed: what.
    Changed(String),
}

/// The events the service waits on; see the module docs.
pub struct Watcher {
    inotify: Option<OwnedFd>,
    watches: HashMap<i32, Watch>,
    uevents: Option<OwnedFd>,
    mounts: Option<MountTable>,
    /// The paths the last probe looked at, as this process sees them (under `--host-root`, with
    /// that folder in front): a mount over one of them matters.
    looked: BTreeSet<String>,
    stop: UnixStream,
    reload: UnixStream,
    signals: Vec<signal_hook::SigId>,
    /// The data file's folder and name, when `--data` names one.
    data: Option<(PathBuf, String)>,
    /// The outputs' file names: their writes never wake the service.
    outputs: Vec<String>,
    /// Folders that could not be watched, said once each.
    warned: BTreeSet<String>,
}

impl Watcher {
    /// Set up the signals and the event sources; `live` is false for a captured tree.
    pub fn new(live: bool, data: Option<&Path>, outputs: &[&Path]) -> io::Result<Watcher> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let (stop, stop_w) = UnixStream::pair()?;
        let (reload, reload_w) = UnixStream::pair()?;
        stop.set_nonblocking(true)?;
        reload.set_nonblocking(true)?;
        let signals = vec![
            signal_hook::low_level::pipe::register(SIGTERM, stop_w.try_clone()?)?,
            signal_hook::low_level::pipe::register(SIGINT, stop_w)?,
            signal_hook::low_level::pipe::register(SIGHUP, reload_w)?,
        ];
        let inotify = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)
            .inspect_err(|e| tracing::warn!(error = %e, "cannot watch files (inotify): changes are seen at the interval's probe"))
            .ok();
        let (uevents, mounts) = if live {
            let uevents = super::uevent::socket()
                .inspect_err(|e| tracing::warn!(error = %e, "cannot listen to kernel uevents: module loads are seen at the interval's probe"))
                .ok();
            let mounts = MountTable::open()
                .inspect_err(|e| tracing::warn!(error = %e, "cannot watch /proc/self/mountinfo: mounts are seen at the interval's probe"))
                .ok();
            (uevents, mounts)
        } else {
            (None, None)
        };
        let data = data.and_then(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let folder = p.parent().filter(|f| !f.as_os_str().is_empty());
            Some((folder.unwrap_or(Path::new(".")).to_path_buf(), name))
        });
        let outputs = outputs
            .iter()
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_string()))
            .collect();
        Ok(Watcher {
            inotify,
            watches: HashMap::new(),
            uevents,
            mounts,
            stop,
            reload,
            signals,
            data,
            outputs,
            warned: BTreeSet::new(),
            looked: BTreeSet::new(),
        })
    }

    /// Watch the folders of what a probe looked at (and the data file's, and for a probe with
    /// live sources the device nodes they open in this process's own `/dev`), and stop watching
    /// those it no longer needs. Returns how many folders are watched that were not before: a
    /// change there between the probe's read and now was missed, so the caller probes again.
    pub fn arm(&mut self, fs: &HostFs, looked: &Looked) -> usize {
        let root = fs.root().to_string_lossy();
        let root = if fs.is_live() {
            ""
        } else {
            root.trim_end_matches('/')
        };
        self.looked = looked.paths.iter().map(|p| format!("{root}{p}")).collect();
        self.looked
            .extend(crate::host::live::LIVE_PATHS.iter().map(|p| p.to_string()));
        let Some(ino) = &self.inotify else { return 0 };
        let mut watches = HashMap::new();
        let mut failed = Vec::new();
        watch_paths(ino, fs, looked, &mut watches, &mut failed);
        if fs.has_live_sources()
            && let Ok(own) = HostFs::live()
        {
            let paths = crate::host::live::LIVE_PATHS.iter().map(|p| p.to_string());
            let looked = Looked {
                paths: paths.collect(),
                ..Looked::default()
            };
            watch_paths(ino, &own, &looked, &mut watches, &mut failed);
        }
        if let Some((folder, name)) = &self.data {
            match inotify::add_watch(ino, folder.as_path(), watch_flags()) {
                Ok(wd) => {
                    let names = Some(BTreeSet::from([name.clone()]));
                    merge(&mut watches, wd, folder.display().to_string(), names, true)
                }
                Err(e) => failed.push((folder.display().to_string(), e)),
            }
        }
        for (path, e) in failed {
            // Said once per path; a device node the service may not open (its cgroup's device
            // policy) is watched through its folder, so that is no news.
            if path.starts_with("/dev/") {
                tracing::debug!(path, error = %e, "cannot watch a device node itself");
            } else if self.warned.insert(path.clone()) {
                tracing::warn!(path, error = %e, "cannot watch a folder: changes there are seen at the interval's probe");
            }
        }
        for wd in self.watches.keys() {
            if !watches.contains_key(wd) {
                let _ = inotify::remove_watch(ino, *wd);
            }
        }
        let before: BTreeSet<&str> = self.watches.values().map(|w| w.folder.as_str()).collect();
        let added = watches
            .values()
            .filter(|w| !before.contains(w.folder.as_str()))
            .count();
        tracing::debug!(folders = watches.len(), added, "watching");
        self.watches = watches;
        added
    }

    /// Wait at most `timeout` (`None`: until something happens) and say what happened.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Vec<Wake> {
        let ts = timeout.map(|t| Timespec {
            tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: t.subsec_nanos().into(),
        });
        let mut fds = vec![
            PollFd::new(&self.stop, PollFlags::IN),
            PollFd::new(&self.reload, PollFlags::IN),
        ];
        let sources = [
            self.inotify.as_ref().map(|f| (f.as_fd(), PollFlags::IN)),
            self.uevents.as_ref().map(|f| (f.as_fd(), PollFlags::IN)),
            self.mounts
                .as_ref()
                .map(|m| (m.file().as_fd(), PollFlags::PRI)),
        ];
        fds.extend(
            sources
                .iter()
                .flatten()
                .map(|(fd, flags)| PollFd::from_borrowed_fd(*fd, *flags)),
        );
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(0) | Err(Errno::INTR) => return Vec::new(),
            Ok(_) => {}
            Err(e) => {
                // Not expected; sleep rather than spin.
                tracing::error!(error = %e, "poll failed");
                std::thread::sleep(
                    timeout
                        .unwrap_or(Duration::from_secs(1))
                        .min(Duration::from_secs(1)),
                );
                return Vec::new();
            }
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let mut ready = ready.into_iter();
        let mut wakes = Vec::new();
        if ready.next() == Some(true) && drain(&mut self.stop) {
            wakes.push(Wake::Stop);
        }
        if ready.next() == Some(true) && drain(&mut self.reload) {
            wakes.push(Wake::Reload("SIGHUP".into()));
        }
        if self.inotify.is_some() && ready.next() == Some(true) {
            self.read_inotify(&mut wakes);
        }
        if self.uevents.is_some() && ready.next() == Some(true) {
            self.read_uevents(&mut wakes);
        }
        if self.mounts.is_some() && ready.next() == Some(true) {
            self.read_mounts(&mut wakes);
        }
        wakes
    }

    fn read_inotify(&mut self, wakes: &mut Vec<Wake>) {
        let Some(ino) = &self.inotify else { return };
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 8192];
        let mut reader = inotify::Reader::new(ino, &mut buf);
        loop {
            let event = match reader.next() {
                Ok(e) => e,
                Err(Errno::AGAIN | Errno::INTR) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "reading inotify events failed");
                    break;
                }
            };
            let flags = event.events();
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                wakes.push(Wake::Changed("too many file events at once".into()));
                continue;
            }
            let Some(w) = self.watches.get(&event.wd()) else {
                continue;
            };
            let name = event
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let folder_went = flags
                .intersects(ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF | ReadFlags::IGNORED);
            let matters = folder_went
                || (w.names.as_ref().is_none_or(|n| n.contains(&name))
                    && !self
                        .outputs
                        .iter()
                        .any(|o| &name == o || crate::outdir::is_temp_of(&name, o)));
            if !matters {
                continue;
            }
            let what = if folder_went || name.is_empty() {
                w.folder.clone()
            } else {
                format!("{}/{name}", w.folder.trim_end_matches('/'))
            };
            let how = describe(flags);
            wakes.push(if w.data {
                Wake::Reload(format!("{what} {how}"))
            } else {
                Wake::Changed(format!("{what} {how}"))
            });
        }
    }

    fn read_mounts(&mut self, wakes: &mut Vec<Wake>) {
        let Some(m) = &mut self.mounts else { return };
        let Some(points) = m.changed() else {
            wakes.push(Wake::Changed(
                "the mount table changed (and could not be read)".into(),
            ));
            return;
        };
        for point in points {
            if self.looked.iter().any(|p| mounts::covers(&point, p)) {
                wakes.push(Wake::Changed(format!("a mount at {point} changed")));
            }
        }
    }

    fn read_uevents(&mut self, wakes: &mut Vec<Wake>) {
        let Some(sock) = &self.uevents else { return };
        let mut buf = vec![0u8; 8192];
        loop {
            match rustix::net::recv(sock, &mut buf[..], rustix::net::RecvFlags::DONTWAIT) {
                Ok((n, _)) => {
                    if let Some(what) = super::uevent::matters(&buf[..n.min(buf.len())]) {
                        wakes.push(Wake::Changed(what));
                    }
                }
                Err(Errno::AGAIN | Errno::INTR) => break,
                // The socket's buffer overflowed: some were lost, so something changed.
                Err(Errno::NOBUFS) => wakes.push(Wake::Changed("kernel uevents were lost".into())),
                Err(e) => {
                    tracing::warn!(error = %e, "reading kernel uevents failed");
                    break;
                }
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        for id in self.signals.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

fn describe(flags: ReadFlags) -> &'static str {
    [
        (ReadFlags::CREATE, "appeared"),
        (ReadFlags::MOVED_TO, "appeared"),
        (ReadFlags::DELETE, "vanished"),
        (ReadFlags::MOVED_FROM, "vanished"),
        (ReadFlags::ATTRIB, "changed mode, owner or ACL"),
        (ReadFlags::MODIFY, "was written"),
    ]
    .iter()
    .find(|(f, _)| flags.contains(*f))
    .map_or("changed", |(_, w)| w)
}

/// Drain a signal pipe; whether it held anything.
fn drain(s: &mut UnixStream) -> bool {
    let mut buf = [0u8; 64];
    let mut any = false;
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        any = true;
    }
    any
}
