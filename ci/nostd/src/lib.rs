//! A `#![no_std]` consumer of sse-core, as firmware would link it: parse a
//! stream and encode an event with no operating system underneath.
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};

use sse_core::encode::{self, Message};
use sse_core::parse::Parser;

/// A bump allocator over a static arena: enough to prove linking.
struct Bump {
    arena: UnsafeCell<[u8; 64 * 1024]>,
    next: AtomicUsize,
}

unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = self
            .next
            .load(Ordering::Relaxed)
            .next_multiple_of(layout.align());
        let end = start + layout.size();
        if end > 64 * 1024 {
            return core::ptr::null_mut();
        }
        self.next.store(end, Ordering::Relaxed);
        unsafe { (self.arena.get() as *mut u8).add(start) }
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump {
    arena: UnsafeCell::new([0; 64 * 1024]),
    next: AtomicUsize::new(0),
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Parses `len` bytes at `ptr` and returns the number of events.
#[no_mangle]
pub extern "C" fn sse_count_events(ptr: *const u8, len: usize) -> usize {
    let input = unsafe { core::slice::from_raw_parts(ptr, len) };
    let mut parser = Parser::new();
    parser.handle_bytes(input);
    let mut n = 0;
    while let Some(event) = parser.poll_event() {
        n += usize::from(event.is_ok());
    }
    n
}

/// Encodes one event into `out` and returns its length, or 0 on error.
#[no_mangle]
pub extern "C" fn sse_encode_hello(out: *mut u8, cap: usize) -> usize {
    let mut buf = alloc::vec::Vec::new();
    if encode::message(&mut buf, &Message::new("hello").id("1")).is_err() || buf.len() > cap {
        return 0;
    }
    unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), out, buf.len()) };
    buf.len()
}
