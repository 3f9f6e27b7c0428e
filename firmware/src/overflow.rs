//! Feature `stack-overflow-check`: instead of the boot sequence, recurse until the stack
//! overflows, to show that the overflow is caught (a hard fault reported over defmt, exit
//! status [`crate::app::EXIT_STACK_OVERFLOW`]) rather than running into the statics. See
//! `fault.rs` and the QEMU test `stack_overflow_is_caught` in `tests/tests/firmware.rs`.

use core::hint::black_box;
use core::sync::atomic::{AtomicU32, Ordering};

/// Bytes of local data per recursion level.
const FRAME: usize = 256;
/// Recursion levels entered so far.
static DEPTH: AtomicU32 = AtomicU32::new(0);

/// One level: a frame of `FRAME` bytes the compiler must keep, then the next level.
#[inline(never)]
fn recurse(depth: u32) -> u32 {
    let mut frame = [0xA5u8; FRAME];
    DEPTH.store(depth, Ordering::Relaxed);
    black_box(&mut frame);
    // Never true; keeps the recursion from being provably unbounded.
    if black_box(depth) == u32::MAX {
        return 0;
    }
    let below = recurse(depth + 1);
    below.wrapping_add(u32::from(frame.first().copied().unwrap_or(0)))
}

/// Recurses until the stack overflows; the hard fault handler ends the program.
pub fn run() -> ! {
    let (used, size) = crate::stack::high_water();
    defmt::info!(
        "stack-overflow-check: recursing ({=usize} bytes a level) until the {=usize}-byte stack overflows ({=usize} used so far)",
        FRAME,
        size,
        used
    );
    let r = recurse(0);
    defmt::error!("stack-overflow-check: the recursion returned ({=u32})", r);
    crate::semihosting::exit(crate::app::EXIT_INTERNAL)
}

/// For the fault handler: how deep the recursion got.
pub fn report() {
    defmt::info!(
        "stack-overflow-check: {=u32} levels deep when the stack overflowed",
        DEPTH.load(Ordering::Relaxed)
    );
}
