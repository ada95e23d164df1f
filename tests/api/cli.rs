//! The `echelon` binary's data commands run as a user runs them: the generators live in the
//! binary (`src/tools`), not in the library, so the tests drive them through it.

use std::process::Command;

use crate::processes::BIN;

/// Runs `echelon ARGS` on the database at `url`; returns its standard output, after asserting
/// that it succeeded (`ok`) or failed (`!ok`).
pub fn run_echelon(url: &str, args: &[&str], ok: bool) -> String {
    let out = echelon(url, args);
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

/// `echelon ARGS` run to its end on the database at `url`, outside production.
fn echelon(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env("ECHELON_LOG", "warn")
        .env_remove("ECHELON_ENV")
        .output()
        .expect("run echelon")
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

/// Runs `echelon ARGS` expecting a refusal: exit code non-zero, one line on standard error in
/// the command's own words (no HTTP status, no backtrace); returns that line.
pub fn refused(url: &str, args: &[&str]) -> String {
    let out = echelon(url, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "echelon {args:?} succeeded: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "echelon {args:?}: one line, got: {stderr}");
    for word in ["internal", "not_found", "panicked", "backtrace", "404", "500"] {
        assert!(!lines[0].contains(word), "echelon {args:?}: {word:?} in {stderr}");
    }
    lines[0].to_string()
}

crate::both!(the_settlement_export_takes_its_format_from_the_file_name_and_says_what_is_wrong, |app| async {
    let dir = tempfile::tempdir().unwrap();
    let url = app.url.clone();
    tokio::task::spawn_blocking(move || {
        let period = chrono::Utc::now().format("%Y-%m").to_string();
        let xlsx = dir.path().join("s.xlsx");
        let out = run_echelon(
            &url,
            &["export", "settlement", "--period", &period, "--out", xlsx.to_str().unwrap()],
            true,
        );
        assert!(out.contains("written to"), "{out}");
        assert!(std::fs::read(&xlsx).unwrap().starts_with(b"PK"), "an .xlsx out is an XLSX file");
        let csv = dir.path().join("s.csv");
        run_echelon(
            &url,
            &["export", "settlement", "--period", &period, "--out", csv.to_str().unwrap()],
            true,
        );
        assert!(std::fs::read(&csv).unwrap().starts_with(b"\xEF\xBB\xBFperiod,"), "a CSV with its BOM");
        let line = refused(
            &url,
            &[
                "export",
                "settlement",
                "--period",
                &period,
                "--format",
                "csv",
                "--out",
                xlsx.to_str().unwrap(),
            ],
        );
        assert!(line.contains("does not match"), "{line}");
        let line =
            refused(&url, &["export", "settlement", "--period", &period, "--out", "/nonexistent/dir/s.csv"]);
        assert!(line.contains("cannot write /nonexistent/dir/s.csv"), "{line}");
        let line = refused(
            &url,
            &[
                "export",
                "settlement",
                "--period",
                &period,
                "--station",
                "ST-XX-999",
                "--out",
                csv.to_str().unwrap(),
            ],
        );
        assert!(line.contains("no station ST-XX-999"), "{line}");
        let line =
            refused(&url, &["export", "settlement", "--period", "2999-01", "--out", csv.to_str().unwrap()]);
        assert!(line.contains("2999-01 has not begun"), "{line}");
    })
    .await
    .unwrap();
});

#[test]
fn a_database_url_that_names_no_database_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["garbage", "mysql://h/db"] {
        let out = Command::new(BIN)
            .args(["migrate"])
            .current_dir(dir.path())
            .env("DATABASE_URL", url)
            .env_remove("ECHELON_ENV")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}");
        assert_eq!(err.lines().count(), 1, "{url}: {err}");
        assert!(err.contains("sqlite://FILE"), "{url}: {err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file was created");
}

#[test]
fn an_unreachable_database_is_reported_once_and_soon() {
    // nothing listens on this port: the command says so in one line, well within the pool's wait
    let port = crate::processes::free_port();
    let started = std::time::Instant::now();
    let out = Command::new(BIN)
        .args(["audit"])
        .env("DATABASE_URL", format!("postgres://echelon:secret@127.0.0.1:{port}/echelon"))
        .env_remove("ECHELON_ENV")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "took {:?}", started.elapsed());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot connect to the database") && !err.contains("secret"), "{err}");
}
