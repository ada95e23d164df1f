//! The terminal's progress for the commands that run longer than a few seconds: a bar with the
//! count done, the total, the rate and the time left (indicatif draws it on standard error
//! when that is a terminal, and nothing otherwise), and the stage lines that say what was done
//! (printed above the bar, or as plain lines to a log).
//!
//! The bulk writers of the generators count their rows through [`rows`] wherever they insert a
//! batch (`planning::seed::chunks`, the settlement generator's `exec`); a command makes the bar
//! with [`Rows::start`], tells it the expected total once known, and the batches move it.

use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar of the command that runs now (one at a time: the CLI runs one command).
static CURRENT: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// The style of every bar: what, how far, how fast, how long still.
pub fn style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{msg:>24} [{bar:32}] {human_pos}/{human_len} in {elapsed_precise}, about {eta} left",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// A bar of rows written, shown while it lives; the stage lines carry their time since start.
pub struct Rows {
    bar: ProgressBar,
    started: Instant,
}

impl Rows {
    pub fn start(label: &str) -> Rows {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(style());
        bar.set_message(label.to_string());
        *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        Rows { bar, started: Instant::now() }
    }

    /// Says a stage is done: a line above the bar (or in the log), with the time since start.
    pub fn stage(&self, what: &str) {
        let line = format!("  {what} ({:.1} s)", self.started.elapsed().as_secs_f64());
        if self.bar.is_hidden() {
            println!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Counts `n` rows written on the running command's bar (nothing when there is none).
pub fn rows(n: usize) {
    if let Some(bar) = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        bar.inc(n as u64);
    }
}

/// Adds to the rows the running command's bar expects (nothing when there is none).
pub fn expect(n: usize) {
    if let Some(bar) = CURRENT.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        bar.inc_length(n as u64);
    }
}
