//! The report as JSON: indented for a person at a terminal, compact for a program.

use std::io::{self, Write};

use super::{Context, Render};
use crate::report::Report;

/// The report as JSON (one trailing newline).
pub struct Json;

impl Render for Json {
    fn render(&self, r: &Report, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
        let text = if ctx.pretty {
            serde_json::to_string_pretty(r)
        } else {
            serde_json::to_string(r)
        }
        .map_err(io::Error::other)?;
        writeln!(out, "{text}")
    }
}
