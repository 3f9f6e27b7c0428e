//! Stack high-water mark: paint the free stack at boot, find the deepest overwritten word.
//!
//! cortex-m-rt places the stack at the top of RAM (`_stack_start`) growing down to the end
//! of the statics (`_stack_end`).

const PAINT: u32 = 0x5AFE_C0DE;

extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

fn bounds() -> (usize, usize) {
    // Linker symbols: only their addresses are taken (no unsafe needed for `&raw const`).
    (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    )
}

/// Fills the unused stack (below the current stack pointer, less a small margin) with
/// the paint pattern.
///
/// # Safety
/// Call once, before interrupts are enabled: it overwrites everything below the
/// current stack pointer.
#[inline(never)]
pub unsafe fn paint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let top = sp.saturating_sub(16) & !3;
    let mut p = bottom;
    while p < top {
        // SAFETY: [bottom, top) is RAM between the statics and the live stack.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// `(used, size)` in bytes: the deepest the stack has grown since [`paint`], and the
/// whole stack region.
pub fn high_water() -> (usize, usize) {
    let (bottom, top) = bounds();
    let mut p = bottom;
    while p < top {
        // SAFETY: reads within the stack region.
        if unsafe { core::ptr::read_volatile(p as *const u32) } != PAINT {
            break;
        }
        p += 4;
    }
    (top - p, top - bottom)
}
