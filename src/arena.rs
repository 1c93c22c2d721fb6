//! The one-shot allocator: a bump arena for commands that run once and exit.
//!
//! A report allocates a few thousand small blocks (facts, evidence lines, the report) and frees
//! almost none of them before the process ends. glibc's malloc spends more time on those than the
//! probe spends reading files, and every fresh page of its heap costs a page fault, which on a
//! virtual machine is an exit to the hypervisor. This allocator hands out memory from one
//! anonymous mapping, moving a pointer forward, and populates the mapping 64 KiB at a time as the
//! pointer reaches it (`MADV_POPULATE_WRITE`: one system call for sixteen pages, half of what
//! faulting them in one by one costs here; on kernels before 5.14 the pages fault in as usual).
//! The mapping only reserves address space: what is never reached costs nothing. Only the newest block
//! can be freed or grown in place (which covers a `Vec` that grows while it is filled, and a
//! temporary string); other frees leave their memory to the end of the process. When the arena is
//! full, or could not be mapped, blocks come from the heap allocator (`HEAP`) as before.
//!
//! `virtprobe serve` runs for weeks and frees what it allocates: it uses the system allocator from
//! the start ([`use_system`], called before the first allocation).

use std::alloc::{GlobalAlloc, Layout};

/// Where blocks come from outside the arena. With glibc, its malloc. With musl, dlmalloc (a Rust
/// port): musl's own malloc gives emptied pages back to the system at once, so the service, which
/// frees and takes back about the same memory at every probe, paid eight page faults and two
/// `mmap`/`munmap` pairs (with their TLB flushes) a probe; dlmalloc keeps up to 2 MiB of free
/// memory before it trims.
/// (dlmalloc's own global form takes a pthread mutex around each call, which with musl was 7% of
/// the service's samples; a flag taken with one compare-and-swap does here: the binary allocates
/// from one thread, and a second one would wait its turn.)
#[cfg(not(target_env = "musl"))]
const HEAP: std::alloc::System = std::alloc::System;
#[cfg(target_env = "musl")]
const HEAP: musl_heap::Heap = musl_heap::Heap;

#[cfg(target_env = "musl")]
mod musl_heap {
    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::atomic::{AtomicBool, Ordering};

    static LOCKED: AtomicBool = AtomicBool::new(false);
    /// Touched only with `LOCKED` held.
    static mut DL: dlmalloc::Dlmalloc = dlmalloc::Dlmalloc::new();

    /// Holds `LOCKED` until dropped.
    struct Held;

    fn lock() -> Held {
        while LOCKED
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        Held
    }

    impl Drop for Held {
        fn drop(&mut self) {
            LOCKED.store(false, Ordering::Release);
        }
    }

    pub struct Heap;

    // SAFETY: every call holds the lock while it uses the one allocator, and passes the caller's
    // layout on, which GlobalAlloc's contract already constrains.
    unsafe impl GlobalAlloc for Heap {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let _held = lock();
            // SAFETY: see the impl.
            unsafe { (*std::ptr::addr_of_mut!(DL)).malloc(l.size(), l.align()) }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            let _held = lock();
            // SAFETY: see the impl.
            unsafe { (*std::ptr::addr_of_mut!(DL)).calloc(l.size(), l.align()) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            let _held = lock();
            // SAFETY: see the impl.
            unsafe { (*std::ptr::addr_of_mut!(DL)).free(p, l.size(), l.align()) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
            let _held = lock();
            // SAFETY: see the impl.
            unsafe { (*std::ptr::addr_of_mut!(DL)).realloc(p, l.size(), l.align(), new_size) }
        }
    }
}
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The address space reserved: a report uses about 0.3 MiB of it, a capture more.
const SIZE: usize = 4 << 20;
/// How much is populated at a time.
const CHUNK: usize = 64 * 1024;
/// `MADV_POPULATE_WRITE` (Linux 5.14), which the libc crate does not name on every target.
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// The allocator installed for the `virtprobe` binary.
pub struct OneShot;

/// Start of the arena, 0 before it is mapped, 1 when mapping failed or the arena is not wanted.
static BASE: AtomicUsize = AtomicUsize::new(0);
/// Offset of the first free byte.
static TOP: AtomicUsize = AtomicUsize::new(0);
/// Offset up to which the arena is populated.
static POPULATED: AtomicUsize = AtomicUsize::new(0);
/// Set when the mapping is being made (the first allocation).
static MAPPING: AtomicBool = AtomicBool::new(false);

const NONE: usize = 1;

/// Use the system allocator for everything (the long-running service).
#[cfg_attr(test, allow(dead_code))]
pub fn use_system() {
    let _ = BASE.compare_exchange(0, NONE, Ordering::AcqRel, Ordering::Acquire);
}

/// How much of the arena was used, in bytes (0 when there is none).
#[cfg(test)]
fn used() -> usize {
    if base() == NONE {
        0
    } else {
        TOP.load(Ordering::Relaxed)
    }
}

fn base() -> usize {
    let b = BASE.load(Ordering::Acquire);
    if b != 0 {
        return b;
    }
    // The first allocation maps the arena; another thread arriving meanwhile uses the system
    // allocator for its block (the command is single-threaded; this only keeps it sound).
    if MAPPING.swap(true, Ordering::AcqRel) {
        return NONE;
    }
    // SAFETY: an anonymous private mapping with no address hint has no preconditions.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    let b = if p == libc::MAP_FAILED {
        NONE
    } else {
        p as usize
    };
    match BASE.compare_exchange(0, b, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => b,
        // use_system() came first: give the mapping back.
        Err(other) => {
            if b != NONE {
                // SAFETY: `p` is the mapping made above, of SIZE bytes, not handed out.
                unsafe { libc::munmap(p, SIZE) };
            }
            other
        }
    }
}

