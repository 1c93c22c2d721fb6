//! In-process benchmarks: the probe (on a fixture tree and on this host), the rule evaluation, and
//! each renderer. `cargo bench`; bench/compare.sh times the whole command against its peers.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use virtprobe::render::{Context, Render};

fn fixture() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/hosts/intel-vtx"
    ))
}

fn benches(c: &mut Criterion) {
    let table = virtprobe::rules::Table::embedded();
    let needs = table.needs();
    c.bench_function("table/embedded", |b| {
        b.iter(|| black_box(virtprobe::rules::Table::embedded()))
    });
    c.bench_function("table/parse-toml", |b| {
        b.iter(|| {
            black_box(virtprobe::rules::Table::parse(virtprobe::rules::EMBEDDED, "t").unwrap())
        })
    });
    c.bench_function("probe/fixture", |b| {
        b.iter(|| {
            let fs = virtprobe::open_host(Some(fixture())).unwrap();
            let live = virtprobe::live_sources(&fs);
            black_box(virtprobe::probe::probe(&fs, live.as_ref(), &needs))
        })
    });
    let probe_live = || {
        let fs = virtprobe::host::HostFs::live();
        let live = virtprobe::live_sources(&fs);
        virtprobe::probe::probe(&fs, live.as_ref(), &needs)
    };
    c.bench_function("probe/live-host", |b| b.iter(|| black_box(probe_live())));
    // The service's probe: the sources fixed for the life of the process are kept.
    virtprobe::probe::keep_stable_facts(true);
    c.bench_function("probe/live-host-kept", |b| {
        b.iter(|| black_box(probe_live()))
    });
    virtprobe::probe::keep_stable_facts(false);
    let fs = virtprobe::open_host(Some(fixture())).unwrap();
    let live = virtprobe::live_sources(&fs);
    let probed = virtprobe::probe::probe(&fs, live.as_ref(), &needs);
    c.bench_function("rules/judge-all", |b| {
        b.iter(|| black_box(virtprobe::report::build(&probed, &table, "/")))
    });
    let report = virtprobe::report::build(&probed, &table, "/");
    let ctx = Context::default();
    let renderers: [(&str, &dyn Render); 4] = [
        ("render/text", &virtprobe::render::Text),
        ("render/json", &virtprobe::render::Json),
        ("render/prometheus", &virtprobe::render::Prometheus),
        ("render/nfd", &virtprobe::render::Nfd),
    ];
    for (name, r) in renderers {
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(128 * 1024);
                r.render(&report, &ctx, &mut out).unwrap();
                black_box(out)
            })
        });
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    c.bench_function("parse/cpuinfo", |b| {
        b.iter(|| black_box(virtprobe::probe::cpu::parse_cpuinfo(&cpuinfo)))
    });
}

criterion_group! {
    name = probe;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(probe);
