//! A Rust program that does nothing, built like virtprobe (static, same profile): the start-up
//! floor that `bench/compare.sh` prints beside virtprobe's own time. Every program pays it, lscpu
//! too (glibc's start-up asks CPUID for the cache sizes dozens of times, and in a virtual machine
//! each CPUID is an exit to the hypervisor).

fn main() {}
