//! The report for a person.

use std::io::{self, Write};

use super::layout::hanging;
use super::{Context, Render, clean};
use crate::report::{LayerKind, Report, Role, Verdict};

/// A verdict word, coloured when asked.
pub fn paint(ctx: &Context, v: Verdict, text: &str) -> String {
    if !ctx.color {
        return text.to_string();
    }
    let code = match v {
        Verdict::Ready => "32",
        Verdict::Available => "36",
        Verdict::NeedsHostChange => "33",
        Verdict::Unsupported => "2",
        Verdict::Unknown => "35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn role(r: Option<Role>) -> &'static str {
    match r {
        Some(Role::Host) => "host",
        Some(Role::Guest) => "guest",
        None => "",
    }
}

/// The report for a person: the title and summary, the host, then the technologies grouped by
/// verdict (unsupported ones folded into one line of ids unless `all`), every line fitted to the
/// width.
pub struct Text;

/// A group's heading.
fn heading(v: Verdict) -> &'static str {
    match v {
        Verdict::Ready => "Ready",
        Verdict::Available => "Available",
        Verdict::NeedsHostChange => "Needs a host change",
        Verdict::Unsupported => "Unsupported",
        Verdict::Unknown => "Unknown",
    }
}

/// The headings of the technologies' columns: the id, this Linux's role for it (its `host` or
/// `guest`, when it is already one), and the one-line summary.
const HEADINGS: (&str, &str, &str) = ("TECHNOLOGY", "ROLE", "SUMMARY");

/// The order groups are shown in: what can be used first.
const GROUPS: [Verdict; 5] = [
    Verdict::Ready,
    Verdict::Available,
    Verdict::NeedsHostChange,
    Verdict::Unknown,
    Verdict::Unsupported,
];

