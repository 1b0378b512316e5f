//! The fan-out bench (`benches/fanout.rs`) with a counting global
//! allocator, for the live heap per idle subscriber: one relaxed atomic add
//! per allocation and free, which slows allocation-heavy servers more than
//! others, so this binary's times are not for comparing (`fanout` times
//! with the system allocator).
//!
//! ```text
//! cargo bench -p sse-bench --bench fanout_heap -- --runs 1
//! ```
#![allow(unsafe_code)] // the counting global allocator

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::Ordering::Relaxed;

#[path = "fanout.rs"]
mod fanout;

/// Counts live heap bytes into `fanout::LIVE`.
struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        fanout::LIVE.fetch_add(layout.size() as isize, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        fanout::LIVE.fetch_sub(layout.size() as isize, Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        fanout::LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    fanout::main();
}
