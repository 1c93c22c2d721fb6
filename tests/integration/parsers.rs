//! The kernel config parser and the bounded gzip inflate; the tool search.

mod config {
    use proptest::prelude::*;
    use virtprobe::sources::kernel::config::{gunzip, parse_config};

    #[test]
    fn config_lines() {
        let m = parse_config(
            "# comment\nCONFIG_KVM=y\nCONFIG_KVM_AMD=m\n# CONFIG_KVM_INTEL is not set\nCONFIG_LOCALVERSION=\"-generic\"\nCONFIG_=y\n",
        );
        assert_eq!(m.get("KVM").map(String::as_str), Some("y"));
        assert_eq!(m.get("KVM_AMD").map(String::as_str), Some("m"));
        assert_eq!(m.get("LOCALVERSION").map(String::as_str), Some("-generic"));
        assert!(!m.contains_key("KVM_INTEL"));
        assert!(!m.contains_key(""));
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_bombs_and_truncation_are_errors() {
        let big = gzip(&vec![b'A'; 2 * 1024 * 1024]);
        assert!(gunzip(&big, 1024 * 1024).unwrap_err().contains("more than"));
        assert!(gunzip(b"not gzip at all", 1024).is_err());
        let text = b"CONFIG_KVM=y\n# CONFIG_X is not set\n".repeat(3000);
        let gz = gzip(&text);
        assert_eq!(gunzip(&gz, 1 << 20).unwrap(), text);
        for cut in [gz.len() - 1, gz.len() / 2, 12] {
            assert!(gunzip(&gz[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::util::proptest_cases()))]
        #[test]
        fn config_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_config(&String::from_utf8_lossy(&bytes));
        }
        #[test]
        fn gunzip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut gz = vec![0x1f, 0x8b, 8];
            gz.extend(bytes);
            let _ = gunzip(&gz, 1 << 16);
        }
        #[test]
        fn config_round_trip(opts in proptest::collection::btree_map("[A-Z][A-Z0-9_]{0,20}", "(y|m|[a-z0-9]{1,8})", 0..20)) {
            let text: String = opts.iter().map(|(k, v)| format!("CONFIG_{k}={v}\n")).collect();
            prop_assert_eq!(parse_config(&text), opts);
        }
    }
}

mod tools {
    use std::collections::BTreeSet;

    use virtprobe::host::HostFs;
    use virtprobe::host::Mode;
    use virtprobe::sources::tools::find;

    #[test]
    fn first_folder_wins_and_dangling_links_count() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("usr/bin");
        let local = root.path().join("usr/local/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        for n in ["qemu-system-aarch64", "firecracker", "lxc-start"] {
            std::fs::write(bin.join(n), "").unwrap();
        }
        std::fs::write(local.join("firecracker"), "").unwrap();
        std::os::unix::fs::symlink("/nowhere/podman", bin.join("podman")).unwrap();
        let fs = HostFs::with_root(root.path(), Mode::Tree).unwrap();
        let wanted: BTreeSet<String> = [
            "qemu-system-x86_64",
            "firecracker",
            "podman",
            "lxc-*",
            "absent",
        ]
        .map(String::from)
        .into();
        let found = find(&fs, &[], &wanted);
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(names, ["firecracker", "lxc-*", "podman"]);
        assert_eq!(found["firecracker"], "/usr/local/bin/firecracker");
        assert_eq!(found["podman"], "/usr/bin/podman");
        assert_eq!(found["lxc-*"], "/usr/bin/lxc-start");
    }
}
