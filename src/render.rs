//! One renderer per output format, behind [`Render`]: the report for a person, JSON, Prometheus
//! textfile metrics, node-feature-discovery features, and `explain` for one technology.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use crate::report::{Report, Role, TechReport, Verdict};
use crate::rules::Outcome;

/// What a renderer may need beyond the report.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Use ANSI colours.
    pub color: bool,
    /// Indent JSON (for a person at a terminal; scripts get it compact, a quarter smaller).
    pub pretty: bool,
    /// How long the probe took (metrics).
    pub duration: Option<Duration>,
    /// When the probe finished (metrics).
    pub finished: Option<SystemTime>,
    /// When NFD should drop the labels if they are not refreshed.
    pub expiry: Option<SystemTime>,
}

/// An output format.
pub trait Render {
    /// Write `report` to `out`.
    fn render(&self, report: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()>;
    /// True when the renderer buffers its own writes, so `out` needs no buffer of its own.
    fn buffers_itself(&self) -> bool {
        false
    }
}

fn paint(ctx: &Context, v: Verdict, text: &str) -> String {
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

/// Strip control characters from text that came from the host, so a hostile tree cannot drive
/// the terminal.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
        .collect()
}

/// The report for a person.
pub struct Text;

impl Render for Text {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        let h = &r.host;
        writeln!(
            out,
            "virtprobe {} — {}",
            r.virtprobe_version,
            if r.root == "/" {
                "this host".to_string()
            } else {
                format!("captured tree {}", clean(&r.root))
            }
        )?;
        let cpu = format!(
            "{} ({})",
            clean(h.cpu.model.as_deref().unwrap_or("unknown model")),
            clean(h.cpu.vendor.as_deref().unwrap_or("unknown vendor"))
        );
        writeln!(
            out,
            "  Architecture   {}  {}",
            h.arch.as_deref().unwrap_or("unknown"),
            cpu
        )?;
        writeln!(
            out,
            "  Kernel         {}{}",
            clean(h.kernel.release.as_deref().unwrap_or("unknown")),
            h.kernel
                .config_source
                .as_deref()
                .map(|s| format!("  (config: {})", clean(s)))
                .unwrap_or_else(|| "  (config: not found)".into())
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
                format!(
                    "{} {}",
                    l.name,
                    if l.kind == "host" {
                        "host"
                    } else if l.kind == "container" {
                        "container"
                    } else {
                        "guest"
                    }
                )
            })
            .collect();
        writeln!(
            out,
            "  Runs in        {}",
            if layers.is_empty() {
                "bare metal, no container".to_string()
            } else {
                layers.join(" › ")
            }
        )?;
        if let Some(k) = &h.kvm {
            let line = if !k.exists {
                "/dev/kvm absent".to_string()
            } else {
                let mut parts = vec![match k.open {
                    Some(true) => "opened".to_string(),
                    Some(false) => "cannot open".to_string(),
                    None => "not opened".to_string(),
                }];
                if let Some(v) = k.api_version {
                    parts.push(format!("API {v}"));
                }
                if let Some(ok) = k.create_vm {
                    parts.push(if ok {
                        "VM created".into()
                    } else {
                        "VM not created".into()
                    });
                }
                if let Some(ok) = k.create_vcpu {
                    parts.push(if ok {
                        "vCPU created".into()
                    } else {
                        "vCPU not created".into()
                    });
                }
                if let Some(e) = &k.error {
                    parts.push(e.clone());
                }
                format!("/dev/kvm {}", parts.join(", "))
            };
            writeln!(out, "  KVM            {line}")?;
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

/// The report as JSON (pretty, one trailing newline).
pub struct Json;

impl Render for Json {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        // serde_json writes a few bytes at a time: a buffer of a concrete type takes them with
        // inlined copies, where each write to `out` would be a call through the trait object
        // (a third of the rendering's instructions).
        let mut w = Buffered::new(16 * 1024, &mut *out);
        let written = if ctx.pretty {
            serde_json::to_writer_pretty(&mut w, r)
        } else {
            serde_json::to_writer(&mut w, r)
        };
        written.map_err(|e| match e.io_error_kind() {
            // Keep the kind (a closed pipe is not an error worth reporting).
            Some(kind) => io::Error::new(kind, e),
            None => io::Error::other(e),
        })?;
        writeln!(w)?;
        w.flush()
    }

    fn buffers_itself(&self) -> bool {
        true
    }
}

/// Append `b` to `v`. serde_json writes a few bytes at a time (a quote, a colon, a key, a short
/// text): up to 64 bytes are copied here with a few overlapping word moves, not through the C
/// library's `memcpy`, whose call costs more than such a copy (musl's starts every copy with
/// `rep movs`: a tenth of a report's time went there).
#[inline]
pub fn push_bytes(v: &mut Vec<u8>, b: &[u8]) {
    let n = b.len();
    if n > 64 {
        v.extend_from_slice(b);
        return;
    }
    v.reserve(64);
    let len = v.len();
    // SAFETY: `reserve` made room for 64 more bytes and n <= 64. Each move reads W bytes at an
    // offset in 0..=n-W of `b` and writes them at the same offset of the room; the moves of one
    // size overlap, which writes the same bytes twice. set_len covers only bytes just written.
    unsafe {
        let src = b.as_ptr();
        let dst = v.as_mut_ptr().add(len);
        #[inline(always)]
        unsafe fn mv<T>(src: *const u8, dst: *mut u8, at: usize) {
            // SAFETY: the caller keeps `at + size_of::<T>()` within both buffers.
            unsafe {
                dst.add(at)
                    .cast::<T>()
                    .write_unaligned(src.add(at).cast::<T>().read_unaligned())
            }
        }
        if n > 32 {
            mv::<u128>(src, dst, 0);
            mv::<u128>(src, dst, 16);
            mv::<u128>(src, dst, n - 32);
            mv::<u128>(src, dst, n - 16);
        } else if n > 16 {
            mv::<u128>(src, dst, 0);
            mv::<u128>(src, dst, n - 16);
        } else if n >= 8 {
            mv::<u64>(src, dst, 0);
            mv::<u64>(src, dst, n - 8);
        } else if n >= 4 {
            mv::<u32>(src, dst, 0);
            mv::<u32>(src, dst, n - 4);
        } else if n > 0 {
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
        v.set_len(len + n);
    }
}

/// A growing buffer as a writer, with [`push_bytes`]'s copies.
pub struct VecWriter<'a>(pub &'a mut Vec<u8>);

impl Write for VecWriter<'_> {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        push_bytes(self.0, b);
        Ok(b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        push_bytes(self.0, b);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A fixed-size buffer in front of `out`, with [`push_bytes`]'s copies.
struct Buffered<'a> {
    buf: Vec<u8>,
    out: &'a mut dyn Write,
}

impl<'a> Buffered<'a> {
    fn new(capacity: usize, out: &'a mut dyn Write) -> Self {
        Buffered {
            buf: Vec::with_capacity(capacity.max(64)),
            out,
        }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl Write for Buffered<'_> {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        // (Room for 64 bytes at least, so that `push_bytes` never grows the buffer.)
        if self.buf.len() + b.len().max(64) > self.buf.capacity() {
            self.flush_buf()?;
            if b.len() > self.buf.capacity() {
                return self.out.write_all(b);
            }
        }
        push_bytes(&mut self.buf, b);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.out.flush()
    }
}

/// Every rule of one technology with its evidence.
pub struct Explain<'a>(pub &'a TechReport);

