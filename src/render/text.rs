//! The report for a person.

use std::io::{self, Write};

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

/// The report for a person.
pub struct Text;

impl Render for Text {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        let h = &r.host;
        let what = if r.root == "/" {
            "this host".to_string()
        } else {
            format!("captured tree {}", clean(&r.root))
        };
        writeln!(out, "virtprobe {} — {what}", r.virtprobe_version)?;
        let cpu = format!(
            "{} ({})",
            clean(h.cpu.model.as_deref().unwrap_or("unknown model")),
            clean(h.cpu.vendor.as_deref().unwrap_or("unknown vendor"))
        );
        writeln!(
            out,
            "  Architecture   {}  {cpu}",
            clean(h.arch.as_deref().unwrap_or("unknown"))
        )?;
        let config = match &h.kernel.config_source {
            Some(s) => format!("  (config: {})", clean(s)),
            None => "  (config: not found)".into(),
        };
        writeln!(
            out,
            "  Kernel         {}{config}",
            clean(h.kernel.release.as_deref().unwrap_or("unknown"))
        )?;
        writeln!(
            out,
            "  VT extension   {} ({})",
            h.cpu.virt_extension.as_deref().unwrap_or("none"),
            h.cpu.virt_extension_state
        )?;
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
        writeln!(out, "  Runs in        {runs_in}")?;
        if let Some(k) = &h.kvm {
            writeln!(out, "  KVM            {}", kvm_line(k))?;
        }
        writeln!(out)?;
        let idw = r
            .technologies
            .iter()
            .map(|t| t.id.len())
            .max()
            .unwrap_or(10)
            .max(10);
        writeln!(
            out,
            "  {:idw$}  {:17}  {:5}  WHY",
            "TECHNOLOGY", "VERDICT", "ROLE"
        )?;
        for t in &r.technologies {
            let v = format!("{:17}", t.verdict.as_str());
            writeln!(
                out,
                "  {:idw$}  {}  {:5}  {}",
                t.id,
                paint(ctx, t.verdict, &v),
                role(t.detected),
                clean(&t.summary)
            )?;
        }
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .map(|v| (v, r.technologies.iter().filter(|t| t.verdict == *v).count()))
            .filter(|(_, n)| *n > 0)
            .map(|(v, n)| format!("{n} {}", v.as_str()))
            .collect();
        writeln!(
            out,
            "\n  {}. `virtprobe explain ID` shows every rule and its evidence.",
            counts.join(", ")
        )?;
        if !r.needs_privilege.is_empty() {
            writeln!(out, "\n  Wanted more privilege:")?;
            for n in &r.needs_privilege {
                writeln!(out, "    {}", clean(n))?;
            }
        }
        if !r.errors.is_empty() {
            writeln!(out, "\n  Could not read ({}):", r.errors.len())?;
            for e in &r.errors {
                writeln!(out, "    {}: {}", e.fact, clean(&e.message))?;
            }
        }
        Ok(())
    }
}

/// The KVM check in one line.
pub fn kvm_line(k: &crate::host::live::KvmOutcome) -> String {
    if !k.exists {
        return "/dev/kvm absent".to_string();
    }
    let mut parts = vec![match k.open {
        Some(true) => "opened".to_string(),
        Some(false) => "cannot open".to_string(),
        None => "not opened".to_string(),
    }];
    if let Some(v) = k.api_version {
        parts.push(format!("API {v}"));
    }
    if let Some(ok) = k.create_vm {
        parts.push(if ok { "VM created" } else { "VM not created" }.into());
    }
    if let Some(ok) = k.create_vcpu {
        parts.push(
            if ok {
                "vCPU created"
            } else {
                "vCPU not created"
            }
            .into(),
        );
    }
    if let Some(e) = &k.error {
        parts.push(clean(e));
    }
    format!("/dev/kvm {}", parts.join(", "))
}
