//! One function per `echelon` command; `main.rs` parses the command line and calls one. Each
//! prints what a user reads and returns the exit code, or the message `main` prints on failure.

use std::path::Path;
use std::process::ExitCode;

use echelon::config::Config;
use echelon::db::{self, Db};
use echelon::startup::Application;

use super::planning::cli::{self as planning_cli, SimArgs};
use super::progress::{self, Rows};

/// A service error in the command's words: its detail (no HTTP status), or for an unexpected
/// one its cause.
pub fn said(e: echelon::error::AppError) -> String {
    e.plain()
}

/// `echelon openapi [--out FILE]`
pub fn openapi(out: Option<&Path>) -> Result<ExitCode, String> {
    let doc = echelon::openapi::document_json();
    match out {
        Some(path) => {
            std::fs::write(path, doc).map_err(|e| format!("cannot write {}: {e}", path.display()))?
        }
        None => print!("{doc}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `echelon simulate`
pub fn simulate(args: &SimArgs) -> Result<ExitCode, String> {
    println!("{}", planning_cli::simulate_command(args)?);
    Ok(ExitCode::SUCCESS)
}

/// `echelon bench planning`
pub fn bench_planning(
    stations: usize,
    parts: usize,
    seed: u64,
    days: u32,
    warmup: u32,
    out: &Path,
) -> Result<ExitCode, String> {
    println!("{}", planning_cli::bench_command(stations, parts, seed, days, warmup, out)?);
    Ok(ExitCode::SUCCESS)
}

/// `echelon serve [--demo] [--bind ADDR]`
pub fn serve(mut config: Config, demo: bool, bind: Option<String>) -> Result<ExitCode, String> {
    if let Some(b) = bind {
        config.bind = b;
    }
    if demo {
        config.check_demo_allowed()?;
        config.allow_demo_receiver();
    }
    // the address is taken before any other work, so a busy port is said at once and no demo
    // is loaded for a server that cannot start
    let listener = std::net::TcpListener::bind(&config.bind).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => "is another echelon running? choose another address with",
            _ => "give an address as",
        };
        format!("cannot listen on {}: {e} ({hint} --bind HOST:PORT or ECHELON_BIND)", config.bind)
    })?;
    let db = open(&config)?;
    if demo {
        load_demo(&db, &config, false)?;
    }
    let banner = banner_users(&db, &config)?;
    let database = db::redact(&config.database_url);
    let bind = config.bind.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config, db, Some(listener))
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        let base = format!("http://{host}:{}", app.port);
        // the KPI rollups' days are closed beside the server
        actix_web::rt::spawn(echelon::rollup::keep_closing(app.state.clone()));
        // and the webhooks' deliveries are made
        actix_web::rt::spawn(echelon::webhooks::deliver::keep_delivering(
            app.state.clone(),
            app.metrics.clone(),
        ));
        println!("echelon listening on {base}");
        println!("  database:     {database}");
        println!("  Swagger UI:   {base}/swagger-ui/");
        println!("  OpenAPI:      {base}/api-docs/openapi.json");
        for line in banner {
            println!("{line}");
        }
        app.server.await.map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The banner's demo users: only those the database holds, never in production, and the
/// password only when it is the public default (one set through `ECHELON_DEMO_PASSWORD` is
/// never printed, so never logged).
fn banner_users(db: &Db, config: &Config) -> Result<Vec<String>, String> {
    if config.environment == echelon::config::Environment::Production {
        return Ok(Vec::new());
    }
    let mut conn = db.tool_read()?;
    let mut present = Vec::new();
    for (name, role, loc) in echelon::demo::users() {
        if echelon::auth::store::find_by_username(&mut conn, &name).map_err(|e| e.to_string())?.is_some() {
            present.push(format!("    {name:<20} {role:<11} {}", loc.unwrap_or_default()));
        }
    }
    if present.is_empty() {
        return Ok(Vec::new());
    }
    let password = if config.demo_password == echelon::config::DEV_DEMO_PASSWORD {
        format!("password {:?}", config.demo_password)
    } else {
        "the password set in ECHELON_DEMO_PASSWORD".to_string()
    };
    present.insert(0, format!("  demo users ({password}):"));
    // the history's line only where the demo's history is (not on a blank network)
    use diesel::prelude::*;
    let tickets: i64 =
        echelon::db::schema::tickets::table.count().get_result(&mut conn).map_err(|e| e.to_string())?;
    if tickets > 0 {
        present.push(format!(
            "  the demo holds {} days of history up to its load: see \"A tour of the demo\" in README.md",
            echelon::demo::history::DAYS
        ));
    }
    Ok(present)
}

