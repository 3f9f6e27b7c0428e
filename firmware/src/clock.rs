//! A 64-bit tick counter on SysTick (processor clock, 24-bit counter + wrap count).
//!
//! On hardware a tick is a core clock cycle. Under QEMU with `-icount shift=0`, virtual
//! time advances 1 ns per guest instruction and SysTick ticks at the machine's CPU clock,
//! so ticks are proportional to instructions executed; the firmware measures that ratio
//! (see [`calibrate`]) and the host converts ticks into instructions.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;

const RELOAD: u32 = 0x00FF_FFFF;
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick free-running from the processor clock, interrupting on each wrap.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Called from the SysTick exception.
pub fn on_wrap() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Ticks since [`start`].
pub fn now() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == before {
            return u64::from(before) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
        }
    }
}

/// Runs `iterations` of a two-instruction loop (`subs`, `bne`): `2 × iterations`
/// instructions, whose ticks give the host the ticks-per-instruction ratio.
pub fn calibrate(iterations: u32) -> u64 {
    let start = now();
    let n = iterations.max(1);
    // SAFETY: a register-only countdown loop; touches no memory and no stack.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) n => _,
            options(nomem, nostack),
        );
    }
    now() - start
}

/// Ticks taken by `f`, with its result.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let start = now();
    let value = f();
    (value, now() - start)
}
