//! Progress bars (hidden when `quiet`, e.g. in tests and logs).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar with position, rate, ETA and a message (loss / PSNR).
pub fn bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