impl Render for Explain<'_> {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        let t = self.0;
        writeln!(
            out,
            "{} ({}): {}",
            t.name,
            t.id,
            paint(ctx, t.verdict, t.verdict.as_str())
        )?;
        if let Some(role) = t.detected {
            writeln!(
                out,
                "  detected: this Linux is its {}",
                if role == Role::Host {
                    "host (controlling OS)"
                } else {
                    "guest"
                }
            )?;
        }
        writeln!(out, "  {}", clean(&t.summary))?;
        writeln!(out, "  category {}, status {}", t.category, t.status)?;
        writeln!(
            out,
            "\nHost: hypervisor {}, container {}, VT extension {} ({})",
            r.host.virtualization.hypervisor,
            r.host.virtualization.container,
            r.host.cpu.virt_extension.as_deref().unwrap_or("none"),
            r.host.cpu.virt_extension_state
        )?;
        for l in &r.host.virtualization.layers {
            writeln!(
                out,
                "  {} {}: {}",
                l.kind,
                l.name,
                clean(&l.evidence.join("; "))
            )?;
        }
        writeln!(out, "  VT: {}", clean(&r.host.cpu.virt_extension_evidence))?;
        writeln!(out, "\nRules:")?;
        for x in &t.reasons {
            let mark = match x.result {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::Unknown => "????",
            };
            let class = serde_json::to_value(x.class)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            if x.result == Outcome::Pass {
                writeln!(out, "  [{mark}] {} ({class})", x.requirement)?;
            } else {
                writeln!(
                    out,
                    "  [{mark}] {} ({class}): {}",
                    x.requirement,
                    clean(&x.message)
                )?;
            }
            for e in &x.evidence {
                writeln!(out, "         {}", clean(e))?;
            }
        }
        if !t.remediation.is_empty() {
            writeln!(out, "\nTo do:")?;
            for (i, f) in t.remediation.iter().enumerate() {
                writeln!(out, "  {}. {}", i + 1, clean(f))?;
            }
        }
        let tc = &t.table;
        writeln!(
            out,
            "\nSource table: full virt {:?}, paravirt {:?}, containers {:?}, license {:?}, architectures {:?}, performance {:?}, SMP guests {:?}, hotplug {:?}, standalone host {:?}, notes {:?}",
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
        )?;
        for c in tc.corrections.iter() {
            writeln!(out, "  correction: {c}")?;
        }
        Ok(())
    }
}

