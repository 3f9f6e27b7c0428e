//! The board edge: a status LED behind `embedded_hal::digital::OutputPin`.
//!
//! Lit while the firmware works, turned off when everything passed (left on after an
//! error). Under QEMU mps2-an386 the pin is a no-op; with feature `stm32f405` it is PA10
//! (the Netduino Plus 2's user LED; change [`LED_PIN`] for another board), driven by
//! direct register writes so that no HAL crate is needed. QEMU's netduinoplus2 does not
//! model GPIO: those writes land in an unimplemented-device region and are ignored.

use core::convert::Infallible;
use embedded_hal::digital::{ErrorType, OutputPin};

/// A pin that does nothing (QEMU machines without an LED model).
#[cfg_attr(feature = "stm32f405", allow(dead_code))]
pub struct NoLed;

impl ErrorType for NoLed {
    type Error = Infallible;
}

impl OutputPin for NoLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

#[cfg(feature = "stm32f405")]
pub use stm32::{GpioAPin, LED_PIN};

#[cfg(feature = "stm32f405")]
mod stm32 {
    use super::*;

    /// GPIOA pin driving the status LED.
    pub const LED_PIN: u32 = 10;
    const RCC_AHB1ENR: *mut u32 = 0x4002_3830 as *mut u32;
    const GPIOA_MODER: *mut u32 = 0x4002_0000 as *mut u32;
    const GPIOA_BSRR: *mut u32 = 0x4002_0018 as *mut u32;

    /// A push-pull output on GPIOA.
    pub struct GpioAPin(u32);

    impl GpioAPin {
        /// Enables GPIOA's clock and makes pin `pin` an output.
        pub fn output(pin: u32) -> Self {
            // SAFETY: read-modify-write of RCC/GPIOA configuration registers of the
            // STM32F405, done once at boot before anything else uses them.
            unsafe {
                let enr = core::ptr::read_volatile(RCC_AHB1ENR);
                core::ptr::write_volatile(RCC_AHB1ENR, enr | 1);
                let moder = core::ptr::read_volatile(GPIOA_MODER);
                let shift = 2 * pin;
                core::ptr::write_volatile(
                    GPIOA_MODER,
                    (moder & !(0b11 << shift)) | (0b01 << shift),
                );
            }
            GpioAPin(pin)
        }
    }

    impl ErrorType for GpioAPin {
        type Error = Infallible;
    }

    impl OutputPin for GpioAPin {
        fn set_low(&mut self) -> Result<(), Infallible> {
            // SAFETY: BSRR writes are atomic set/reset of one pin.
            unsafe { core::ptr::write_volatile(GPIOA_BSRR, 1 << (self.0 + 16)) };
            Ok(())
        }
        fn set_high(&mut self) -> Result<(), Infallible> {
            // SAFETY: as above.
            unsafe { core::ptr::write_volatile(GPIOA_BSRR, 1 << self.0) };
            Ok(())
        }
    }
}

/// The status LED of the board this build targets.
#[cfg(feature = "stm32f405")]
pub fn status_led() -> GpioAPin {
    GpioAPin::output(LED_PIN)
}

/// The status LED of the board this build targets.
#[cfg(not(feature = "stm32f405"))]
pub fn status_led() -> NoLed {
    NoLed
}

/// Name of the memory map this build links with.
pub const MEMORY_MAP: &str = if cfg!(feature = "stm32f405") {
    "stm32f405 (FLASH 0x08000000/1M, RAM 0x20000000/128K)"
} else {
    "mps2-an386 (FLASH 0x0/4M, RAM 0x20000000/128K)"
};
