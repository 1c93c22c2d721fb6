//! Facts: the sources' typed findings as the named values the rules read.
//!
//! A fact has a dotted name (`cpu.flags`, `kernel.config`, `kvm.create_vm`…), a value or the
//! reason it is unknown, and the source it came from (a file path, `cpuid`, an ioctl). Rules
//! never see files, only facts, so a fact that could not be read makes the rules that need it
//! `unknown` instead of failing them. [`collect`] is the one place that names them; [`registry`]
//! lists them. Reads no host files.

pub mod registry;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::sources::{Probed, Reading};
use crate::version::KVersion;
pub use registry::{FACTS, FactDef, Kind};

/// A fact's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Yes or no.
    Bool(bool),
    /// A number.
    Int(i64),
    /// A word or a line.
    Str(String),
    /// A kernel-style version.
    Version(KVersion),
    /// A set of names (CPU flags, modules, installed tools, existing paths).
    Set(BTreeSet<String>),
    /// Names with values (kernel config, module parameters).
    Map(BTreeMap<String, String>),
}

impl Value {
    /// The kind of value.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Str(_) => Kind::Str,
            Value::Version(_) => Kind::Version,
            Value::Set(_) => Kind::Set,
            Value::Map(_) => Kind::Map,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Version(v) => write!(f, "{v}"),
            Value::Set(s) => write!(f, "{} entries", s.len()),
            Value::Map(m) => write!(f, "{} entries", m.len()),
        }
    }
}

/// One fact: a value or why it is unknown, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The value, or the reason it could not be read.
    pub value: Result<Value, String>,
    /// Where it came from: a host path, `cpuid`, `ioctl /dev/kvm`, `uname`…
    pub source: String,
    /// Unknown because it could not be tried here (a captured tree, another user), not because
    /// something failed: the rules that need it are "not tried", and do not lower a verdict.
    pub not_tried: bool,
}

/// All facts of one probe, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    map: BTreeMap<&'static str, Fact>,
}

impl Facts {
    /// Record a value.
    pub fn set(&mut self, name: &'static str, value: Value, source: impl Into<String>) {
        self.map.insert(
            name,
            Fact {
                value: Ok(value),
                source: source.into(),
                not_tried: false,
            },
        );
    }

    /// Record that a fact is unknown, and why.
    pub fn unknown(
        &mut self,
        name: &'static str,
        why: impl Into<String>,
        source: impl Into<String>,
    ) {
        self.map.insert(
            name,
            Fact {
                value: Err(why.into()),
                source: source.into(),
                not_tried: false,
            },
        );
    }

    /// Record that a fact could not be tried here, and why.
    pub fn not_tried(
        &mut self,
        name: &'static str,
        why: impl Into<String>,
        source: impl Into<String>,
    ) {
        self.unknown(name, why, source);
        if let Some(f) = self.map.get_mut(name) {
            f.not_tried = true;
        }
    }

    /// Record a source's reading, its value made a [`Value`].
    fn reading<T>(&mut self, name: &'static str, r: &Reading<T>, value: impl Fn(&T) -> Value) {
        match &r.value {
            Ok(v) => self.set(name, value(v), r.source.clone()),
            Err(why) if r.not_tried => self.not_tried(name, why.clone(), r.source.clone()),
            Err(why) => self.unknown(name, why.clone(), r.source.clone()),
        }
    }

    /// A fact by name.
    pub fn get(&self, name: &str) -> Option<&Fact> {
        self.map.get(name)
    }

    /// A string fact's value, when known.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name).map(|f| &f.value) {
            Some(Ok(Value::Str(s))) => Some(s),
            _ => None,
        }
    }

    /// All facts, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Fact)> {
        self.map.iter().map(|(k, v)| (*k, v))
    }
}

fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Name the sources' findings.
pub fn collect(p: &Probed) -> Facts {
    let mut f = Facts::default();
    cpu(&mut f, p);
    let s = &p.system;
    f.reading("arch", &s.arch, |s| text(s));
    f.reading("host.name", &s.hostname, |s| text(s));
    f.set("path", Value::Set(s.paths.clone()), "stat");
    f.reading("iommu.groups", &s.iommu, |n| Value::Int(*n));
    f.reading("tun.open", &s.tun, |b| Value::Bool(*b));
    match &s.user {
        Some(u) => {
            f.set("user.root", Value::Bool(u.uid == 0), "geteuid");
            let groups = u.gids.iter().map(|g| g.to_string()).collect();
            f.set("user.groups", Value::Set(groups), "getgroups");
        }
        None => {
            let why = "captured tree: invoking user not recorded";
            f.not_tried("user.root", why, "geteuid");
            f.not_tried("user.groups", why, "getgroups");
        }
    }
    kernel(&mut f, p);
    kvm(&mut f, p);
    virt(&mut f, p);
    let c = &p.cgroups;
    f.reading("cgroup.version", &c.version, |s| text(s));
    f.reading("cgroup.controllers", &c.controllers, |s| {
        Value::Set(s.clone())
    });
    f.reading("ns.available", &c.namespaces, |s| Value::Set(s.clone()));
    f.reading("userns.max", &c.userns_max, |n| Value::Int(*n));
    f.set("userns.subids", Value::Bool(c.subids), "/etc/subuid");
    f.set(
        "tool",
        Value::Map(p.tools.clone()),
        crate::sources::tools::SOURCE,
    );
    f
}

