//! The root-confined file layer: symlinks, `..`, loops, the kernel's own files, own root.
use std::path::Path;

use std::os::unix::fs::symlink;
use virtprobe::host::{FileKind, HostFs, Mode, ReadError};

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::write(root.join("usr/lib/os-release"), "ID=test\n").unwrap();
    symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
    symlink("/usr/lib/os-release", root.join("etc/abs")).unwrap();
    symlink("../../../../../../etc/passwd", root.join("etc/up")).unwrap();
    symlink("loop2", root.join("etc/loop1")).unwrap();
    symlink("loop1", root.join("etc/loop2")).unwrap();
    symlink("/proc/self", root.join("etc/proc")).unwrap();
    dir
}

#[test]
fn symlinks_stay_inside_root_with_and_without_openat2() {
    let dir = tree();
    for walk in [false, true] {
        let mut fs = HostFs::with_root(dir.path(), Mode::Tree).unwrap();
        if walk {
            fs = fs.without_openat2();
        }
        assert_eq!(fs.read_string("/etc/os-release").unwrap(), "ID=test\n");
        assert_eq!(fs.read_string("/etc/abs").unwrap(), "ID=test\n");
        // `..` is clamped at the root: /etc/passwd of the tree, which does not exist.
        assert!(
            fs.read("/etc/up").unwrap_err().is_not_found(),
            "walk {walk}"
        );
        assert!(matches!(
            fs.read("/etc/loop1"),
            Err(ReadError::SymlinkLoop(_))
        ));
        assert!(matches!(fs.read("/etc"), Err(ReadError::NotAFile(_))));
        assert!(fs.read("/etc/proc/status").unwrap_err().is_not_found());
        assert_eq!(fs.read_dir("/etc").unwrap().len(), 6);
        assert_eq!(
            fs.symlink_metadata("/etc/abs").unwrap().kind,
            FileKind::Symlink
        );
        assert_eq!(fs.metadata("/etc/abs").unwrap().kind, FileKind::File);
    }
}

#[test]
fn live_kernel_files_read_and_folders_are_refused() {
    let fs = HostFs::live().unwrap();
    if !Path::new("/proc/self/status").exists() {
        crate::util::skip!("skipped: no /proc on this machine");
        return;
    }
    assert!(fs.is_live());
    assert!(matches!(fs.read("/proc/self"), Err(ReadError::NotAFile(_))));
    let status = fs.read_string("/proc/self/status").unwrap();
    assert!(
        status.starts_with("Name:") && status.contains("\nPid:"),
        "{status}"
    );
    assert!(fs.read("/proc/no-such-file").unwrap_err().is_not_found());
    assert!(matches!(fs.read("/dev/null"), Err(ReadError::NotAFile(_))));
}

#[test]
fn own_root_is_live_and_a_tree_is_not() {
    assert!(
        HostFs::with_root(Path::new("/"), Mode::Tree)
            .unwrap()
            .is_live()
    );
    let dir = tree();
    assert!(!HostFs::with_root(dir.path(), Mode::Tree).unwrap().is_live());
}
