use std::path::{Path, PathBuf};

use virtprobe::render::{Context, Render};
use virtprobe::report::Report;

/// A copy of a fixture tree at `INTO/tree`, to change.
pub fn tree_copy(fixture_name: &str, into: &Path) -> PathBuf {
    let dst = into.join("tree");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(fixture(fixture_name))
        .arg(&dst)
        .status()
        .unwrap();
    assert!(ok.success());
    dst
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hosts")
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

pub fn report(root: &Path) -> Report {
    let table = virtprobe::rules::Table::embedded().unwrap();
    let fs = virtprobe::host::HostFs::with_root(root, virtprobe::host::Mode::Tree).unwrap();
    let live = virtprobe::host::live::sources_for(&fs);
    virtprobe::report::run(&fs, live.as_ref(), &table)
}

pub fn verdict(r: &Report, id: &str) -> String {
    r.get(id)
        .unwrap_or_else(|| panic!("no {id}"))
        .verdict
        .as_str()
        .to_string()
}

pub fn text(r: &Report) -> String {
    let mut out = Vec::new();
    virtprobe::render::Text
        .render(r, &Context::default(), &mut out)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// The binary `VIRTPROBE_TEST_BIN` names, if it is set (CI runs the tests again against the musl
/// release build that way).
pub fn bin_override() -> Option<PathBuf> {
    std::env::var_os("VIRTPROBE_TEST_BIN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// The binary the command-line tests run: [`bin_override`]'s, else this build's.
pub fn bin_path() -> PathBuf {
    bin_override().unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_virtprobe")))
}

pub fn bin() -> assert_cmd::Command {
    assert_cmd::Command::new(bin_path())
}

/// A corpus folder beside the checkout, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    d.is_dir().then_some(d)
}

/// Assert a command succeeded, showing its stderr if not.
pub fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `virtprobe --root FIXTURE advise ARGS --json`, which must succeed, parsed.
pub fn advise_json(host: &str, args: &[&str]) -> serde_json::Value {
    let out = bin()
        .arg("--root")
        .arg(fixture(host))
        .arg("advise")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    succeeded(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One technology of a JSON report.
pub fn tech<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["technologies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

/// How many cases each property test generates: `PROPTEST_CASES`, default 256.
pub fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256)
}

/// Whether the tests run as root (some mount, bind or drop to `nobody`, and skip otherwise).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Whether a command is on `PATH`.
pub fn have(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Send a signal to a child process (`Signal::TERM`, `Signal::HUP`…).
pub fn signal(child: &std::process::Child, sig: rustix::process::Signal) {
    rustix::process::kill_process(rustix::process::Pid::from_child(child), sig).unwrap();
}

/// The variable `.ci/run` sets: under it a test whose prerequisite is missing fails instead of
/// skipping.
pub const REQUIRE_ALL: &str = "VIRTPROBE_REQUIRE_ALL";

/// A test's prerequisite (root, /dev/kvm, a tool, the network) is missing: under
/// `VIRTPROBE_REQUIRE_ALL` the test fails; otherwise it says so on the process's real standard
/// error, which `cargo test` does not capture (only the printing macros are captured), so every
/// skip shows in its output as a line beginning `skipped`.
pub fn skipped(why: &str) {
    assert!(
        std::env::var_os(REQUIRE_ALL).is_none(),
        "{why} (and {REQUIRE_ALL} is set: nothing may skip)"
    );
    note(why);
}

/// Say a line on the real standard error, naming the test (what it did not do where a condition
/// that is not a prerequisite does not hold, such as the shared corpus being absent).
pub fn note(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr().lock(), "{why} [{test}]");
}

/// `skip!("…", args)`: [`skipped`] with a formatted message.
macro_rules! skip {
    ($($t:tt)*) => {
        $crate::util::skipped(&format!($($t)*))
    };
}
pub(crate) use skip;