fn cpu(f: &mut Facts, p: &Probed) {
    const CPUINFO: &str = "/proc/cpuinfo";
    match &p.cpu_problem {
        Some(why) => {
            for name in ["cpu.vendor", "cpu.model", "cpu.flags"] {
                f.unknown(name, why.clone(), CPUINFO);
            }
        }
        None => {
            let c = &p.cpu;
            let field = |v: &Option<String>| match v {
                Some(s) => Reading::known(s.clone(), CPUINFO),
                None => Reading::unknown(format!("{CPUINFO}: no such field"), CPUINFO),
            };
            f.reading("cpu.vendor", &field(&c.vendor), |s| text(s));
            f.reading("cpu.model", &field(&c.model), |s| text(s));
            f.set("cpu.flags", Value::Set(c.flags.clone()), CPUINFO);
            f.set("cpu.count", Value::Int(c.count as i64), CPUINFO);
            let platform = c.platform.clone().unwrap_or_default();
            f.set(
                "cpu.platform",
                Value::Str(platform),
                "/proc/cpuinfo platform",
            );
        }
    }
    let x = &p.extension;
    let name = x.name.unwrap_or("none").to_string();
    f.set("cpu.virt_extension", Value::Str(name), x.evidence.clone());
    let state = x.state.as_str().to_string();
    f.set(
        "cpu.virt_extension_state",
        Value::Str(state),
        x.evidence.clone(),
    );
    match &p.cpuid {
        Some(c) => {
            f.set("cpuid.vmx", Value::Bool(c.vmx), "cpuid leaf 1 ecx bit 5");
            f.set(
                "cpuid.svm",
                Value::Bool(c.svm),
                "cpuid leaf 0x80000001 ecx bit 2",
            );
            f.set(
                "cpuid.hypervisor",
                Value::Bool(c.hypervisor),
                "cpuid leaf 1 ecx bit 31",
            );
            let sig = c.signature.clone().unwrap_or_default();
            f.set(
                "cpuid.hypervisor_signature",
                Value::Str(sig),
                "cpuid leaf 0x40000000",
            );
        }
        None => {
            for name in [
                "cpuid.vmx",
                "cpuid.svm",
                "cpuid.hypervisor",
                "cpuid.hypervisor_signature",
            ] {
                f.unknown(name, p.cpuid_missing, "cpuid");
            }
        }
    }
}

fn kernel(f: &mut Facts, p: &Probed) {
    let k = &p.kernel;
    f.reading("kernel.release", &k.release, |s| text(s));
    f.reading("kernel.version", &k.version, |v| Value::Version(*v));
    if let Some(c) = &k.config {
        f.reading("kernel.config", c, |m| Value::Map(m.clone()));
    }
    let found = k.config.as_ref().is_some_and(|c| c.value.is_ok());
    let source = k
        .config
        .as_ref()
        .map_or("no config options asked for", |c| c.source.as_str());
    f.set("kernel.config_found", Value::Bool(found), source);
    f.reading("kernel.modules", &k.modules, |s| Value::Set(s.clone()));
    f.reading("kernel.module_support", &k.module_support, |b| {
        Value::Bool(*b)
    });
    f.reading("kernel.cmdline", &k.cmdline, |s| text(s));
    f.set(
        "module.param",
        Value::Map(k.params.clone()),
        "/sys/module/*/parameters",
    );
}

fn kvm(f: &mut Facts, p: &Probed) {
    let Some(k) = &p.kvm.outcome else {
        f.set("kvm.device", Value::Bool(p.kvm.device_exists), "/dev/kvm");
        let why = "captured tree: virtprobe-live.json has no KVM check";
        for name in [
            "kvm.open",
            "kvm.create_vm",
            "kvm.create_vcpu",
            "kvm.api_version",
        ] {
            f.not_tried(name, why, "ioctl /dev/kvm");
        }
        f.not_tried("kvm.group_access", why, "stat /dev/kvm");
        return;
    };
    let src = p.kvm.source;
    f.set("kvm.device", Value::Bool(k.exists), src);
    if let (Some(mode), Some(gid)) = (k.mode, k.gid) {
        let access = gid != 0 && mode & 0o060 == 0o060;
        let shown = format!("/dev/kvm mode {mode:o}, group {gid}");
        f.set("kvm.group_access", Value::Bool(access), shown);
    } else {
        f.unknown("kvm.group_access", "/dev/kvm's owner not recorded", src);
    }
    // The check ran: with no /dev/kvm nothing can be opened or created, which is a fact.
    for (name, v) in [
        ("kvm.open", k.open),
        ("kvm.create_vm", k.create_vm),
        ("kvm.create_vcpu", k.create_vcpu),
    ] {
        match (v, k.exists) {
            (Some(b), _) => f.set(name, Value::Bool(b), src),
            (None, false) => f.set(name, Value::Bool(false), "/dev/kvm does not exist"),
            (None, true) => f.unknown(name, "not reached", src),
        }
    }
    match k.api_version {
        Some(v) => f.set("kvm.api_version", Value::Int(v), src),
        None => f.unknown("kvm.api_version", "not reached", src),
    }
    let error = k.error.clone().unwrap_or_default();
    f.set("kvm.error", Value::Str(error), src);
}

fn virt(f: &mut Facts, p: &Probed) {
    let v = &p.virt;
    for (name, r) in [
        ("virt.hypervisor", &v.hypervisor),
        ("virt.container", &v.container),
        ("virt.xen_role", &v.xen_role),
        ("virt.s390_layers", &v.s390_layers),
        ("virt.ppc_lpar", &v.ppc_lpar),
        ("dmi.sys_vendor", &v.dmi_sys_vendor),
        ("dmi.product_name", &v.dmi_product_name),
        ("dt.model", &v.dt_model),
        ("dt.compatible", &v.dt_compatible),
        ("openvz.role", &v.openvz_role),
        ("vserver.role", &v.vserver_role),
    ] {
        f.reading(name, r, |s| text(s));
    }
}
