//! /proc/modules and modules.builtin parsers.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t = String::from_utf8_lossy(data);
    for m in virtprobe::sources::kernel::modules::parse_proc_modules(&t) {
        assert!(!m.is_empty() && !m.contains(char::is_whitespace));
    }
    for m in virtprobe::sources::kernel::modules::parse_modules_builtin(&t) {
        assert!(!m.contains('/') && !m.contains('-'));
    }
});
