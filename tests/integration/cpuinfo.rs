//! `/proc/cpuinfo` in every architecture's format.
use proptest::prelude::*;
use virtprobe::sources::cpu::parse_cpuinfo;

#[test]
fn formats() {
    let x = parse_cpuinfo(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu lm svm hypervisor\n\nprocessor\t: 1\n",
    );
    assert_eq!(x.arch.as_deref(), Some("x86_64"));
    assert_eq!(x.virt_extension, Some("svm"));
    assert_eq!(x.count, 2);
    let s = parse_cpuinfo(
        "vendor_id       : IBM/S390\n# processors    : 2\nfeatures\t: esan3 zarch stfle sie\nprocessor 0: version = FF,  identification = 0E3F12,  machine = 2817\n",
    );
    assert_eq!(s.arch.as_deref(), Some("s390x"));
    assert_eq!(s.virt_extension, Some("sie"));
    assert_eq!(s.model.as_deref(), Some("IBM/S390 machine type 2817"));
    let r = parse_cpuinfo(
        "processor\t: 0\nhart\t\t: 3\nisa\t\t: rv64imafdch_zicsr\nuarch\t\t: sifive,u74-mc\n",
    );
    assert_eq!(r.arch.as_deref(), Some("riscv64"));
    assert_eq!(r.virt_extension, Some("h"));
    let p = parse_cpuinfo(
        "processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\nplatform\t: PowerNV\nmodel\t\t: 9006-22P\n",
    );
    assert_eq!(p.arch.as_deref(), Some("ppc64"));
    assert_eq!(p.virt_extension, Some("hv-mode"));
    let a = parse_cpuinfo(
        "processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0c\n",
    );
    assert_eq!(a.arch.as_deref(), Some("aarch64"));
    assert_eq!(a.model.as_deref(), Some("ARM implementer 0x41 part 0xd0c"));
    let v7 = parse_cpuinfo(
        "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\nFeatures\t: swp half thumb\nCPU implementer\t: 0x41\nCPU architecture: 7\n",
    );
    assert_eq!(v7.arch.as_deref(), Some("armv7l"));
    let sp = parse_cpuinfo(
        "cpu\t\t: TI UltraSparc T2 (BlackBird)\nfpu\t\t: UltraSparc T2 integrated FPU\ntype\t\t: sun4v\nncpus probed\t: 64\n",
    );
    assert_eq!(sp.arch.as_deref(), Some("sparc64"));
    let ia = parse_cpuinfo(
        "processor  : 0\nvendor     : GenuineIntel\narch       : IA-64\nfamily     : Itanium 2\n",
    );
    assert_eq!(ia.arch.as_deref(), Some("ia64"));
    let la = parse_cpuinfo(
        "system type\t\t: generic-loongson-machine\n\nprocessor\t\t: 0\npackage\t\t\t: 0\ncore\t\t\t: 0\nCPU Family\t\t: Loongson-64bit\nModel Name\t\t: Loongson-3A5000\nFeatures\t\t: cpucfg lam ual fpu lsx lasx complex crypto lvz\n",
    );
    assert_eq!(la.arch.as_deref(), Some("loongarch64"));
    assert_eq!(parse_cpuinfo("").count, 0);
    // No `processor` line: what the file does say is kept (a model name is a QEMU signature).
    let q = parse_cpuinfo("model name\t: QEMU Virtual CPU version 2.5+\n");
    assert_eq!(q.model.as_deref(), Some("QEMU Virtual CPU version 2.5+"));
    assert_eq!(q.count, 1);
    assert_eq!(parse_cpuinfo("\0\u{1}garbage:::\n").arch, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::util::proptest_cases()))]
    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_cpuinfo(&String::from_utf8_lossy(&bytes));
    }
    #[test]
    fn never_panics_on_cpuinfo_like_lines(lines in proptest::collection::vec(
        ("(processor|vendor_id|flags|Features|features|isa|cpu|platform|CPU architecture|CPU implementer|processor 0)", "[ -~]{0,40}"), 0..12)) {
        let text: String = lines.iter().map(|(k, v)| format!("{k}\t: {v}\n")).collect();
        let _ = parse_cpuinfo(&text);
    }
}
