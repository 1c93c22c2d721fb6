//! virtprobe's live KVM check and nothing else: open `/dev/kvm`, create a VM and a vCPU, close
//! them (the same code the probe runs), then print what it found. `bench/compare.sh` times it
//! beside the whole report, so a run shows how much of virtprobe's time is the kernel creating
//! and destroying that VM, which no user-space change can remove.

fn main() {
    let out = virtprobe::probe::kvm::probe_path(std::path::Path::new("/dev/kvm"));
    let ok = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not tried",
    };
    println!(
        "exists {} open {} create_vm {} create_vcpu {}{}",
        out.exists,
        ok(out.open),
        ok(out.create_vm),
        ok(out.create_vcpu),
        out.error.map(|e| format!(" ({e})")).unwrap_or_default()
    );
}
