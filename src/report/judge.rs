//! One technology judged: every requirement evaluated, the worst failure deciding the verdict,
//! and this Linux's role from the table's detection.

use super::{Reason, Role, TechReport, Verdict};
use crate::facts::Facts;
use crate::rules::{Class, Cond, Evidence, Outcome, Requirement, Technology, eval, holds};
use crate::sources::virt::{Layer, LayerKind};

/// The verdict a failure of this class gives.
pub fn class_verdict(c: Class) -> Verdict {
    match c {
        Class::Available => Verdict::Available,
        Class::HostChange => Verdict::NeedsHostChange,
        Class::Unsupported => Verdict::Unsupported,
    }
}

/// What a technology it depends on means for this one: its verdict, as a requirement. The
/// dependency is shared by reference (its id, verdict and one-line summary, which never nests
/// another dependency's), never by copying its evidence, so judging stays linear in the size of
/// the table however the dependencies fan out; `explain` shows the dependency's own evidence from
/// its entry in the report.
fn dependency(d: &TechReport) -> Reason {
    // A dependency ready only because nothing observed stands in its way (a check it needs was
    // not tried here) leaves this one not tried too, saying what was not.
    let untried = d
        .reasons
        .iter()
        .filter(|x| x.result == Outcome::NotTried)
        .flat_map(|x| x.evidence.iter())
        .find_map(Evidence::not_tried);
    let (result, class) = match d.verdict {
        Verdict::Ready if untried.is_some() => (Outcome::NotTried, Class::Available),
        Verdict::Ready => (Outcome::Pass, Class::Available),
        Verdict::Available => (Outcome::Fail, Class::Available),
        Verdict::NeedsHostChange => (Outcome::Fail, Class::HostChange),
        Verdict::Unsupported => (Outcome::Fail, Class::Unsupported),
        Verdict::Unknown => (Outcome::Unknown, Class::HostChange),
    };
    let message = match (result, untried) {
        (Outcome::NotTried, Some(what)) => what,
        (Outcome::Pass, _) => format!("runs on {}, which is ready", d.name),
        _ if d.reasons.first().is_some_and(Reason::is_dependency) => {
            format!("needs {}, which is {}", d.name, d.verdict)
        }
        _ => format!("needs {}: {}", d.name, d.summary),
    };
    Reason {
        requirement: format!("depends:{}", d.id),
        class,
        result,
        message,
        evidence: vec![Evidence::Depends {
            id: d.id.clone(),
            verdict: d.verdict.as_str(),
            summary: d.summary.clone(),
        }],
    }
}

/// A technology judged, with the fixes of its own requirements that failed (what a technology
/// depending on it inherits: its own, not those it inherited in turn).
pub struct Judged {
    /// The entry of the report.
    pub report: TechReport,
    /// Fixes of its own failing requirements.
    pub own_fixes: Vec<String>,
}

/// Judge one technology; `earlier` finds a technology judged before it (for `depends`).
pub fn judge<'a>(
    t: &Technology,
    facts: &Facts,
    layers: &[Layer],
    earlier: impl Fn(&str) -> Option<&'a Judged>,
) -> Judged {
    // Each reason with the fixes a failure of it suggests.
    let mut reasons: Vec<(Reason, Vec<String>)> = Vec::new();
    for d in t.depends.iter().filter_map(|id| earlier(id)) {
        reasons.push((dependency(&d.report), d.own_fixes.clone()));
    }
    for r in &t.requires {
        if let Some(w) = &r.when
            && holds(w, facts) != Outcome::Pass
        {
            continue;
        }
        reasons.push((requirement(r, facts), r.fix.iter().cloned().collect()));
    }
    let worst = |o: Outcome| {
        reasons
            .iter()
            .filter(|(x, _)| x.result == o)
            .map(|(x, _)| x.class)
            .max()
    };
    let verdict = match (worst(Outcome::Fail), worst(Outcome::Unknown)) {
        (None, None) => Verdict::Ready,
        (Some(f), u) if u.is_none_or(|u| f >= u) => class_verdict(f),
        (_, Some(Class::Available)) => Verdict::Available,
        _ => Verdict::Unknown,
    };
    // Failures and unknowns first, most blocking first; passes after.
    reasons.sort_by_key(|(x, _)| {
        (
            matches!(x.result, Outcome::Pass | Outcome::NotTried),
            x.result == Outcome::Pass,
            std::cmp::Reverse(x.class),
            x.result == Outcome::Unknown,
        )
    });
    let untried = reasons
        .iter()
        .filter(|(x, _)| x.result == Outcome::NotTried)
        .find_map(|(x, _)| {
            if x.is_dependency() {
                Some(x.message.clone())
            } else {
                x.evidence.iter().find_map(Evidence::not_tried)
            }
        });
    let summary = match (verdict, untried) {
        (Verdict::Ready, None) => t.ready.clone(),
        (Verdict::Ready, Some(what)) => {
            format!("nothing observed stands in the way; not tried here: {what}")
        }
        _ => reasons
            .iter()
            .map(|(x, _)| x)
            .find(|x| matches!(x.result, Outcome::Fail | Outcome::Unknown))
            .map(|x| match x.result {
                Outcome::Unknown => format!("cannot tell: {}", x.message),
                _ => x.message.clone(),
            })
            .unwrap_or_default(),
    };
    let failing = |own: bool| {
        reasons
            .iter()
            .filter(move |(x, _)| {
                matches!(x.result, Outcome::Fail | Outcome::Unknown) && (!own || !x.is_dependency())
            })
            .flat_map(|(_, fixes)| fixes.iter().cloned())
    };
    let mut remediation: Vec<String> = Vec::new();
    for fix in failing(false) {
        if !remediation.contains(&fix) {
            remediation.push(fix);
        }
    }
    let own_fixes = failing(true).collect();
    // This Linux's role: a condition of the table, or a layer found with one of its words.
    let holds_here =
        |c: &Option<Cond>| c.as_ref().is_some_and(|c| holds(c, facts) == Outcome::Pass);
    let layer = |host: bool| {
        layers
            .iter()
            .any(|l| (l.kind == LayerKind::Host) == host && t.words.contains(&l.name))
    };
    let detected = if holds_here(&t.detect_host) || layer(true) {
        Some(Role::Host)
    } else if holds_here(&t.detect_guest) || layer(false) {
        Some(Role::Guest)
    } else {
        None
    };
    let report = TechReport {
        id: t.id.clone(),
        name: t.name.clone(),
        verdict,
        detected,
        summary,
        reasons: reasons.into_iter().map(|(x, _)| x).collect(),
        remediation,
        category: t.category,
        status: t.status,
        status_note: t.status_note.clone(),
        source_row: t.source_row,
        table: t.table.clone(),
    };
    Judged { report, own_fixes }
}

fn requirement(r: &Requirement, facts: &Facts) -> Reason {
    let mut evidence = Vec::new();
    let result = eval(&r.test, facts, &mut evidence);
    Reason {
        requirement: r.id.clone(),
        class: r.class,
        result,
        message: r.why.clone(),
        evidence,
    }
}