/// `echelon migrate`
pub fn migrate(config: &Config) -> Result<ExitCode, String> {
    open(config)?;
    println!("migrations applied to {}", db::redact(&config.database_url));
    Ok(ExitCode::SUCCESS)
}

/// `echelon seed demo`
pub fn seed_demo(config: &Config) -> Result<ExitCode, String> {
    config.check_demo_allowed()?;
    let db = open(config)?;
    load_demo(&db, config, true)?;
    Ok(ExitCode::SUCCESS)
}

/// `echelon seed generate`
pub fn seed_generate(config: &Config, stations: usize, parts: usize, seed: u64) -> Result<ExitCode, String> {
    use super::planning::{generate, seed as write};
    let db = open(config)?;
    let started = std::time::Instant::now();
    let synth = generate::generate(generate::Spec { stations, parts, seed });
    println!("generated in memory in {:.1} s", started.elapsed().as_secs_f64());
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let progress = Rows::start("rows written");
    progress::expect(write::rows_expected(&synth));
    let written = db::write_tx(&mut conn, |c| {
        db::setup_lock(c)?;
        if !echelon::demo::is_empty(c)? {
            return Ok(None);
        }
        write::write_synth(c, &synth, chrono::Utc::now(), &progress).map(Some)
    })
    .map_err(said)?
    .ok_or("the database is not empty; a network is generated into an empty database only")?;
    drop(progress);
    println!(
        "generated network (seed {seed}): {} locations, {} parts, {} units sold, {} history rows, {} opening movements in {:.1} s",
        written.locations,
        written.parts,
        written.units,
        written.history_rows,
        written.opening_movements,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `echelon seed history`
pub fn seed_history(
    config: &Config,
    days: i64,
    seed: u64,
    target_fill: Option<f64>,
) -> Result<ExitCode, String> {
    if !(1..=3650).contains(&days) {
        return Err("--days must be 1-3650".into());
    }
    if target_fill.is_some_and(|t| !(0.5..1.0).contains(&t)) {
        return Err("--target-fill must be in [0.5, 1)".into());
    }
    use super::planning::history_write::Replenish;
    let replenish = match target_fill {
        Some(target_fill) => Replenish::Planned { target_fill },
        None => Replenish::OneForOne,
    };
    let db = open_existing(config)?;
    let started = std::time::Instant::now();
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let progress = Rows::start("rows written");
    let now = chrono::Utc::now().naive_utc();
    let w = db::write_tx(&mut conn, |c| {
        db::setup_lock(c)?;
        super::planning::history_write::write_history(c, days, seed, replenish, now, &progress)
    })
    .map_err(said)?;
    drop(progress);
    analyze(&mut conn)?;
    let planned = match target_fill {
        Some(t) => format!("planned weekly at {t} station fill"),
        None => "one-for-one".to_string(),
    };
    println!(
        "history of {days} days (seed {seed}, {planned}): {} tickets, {} requests with {} lines, {} allocations, \
         {} shipments with {} tracking events, {} stock movements in {:.1} s",
        w.tickets,
        w.requests,
        w.lines,
        w.allocations,
        w.shipments,
        w.tracking_events,
        w.movements,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `echelon seed settlement`
pub fn seed_settlement(config: &Config, period: &str, tickets: usize, seed: u64) -> Result<ExitCode, String> {
    let p = echelon::settlement::rules::Period::parse(period)
        .ok_or_else(|| format!("--period must be YYYY-MM, not {period:?}"))?;
    let db = open_existing(config)?;
    let started = std::time::Instant::now();
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let progress = Rows::start("rows written");
    let g =
        db::write_tx(&mut conn, |c| super::settlement::bench::generate(c, p, tickets, seed)).map_err(said)?;
    drop(progress);
    // fresh planner statistics: the first export straight after seeding otherwise plans
    // without them (28.8 s instead of 2.4 s seen on PostgreSQL)
    analyze(&mut conn)?;
    println!(
        "settlement month {p} (seed {seed}): {} stations, {} tickets, {} parts lines, {} loan lines in {:.1} s",
        g.stations,
        g.tickets,
        g.ticket_parts,
        g.loan_lines,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `echelon replenish`: the options as `POST /api/v1/planning/runs` takes them.
pub struct Replenish {
    pub policy: String,
    pub target_fill: Option<f64>,
    pub budget: Option<String>,
    pub service: Option<f64>,
    pub min_annual: Option<f64>,
    pub location: Option<String>,
    /// plan with the variance of the demand estimate (multi-echelon)
    pub forecast_error: bool,
}

/// `echelon replenish`
pub fn replenish(config: &Config, r: Replenish) -> Result<ExitCode, String> {
    use echelon::planning::{api, service};
    let policy = match r.policy.as_str() {
        "multi-echelon" | "multi_echelon" => service::PolicyKind::MultiEchelon,
        "baseline" => service::PolicyKind::Baseline,
        other => return Err(format!("--policy must be multi-echelon or baseline, not {other:?}")),
    };
    let budget = r.budget.map(|b| echelon::money::Money::parse(&b)).transpose()?;
    let input = api::PlanningRunIn {
        policy: Some(policy),
        target_fill: r.target_fill,
        budget,
        service_level: r.service,
        min_annual_demand: r.min_annual,
        location: None,
        forecast_error: r.forecast_error.then_some(true),
    };
    let params = api::params_of(&input).map_err(|e| e.detail)?;
    let db = open_existing(config)?;
    let started = std::time::Instant::now();
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let bar = planning_cli::progress("planning parts", false);
    let run = db::write_tx(&mut conn, |c| {
        let caller = echelon::auth::Caller {
            user_id: 0,
            username: "cli".into(),
            role: echelon::auth::Role::Admin,
            location: None,
        };
        let scope = api::scope_location(c, &caller, r.location.as_deref())?;
        service::run(c, &scope, params, "cli", chrono::Utc::now(), &bar)
    })
    .map_err(said)?;
    bar.finish_and_clear();
    println!(
        "planning run {} ({}): {} parts x {} locations; target stock value {}; expected station fill {}; {} transfer and {} purchase orders, {} lines worth {}; {} ms in the run, {:.1} s in all",
        run.id,
        run.policy,
        run.parts,
        run.locations,
        echelon::money::Money(run.target_value_minor),
        run.expected_fill_bp.map(|b| format!("{:.2}%", b as f64 / 100.0)).unwrap_or_else(|| "-".into()),
        run.transfers,
        run.purchases,
        run.lines,
        echelon::money::Money(run.proposed_value_minor),
        run.duration_ms,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `echelon export settlement`
pub fn export_settlement(
    config: &Config,
    period: &str,
    format: Option<&str>,
    out: &Path,
    station: Option<&str>,
) -> Result<ExitCode, String> {
    super::settlement::cli::check_args(period, format, out)?;
    let db = open_existing(config)?;
    let now = chrono::Utc::now();
    let line = super::settlement::cli::export_command(&db, period, format, station, out, now)?;
    if !line.is_empty() {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `echelon audit`: exit code 1 on any breach.
pub fn audit(config: &Config) -> Result<ExitCode, String> {
    let db = open_existing(config)?;
    print_audit(db.tool_read()?, "audit failed")
}

/// Runs the audit on a connection of `pool` and prints what it finds: exit code 1 on any
/// breach; `failed` leads the message when the audit itself cannot run.
pub fn print_audit(
    mut conn: diesel::r2d2::PooledConnection<db::Manager>,
    failed: &str,
) -> Result<ExitCode, String> {
    let breaches = echelon::audit::run(&mut conn).map_err(|e| format!("{failed}: {e}"))?;
    if breaches.is_empty() {
        println!("audit: clean");
        return Ok(ExitCode::SUCCESS);
    }
    for b in &breaches {
        println!("breach: {b}");
    }
    println!("audit: {} breach(es)", breaches.len());
    Ok(ExitCode::from(1))
}

/// `echelon followups`
pub fn followups(config: &Config, share: Option<&str>, seed: Option<u64>) -> Result<ExitCode, String> {
    let share_bp = match share {
        Some(s) => echelon::tickets::sla::parse_share(s).map_err(|e| format!("--share: {e}"))?,
        None => config.followup_share_bp,
    };
    let db = open_existing(config)?;
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let now = chrono::Utc::now();
    let run = db::write_tx(&mut conn, |c| {
        echelon::tickets::followups::sample(c, share_bp, seed, "echelon followups", now)
    })
    .map_err(said)?;
    println!(
        "follow-ups: {} completed ticket(s) considered, {} call(s) drawn at {}%",
        run.considered,
        run.created.len(),
        f64::from(share_bp) / 100.0
    );
    Ok(ExitCode::SUCCESS)
}

/// Opens the configured database for a command that reads or changes what is in it (audit,
/// exports, users, archives, planning): an SQLite file that does not exist is refused rather
/// than made empty, so a mistyped path is said instead of "audit: clean" on nothing.
pub fn open_existing(config: &Config) -> Result<Db, String> {
    if let Some(file) = db::sqlite_file(&config.database_url) {
        // an empty file is no database either: opening it would write the schema into it
        let empty = std::fs::metadata(file).map(|m| m.len() == 0);
        if !matches!(empty, Ok(false)) {
            let what = if empty.is_ok() { "an empty file" } else { "no database" };
            return Err(format!(
                "there is {what} at {file} (DATABASE_URL {}); `echelon migrate`, `serve` or `seed` makes one",
                db::redact(&config.database_url)
            ));
        }
    }
    open(config)
}

/// Opens the configured database and applies pending migrations.
pub fn open(config: &Config) -> Result<Db, String> {
    // one direct attempt first: an unreachable database is said at once, in one line, rather
    // than after the pool's wait for its first connections
    db::Manager::new(&config.database_url)?.connect_now().map_err(|e| {
        let why = e.to_string();
        format!(
            "cannot connect to the database {}: {}",
            db::redact(&config.database_url),
            why.trim().replace('\n', " ")
        )
    })?;
    let db = Db::connect(
        &config.database_url,
        config.database_read_url.as_deref(),
        config.pool_size,
        config.read_pool_size,
    )?;
    let mut conn = db.write.get().map_err(|e| format!("cannot connect to the database: {e}"))?;
    db::migrate(&mut conn)?;
    Ok(db)
}

fn load_demo(db: &Db, config: &Config, must_be_empty: bool) -> Result<(), String> {
    let mut conn = db.write.get().map_err(|e| e.to_string())?;
    let now = chrono::Utc::now();
    let password = config.demo_password.clone();
    let loaded = db::write_tx(&mut conn, |c| {
        db::setup_lock(c)?;
        if !echelon::demo::is_empty(c)? {
            return Ok(None);
        }
        // the history replays ninety days of work through the services, whose info lines
        // (a tender awarded, a planning run) would bury the banner: only warnings are kept
        let quiet = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::stderr)
            .finish();
        tracing::subscriber::with_default(quiet, || echelon::demo::load(c, &password, now)).map(Some)
    })
    .map_err(said)?;
    match loaded {
        Some(s) => {
            println!(
                "demo data loaded: 1 central warehouse, {} regional centres, {} stations, {} users",
                s.centres, s.stations, s.users
            );
            let h = &s.history;
            println!(
                "  with {} days of history: {} tickets, {} parts requests, {} tenders, {} loans, {} follow-ups, {} planning runs ({} proposals released), {} settlement months closed",
                echelon::demo::history::DAYS,
                h.tickets,
                h.requests,
                h.tenders,
                h.loans,
                h.follow_ups,
                h.planning_runs,
                h.proposals_released,
                h.periods_closed
            );
            Ok(())
        }
        None if must_be_empty => {
            Err("the database is not empty; demo data is loaded into an empty database only".into())
        }
        None => {
            println!("the database already holds data; demo data not loaded again");
            Ok(())
        }
    }
}

/// Refreshes the planner's statistics after a bulk load (`ANALYZE`, in both dialects).
fn analyze(conn: &mut db::DbConn) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("ANALYZE").map_err(|e| format!("ANALYZE: {e}"))
}
