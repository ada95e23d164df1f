//! The `echelon` binary's data commands run as a user runs them: the generators live in the
//! binary (`src/tools`), not in the library, so the tests drive them through it.

use std::os::unix::fs::FileTypeExt;
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
        // a refused export leaves the file that was there as it was, and nothing beside it
        assert!(std::fs::read(&csv).unwrap().starts_with(b"\xEF\xBB\xBFperiod,"), "the earlier CSV is kept");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777, 0o644);
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
    for url in ["garbage", "mysql://h/db", "sqlite://", "sqlite:"] {
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

/// `echelon user add` / `set` with what the API would refuse: one line, exit 2, no user made.
#[test]
fn user_commands_refuse_what_the_api_refuses() {
    use std::io::Write;
    use std::process::Stdio;
    let url = crate::helpers::fresh_database(echelon::db::Backend::Sqlite);
    let run = |args: &[&str], password: &[u8]| {
        let mut child = Command::new(BIN)
            .args(args)
            .env("DATABASE_URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(password).unwrap();
        child.wait_with_output().unwrap()
    };
    let long = "x".repeat(300);
    for (args, password, says) in [
        (
            vec!["user", "add", "--username", "bob1", "--role", "agent"],
            &b"pass\0word-123456\n"[..],
            "password",
        ),
        (
            vec!["user", "add", "--username", "bob2", "--role", "agent", "--display-name", ""],
            b"password-123456\n",
            "display_name",
        ),
        (
            vec!["user", "add", "--username", "bob3", "--role", "agent", "--display-name", "a\tb"],
            b"password-123456\n",
            "display_name",
        ),
        (
            vec!["user", "add", "--username", "bob4", "--role", "agent", "--display-name", &long],
            b"password-123456\n",
            "display_name",
        ),
        (
            vec!["user", "add", "--username", "bob5", "--role", "agent"],
            b"\xff\xfe-not-text-at-all\n",
            "standard input",
        ),
        (vec!["user", "set", "admin", "--display-name", ""], b"", "display_name"),
        (vec!["user", "list", "--location", "NOPE"], b"", "location NOPE not found"),
    ] {
        let out = run(&args, password);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let list = run(&["user", "list"], b"");
    let names = String::from_utf8_lossy(&list.stdout);
    assert!(!names.contains("bob"), "{names}");
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

crate::both!(every_misuse_of_the_commands_is_one_line_in_their_own_words_and_changes_nothing, |app| async {
    let dir = tempfile::tempdir().unwrap();
    let url = app.url.clone();
    let before = app.get("/api/v1/parts?limit=500", Some("admin")).await.ok()["items"].clone();
    tokio::task::spawn_blocking(move || {
        let csv = dir.path().join("s.csv");
        let csv = csv.to_str().unwrap();
        let period = chrono::Utc::now().format("%Y-%m").to_string();
        let bench_out = dir.path().join("file-not-folder");
        std::fs::write(&bench_out, "x").unwrap();
        // (the command line, what its one line must say)
        let cases: &[(&[&str], &str)] = &[
            (&["frobnicate"], "unrecognized subcommand 'frobnicate' (see `echelon --help`)"),
            (&["serve", "--demo", "--frobnicate"], "unexpected argument '--frobnicate'"),
            (
                &["export", "settlement", "--period", &period],
                "--out <OUT> (see `echelon export settlement --help`)",
            ),
            (&["seed", "history", "--days", "many"], "invalid value 'many' for '--days <DAYS>'"),
            (&["seed", "history", "--days", "0"], "--days must be 1-3650"),
            (&["seed", "history", "--target-fill", "1.5"], "--target-fill must be in [0.5, 1)"),
            (&["seed", "settlement", "--period", "10-2026"], "--period must be YYYY-MM"),
            (&["seed", "demo"], "the database is not empty"),
            (&["seed", "generate", "--stations", "5", "--parts", "10"], "the database is not empty"),
            (&["export", "settlement", "--period", "2026-13", "--out", csv], "--period must be YYYY-MM"),
            (
                &["export", "settlement", "--period", &period, "--out", "/nonexistent/s.csv"],
                "cannot write /nonexistent/s.csv",
            ),
            (
                &["export", "settlement", "--period", &period, "--out", csv, "--station", "ST-NOPE-1"],
                "no station ST-NOPE-1",
            ),
            (
                &["export", "settlement", "--period", &period, "--out", csv, "--format", "pdf"],
                "--format must be csv or xlsx",
            ),
            (&["replenish", "--policy", "magic"], "--policy must be multi-echelon or baseline"),
            (&["replenish", "--budget", "1e3"], "1e3"),
            (&["followups", "--share", "50%"], "--share"),
            (&["user", "add", "--username", "pilot-1", "--role", "pilot"], "--role"),
            (&["user", "show", "nobody-at-all"], "nobody-at-all"),
            (&["user", "set", "admin", "--enable", "--disable"], "--enable"),
            (
                &[
                    "bench",
                    "planning",
                    "--stations",
                    "5",
                    "--parts",
                    "10",
                    "--out",
                    bench_out.to_str().unwrap(),
                ],
                "cannot create",
            ),
            (
                &["serve", "--bind", "not-an-address"],
                "cannot listen on not-an-address: invalid socket address (give an address as --bind",
            ),
        ];
        for (args, says) in cases {
            let line = refused(&url, args);
            assert!(line.starts_with("echelon: "), "echelon {args:?}: {line}");
            assert!(line.contains(says), "echelon {args:?} should say {says:?}: {line}");
        }
    })
    .await
    .unwrap();
    // nothing was written by any of them
    assert_eq!(app.get("/api/v1/parts?limit=500", Some("admin")).await.ok()["items"], before);
});

/// `echelon ARGS` in a terminal (util-linux's `script` gives it one), as a user watching it
/// sees it: what it drew, the bars' redrawings included.
fn in_a_terminal(url: &str, args: &[&str]) -> String {
    let line = std::iter::once(BIN).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("DATABASE_URL", url)
        .env("ECHELON_LOG", "warn")
        .env_remove("ECHELON_ENV")
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{line}: {text}");
    text
}

#[test]
fn long_commands_show_counts_and_time_left_and_name_what_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    run_echelon(&url, &["seed", "generate", "--stations", "20", "--parts", "120"], true);
    for args in [
        // the old replenishment (each location reorders what left it), kept as an option
        &["seed", "history", "--days", "20", "--one-for-one"][..],
        &["seed", "settlement", "--period", "2026-10", "--tickets", "3"],
    ] {
        let shown = in_a_terminal(&url, args);
        // "rows written [=====>   ] 1,200/3,400 in 00:00:01, about 2s left"
        let bar = shown
            .split(['\r', '\n'])
            .find(|l| l.contains("rows written [") && l.contains(" left"))
            .unwrap_or_else(|| panic!("{args:?} drew no bar with counts and time left: {shown}"));
        assert!(bar.contains('/') && bar.contains(" in 00:"), "{bar}");
    }
    let out = dir.path().join("bench");
    let shown = in_a_terminal(
        &url,
        &[
            "bench",
            "planning",
            "--stations",
            "20",
            "--parts",
            "60",
            "--days",
            "20",
            "--warmup",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(shown.contains("simulations [") && shown.contains(" left"), "{shown}");
    for name in ["points.csv", "curves.svg", "summary.json"] {
        let path = out.join(name);
        assert!(path.exists(), "{name}");
        assert!(shown.contains(&format!("written: {}", path.display())), "{name} not named: {shown}");
    }
}

crate::both!(the_mixed_day_benchmark_drives_every_step_without_a_server_error, |app| async {
    for _ in 0..3 {
        app.part().cost("5.00").stock_at("RC-HZ", 5000).create().await;
    }
    // a closed loop (each client goes on when answered), then an open one (operations started
    // on a schedule): each drives every step of the day without an error. The mix is random and
    // a loaded machine answers few calls in 3 seconds, so a step may be missing from one short
    // run; up to three runs of each kind must show every step between them.
    let steps = ["parts request", "pick", "ship", "tracking event", "receive", "stock look-up"];
    for (extra, offered) in
        [(vec![], serde_json::Value::Null), (vec!["--rate", "40"], serde_json::json!(40.0))]
    {
        let mut seen = std::collections::BTreeSet::<&str>::new();
        let mut runs = Vec::new();
        while runs.len() < 3 && seen.len() < steps.len() {
            let (base, extra) = (app.base.clone(), extra.clone());
            let out = actix_web::rt::task::spawn_blocking(move || {
                Command::new(BIN)
                    .args(["bench", "day", "--url", &base, "--clients", "4", "--seconds", "3", "--json"])
                    .args(extra)
                    .output()
                    .expect("run echelon")
            })
            .await
            .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let day: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
            assert_eq!(day["offered_operations_per_second"], offered, "{day}");
            let ops = day["operations"].as_array().unwrap();
            assert!(ops.iter().all(|o| o["server_errors"] == 0 && o["not_2xx"] == 0), "{day:#}");
            for o in ops.iter().filter(|o| o["count"].as_i64().unwrap() > 0) {
                seen.extend(steps.iter().copied().filter(|s| o["operation"] == *s));
            }
            runs.push(day);
        }
        for step in steps {
            assert!(seen.contains(&step), "no {step} in {} runs: {runs:#?}", runs.len());
        }
    }
});

#[test]
fn the_mixed_day_benchmark_refuses_a_rate_or_client_count_it_cannot_run() {
    for (args, says) in [
        (["--rate", "0"], "is not a rate above zero"),
        (["--rate", "inf"], "is not a rate above zero"),
        (["--clients", "0"], "--clients must be at least 1"),
    ] {
        let out = Command::new(BIN)
            .args(["bench", "day", "--seconds", "1"])
            .args(args)
            .output()
            .expect("run echelon");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says) && err.lines().count() == 1, "{args:?}: {err}");
    }
}

#[test]
fn simulate_refuses_a_run_with_nothing_to_measure() {
    // no days, no stations or no parts: no demand, so a fill of 100% would be a lie
    for flag in ["--days", "--stations", "--parts"] {
        let out = Command::new(BIN).args(["simulate", flag, "0"]).output().expect("run echelon");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains(flag) && err.lines().count() == 1 && out.stdout.is_empty(), "{flag}: {err}");
    }
}

#[test]
fn counts_beyond_what_a_run_can_hold_are_refused_in_one_line_not_a_panic() {
    // ten years at most (every day of demand is held in memory), networks of at least one
    // station and part, a service level strictly between 0 and 1
    for args in [
        &["simulate", "--days", "4294967295"][..],
        &["simulate", "--warmup", "4294967295"],
        &["simulate", "--days", "4294967295", "--warmup", "0"],
        &["simulate", "--service", "0"],
        &["bench", "planning", "--warmup", "4294967295"],
        &["bench", "planning", "--days", "0"],
        &["bench", "planning", "--stations", "0"],
        &["seed", "generate", "--stations", "0", "--parts", "0"],
    ] {
        let out = Command::new(BIN).args(args).output().expect("run echelon");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("echelon: ") && err.lines().count() == 1 && out.stdout.is_empty(),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_mixed_day_benchmark_says_in_one_line_when_no_server_answers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(BIN)
        .args(["bench", "day", "--url", &format!("http://127.0.0.1:{port}"), "--seconds", "1"])
        .output()
        .expect("run echelon");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("echelon: cannot reach http://127.0.0.1:") && err.lines().count() == 1, "{err}");
}

/// `echelon simulate ARGS --json`, parsed.
fn simulated(args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN).arg("simulate").args(args).arg("--json").output().expect("run echelon");
    assert!(out.status.success(), "simulate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn simulate_tells_forecast_error_from_model_error_on_both_demands() {
    let r = simulated(&["--demand", "both", "--stations", "40", "--parts", "300", "--seed", "1"]);
    assert_eq!(r["demand"], "both");
    let results = r["results"].as_array().unwrap();
    let policies: Vec<&str> = results.iter().map(|x| x["policy"].as_str().unwrap()).collect();
    assert_eq!(policies, ["baseline", "multi-echelon"], "{r:#}");
    let f = |x: &serde_json::Value, k: &str| x[k].as_f64().unwrap_or_else(|| panic!("no {k}: {x:#}"));
    for x in results {
        // the other figures are measured on the true demand, and their station fill is that
        // on the true demand; `fill_rate` is the KPI report's request fill, under `kpis` only
        assert_eq!(x["measured_on"], "true");
        assert!(x.get("fill_rate").is_none(), "{x:#}");
        let (on_true, on_est, model) = (
            f(x, "station_fill_on_true_demand"),
            f(x, "station_fill_on_estimated_demand"),
            f(x, "model_station_fill"),
        );
        assert_eq!(f(x, "station_fill"), on_true);
        assert!((f(x, "fill_forecast_error") - (on_est - on_true)).abs() < 1e-12, "{x:#}");
        assert!((f(x, "fill_model_error") - (model - on_est)).abs() < 1e-12, "{x:#}");
        assert!(f(x, "target_stock_value") > 0.0 && f(x, "avg_stock_value") > 0.0);
        // the KPI report's fill_rate is another figure (request fill), with its own name
        assert!(x["kpis"]["fill_rate"]["units"]["value"].is_number(), "{x:#}");
    }
    let me = &results[1];
    assert_eq!(f(me, "target_station_fill"), 0.98);
    assert!(results[0]["target_station_fill"].is_null());
    // The model's fill is its target, and replayed on the demand the planner estimated the
    // levels measure the model's figure to within a point. The tolerance: about 10,000 units
    // of demand measured, whose stock-outs come in runs (a part out at a station fails every
    // demand until it is back), so the measured fill moves by a few tenths of a point from
    // seed to seed; and the model (VARI-METRIC) leaves out the lateral and warehouse-direct
    // shipments that help the stations, so it reads 0.1-0.4 points low. Over seeds 1-6 on
    // this network the model error was -0.13 to -0.41 points (the baseline's (s, S) levels,
    // approximated upstream: -0.28 to -0.89).
    let model = f(me, "model_station_fill");
    assert!((model - 0.98).abs() < 0.001, "{me:#}");
    assert!(f(me, "fill_model_error").abs() < 0.01, "{me:#}");
    assert!(f(&results[0], "fill_model_error").abs() < 0.015, "{:#}", results[0]);
}

#[test]
fn simulate_replays_the_estimated_demand_alone_and_refuses_an_unknown_demand() {
    let args = ["--policy", "multi-echelon", "--stations", "20", "--parts", "100", "--days", "60"];
    let r = simulated(&[&args[..], &["--demand", "estimated"]].concat());
    let me = &r["results"][0];
    assert_eq!(me["measured_on"], "estimated");
    assert!(me["station_fill_on_true_demand"].is_null() && me["fill_forecast_error"].is_null(), "{me:#}");
    assert_eq!(me["station_fill_on_estimated_demand"], me["station_fill"]);
    assert!(me["fill_model_error"].is_number());
    // the default is the true demand alone, as before
    let r = simulated(&args);
    assert_eq!(r["results"][0]["measured_on"], "true");
    assert!(r["results"][0]["station_fill_on_estimated_demand"].is_null());
    let said = refused("sqlite://unused.db", &["simulate", "--demand", "guessed"]);
    assert!(said.contains("--demand must be true, estimated or both"), "{said}");
}

/// `echelon openapi | head`: the reader stops early and the command ends quietly, killed by
/// SIGPIPE as a command-line tool is, not with a panic on the closed pipe.
#[test]
fn output_cut_short_by_its_reader_ends_the_command_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let mut child = Command::new(BIN)
        .arg("openapi")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"{"), "{}", String::from_utf8_lossy(&first));
    drop(child.stdout.take()); // the reader is gone; the document is far larger than a pipe holds
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}: {err}", out.status);
}

