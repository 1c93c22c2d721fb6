//! `virtprobe advise`: rank the technologies that fit a workload on this host.
//!
//! Reads no host files: it works on a finished report and the table's ranking columns
//! (`performance_rank`, `isolation`, `guest_os`, `features`, `open_source`). The rules, in plain words:
//! 1. Only ways to run a workload count (capabilities such as vhost-net are not options).
//! 2. An option must fit the workload: a Windows or other non-Linux guest needs full
//!    virtualization; a guest of another architecture needs an emulator; the isolation asked for
//!    (process < kernel < hardware) must be met; every `--need` must be a feature of the option;
//!    `--license open` keeps open-source ones.
//! 3. Of those, the ones `ready` or `available` here are recommended, ranked by how little stands
//!    between the user and running the workload well: native or near-native speed before moderate
//!    before emulation (KVM one group membership away outranks ready TCG emulation), then ready
//!    before available, then performance class (1 native … 5 slow emulation), then maintained
//!    before the rest, then table order.
//! 4. If the best fitting option (by performance class, then the smallest change: ready, available,
//!    needs a host change; a hypervisor hosted in Linux before one that boots beneath it) is not
//!    ready, say so first, with the steps that would unblock it (VT disabled in firmware, user not in
//!    group kvm…).

use std::io::{self, Write};

use serde::Serialize;

use crate::report::{Report, TechReport, Verdict};
use crate::rules::{Category, Feature, GuestOs, Isolation, Status, Table, Technology};

/// What the workload needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Request {
    /// `linux`, `windows` or `other`.
    pub guest_os: GuestOs,
    /// Guest architecture; `None`: the host's.
    pub guest_arch: Option<String>,
    /// The isolation wanted at least.
    pub isolation: Option<Isolation>,
    /// What it must offer.
    pub needs: Vec<Feature>,
    /// Only open-source technologies.
    pub open_source_only: bool,
}

/// One recommended option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Recommendation {
    /// Technology id.
    pub id: String,
    /// Its verdict here.
    pub verdict: Verdict,
    /// Why it ranks where it does.
    pub why: Vec<String>,
    /// What is left to do before it is usable.
    pub steps: Vec<String>,
}

/// One option left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Excluded {
    /// Technology id.
    pub id: String,
    /// Why.
    pub why: String,
}

/// The advice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Advice {
    /// Contract version (1).
    pub schema_version: u32,
    /// The request, as understood.
    pub request: Request,
    /// The best fitting option when it is not ready here, with what unblocks it.
    pub blocked_best: Option<Recommendation>,
    /// Best first.
    pub recommendations: Vec<Recommendation>,
    /// The rest, with the reason.
    pub excluded: Vec<Excluded>,
}

fn maintained(t: &Technology) -> bool {
    t.status == Status::Maintained
}

/// Why `t` does not fit the workload, if it does not.
fn misfit(t: &Technology, req: &Request, host_arch: Option<&str>) -> Option<String> {
    let vm = t.isolation.contains(&Isolation::Hardware);
    if req.guest_os != GuestOs::Linux && !t.guest_os.contains(&req.guest_os) {
        return Some(if vm {
            format!("does not run {} guests", req.guest_os)
        } else {
            format!(
                "shares the host's Linux kernel; a {} guest needs full virtualization",
                if req.guest_os == GuestOs::Windows {
                    "Windows"
                } else {
                    "non-Linux"
                }
            )
        });
    }
    if let Some(ga) = &req.guest_arch
        && Some(ga.as_str()) != host_arch
        && !same_family(ga, host_arch.unwrap_or(""))
        && !t.guest_os.contains(&GuestOs::AnyArch)
    {
        return Some(format!(
            "runs only guests of the host's architecture ({}), not {ga}; that needs an emulator",
            host_arch.unwrap_or("unknown")
        ));
    }
    if let Some(iso) = req.isolation {
        // Isolation is ordered: process < kernel < hardware.
        if t.isolation.iter().max().is_none_or(|best| *best < iso) {
            return Some(format!(
                "gives {} isolation, less than the {iso} isolation asked for",
                t.isolation.first().map_or("no", |i| i.as_str())
            ));
        }
    }
    for n in &req.needs {
        if !t.features.contains(n) {
            return Some(match n {
                Feature::NoRoot => "needs root (or a privileged daemon) to run".to_string(),
                other => format!("does not offer {other}"),
            });
        }
    }
    if req.open_source_only && !t.open_source {
        return Some("is not open source".to_string());
    }
    None
}

/// Native or near-native (1-2), moderate (3), emulation (4-5).
fn speed_class(rank: u8) -> u8 {
    match rank {
        0..=2 => 0,
        3 => 1,
        _ => 2,
    }
}

fn same_family(a: &str, b: &str) -> bool {
    use crate::sources::system::canonical_arch;
    canonical_arch(a) == canonical_arch(b)
}

