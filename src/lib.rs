//! virtprobe: which virtualization technologies can run on this Linux host, and what stands in the
//! way of the others.
//!
//! The layers, each using only those before it (`docs/architecture.md` has the map):
//! [`host`] reads the host (or a captured tree) through a root-confined file layer and the live
//! answers; [`sources`] gather typed findings; [`facts`] names them; [`rules`] holds the technology
//! table (data, not code) and evaluates it; [`report`] turns the results into verdicts (the JSON
//! contract); [`render`] writes them for a person, as JSON, as Prometheus metrics or as
//! node-feature-discovery features; [`advise`] ranks the options for a workload; [`capture`] copies
//! what the probe read; [`service`] keeps the outputs current.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[macro_use]
mod words;

pub mod advise;
pub mod capture;
pub mod facts;
pub mod fix;
pub mod host;
pub mod outdir;
pub mod render;
pub mod report;
pub mod rules;
pub mod service;
pub mod sources;
pub mod version;

/// How many cases each property test generates: `PROPTEST_CASES`, default 256.
#[cfg(test)]
pub(crate) fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}
