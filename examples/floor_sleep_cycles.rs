//! The service's sleep and nothing else: `N` sleeps of `INTERVAL_MS` (default 4000 × 10 ms) in
//! `ppoll`, as `virtprobe serve` sleeps between probes, then the process's CPU time per cycle.
//! `bench/compare.sh` prints it beside the service's CPU per cycle: waking a sleeping process
//! costs CPU of its own (tens of µs on a virtual machine), before the probe does anything.

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4000);
    let ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let ts = libc::timespec {
        tv_sec: (ms / 1000) as _,
        tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
    };
    for _ in 0..n {
        // SAFETY: no descriptors and a valid timeout; the call only sleeps.
        unsafe { libc::ppoll(std::ptr::null_mut(), 0, &ts, std::ptr::null()) };
    }
    let mut cpu = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut cpu) };
    let us = cpu.tv_sec as f64 * 1e6 + cpu.tv_nsec as f64 / 1e3;
    println!("{:.0}", us / f64::from(n.max(1)));
}
