//! s390 /proc/sysinfo parser.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_, levels) = virtprobe::sources::virt::s390::parse_sysinfo(&String::from_utf8_lossy(data));
    assert!(levels.iter().all(|(k, _)| k.starts_with("VM")));
});
