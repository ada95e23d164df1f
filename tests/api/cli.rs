//! The `echelon` binary's data commands run as a user runs them: the generators live in the
//! binary (`src/tools`), not in the library, so the tests drive them through it.

use std::process::Command;

use crate::processes::BIN;

/// Runs `echelon ARGS` on the database at `url`; returns its standard output, after asserting
/// that it succeeded (`ok`) or failed (`!ok`).
pub fn run_echelon(url: &str, args: &[&str], ok: bool) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env("ECHELON_LOG", "warn")
        .env_remove("ECHELON_ENV")
        .output()
        .expect("run echelon");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.success(),
        ok,
        "echelon {args:?}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The number printed just before `word` in a command's summary ("... 12 tickets, ...").
pub fn number_before(text: &str, word: &str) -> i64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].trim_end_matches(',') == word)
        .and_then(|w| w[0].parse().ok())
        .unwrap_or_else(|| panic!("no number before {word:?} in {text}"))
}
