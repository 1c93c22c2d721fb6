//! Prometheus text format for node_exporter's textfile collector (no sample timestamps: one
//! would make node_exporter drop the whole file).

use std::io::{self, Write};
use std::time::SystemTime;

use super::{Context, Render};
use crate::report::{Report, Role, Verdict};

/// A label value as the exposition format allows: `\\`, `"` and a line feed escaped as it says;
/// any other control or bidirectional character (which the format would pass raw) written as the
/// text `\u{1b}`, its backslash escaped in turn.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if super::unprintable(c) => {
                out.push_str(&format!("\\\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn header(out: &mut dyn Write, name: &str, kind: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

/// A metric with no labels: its header and its one sample.
fn single(out: &mut dyn Write, name: &str, kind: &str, help: &str, v: f64) -> io::Result<()> {
    header(out, name, kind, help)?;
    writeln!(out, "{name} {v}")
}

/// Prometheus textfile metrics.
pub struct Prometheus;

impl Render for Prometheus {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        header(
            out,
            "virtprobe_technology_verdict",
            "gauge",
            "Verdict per virtualization technology: 1 for the current verdict, 0 for the others.",
        )?;
        for t in &r.technologies {
            for &v in Verdict::ALL {
                writeln!(
                    out,
                    "virtprobe_technology_verdict{{technology=\"{}\",verdict=\"{}\"}} {}",
                    escape(&t.id),
                    v.as_str(),
                    u8::from(t.verdict == v)
                )?;
            }
        }
        header(
            out,
            "virtprobe_technology_ready",
            "gauge",
            "1 if the technology is usable now by the probing user.",
        )?;
        for t in &r.technologies {
            writeln!(
                out,
                "virtprobe_technology_ready{{technology=\"{}\"}} {}",
                escape(&t.id),
                u8::from(t.verdict == Verdict::Ready)
            )?;
        }
        header(
            out,
            "virtprobe_technology_detected",
            "gauge",
            "1 if this Linux is the host or a guest of the technology.",
        )?;
        for t in &r.technologies {
            if let Some(role) = t.detected {
                let role = if role == Role::Host { "host" } else { "guest" };
                writeln!(
                    out,
                    "virtprobe_technology_detected{{technology=\"{}\",role=\"{role}\"}} 1",
                    escape(&t.id)
                )?;
            }
        }
        let errors = r.errors.len() as f64;
        let help = "Number of host facts that could not be read.";
        single(out, "virtprobe_probe_errors", "gauge", help, errors)?;
        // The service's own figures; absent from a one-shot `--format prometheus`.
        let sv = ctx.service.as_ref();
        let service = [
            (
                "virtprobe_probe_duration_seconds",
                "gauge",
                "How long the last probe took.",
                sv.map(|s| s.duration.as_secs_f64()),
            ),
            (
                "virtprobe_probes_total",
                "counter",
                "Probes since the service started.",
                sv.map(|s| s.probes as f64),
            ),
            (
                "virtprobe_verdict_changes_total",
                "counter",
                "Technology verdicts that changed since the service started.",
                sv.map(|s| s.verdict_changes as f64),
            ),
            (
                "virtprobe_last_success_timestamp_seconds",
                "gauge",
                "Unix time of the last completed probe.",
                sv.map(|s| unix_seconds(s.finished)),
            ),
            (
                "virtprobe_probe_interval_seconds",
                "gauge",
                "The interval of full probes (changes are probed at once besides).",
                sv.map(|s| s.interval.as_secs_f64()),
            ),
        ];
        for (name, kind, help, value) in service {
            if let Some(v) = value {
                single(out, name, kind, help, v)?;
            }
        }
        if let Some(s) = sv {
            let name = "virtprobe_technology_last_change_timestamp_seconds";
            let help = "Unix time the technology's verdict last changed (the service's first probe, if it has not since).";
            header(out, name, "gauge", help)?;
            for t in &r.technologies {
                if let Some(at) = s.last_change.get(&t.id) {
                    let (id, at) = (escape(&t.id), unix_seconds(*at));
                    writeln!(out, "{name}{{technology=\"{id}\"}} {at}")?;
                }
            }
        }
        header(out, "virtprobe_info", "gauge", "Host facts as labels.")?;
        let h = &r.host;
        writeln!(
            out,
            "virtprobe_info{{version=\"{}\",arch=\"{}\",kernel=\"{}\",hypervisor=\"{}\",container=\"{}\",virt_extension=\"{}\",virt_extension_state=\"{}\"}} 1",
            escape(&r.virtprobe_version),
            escape(h.arch.as_deref().unwrap_or("unknown")),
            escape(h.kernel.release.as_deref().unwrap_or("unknown")),
            escape(&h.virtualization.hypervisor),
            escape(&h.virtualization.container),
            escape(h.cpu.virt_extension.as_deref().unwrap_or("none")),
            escape(&h.cpu.virt_extension_state),
        )?;
        Ok(())
    }
}