/// `seed settlement` generates into an open month that has begun, once per seed: a month not
/// begun, or one generated already with the seed, is one line and nothing written.
#[test]
fn seed_settlement_takes_an_open_month_once_per_seed() {
    let url = crate::helpers::fresh_database(echelon::db::Backend::Sqlite);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let line = refused(&url, &["seed", "settlement", "--period", "2999-01", "--tickets", "1"]);
    assert!(line.contains("2999-01 has not begun"), "{line}");
    run_echelon(&url, &["seed", "settlement", "--period", &month, "--tickets", "1", "--seed", "7"], true);
    let line = refused(&url, &["seed", "settlement", "--period", &month, "--tickets", "1", "--seed", "7"]);
    assert!(line.contains("already") && line.contains("--seed"), "{line}");
    run_echelon(&url, &["seed", "settlement", "--period", &month, "--tickets", "1", "--seed", "8"], true);
    assert!(run_echelon(&url, &["audit"], true).contains("clean"));
}

#[test]
fn commands_on_what_is_in_a_database_refuse_one_that_does_not_exist() {
    // a mistyped path: not a new empty database audited "clean", exported as zeros or listed empty
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo.db");
    let url = format!("sqlite://{}", typo.display());
    for args in [
        vec!["audit"],
        vec!["user", "list"],
        vec!["export", "settlement", "--period", "2026-11", "--out", "t.csv"],
        vec!["followups"],
    ] {
        let out =
            Command::new(BIN).args(&args).env("DATABASE_URL", &url).current_dir(dir.path()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("there is no database at") && err.lines().count() == 1, "{args:?}: {err}");
        assert!(!typo.exists(), "{args:?} made the file");
        assert!(!dir.path().join("t.csv").exists());
    }
    // nor is an empty file (a `touch`ed name) taken for one and given the schema
    std::fs::write(&typo, b"").unwrap();
    for args in [vec!["audit"], vec!["user", "list"]] {
        let out =
            Command::new(BIN).args(&args).env("DATABASE_URL", &url).current_dir(dir.path()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("there is an empty file at") && err.lines().count() == 1, "{args:?}: {err}");
        assert_eq!(std::fs::metadata(&typo).unwrap().len(), 0, "{args:?} wrote into it");
    }
    std::fs::remove_file(&typo).unwrap();
    // options in an SQLite URL would become part of the file's name
    let out = Command::new(BIN)
        .arg("audit")
        .env("DATABASE_URL", format!("{url}?mode=ro"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("takes no options"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file made");
    // migrate makes one; then the audit runs on it
    let ok = Command::new(BIN).arg("migrate").env("DATABASE_URL", &url).output().unwrap();
    assert!(ok.status.success());
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn export_writes_a_regular_file_through_a_link_or_to_standard_output_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("e.db").display());
    assert!(Command::new(BIN).arg("migrate").env("DATABASE_URL", &url).output().unwrap().status.success());
    let export = |out: &str| {
        Command::new(BIN)
            .args(["export", "settlement", "--period", "2026-11", "--out", out])
            .env("DATABASE_URL", &url)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    // a directory, a pipe: refused in one line, left as they were
    std::fs::create_dir(dir.path().join("d.csv")).unwrap();
    assert!(Command::new("mkfifo").arg(dir.path().join("p.csv")).status().unwrap().success());
    for (out, says) in [("d.csv", "is a directory"), ("p.csv", "not a regular file")] {
        let o = export(out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{out}: {err}");
        assert!(err.contains(says) && err.lines().count() == 1, "{out}: {err}");
    }
    assert!(dir.path().join("d.csv").is_dir());
    assert!(std::fs::symlink_metadata(dir.path().join("p.csv")).unwrap().file_type().is_fifo());
    // through a symbolic link: the file it points to is written, the link stays
    std::os::unix::fs::symlink("target.csv", dir.path().join("link.csv")).unwrap();
    assert!(export("link.csv").status.success());
    assert!(std::fs::symlink_metadata(dir.path().join("link.csv")).unwrap().file_type().is_symlink());
    let written = std::fs::read_to_string(dir.path().join("target.csv")).unwrap();
    assert!(written.starts_with("\u{feff}period,"), "{written}");
    // `-`: the CSV on standard output, the summary on standard error
    let o = export("-");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), written);
    assert!(String::from_utf8_lossy(&o.stderr).contains("written to standard output"));
    assert!(!dir.path().join("-").exists());
}

#[test]
fn an_export_with_a_wrong_period_or_format_names_its_help_before_opening_any_database() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["export", "settlement", "--period", "2026-13", "--out", "s.csv"][..],
        &["export", "settlement", "--period", "2026-11", "--out", "s.pdf"],
        &["export", "settlement", "--period", "2026-11", "--format", "pdf", "--out", "s.csv"],
        &["export", "settlement", "--period", "2026-11", "--format", "xlsx", "--out", "s.csv"],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env("DATABASE_URL", "sqlite://nowhere.db")
            .output()
            .expect("run echelon");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.lines().count() == 1 && err.trim_end().ends_with("(see `echelon export settlement --help`)"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.path().join("nowhere.db").exists(), "no database was made");
}