fn prom_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Prometheus text format for node_exporter's textfile collector (no sample timestamps).
pub struct Prometheus;

impl Render for Prometheus {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "# HELP virtprobe_technology_verdict Verdict per virtualization technology: 1 for the current verdict, 0 for the others."
        )?;
        writeln!(out, "# TYPE virtprobe_technology_verdict gauge")?;
        for t in &r.technologies {
            for v in Verdict::ALL {
                writeln!(
                    out,
                    "virtprobe_technology_verdict{{technology=\"{}\",verdict=\"{}\"}} {}",
                    prom_escape(&t.id),
                    v.as_str(),
                    u8::from(t.verdict == v)
                )?;
            }
        }
        writeln!(
            out,
            "# HELP virtprobe_technology_ready 1 if the technology is usable now by the probing user."
        )?;
        writeln!(out, "# TYPE virtprobe_technology_ready gauge")?;
        for t in &r.technologies {
            writeln!(
                out,
                "virtprobe_technology_ready{{technology=\"{}\"}} {}",
                prom_escape(&t.id),
                u8::from(t.verdict == Verdict::Ready)
            )?;
        }
        writeln!(
            out,
            "# HELP virtprobe_technology_detected 1 if this Linux is the host or a guest of the technology."
        )?;
        writeln!(out, "# TYPE virtprobe_technology_detected gauge")?;
        for t in &r.technologies {
            if let Some(role) = t.detected {
                writeln!(
                    out,
                    "virtprobe_technology_detected{{technology=\"{}\",role=\"{}\"}} 1",
                    prom_escape(&t.id),
                    if role == Role::Host { "host" } else { "guest" }
                )?;
            }
        }
        writeln!(
            out,
            "# HELP virtprobe_probe_errors Number of host facts that could not be read."
        )?;
        writeln!(out, "# TYPE virtprobe_probe_errors gauge")?;
        writeln!(out, "virtprobe_probe_errors {}", r.errors.len())?;
        if let Some(d) = ctx.duration {
            writeln!(
                out,
                "# HELP virtprobe_probe_duration_seconds How long the last probe took."
            )?;
            writeln!(out, "# TYPE virtprobe_probe_duration_seconds gauge")?;
            writeln!(out, "virtprobe_probe_duration_seconds {}", d.as_secs_f64())?;
        }
        if let Some(t) = ctx.finished {
            writeln!(
                out,
                "# HELP virtprobe_last_success_timestamp_seconds Unix time of the last completed probe."
            )?;
            writeln!(out, "# TYPE virtprobe_last_success_timestamp_seconds gauge")?;
            writeln!(
                out,
                "virtprobe_last_success_timestamp_seconds {:.3}",
                unix_seconds(t)
            )?;
        }
        writeln!(out, "# HELP virtprobe_info Host facts as labels.")?;
        writeln!(out, "# TYPE virtprobe_info gauge")?;
        writeln!(
            out,
            "virtprobe_info{{version=\"{}\",arch=\"{}\",kernel=\"{}\",hypervisor=\"{}\",container=\"{}\",virt_extension=\"{}\",virt_extension_state=\"{}\"}} 1",
            prom_escape(&r.virtprobe_version),
            prom_escape(r.host.arch.as_deref().unwrap_or("unknown")),
            prom_escape(r.host.kernel.release.as_deref().unwrap_or("unknown")),
            prom_escape(&r.host.virtualization.hypervisor),
            prom_escape(&r.host.virtualization.container),
            prom_escape(r.host.cpu.virt_extension.as_deref().unwrap_or("none")),
            prom_escape(&r.host.cpu.virt_extension_state),
        )?;
        Ok(())
    }
}

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

