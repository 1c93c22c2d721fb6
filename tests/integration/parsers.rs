//! The parsers (kernel config, versions, CPUID, `/proc/sysinfo`, `lparcfg`), the bounded gzip
//! inflate, the tool search, and the service's atomic writes and lock.

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
        let found = find(&fs, &[], &wanted).found;
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(names, ["firecracker", "lxc-*", "podman"]);
        assert_eq!(found["firecracker"], "/usr/local/bin/firecracker");
        assert_eq!(found["podman"], "/usr/bin/podman");
        assert_eq!(found["lxc-*"], "/usr/bin/lxc-start");
    }
}

mod version {
    use proptest::prelude::*;
    use virtprobe::version::*;

    #[test]
    fn real_releases() {
        let v = |s: &str| s.parse::<KVersion>().unwrap();
        assert_eq!(v("2.6.18-398.el5xen"), KVersion(2, 6, 18));
        assert_eq!(v("6.8.0-48-generic"), KVersion(6, 8, 0));
        assert_eq!(v("6.18.44-fc-v782"), KVersion(6, 18, 44));
        assert_eq!(v("3.10.0-1160.el7.x86_64"), KVersion(3, 10, 0));
        assert_eq!(v("6"), KVersion(6, 0, 0));
        assert_eq!(v("5.15.0-rc1+"), KVersion(5, 15, 0));
        assert_eq!(v("2.6.32-042stab"), KVersion(2, 6, 32));
        assert_eq!(
            v("5.15.167.4-microsoft-standard-WSL2"),
            KVersion(5, 15, 167)
        );
        assert_eq!(v("6.8.0-48-generic"), v("6.8"));
        assert!(v("2.6.37") > v("2.6.18-398.el5xen"));
        assert!(v("4.14") > v("4.13.16"));
        assert!("".parse::<KVersion>().is_err());
        assert!("garbage".parse::<KVersion>().is_err());
        assert!(matches!(
            "99999999999999999999.1.1".parse::<KVersion>(),
            Err(VersionError::Overflow(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::util::proptest_cases()))]
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = s.parse::<KVersion>();
        }

        #[test]
        fn round_trip(a in 0u32..100_000, b in 0u32..100_000, c in 0u32..100_000, suffix in "[-+a-z0-9_.]{0,12}") {
            let v = KVersion(a, b, c);
            prop_assert_eq!(format!("{v}").parse::<KVersion>().unwrap(), v);
            let with_suffix = format!("{v}{}", if suffix.starts_with(|ch: char| ch.is_ascii_digit()) { "" } else { &suffix });
            prop_assert_eq!(with_suffix.parse::<KVersion>().unwrap(), v);
        }

        #[test]
        fn order_is_numeric_and_total(a in any::<(u32,u32,u32)>(), b in any::<(u32,u32,u32)>()) {
            let (x, y) = (KVersion(a.0, a.1, a.2), KVersion(b.0, b.1, b.2));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
        }
    }
}

mod cpuid {
    use virtprobe::host::live::{LiveData, cpuid_key};
    use virtprobe::sources::cpuid::*;

    fn fake(leaves: &[((u32, u32), [u32; 4])]) -> LiveData {
        let mut d = LiveData::default();
        for (k, v) in leaves {
            d.cpuid.insert(cpuid_key(k.0, k.1), *v);
        }
        d
    }

    #[test]
    fn intel_vmx_and_kvm_signature() {
        // "GenuineIntel" = ebx "Genu", edx "ineI", ecx "ntel".
        let g = u32::from_le_bytes(*b"Genu");
        let i = u32::from_le_bytes(*b"ineI");
        let n = u32::from_le_bytes(*b"ntel");
        let k = u32::from_le_bytes(*b"KVMK");
        let v = u32::from_le_bytes(*b"VMKV");
        let m = u32::from_le_bytes(*b"M\0\0\0");
        let d = fake(&[
            ((0, 0), [0xd, g, n, i]),
            ((1, 0), [0x906ea, 0, (1 << 5) | (1 << 31), 0]),
            ((0x4000_0000, 0), [0x4000_0001, k, v, m]),
        ]);
        let c = read(&d).unwrap();
        assert!(c.vmx && !c.svm && c.hypervisor);
        assert_eq!(c.signature.as_deref(), Some("KVMKVMKVM"));
        assert_eq!(
            hypervisor_word(c.signature.as_deref().unwrap()),
            Some(virtprobe::sources::virt::Virt::Kvm)
        );
    }

    #[test]
    fn no_cpuid_source() {
        assert_eq!(read(&LiveData::default()), None);
    }
}

mod sysinfo {
    use proptest::prelude::*;
    use virtprobe::sources::virt::s390::*;

