//! Containers and OS-level virtualization: OpenVZ and Linux-VServer roles, and the container
//! this Linux runs in.
//!
//! Reads `/proc/vz`, `/proc/bc` (OpenVZ), `VxID` in `/proc/self/status` and `/proc/virtual`
//! (Linux-VServer; `s_context` before VServer 2.0), then the container markers in systemd's order:
//! `/run/host/container-manager`, `/run/systemd/container`, `container=` in `/proc/1/environ`,
//! `/run/.containerenv`, `/.dockerenv` (`/.dockerinit` before Docker 1.10), and the cgroup paths in
//! `/proc/1/cgroup` and `/proc/self/cgroup`.

use super::{Found, Virt};
use crate::host::{HostFs, ReadError};
use crate::sources::Notes;

/// The OpenVZ and Linux-VServer roles (`host`, `container`/`guest`, `none`), each an error
/// when a marker could not be read for a reason other than "not found".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// OpenVZ: `host`, `container` or `none`.
    pub openvz: Result<&'static str, String>,
    /// Linux-VServer: `host`, `guest` or `none`.
    pub vserver: Result<&'static str, String>,
    /// The VxID read, if any.
    pub vxid: Option<String>,
}

/// Read the OpenVZ and Linux-VServer markers.
pub fn roles(fs: &HostFs) -> Roles {
    let text = |e: ReadError| e.to_string();
    let openvz = fs.exists("/proc/vz").and_then(|vz| {
        Ok(match (vz, fs.exists("/proc/bc")?) {
            (true, true) => "host",
            (true, false) => "container",
            _ => "none",
        })
    });
    // `VxID` since VServer 2.0, `s_context` before it.
    let status = match fs.read_string("/proc/self/status") {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    };
    let vxid = status.as_ref().ok().and_then(Option::as_ref).and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("VxID:")
                .or_else(|| l.strip_prefix("s_context:"))
                .map(|v| v.trim().to_string())
        })
    });
    let vserver = match (vxid.as_deref(), status) {
        (Some("0"), _) => Ok("host"),
        (Some(_), _) => Ok("guest"),
        (None, status) => match fs.exists("/proc/virtual") {
            Ok(true) => Ok("host"),
            Ok(false) => status.map(|_| "none"),
            Err(e) => Err(e),
        },
    };
    Roles {
        openvz: openvz.map_err(text),
        vserver: vserver.map_err(text),
        vxid,
    }
}

/// The container this Linux runs in, systemd's order plus the cgroup and VServer markers.
pub fn detect(
    fs: &HostFs,
    release: Option<&str>,
    roles: &Roles,
    notes: &mut Notes,
) -> Option<Found> {
    let mut oci = false;
    openvz(roles)
        .or_else(|| wsl(release))
        .or_else(|| manager_files(fs))
        .or_else(|| pid1_environment(fs, &mut oci, notes))
        .or_else(|| marker_files(fs))
        .or_else(|| cgroup_paths(fs))
        .or_else(|| vserver(roles))
        // `container=oci` names no manager: when no marker told which, it is still a container.
        .or_else(|| oci.then(|| Found::new(Virt::ContainerOther, "/proc/1/environ container=oci")))
}

fn openvz(roles: &Roles) -> Option<Found> {
    (roles.openvz == Ok("container"))
        .then(|| Found::new(Virt::Openvz, "/proc/vz present, /proc/bc absent"))
}

fn wsl(release: Option<&str>) -> Option<Found> {
    let r = release.filter(|r| r.contains("Microsoft") || r.contains("WSL"))?;
    Some(Found::new(Virt::Wsl, format!("kernel release {r:?}")))
}

/// What systemd and container managers write for their payload.
fn manager_files(fs: &HostFs) -> Option<Found> {
    ["/run/host/container-manager", "/run/systemd/container"]
        .into_iter()
        .find_map(|p| {
            let v = fs
                .read_trimmed(p)
                .ok()
                .filter(|v| !v.is_empty() && v != "oci")?;
            Some(Found::new(container_word(&v), format!("{p} = {v:?}")))
        })
}

