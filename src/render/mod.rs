//! One renderer per output format, behind [`Render`]: the report for a person ([`text`]), JSON
//! ([`json`]), Prometheus textfile metrics ([`prometheus`]), node-feature-discovery features
//! ([`nfd`]), and `explain` for one technology ([`explain`]). Reads no host files.

pub mod explain;
pub mod json;
pub mod layout;
pub mod nfd;
pub mod prometheus;
pub mod text;

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

pub use explain::Explain;
pub use json::Json;
pub use nfd::Nfd;
pub use prometheus::Prometheus;
pub use text::Text;

use crate::report::Report;

/// What a renderer may need beyond the report: how the person's terminal wants it, and, when the
/// service wrote it, that probe's figures.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Use ANSI colours.
    pub color: bool,
    /// Indent JSON (for a person at a terminal; scripts get it compact).
    pub pretty: bool,
    /// Width text is fitted to (0: [`layout::DEFAULT_WIDTH`]; [`layout::UNWRAPPED`]: none).
    pub columns: usize,
    /// Standard output is not a terminal: the report and `list` print one record per line, never
    /// wrapped (like `ls` and `lscpu`), and `list` as tab-separated fields without a heading.
    pub pipe: bool,
    /// The root judged is this machine's own file systems mounted elsewhere (`--host-root`), not
    /// a captured tree.
    pub host_root: bool,
    /// Show only these verdicts (empty: all).
    pub only: Vec<crate::report::Verdict>,
    /// List the unsupported technologies one by one, with why.
    pub all: bool,
    /// The service's figures for this probe (none for a one-shot run).
    pub service: Option<ServiceFigures>,
}

/// What the service knows of the probe it writes (metrics, NFD expiry).
#[derive(Debug, Clone)]
pub struct ServiceFigures {
    /// How long the probe took.
    pub duration: Duration,
    /// When the probe finished.
    pub finished: SystemTime,
    /// When NFD should drop the labels if they are not refreshed.
    pub expiry: SystemTime,
    /// Probes since the service started.
    pub probes: u64,
    /// Verdict changes since the service started.
    pub verdict_changes: u64,
    /// The interval of full probes.
    pub interval: Duration,
    /// When each technology's verdict last changed (its first probe, if it never did since).
    pub last_change: std::collections::BTreeMap<String, SystemTime>,
}

impl Context {
    /// The width text is fitted to.
    pub fn width(&self) -> usize {
        match self.columns {
            0 => layout::DEFAULT_WIDTH,
            n => n.max(40),
        }
    }

    /// The width records (the report's lines, `list`) are fitted to: none through a pipe.
    pub fn record_width(&self) -> usize {
        if self.pipe {
            layout::UNWRAPPED
        } else {
            self.width()
        }
    }
}

/// An output format.
pub trait Render {
    /// Write `report` to `out`.
    fn render(&self, report: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()>;
}

/// Render into memory.
pub fn to_bytes(r: &dyn Render, report: &Report, ctx: &Context) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.render(report, ctx, &mut out)?;
    Ok(out)
}

/// Text that came from the host, made safe to print: control characters and the bidirectional
/// overrides are shown escaped (`\n`, `\u{202e}`), so a captured file can neither forge a line nor
/// reorder what the terminal shows. JSON output is not touched: it escapes what it must.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unprintable(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A character no output shows raw: a control character, or one of Unicode's bidirectional
/// formatting characters (embeddings, overrides, isolates, marks).
pub(crate) fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