    #[test]
    fn sysinfo_levels() {
        let (lpar, levels) = parse_sysinfo(
            "LPAR Number: 21\nLPAR Name: LP21\nVM00 Name: X\nVM00 Control Program: z/VM    7.3.0\n",
        );
        assert!(lpar);
        assert_eq!(
            levels,
            vec![(
                "VM00 Control Program".to_string(),
                "z/VM    7.3.0".to_string()
            )]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::util::proptest_cases()))]
        #[test]
        fn sysinfo_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_sysinfo(&String::from_utf8_lossy(&bytes));
        }
        #[test]
        fn sysinfo_finds_every_level(names in proptest::collection::vec("[A-Za-z/ .0-9]{1,20}", 0..6)) {
            let text: String = names.iter().enumerate().map(|(i, n)| format!("VM{i:02} Control Program: {n}\n")).collect();
            let (_, levels) = parse_sysinfo(&text);
            prop_assert_eq!(levels.len(), names.len());
        }
    }
}

mod lparcfg {
    use proptest::prelude::*;
    use virtprobe::sources::virt::power::*;

    #[test]
    fn lparcfg_modes() {
        assert_eq!(
            parse_lparcfg("lparcfg 1.9\nshared_processor_mode=1\n"),
            "shared"
        );
        assert_eq!(parse_lparcfg("shared_processor_mode=0"), "dedicated");
        assert_eq!(parse_lparcfg(""), "yes");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::util::proptest_cases()))]
        #[test]
        fn lparcfg_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_lparcfg(&String::from_utf8_lossy(&bytes));
        }
    }
}

mod output {
    use std::os::unix::fs::PermissionsExt;

    use virtprobe::service::output::*;

    #[test]
    fn writes_whole_files_and_refuses_special_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(write_atomic(&link, b"x").is_err());
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file left");
    }

    #[test]
    fn a_second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let status = dir.path().join("status.json");
        let first = Lock::take(&run, &status).unwrap();
        assert!(matches!(
            Lock::take(&run, &status),
            Err(LockError::Busy(..))
        ));
        // Another status file has its own lock.
        Lock::take(&run, &dir.path().join("other.json")).unwrap();
        drop(first);
        Lock::take(&run, &status).unwrap();
    }
}

mod text {
    use virtprobe::render::clean;

    #[test]
    fn host_text_cannot_drive_the_terminal() {
        assert_eq!(clean("6.8.0\nforged line"), "6.8.0\\nforged line");
        assert_eq!(clean("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(clean("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(clean("plain ümlaut › text"), "plain ümlaut › text");
    }
}

mod labels {
    use virtprobe::render::nfd::label_value;

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("needs-host-change"), "needs-host-change");
        assert_eq!(label_value("-a b/c-"), "a_b_c");
        assert_eq!(label_value(&"x".repeat(100)).len(), 63);
        assert_eq!(label_value("a\nb"), "a_b");
    }
}

mod proc_cgroups {
    use proptest::prelude::*;
    use virtprobe::sources::cgroups::parse_proc_cgroups;

    #[test]
    fn enabled_controllers_and_bad_lines() {
        let text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t1\t1\nmemory\t0\t1\t0\nbroken\npids\t0\t1\t1\n";
        let set = parse_proc_cgroups(text);
        assert_eq!(set.into_iter().collect::<Vec<_>>(), ["cpuset", "pids"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::util::proptest_cases()))]
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_proc_cgroups(&String::from_utf8_lossy(&bytes));
        }
    }
}

mod arch_words {
    use virtprobe::sources::system::{canonical_arch, is_x86};

    #[test]
    fn x86_words_are_one_family() {
        for w in ["i386", "i486", "i586", "i686", "x86_64"] {
            assert!(is_x86(w), "{w}");
        }
        for w in ["aarch64", "s390x", "ppc64le", "x86", ""] {
            assert!(!is_x86(w), "{w}");
        }
        assert_eq!(canonical_arch("amd64"), "x86_64");
        assert_eq!(canonical_arch("i486"), canonical_arch("x86"));
        assert_eq!(canonical_arch("arm64"), "aarch64");
        assert_eq!(canonical_arch("riscv64"), "riscv64");
    }
}

mod uevent {
    use proptest::prelude::*;
    use virtprobe::service::uevent::matters;

    proptest! {
        /// Any datagram: no panic; what it names comes from the message itself.
        #[test]
        fn never_panics(msg in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = matters(&msg);
        }

        /// A module's add or remove is always said, with the module's name.
        #[test]
        fn modules_are_said(name in "[a-z_][a-z0-9_]{0,30}", add in any::<bool>(), seq in 0u64..1_000_000) {
            let action = if add { "add" } else { "remove" };
            let msg = format!("{action}@/module/{name}\0ACTION={action}\0DEVPATH=/module/{name}\0SUBSYSTEM=module\0SEQNUM={seq}\0");
            prop_assert_eq!(matters(msg.as_bytes()), Some(format!("module {name}: {action}")));
        }
    }
}