/// Whether `p` lies in the arena that starts at `base`.
fn owns(base: usize, p: *mut u8) -> bool {
    base != NONE && (p as usize).wrapping_sub(base) < SIZE
}

/// A block of `layout` from the arena, or null when it does not fit.
fn bump(base: usize, layout: Layout) -> *mut u8 {
    let mut top = TOP.load(Ordering::Relaxed);
    loop {
        let start = (base + top).next_multiple_of(layout.align()) - base;
        let Some(end) = start.checked_add(layout.size()).filter(|e| *e <= SIZE) else {
            return ptr::null_mut();
        };
        match TOP.compare_exchange_weak(top, end, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => {
                populate(base, end);
                return (base + start) as *mut u8;
            }
            Err(t) => top = t,
        }
    }
}

/// Populate the arena up to `end` (rounded up to a chunk), if it is not yet.
fn populate(base: usize, end: usize) {
    let done = POPULATED.load(Ordering::Relaxed);
    if end <= done {
        return;
    }
    let upto = end.next_multiple_of(CHUNK).min(SIZE);
    if POPULATED.fetch_max(upto, Ordering::Relaxed) >= upto {
        return;
    }
    // SAFETY: the range lies inside the arena's mapping; populating only faults its pages in.
    // A kernel without MADV_POPULATE_WRITE refuses it, and the pages fault in when touched.
    unsafe {
        libc::madvise(
            (base + done) as *mut libc::c_void,
            upto - done,
            MADV_POPULATE_WRITE,
        )
    };
}

// SAFETY: every block handed out is either a fresh, aligned, non-overlapping range of the arena
// (the bump pointer only moves past it, or back over the newest block when that one is freed) or
// comes from `HEAP`, and each free or realloc goes back to where its block came from.
unsafe impl GlobalAlloc for OneShot {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = base();
        if base != NONE {
            let p = bump(base, layout);
            if !p.is_null() {
                return p;
            }
        }
        // SAFETY: the caller's layout has a non-zero size, as GlobalAlloc requires.
        unsafe { HEAP.alloc(layout) }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let base = BASE.load(Ordering::Acquire);
        if owns(base, p) {
            // The newest block: move the pointer back over it.
            let end = p as usize - base + layout.size();
            let _ =
                TOP.compare_exchange(end, p as usize - base, Ordering::Relaxed, Ordering::Relaxed);
            return;
        }
        // SAFETY: not in the arena, so it came from HEAP with this layout.
        unsafe { HEAP.dealloc(p, layout) }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let base = BASE.load(Ordering::Acquire);
        if !owns(base, p) {
            // SAFETY: not in the arena, so it came from HEAP with this layout.
            return unsafe { HEAP.realloc(p, layout, new_size) };
        }
        let start = p as usize - base;
        // The newest block grows or shrinks in place when the arena has room.
        if let Some(new_end) = start.checked_add(new_size).filter(|e| *e <= SIZE)
            && TOP
                .compare_exchange(
                    start + layout.size(),
                    new_end,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            populate(base, new_end);
            return p;
        }
        if new_size <= layout.size() {
            return p;
        }
        // SAFETY: the new layout keeps the old alignment and has the caller's non-zero size.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as in alloc.
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are valid for the old size and do not overlap (q is fresh).
            unsafe {
                ptr::copy_nonoverlapping(p, q, layout.size());
                self.dealloc(p, layout);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The allocator is tried directly (the test binary keeps the system one as its global).
    #[test]
    fn blocks_are_aligned_disjoint_and_the_newest_frees_and_grows_in_place() {
        let a = OneShot;
        unsafe {
            let l8 = Layout::from_size_align(24, 8).unwrap();
            let x = a.alloc(l8);
            let y = a.alloc(Layout::from_size_align(100, 64).unwrap());
            assert!(!x.is_null() && !y.is_null());
            assert_eq!(y as usize % 64, 0);
            assert!(y as usize >= x as usize + 24);
            x.write_bytes(0xaa, 24);
            // y is the newest: it grows in place and keeps its bytes.
            y.write_bytes(7, 100);
            let y2 = a.realloc(y, Layout::from_size_align(100, 64).unwrap(), 4000);
            assert_eq!(y2, y);
            assert_eq!(*y2.add(99), 7);
            // x is not the newest: growing it moves it, with its bytes.
            let x2 = a.realloc(x, l8, 48);
            assert_ne!(x2, x);
            assert_eq!(*x2.add(23), 0xaa);
            let top = used();
            // Freeing the newest block gives its room back; freeing an older one does not.
            a.dealloc(x2, Layout::from_size_align(48, 8).unwrap());
            assert!(used() < top);
            // A block larger than the arena comes from the system and goes back there.
            let big = Layout::from_size_align(SIZE * 2, 8).unwrap();
            let b = a.alloc(big);
            assert!(!b.is_null() && !owns(BASE.load(Ordering::Acquire), b));
            b.write_bytes(1, SIZE * 2);
            a.dealloc(b, big);
        }
    }
}