/// node-feature-discovery local features file (`features.d`).
pub struct Nfd;

impl Render for Nfd {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "# Written by virtprobe {} at {}",
            r.virtprobe_version, r.generated_at
        )?;
        if let Some(e) = ctx.expiry {
            writeln!(
                out,
                "# +expiry-time={}",
                humantime::format_rfc3339_seconds(e)
            )?;
        }
        for t in &r.technologies {
            writeln!(
                out,
                "virtprobe.io/{}={}",
                label_value(&t.id),
                t.verdict.as_str()
            )?;
        }
        let h = &r.host;
        writeln!(
            out,
            "virtprobe.io/hypervisor={}",
            label_value(&h.virtualization.hypervisor)
        )?;
        writeln!(
            out,
            "virtprobe.io/container={}",
            label_value(&h.virtualization.container)
        )?;
        writeln!(
            out,
            "virtprobe.io/virt-extension={}",
            label_value(h.cpu.virt_extension.as_deref().unwrap_or("none"))
        )?;
        writeln!(
            out,
            "virtprobe.io/virt-extension-state={}",
            label_value(&h.cpu.virt_extension_state)
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]

        /// Whatever the sizes of the pieces, both writers hand on exactly the bytes written, in
        /// order (the small copies overlap; the buffered writer flushes and bypasses itself).
        #[test]
        fn writers_keep_every_byte(
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..150), 0..60),
            cap in 64usize..256,
        ) {
            let want: Vec<u8> = pieces.concat();
            let mut v = Vec::new();
            let mut out = Vec::new();
            {
                let mut w = VecWriter(&mut v);
                let mut b = Buffered::new(cap, &mut out);
                let room = b.buf.capacity();
                for p in &pieces {
                    w.write_all(p).unwrap();
                    b.write_all(p).unwrap();
                }
                b.flush().unwrap();
                // The buffer never grew past its size, and nothing stayed in it.
                prop_assert_eq!(b.buf.capacity(), room);
                prop_assert!(b.buf.is_empty());
            }
            prop_assert_eq!(&v, &want);
            prop_assert_eq!(&out, &want);
        }
    }

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("needs-host-change"), "needs-host-change");
        assert_eq!(label_value("-a b/c-"), "a_b_c");
        assert_eq!(label_value(&"x".repeat(100)).len(), 63);
        assert_eq!(clean("a\x1b[31mb"), "a?[31mb");
    }
}
