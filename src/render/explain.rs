//! `virtprobe explain ID`: every rule of one technology with the evidence read.

use std::io::{self, Write};

use super::layout::hanging;
use super::text::{kvm_detail, paint};
use super::{Context, Render, clean};
use crate::report::{Report, Role, TechReport, Verdict, failing_verdict};
use crate::rules::{Cond, Evidence, Outcome, Technology};

/// Every rule of one technology with its evidence; given the technology's entry in the table, the
/// evidence is shown in the shape of each rule's test (its any-of and all-of groups).
pub struct Explain<'a>(pub &'a TechReport, pub Option<&'a Technology>);

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
        if let Some(k) = &h.kvm {
            line(out, "  ", &format!("KVM: {}", kvm_detail(k)))?;
        }
        writeln!(out)?;
        line(
            out,
            "",
            "Rules: [pass], [FAIL], [????] (unknown) or [----] (not tried here), then the verdict the rule gives when it fails; every test read is listed under it.",
        )?;
        for x in &t.reasons {
            let mark = match x.result {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::Unknown => "????",
                Outcome::NotTried => "----",
            };
            let gives = failing_verdict(x.class);
            let head = match x.result {
                Outcome::Pass => format!("{}: would make it {gives} if it failed", x.requirement),
                Outcome::NotTried => {
                    format!("{}: not tried here (would make it {gives})", x.requirement)
                }
                Outcome::Fail => {
                    format!("{}: makes it {gives}: {}", x.requirement, clean(&x.message))
                }
                Outcome::Unknown => format!(
                    "{}: cannot be decided (a failure would make it {gives}): {}",
                    x.requirement,
                    clean(&x.message)
                ),
            };
            line(out, &format!("  [{mark}] "), &head)?;
            let test = self
                .1
                .and_then(|tech| tech.requires.iter().find(|r| r.id == x.requirement))
                .map(|r| &r.test);
            for (depth, text) in shaped(test, &x.evidence) {
                line(out, &" ".repeat(9 + 2 * depth), &text)?;
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

/// A rule's evidence as lines with their depth: in the shape of its test when the test is known
/// and its tests match the evidence one to one (evaluation records one line per test, in order),
/// with "any of" and "all of" over each group; else the lines as they are.
fn shaped(test: Option<&Cond>, evidence: &[Evidence]) -> Vec<(usize, String)> {
    let flat = || {
        evidence
            .iter()
            .map(|e| (0, clean(&e.to_string())))
            .collect()
    };
    let Some(test) = test else {
        return flat();
    };
    let mut lines = Vec::new();
    let mut next = evidence.iter();
    if walk(test, 0, &mut next, &mut lines) && next.next().is_none() {
        lines
    } else {
        flat()
    }
}

/// Lay out one condition; false when the evidence runs short.
fn walk<'e>(
    c: &Cond,
    depth: usize,
    evidence: &mut impl Iterator<Item = &'e Evidence>,
    lines: &mut Vec<(usize, String)>,
) -> bool {
    match c {
        Cond::All(list) | Cond::Any(list) => {
            let any = matches!(c, Cond::Any(_));
            let word = if any {
                "any of these passes:"
            } else {
                "all of these pass:"
            };
            lines.push((depth, word.to_string()));
            members(list, any)
                .into_iter()
                .all(|m| walk(m, depth + 1, evidence, lines))
        }
        Cond::Not(inner) => {
            lines.push((depth, "this does not pass:".to_string()));
            walk(inner, depth + 1, evidence, lines)
        }
        Cond::Const(_) | Cond::Leaf { .. } => match evidence.next() {
            Some(e) => {
                lines.push((depth, clean(&e.to_string())));
                true
            }
            None => false,
        },
    }
}

/// A group's members, a nested group of the same kind opened into its parent (`any` of an `any`
/// reads as one list).
fn members(list: &[Cond], any: bool) -> Vec<&Cond> {
    let mut out = Vec::new();
    for c in list {
        match c {
            Cond::Any(inner) if any => out.extend(members(inner, true)),
            Cond::All(inner) if !any => out.extend(members(inner, false)),
            c => out.push(c),
        }
    }
    out
}
