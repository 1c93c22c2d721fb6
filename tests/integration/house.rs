//! The shape of the code: no global mutable state or custom runtime, no `unsafe`, small files,
//! and modules that use only the layers before them (docs/architecture.md).

use std::path::{Path, PathBuf};

/// The layers, in order: a module may use itself and the ones before it.
const LAYERS: &[&str] = &[
    "words", "version", "outdir", "host", "sources", "facts", "rules", "report", "render",
    "advise", "fix", "capture", "service", "cli",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> (PathBuf, Vec<(String, String)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    let texts = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .collect();
    (root, texts)
}

#[test]
fn no_global_state_custom_runtime_or_speed_tricks() {
    let (_, files) = src();
    for (name, text) in &files {
        for bad in [
            "static mut",
            "no_main",
            "global_allocator",
            "relocation-model",
            "OnceLock",
            "OnceCell",
            "LazyLock",
            "LazyCell",
            "lazy_static",
            "thread_local!",
        ] {
            assert!(!text.contains(bad), "{name} contains {bad:?}");
        }
    }
    assert!(!Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/build.rs")).exists());
}

/// Writes go through `outdir` (a folder opened once, `O_EXCL | O_NOFOLLOW`, `renameat2`), never by
/// path; standard output and error are written without `print!`, which panics on a failed write.
#[test]
fn writes_go_through_a_folder_descriptor_and_never_panic() {
    let (_, files) = src();
    for (name, text) in &files {
        // A module's own tests may make their fixtures any way.
        let text = text.split("#[cfg(test)]").next().unwrap_or(text);
        for bad in [
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "std::fs::write",
            "File::create",
            "OpenOptions",
            "std::fs::rename",
            "create_dir",
            "tempfile",
            "remove_dir_all",
        ] {
            // The one OpenOptions left opens a device for reading (/dev/net/tun, /dev/kvm).
            if bad == "OpenOptions" && name == "host/live.rs" {
                continue;
            }
            assert!(!text.contains(bad), "{name} contains {bad:?}");
        }
    }
}

#[test]
fn no_unsafe() {
    let (_, files) = src();
    for (name, text) in &files {
        for (i, l) in text.lines().enumerate() {
            let code = l.split("//").next().unwrap_or("");
            let unsafe_word = code
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "unsafe");
            assert!(!unsafe_word, "{name}:{}: unsafe", i + 1);
        }
    }
    for root in ["lib.rs", "main.rs"] {
        let text = &files.iter().find(|(n, _)| n == root).unwrap().1;
        assert!(
            text.contains("#![forbid(unsafe_code)]"),
            "{root} does not forbid unsafe code"
        );
    }
}

#[test]
fn files_are_small() {
    let (_, files) = src();
    for (name, text) in &files {
        let n = text.lines().count();
        assert!(n <= 500, "{name} has {n} lines");
    }
}

/// The module a file belongs to (`sources/virt/dmi.rs` → `sources`, `main.rs` → `cli`).
fn layer_of(file: &str) -> &str {
    match file.split('/').next().unwrap() {
        "main.rs" => "cli",
        "lib.rs" => "lib",
        f => f.trim_end_matches(".rs"),
    }
}

#[test]
fn modules_use_only_the_layers_before_them() {
    let (_, files) = src();
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    for (name, text) in &files {
        let me = layer_of(name);
        if me == "lib" {
            continue;
        }
        let mine = rank(me).unwrap_or_else(|| panic!("{name}: module {me} is not in LAYERS"));
        for prefix in ["crate::", "virtprobe::"] {
            for (i, _) in text.match_indices(prefix) {
                let rest = &text[i + prefix.len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let Some(theirs) = rank(&used) else { continue };
                assert!(
                    theirs <= mine,
                    "{name} ({me}) uses {used}, a later layer: {}",
                    rest.lines().next().unwrap_or("")
                );
            }
        }
    }
}
