//! One technology judged: every requirement evaluated, the worst failure deciding the verdict,
//! and this Linux's role from the table's detection.

use super::{Reason, Role, TechReport, Verdict};
use crate::facts::Facts;
use crate::rules::{Class, Cond, Evidence, Outcome, Requirement, Technology, eval, holds};
use crate::sources::virt::{Layer, LayerKind};

/// The verdict a failure of this class gives.
fn class_verdict(c: Class) -> Verdict {
    match c {
        Class::Available => Verdict::Available,
        Class::HostChange => Verdict::NeedsHostChange,
        Class::Unsupported => Verdict::Unsupported,
    }
}

/// What a technology it depends on means for this one: its verdict, as a requirement.
fn dependency(d: &TechReport) -> Reason {
    let (result, class) = match d.verdict {
        Verdict::Ready => (Outcome::Pass, Class::Available),
        Verdict::Available => (Outcome::Fail, Class::Available),
        Verdict::NeedsHostChange => (Outcome::Fail, Class::HostChange),
        Verdict::Unsupported => (Outcome::Fail, Class::Unsupported),
        Verdict::Unknown => (Outcome::Unknown, Class::HostChange),
    };
    // Its verdict, then what stands in its way: the evidence of its own requirements, and of a
    // dependency of its own only the verdict line, so a chain of dependencies copies each line
    // once, not once per path.
    let head = Evidence::Depends {
        id: d.id.clone(),
        verdict: d.verdict.as_str(),
        summary: d.summary.clone(),
    };
    let evidence = std::iter::once(head)
        .chain(
            d.reasons
                .iter()
                .filter(|x| matches!(x.result, Outcome::Fail | Outcome::Unknown))
                .flat_map(|x| {
                    let n = if x.is_dependency() {
                        1
                    } else {
                        x.evidence.len()
                    };
                    x.evidence.iter().take(n).cloned()
                }),
        )
        .collect();
    let message = if result == Outcome::Pass {
        format!("runs on {}, which is ready", d.name)
    } else {
        format!("needs {}: {}", d.name, d.summary)
    };
    Reason {
        requirement: format!("depends:{}", d.id),
        class,
        result,
        message,
        evidence,
    }
}

/// Judge one technology; `earlier` finds a technology judged before it (for `depends`).
pub fn judge<'a>(
    t: &Technology,
    facts: &Facts,
    layers: &[Layer],
    earlier: impl Fn(&str) -> Option<&'a TechReport>,
) -> TechReport {
    // Each reason with the fixes a failure of it suggests.
    let mut reasons: Vec<(Reason, Vec<String>)> = Vec::new();
    for d in t.depends.iter().filter_map(|id| earlier(id)) {
        reasons.push((dependency(d), d.remediation.clone()));
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
        .flat_map(|(x, _)| x.evidence.iter())
        .find_map(Evidence::not_tried);
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
    let mut remediation: Vec<String> = Vec::new();
    for fix in reasons
        .iter()
        .filter(|(x, _)| matches!(x.result, Outcome::Fail | Outcome::Unknown))
        .flat_map(|(_, fixes)| fixes)
    {
        if !remediation.contains(fix) {
            remediation.push(fix.clone());
        }
    }
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
    TechReport {
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
    }
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