/// `container=` in PID 1's environment (readable by root or PID 1's user).
fn pid1_environment(fs: &HostFs, oci: &mut bool, notes: &mut Notes) -> Option<Found> {
    let env = match fs.read("/proc/1/environ") {
        Ok(env) => env,
        Err(e @ ReadError::PermissionDenied(_)) => {
            fs.handled(&e);
            let missing = super::super::privilege::environ_refused(fs);
            notes.needs_privilege.push(format!(
                "reading container= from /proc/1/environ: {missing} (the other container markers were still read)"
            ));
            return None;
        }
        Err(_) => return None,
    };
    let env = String::from_utf8_lossy(&env);
    let v = env
        .split('\0')
        .find_map(|kv| kv.strip_prefix("container="))?;
    *oci = v == "oci";
    let v = Some(v).filter(|v| !v.is_empty() && *v != "oci")?;
    Some(Found::new(
        container_word(v),
        format!("/proc/1/environ container={v}"),
    ))
}

fn marker_files(fs: &HostFs) -> Option<Found> {
    if fs.present("/run/.containerenv") {
        return Some(Found::new(Virt::Podman, "/run/.containerenv exists"));
    }
    if fs.present("/.dockerenv") {
        return Some(Found::new(Virt::Docker, "/.dockerenv exists"));
    }
    // Docker before 1.10 (virt-what, Ohai).
    if fs.present("/.dockerinit") {
        return Some(Found::new(Virt::Docker, "/.dockerinit exists"));
    }
    None
}

/// The cgroup paths of PID 1 and of this process (`/proc/*/cgroup`, parsed by procfs-core).
fn cgroup_paths(fs: &HostFs) -> Option<Found> {
    use procfs::FromBufRead;
    ["/proc/1/cgroup", "/proc/self/cgroup"]
        .into_iter()
        .find_map(|p| {
            let t = fs.read_string(p).ok()?;
            let groups = t
                .lines()
                .filter_map(|l| procfs::ProcessCGroups::from_buf_read(l.as_bytes()).ok())
                .flat_map(|g| g.0);
            groups.map(|g| g.pathname).find_map(|path| {
                let (_, word, what) = CGROUP_MARKERS.iter().find(|(m, _, _)| path.contains(m))?;
                Some(Found::new(*word, format!("{p} names {what}")))
            })
        })
}

/// Parts of a cgroup path that name the container manager, in the order tried.
const CGROUP_MARKERS: &[(&str, Virt, &str)] = &[
    ("/libpod-", Virt::Podman, "a libpod cgroup"),
    ("/docker/", Virt::Docker, "a docker cgroup"),
    ("/docker-", Virt::Docker, "a docker cgroup"),
    ("/lxc/", Virt::Lxc, "an lxc cgroup"),
    ("lxc.payload", Virt::Lxc, "an lxc cgroup"),
];

fn vserver(roles: &Roles) -> Option<Found> {
    (roles.vserver == Ok("guest")).then(|| {
        Found::new(
            Virt::LinuxVserver,
            format!(
                "/proc/self/status VxID: {}",
                roles.vxid.clone().unwrap_or_default()
            ),
        )
    })
}

/// The container a manager's name stands for (`lxc-…` is LXC, an unknown name a container).
fn container_word(v: &str) -> Virt {
    match Virt::from_word(v.trim()) {
        Some(Virt::LxcLibvirt) => Virt::LxcLibvirt,
        _ if v.trim().starts_with("lxc") => Virt::Lxc,
        Some(
            w @ (Virt::SystemdNspawn
            | Virt::Docker
            | Virt::Podman
            | Virt::Rkt
            | Virt::Wsl
            | Virt::Proot
            | Virt::Pouch),
        ) => w,
        _ => Virt::ContainerOther,
    }
}
