//! Timings of the table for `bench/compare.sh`: loading the embedded table (its compact form),
//! parsing the TOML it was made from, and judging one probe of this host with the embedded table
//! and with a table N times larger (the same technologies under new ids, dependencies renamed
//! alongside). Prints medians in microseconds. `cargo run --release --example table_timing [N]`.

use std::time::Instant;

use virtprobe::host::{HostFs, live};
use virtprobe::rules::{EMBEDDED, EMBEDDED_NAME, Table};

/// The median of `runs` timings of `f`, in microseconds.
fn median_us(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// The embedded table's TOML with every technology repeated `n` times (copies 2..=n get the id
/// suffix `-copyK`, and so do the ids their `depends` name).
fn larger(n: usize) -> String {
    let (head, rest) = EMBEDDED
        .split_once("\n[[technology]]\n")
        .expect("a technology");
    let body = format!("\n[[technology]]\n{rest}");
    let ids: Vec<String> = Table::parse(EMBEDDED, EMBEDDED_NAME)
        .expect("valid")
        .technologies
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut out = head.to_string();
    out.push_str(&body);
    for k in 2..=n {
        for line in body.lines() {
            let renamed = ids.iter().fold(line.to_string(), |l, id| {
                if l.starts_with("depends =") {
                    l.replace(&format!("\"{id}\""), &format!("\"{id}-copy{k}\""))
                } else if l == format!("id = \"{id}\"") && !out.ends_with("requires]]\n") {
                    format!("id = \"{id}-copy{k}\"")
                } else {
                    l
                }
            });
            out.push_str(&renamed);
            out.push('\n');
        }
    }
    out
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(8);
    let load = median_us(2000, || {
        std::hint::black_box(Table::embedded().unwrap());
    });
    let parse = median_us(200, || {
        std::hint::black_box(Table::parse(EMBEDDED, EMBEDDED_NAME).unwrap());
    });
    let table = Table::embedded().unwrap();
    let big = Table::parse(&larger(n), "larger.toml").expect("the larger table is valid");
    assert_eq!(big.technologies.len(), n * table.technologies.len());
    let fs = HostFs::live().expect("the host's root");
    let live = live::sources_for(&fs);
    let probed = virtprobe::sources::probe(&fs, live.as_ref(), &big.needs());
    let facts = virtprobe::facts::collect(&probed);
    let judge = |t: &Table| {
        let start = Instant::now();
        std::hint::black_box(virtprobe::report::build(&probed, &facts, t, "/"));
        start.elapsed().as_secs_f64() * 1e6
    };
    // Timed in pairs, one of each table in turn, so the machine's drift falls on both alike; the
    // ratio is the median of the pairs' ratios.
    let (mut ones, mut manys, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..400 {
        let (a, b) = (judge(&table), judge(&big));
        ones.push(a);
        manys.push(b);
        ratios.push(b / a);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (one, many, ratio) = (median(&mut ones), median(&mut manys), median(&mut ratios));
    println!("table load (compact form): {load:.1} us");
    println!("table parse (TOML): {parse:.1} us");
    println!(
        "judging {} technologies: {one:.1} us",
        table.technologies.len()
    );
    println!(
        "judging {} technologies: {many:.1} us",
        big.technologies.len()
    );
    println!("judging ratio: {ratio:.2} for a table {n}x larger (median of paired runs)");
}
