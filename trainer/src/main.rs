//! `hyperinr`: train, fit, classify, export, evaluate and inspect HyperINR models. The work
//! is the library's (`hyperinr_trainer`); this only parses the command line and reports.

use clap::Parser;
use hyperinr_trainer::cli::{run, Cli};

// burn allocates a fresh buffer per tensor op; the system allocator hands large buffers back
// to the kernel and page-faults them in again every step (a third of the run time).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Rust ignores SIGPIPE, so `hyperinr inspect M | head` would panic in println! once the
    // reader goes away; restore the default so the process ends quietly like any Unix tool.
    #[cfg(unix)]
    // SAFETY: called before any thread starts; SIG_DFL is a valid handler for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = run(Cli::parse().command) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
