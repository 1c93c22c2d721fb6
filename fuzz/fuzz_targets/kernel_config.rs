//! Kernel config parser, plain and gzip-wrapped (bounded inflate).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let m = virtprobe::sources::kernel::config::parse_config(&String::from_utf8_lossy(data));
    assert!(m.keys().all(|k| !k.is_empty() && !k.contains('=')));
    if let Ok(inflated) = virtprobe::sources::kernel::config::gunzip(data, 1 << 20) {
        assert!(inflated.len() <= 1 << 20);
    }
});
