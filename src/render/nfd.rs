//! node-feature-discovery's local features file (`features.d`): one `virtprobe.io/ID=VERDICT`
//! line per technology (a technology unsupported here is a feature but not a node label:
//! `# +no-label`), and the host's hypervisor, container and extension.

use std::io::{self, Write};

use super::{Context, Render};
use crate::report::{Report, Verdict};

/// Make a string a valid Kubernetes label value: `[A-Za-z0-9_.-]`, at most 63 characters,
/// alphanumeric at both ends.
pub fn label_value(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// node-feature-discovery local features file.
pub struct Nfd;

impl Render for Nfd {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "# Written by virtprobe {} at {}",
            r.virtprobe_version, r.generated_at
        )?;
        if let Some(e) = ctx.service.as_ref().map(|s| s.expiry) {
            writeln!(
                out,
                "# +expiry-time={}",
                humantime::format_rfc3339_seconds(e)
            )?;
        }
        for t in &r.technologies {
            // What cannot run on this hardware is a feature for rules, not a node label.
            if t.verdict == Verdict::Unsupported {
                writeln!(out, "# +no-label")?;
            }
            let id = label_value(&t.id);
            writeln!(out, "virtprobe.io/{id}={}", t.verdict.as_str())?;
        }
        let h = &r.host;
        let cpu = &h.cpu;
        for (k, v) in [
            ("hypervisor", h.virtualization.hypervisor.as_str()),
            ("container", h.virtualization.container.as_str()),
            (
                "virt-extension",
                cpu.virt_extension.as_deref().unwrap_or("none"),
            ),
            ("virt-extension-state", cpu.virt_extension_state.as_str()),
        ] {
            writeln!(out, "virtprobe.io/{k}={}", label_value(v))?;
        }
        Ok(())
    }
}
