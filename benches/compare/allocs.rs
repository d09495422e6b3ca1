//! Counting allocations: this binary's global allocator is `std::alloc::System` behind a
//! switch, so that `--allocs` can report allocations per message while every other run
//! times the clients undisturbed.
//!
//! Switched off (always, unless `--allocs` switches it on inside a timed part), each
//! allocation pays one relaxed load of a flag and a branch not taken before `System`. Switched
//! on, each pays two atomic additions on counters every thread shares, which is why the
//! counting pass is separate and its times are not comparable. The echo server child is this
//! binary too; nothing there turns counting on, so only the client process is counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

pub struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

impl Counting {
    #[inline]
    fn note(size: usize) {
        if ON.load(Relaxed) {
            COUNT.fetch_add(1, Relaxed);
            BYTES.fetch_add(size as u64, Relaxed);
        }
    }
}

// SAFETY: every call goes to `System` unchanged; the counting touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Counting::note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    /// A reallocation counts as an allocation of the new size (as dhat counts it): growing a
    /// buffer is what a per-message figure should show.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Allocations and bytes requested so far, while counting was on.
pub fn totals() -> (u64, u64) {
    (COUNT.load(Relaxed), BYTES.load(Relaxed))
}

/// Turns counting on (a timed part of the `--allocs` pass starts) or off (it ends).
pub fn count(on: bool) {
    ON.store(on, Relaxed);
}