fn explain(t: &Technology, r: &TechReport) -> Vec<String> {
    let mut why = vec![format!(
        "{}: {} (performance class {} of 5: {})",
        r.verdict.as_str(),
        r.summary,
        t.performance_rank,
        match t.performance_rank {
            1 => "native speed",
            2 => "near native",
            3 => "moderate overhead",
            4 => "emulation, slow",
            _ => "slow",
        }
    )];
    let join = |words: Vec<&str>| words.join(", ");
    let iso = join(t.isolation.iter().map(|i| i.as_str()).collect());
    if !iso.is_empty() {
        why.push(format!("isolation: {iso}"));
    }
    if !t.features.is_empty() {
        let offers = join(t.features.iter().map(|f| f.as_str()).collect());
        why.push(format!("offers: {offers}"));
    }
    if !maintained(t) {
        let mut status = t.status.to_string();
        if !t.status_note.is_empty() {
            status.push_str(&format!(" ({})", t.status_note));
        }
        why.push(format!("status: {status}"));
    }
    why
}

/// Rank the options.
pub fn advise(report: &Report, table: &Table, req: &Request) -> Advice {
    let host_arch = report.host.arch.as_deref();
    let mut fitting: Vec<(&Technology, &TechReport, usize)> = Vec::new();
    let mut excluded = Vec::new();
    for (i, t) in table.technologies.iter().enumerate() {
        if t.category == Category::Capability {
            continue;
        }
        let Some(r) = report.get(&t.id) else { continue };
        match misfit(t, req, host_arch) {
            Some(why) => excluded.push(Excluded {
                id: t.id.to_string(),
                why: format!("{}: {why}", t.name),
            }),
            None => fitting.push((t, r, i)),
        }
    }
    // The best fitting option regardless of its verdict, among those a host change can reach.
    let ideal = fitting
        .iter()
        .filter(|(_, r, _)| {
            matches!(
                r.verdict,
                Verdict::Ready | Verdict::Available | Verdict::NeedsHostChange
            )
        })
        .filter(|(t, _, _)| maintained(t))
        .min_by_key(|(t, r, i)| {
            (
                t.performance_rank,
                r.verdict,
                t.table.as_ref().is_some_and(|c| c.standalone_host == "yes"),
                *i,
            )
        });
    let blocked_best = ideal
        .filter(|(_, r, _)| r.verdict != Verdict::Ready)
        .map(|(t, r, _)| Recommendation {
            id: t.id.to_string(),
            verdict: r.verdict,
            why: vec![match r.verdict {
                Verdict::Available => format!(
                    "{} is the best fit here, and one step remains: {}",
                    t.name, r.summary
                ),
                _ => format!(
                    "{} would be the best fit here, after a change to the host: {}",
                    t.name, r.summary
                ),
            }],
            steps: r.remediation.iter().map(|s| s.to_string()).collect(),
        });
    let mut recs: Vec<(&Technology, &TechReport, usize)> = Vec::new();
    for (t, r, i) in fitting {
        if matches!(r.verdict, Verdict::Ready | Verdict::Available) {
            recs.push((t, r, i));
        } else {
            excluded.push(Excluded {
                id: t.id.to_string(),
                why: format!("{}: {} here: {}", t.name, r.verdict.as_str(), r.summary),
            });
        }
    }
    // How far each is from running the workload well: its speed class first (emulation is no
    // substitute for a hypervisor one group membership away), then whether steps remain.
    recs.sort_by_key(|(t, r, i)| {
        (
            speed_class(t.performance_rank),
            r.verdict != Verdict::Ready,
            t.performance_rank,
            !maintained(t),
            *i,
        )
    });
    let recommendations = recs
        .into_iter()
        .map(|(t, r, _)| Recommendation {
            id: t.id.to_string(),
            verdict: r.verdict,
            why: explain(t, r),
            steps: r.remediation.iter().map(|s| s.to_string()).collect(),
        })
        .collect();
    Advice {
        schema_version: crate::report::SCHEMA_VERSION,
        request: req.clone(),
        blocked_best,
        recommendations,
        excluded,
    }
}

/// The advice for a person, fitted to `width` columns.
pub fn render_text(a: &Advice, width: usize, out: &mut dyn Write) -> io::Result<()> {
    use crate::render::clean;
    use crate::render::layout::hanging;
    let line = |out: &mut dyn Write, first: &str, text: &str| -> io::Result<()> {
        writeln!(out, "{}", hanging(first, text, width))
    };
    if let Some(b) = &a.blocked_best {
        line(out, "First: ", &clean(&b.why.join("; ")))?;
        for (i, s) in b.steps.iter().enumerate() {
            line(out, &format!("  {}. ", i + 1), &clean(s))?;
        }
        writeln!(out)?;
    }
    if a.recommendations.is_empty() {
        line(
            out,
            "",
            "Nothing that fits this workload is ready or available on this host.",
        )?;
    } else {
        writeln!(out, "Recommended on this host, best first:")?;
        for (i, r) in a.recommendations.iter().enumerate() {
            writeln!(out, "  {}. {} ({})", i + 1, r.id, r.verdict.as_str())?;
            for w in &r.why {
                line(out, "       ", &clean(w))?;
            }
            for s in &r.steps {
                line(out, "       to do: ", &clean(s))?;
            }
            if r.verdict != Verdict::Ready {
                line(out, "       commands: ", &format!("virtprobe fix {}", r.id))?;
            }
        }
    }
    if !a.excluded.is_empty() {
        writeln!(out, "\nLeft out:")?;
        for e in &a.excluded {
            line(out, &format!("  {}: ", e.id), &clean(&e.why))?;
        }
    }
    Ok(())
}
