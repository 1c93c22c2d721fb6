//! POWER lparcfg parser.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mode = virtprobe::sources::virt::power::parse_lparcfg(&String::from_utf8_lossy(data));
    assert!(["shared", "dedicated", "yes"].contains(&mode));
});
