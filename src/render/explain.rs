//! `virtprobe explain ID`: every rule of one technology with the evidence read.

use std::io::{self, Write};

use super::layout::hanging;
use super::text::paint;
use super::{Context, Render, clean};
use crate::report::{Report, Role, TechReport, Verdict};
use crate::rules::{Evidence, Outcome};

/// Every rule of one technology with its evidence.
pub struct Explain<'a>(pub &'a TechReport);

impl Render for Explain<'_> {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        let t = self.0;
        let w = ctx.width();
        let line = |out: &mut dyn Write, first: &str, text: &str| -> io::Result<()> {
            writeln!(out, "{}", hanging(first, text, w))
        };
        let verdict = paint(ctx, t.verdict, t.verdict.as_str());
        writeln!(out, "{} ({}): {verdict}", t.name, t.id)?;
        if let Some(role) = t.detected {
            let what = if role == Role::Host {
                "host (controlling OS)"
            } else {
                "guest"
            };
            line(out, "  ", &format!("detected: this Linux is its {what}"))?;
        }
        line(out, "  ", &clean(&t.summary))?;
        let mut status = t.status.to_string();
        if !t.status_note.is_empty() {
            status.push_str(&format!(" ({})", t.status_note));
        }
        line(
            out,
            "  ",
            &format!("category {}, status {status}", t.category),
        )?;
        let h = &r.host;
        writeln!(out)?;
        line(
            out,
            "",
            &format!(
                "Host: hypervisor {}, container {}, VT extension {} ({})",
                h.virtualization.hypervisor,
                h.virtualization.container,
                h.cpu.virt_extension.as_deref().unwrap_or("none"),
                h.cpu.virt_extension_state
            ),
        )?;
        for l in &h.virtualization.layers {
            let text = format!("{} {}: {}", l.kind, l.name, clean(&l.evidence.join("; ")));
            line(out, "  ", &text)?;
        }
        line(
            out,
            "  ",
            &format!("VT: {}", clean(&h.cpu.virt_extension_evidence)),
        )?;
        writeln!(out, "\nRules:")?;
        for x in &t.reasons {
            let mark = match x.result {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::Unknown => "????",
                Outcome::NotTried => "----",
            };
            let head = match x.result {
                Outcome::Pass => format!("{} ({})", x.requirement, x.class),
                Outcome::NotTried => {
                    format!("{} ({}): not tried here", x.requirement, x.class)
                }
                _ => format!("{} ({}): {}", x.requirement, x.class, clean(&x.message)),
            };
            line(out, &format!("  [{mark}] "), &head)?;
            for e in &x.evidence {
                line(out, "         ", &clean(&e.to_string()))?;
            }
            // What stands in a dependency's way, from its own entry (one level: its dependencies
            // are named there, not followed).
            if x.result != Outcome::Pass
                && let Some(Evidence::Depends { id, .. }) = x.evidence.first()
                && let Some(d) = r.get(id)
            {
                for e in d
                    .reasons
                    .iter()
                    .filter(|y| matches!(y.result, Outcome::Fail | Outcome::Unknown))
                    .flat_map(|y| y.evidence.iter())
                {
                    line(out, "           ", &clean(&e.to_string()))?;
                }
            }
        }
        if !t.remediation.is_empty() {
            writeln!(out, "\nTo do:")?;
            for (i, f) in t.remediation.iter().enumerate() {
                line(out, &format!("  {}. ", i + 1), &clean(f))?;
            }
            // Only where something can be done on this machine.
            if matches!(t.verdict, Verdict::Available | Verdict::NeedsHostChange) {
                line(
                    out,
                    "",
                    &format!(
                        "`virtprobe fix {}` prints the commands for this distribution.",
                        t.id
                    ),
                )?;
            }
        }
        if let Some(tc) = &t.table {
            let columns = format!(
                "full virt {:?}, paravirt {:?}, containers {:?}, license {:?}, architectures {:?}, performance {:?}, SMP guests {:?}, hotplug {:?}, standalone host {:?}, notes {:?}",
                tc.full_virt,
                tc.paravirt,
                tc.containers,
                tc.license,
                tc.architectures,
                tc.performance,
                tc.smp_guests,
                tc.hotplug,
                tc.standalone_host,
                tc.notes
            );
            writeln!(out)?;
            line(out, "", &format!("Source table (2009): {columns}"))?;
            for c in &tc.corrections {
                line(out, "  correction: ", c)?;
            }
        }
        Ok(())
    }
}
