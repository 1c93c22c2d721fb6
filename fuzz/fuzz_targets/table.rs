//! The technology-table loader: any text is a table or a positioned error, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match virtprobe::rules::Table::parse(text, "fuzz.toml") {
            Ok(t) => {
                let _ = t.needs();
            }
            Err(e) => assert!(e.line >= 1 && e.column >= 1),
        }
    }
});
