//! Hard faults, stack overflow included.
//!
//! The firmware links with [flip-link](https://github.com/knurling-rs/flip-link): the stack
//! sits at the bottom of RAM, below `.data`/`.bss`, and grows down towards the start of
//! RAM. An overflow therefore writes below RAM, where nothing is mapped: the access bus
//! faults (escalated to HardFault) instead of silently overwriting the statics.
//!
//! The fault handler then starts with the stack pointer still below RAM (exception entry
//! "stacked" the frame there, or failed to), where the first push of a Rust prologue would
//! fault again and lock the core up. So the entry, `HardFault`, is assembly: it hands the
//! faulting MSP and EXC_RETURN to [`on_hard_fault`] after moving MSP back to the top of
//! the stack region (`_stack_start`) — the interrupted program never resumes, so its stack
//! contents are expendable.

use crate::app::{EXIT_FAULT, EXIT_STACK_OVERFLOW};
use core::sync::atomic::{AtomicU32, Ordering};

/// A word in `.data`, checked by the fault handler: intact unless something (a stack
/// without flip-link's layout) overwrote the statics.
static CANARY: AtomicU32 = AtomicU32::new(CANARY_VALUE);
const CANARY_VALUE: u32 = 0x5AFE_DA7A;

/// Largest exception frame (FP context: 26 words) plus alignment padding.
const MAX_FRAME: usize = 27 * 4;

extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

// `HardFault`, as cortex-m-rt's vector table names it (a definition here replaces its
// default): no stack use before MSP is valid again.
core::arch::global_asm!(
    ".section .HardFault.user, \"ax\"",
    ".global HardFault",
    ".type HardFault, %function",
    ".thumb_func",
    "HardFault:",
    "mrs r0, msp",
    "mov r1, lr",
    "movw r2, :lower16:_stack_start",
    "movt r2, :upper16:_stack_start",
    "msr msp, r2",
    "bl {handler}",
    "udf #0",
    ".size HardFault, . - HardFault",
    handler = sym on_hard_fault,
);

/// Reports the fault over defmt and exits through semihosting: status
/// [`EXIT_STACK_OVERFLOW`] when the stack pointer was at or below the end of the stack
/// region, [`EXIT_FAULT`] otherwise (with the faulting `pc` and `lr` from the stacked
/// frame).
///
/// `sp` is MSP at fault entry, `exc_return` the EXC_RETURN value from LR.
unsafe extern "C" fn on_hard_fault(sp: u32, exc_return: u32) -> ! {
    let (stack_end, stack_start) = (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    );
    let sp = sp as usize;
    let statics_intact = CANARY.load(Ordering::Relaxed) == CANARY_VALUE;
    let canary_at = CANARY.as_ptr() as usize;
    if sp < stack_end + MAX_FRAME {
        #[cfg(feature = "stack-overflow-check")]
        crate::overflow::report();
        defmt::error!(
            "hard fault: stack overflow: sp {=u32:#010x}, stack region {=u32:#010x}..{=u32:#010x}; statics intact: {=bool}; statics above the stack (flip-link): {=bool}",
            sp as u32,
            stack_end as u32,
            stack_start as u32,
            statics_intact,
            canary_at >= stack_start
        );
        crate::semihosting::exit(EXIT_STACK_OVERFLOW)
    }
    // The frame is in the stack region: r0-r3, r12, lr, pc, xpsr (thread mode uses MSP;
    // EXC_RETURN bit 2 set would mean PSP, which this firmware never selects).
    let frame_ok = exc_return & 0b100 == 0 && sp + 32 <= stack_start;
    let word = |i: usize| -> u32 {
        if frame_ok {
            // SAFETY: `sp + 4 i` (i < 8) lies within the stack region, checked above.
            unsafe { core::ptr::read_volatile((sp + 4 * i) as *const u32) }
        } else {
            0
        }
    };
    defmt::error!(
        "hard fault: pc {=u32:#010x} lr {=u32:#010x} sp {=u32:#010x} exc_return {=u32:#010x}; statics intact: {=bool}",
        word(6),
        word(5),
        sp as u32,
        exc_return,
        statics_intact
    );
    crate::semihosting::exit(EXIT_FAULT)
}
