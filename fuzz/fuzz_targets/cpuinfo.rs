//! /proc/cpuinfo parser: arbitrary bytes never panic, and what it finds is consistent.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let c = virtprobe::sources::cpu::parse_cpuinfo(&String::from_utf8_lossy(data));
    if c.virt_extension.is_some() {
        assert!(c.arch.is_some(), "an extension without an architecture");
    }
});