impl Render for Text {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        let width = ctx.record_width();
        let what = if r.root == "/" {
            "this host".to_string()
        } else if ctx.host_root {
            format!("this host, its files read under {}", clean(&r.root))
        } else {
            format!("captured tree {}", clean(&r.root))
        };
        writeln!(
            out,
            "{}",
            hanging(
                "",
                &format!("virtprobe {} — {what}", r.virtprobe_version),
                width
            )
        )?;
        let counts: Vec<String> = GROUPS
            .iter()
            .map(|v| (v, r.technologies.iter().filter(|t| t.verdict == *v).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {}", v.as_str()))
            .collect();
        writeln!(
            out,
            "{}",
            hanging("", &format!("{}.", counts.join(", ")), width)
        )?;
        writeln!(out)?;
        for (label, value) in host_lines(r) {
            writeln!(
                out,
                "{}",
                hanging(&format!("  {label:<13} "), &value, width)
            )?;
        }
        let idw = r
            .technologies
            .iter()
            .map(|t| t.id.len())
            .chain([HEADINGS.0.len()])
            .max()
            .unwrap_or(10);
        let mut headed = false;
        for v in GROUPS {
            if !ctx.only.is_empty() && !ctx.only.contains(&v) {
                continue;
            }
            let group: Vec<_> = r.technologies.iter().filter(|t| t.verdict == v).collect();
            if group.is_empty() {
                continue;
            }
            let title = format!("{} ({})", heading(v), group.len());
            writeln!(out)?;
            if v == Verdict::Unsupported && !ctx.all && ctx.only.is_empty() {
                let ids: Vec<&str> = group.iter().map(|t| t.id.as_str()).collect();
                let line = format!(
                    "{}: {} (--all shows why)",
                    paint(ctx, v, &title),
                    ids.join(", ")
                );
                writeln!(
                    out,
                    "{}",
                    hanging("", &line, width + paint(ctx, v, "").len())
                )?;
                continue;
            }
            // The columns' headings, once, over the first group listed one by one.
            if !headed {
                let (id, role, summary) = HEADINGS;
                writeln!(out, "  {id:idw$}  {role:5}  {summary}")?;
                headed = true;
            }
            writeln!(out, "{}", paint(ctx, v, &title))?;
            for t in group {
                let first = format!("  {:idw$}  {:5}  ", t.id, role(t.detected));
                writeln!(out, "{}", hanging(&first, &clean(&t.summary), width))?;
            }
        }
        if !r.needs_privilege.is_empty() {
            writeln!(out, "\nLeft unread, permission denied:")?;
            for n in &r.needs_privilege {
                writeln!(out, "{}", hanging("  ", &clean(n), width))?;
            }
        }
        if !r.errors.is_empty() {
            writeln!(out, "\nCould not read ({}):", r.errors.len())?;
            for e in &r.errors {
                let line = format!("{}: {}", e.fact, clean(&e.message));
                writeln!(out, "{}", hanging("  ", &line, width))?;
            }
        }
        writeln!(
            out,
            "\n{}",
            hanging(
                "",
                "`virtprobe explain ID` shows every rule and its evidence; `virtprobe fix ID` the commands that make it ready here.",
                width
            )
        )
    }
}

/// The host block: label and value.
fn host_lines(r: &Report) -> Vec<(&'static str, String)> {
    let h = &r.host;
    let mut lines = vec![
        (
            "Architecture",
            format!(
                "{}, {} ({})",
                clean(h.arch.as_deref().unwrap_or("unknown")),
                clean(h.cpu.model.as_deref().unwrap_or("unknown model")),
                clean(h.cpu.vendor.as_deref().unwrap_or("unknown vendor"))
            ),
        ),
        (
            "Kernel",
            format!(
                "{} (config: {})",
                clean(h.kernel.release.as_deref().unwrap_or("unknown")),
                clean(h.kernel.config_source.as_deref().unwrap_or("not found"))
            ),
        ),
        (
            "VT extension",
            format!(
                "{} ({})",
                h.cpu.virt_extension.as_deref().unwrap_or("none"),
                h.cpu.virt_extension_state
            ),
        ),
    ];
    if let Some(os) = &h.os {
        let name = os.pretty_name.as_deref().unwrap_or(&os.id);
        lines.push(("Distribution", clean(name)));
    }
    if let Some(c) = &h.cloud {
        let kind = match &c.instance_type {
            Some(t) => format!("instance type {}", clean(t)),
            None => "instance type not in DMI".to_string(),
        };
        lines.push(("Cloud", format!("{} ({kind})", c.provider)));
    }
    let layers: Vec<String> = h
        .virtualization
        .layers
        .iter()
        .map(|l| {
            let kind = match l.kind {
                LayerKind::Host => "host",
                LayerKind::Container => "container",
                LayerKind::Hypervisor => "guest",
            };
            format!("{} {kind}", l.name)
        })
        .collect();
    let runs_in = if layers.is_empty() {
        "bare metal, no container".to_string()
    } else {
        layers.join(" › ")
    };
    lines.push(("Runs in", runs_in));
    if let Some(k) = &h.kvm {
        lines.push(("KVM", kvm_line(k)));
    }
    lines
}

/// The KVM check in one line, in words (`explain` names the ioctls: [`kvm_detail`]).
pub fn kvm_line(k: &crate::host::live::KvmOutcome) -> String {
    let mut line = match (k.exists, k.open, k.api_version, k.create_vm, k.create_vcpu) {
        (false, ..) => "no /dev/kvm".to_string(),
        (true, None, ..) => "/dev/kvm exists; not opened here".to_string(),
        (true, Some(false), ..) => "this user cannot open /dev/kvm".to_string(),
        (true, Some(true), Some(v), ..) if v != 12 => {
            format!("opened /dev/kvm, which does not speak the stable KVM API (version {v})")
        }
        (true, Some(true), _, Some(true), Some(true)) => {
            "opened /dev/kvm and started a test VM with one vCPU".to_string()
        }
        (true, Some(true), _, Some(true), _) => {
            "opened /dev/kvm and started a test VM, but could not give it a vCPU".to_string()
        }
        (true, Some(true), _, Some(false), _) => {
            "opened /dev/kvm, but could not start a test VM".to_string()
        }
        (true, Some(true), ..) => "opened /dev/kvm; no test VM tried".to_string(),
    };
    if k.exists && k.error.is_some() {
        line.push_str(" (`virtprobe explain kvm` shows the error)");
    }
    line
}

/// The KVM check step by step, with the ioctls' names and the error met (for `explain`).
pub fn kvm_detail(k: &crate::host::live::KvmOutcome) -> String {
    let said = |o: Option<bool>, yes: &str, no: &str| match o {
        Some(true) => yes.to_string(),
        Some(false) => no.to_string(),
        None => "not tried".to_string(),
    };
    if !k.exists {
        return "/dev/kvm absent".to_string();
    }
    let mut parts = vec![
        format!("open /dev/kvm read-write: {}", said(k.open, "yes", "no")),
        format!(
            "KVM_GET_API_VERSION: {}",
            k.api_version
                .map_or_else(|| "not tried".to_string(), |v| v.to_string())
        ),
        format!(
            "KVM_CREATE_VM: {}",
            said(k.create_vm, "succeeded", "failed")
        ),
        format!(
            "KVM_CREATE_VCPU: {}",
            said(k.create_vcpu, "succeeded", "failed")
        ),
    ];
    if let Some(e) = &k.error {
        parts.push(format!("error {}", clean(e)));
    }
    parts.join("; ")
}
