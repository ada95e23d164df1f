//! The `echelon` command: clap subcommands that call into the library and the tools.

mod tools;

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use echelon::config::Config;
use echelon::db::{self, Db};
use echelon::startup::Application;

#[derive(Parser)]
#[command(name = "echelon", version, about = "After-sales spare-parts network service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the API on ECHELON_BIND (default 127.0.0.1:8080)
    Serve {
        /// Load the demo network into an empty database first
        #[arg(long)]
        demo: bool,
        /// Address to listen on (overrides ECHELON_BIND)
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit
    Migrate,
    /// Load data
    Seed {
        #[command(subcommand)]
        what: SeedCommand,
    },
    /// Print the OpenAPI document (or write it to a file)
    Openapi {
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Check every data invariant; exit code 1 on any breach
    Audit,
    /// Draw the follow-up calls: a random share of the tickets completed in the last 7 days
    /// that no earlier run considered (run it daily)
    Followups {
        /// the share to call: 0.05-0.10 or 5%-10% (default ECHELON_FOLLOWUP_SHARE, else 5%)
        #[arg(long)]
        share: Option<String>,
        /// a seed, to make the draw repeatable
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Manage users
    User {
        #[command(subcommand)]
        what: UserCommand,
    },
    /// Run replenishment planning on the database: a run with its proposals for review
    Replenish {
        /// multi-echelon or baseline
        #[arg(long, default_value = "multi-echelon")]
        policy: String,
        /// the multi-echelon policy's target station fill rate
        #[arg(long)]
        target_fill: Option<f64>,
        /// most value of stock to plan (multi-echelon), e.g. 2500000.00
        #[arg(long)]
        budget: Option<String>,
        /// the baseline's service level
        #[arg(long)]
        service: Option<f64>,
        /// the baseline stocks a part at a location selling at least this many a year
        #[arg(long)]
        min_annual: Option<f64>,
        /// the subtree to propose for (default: the central warehouse, the whole network)
        #[arg(long)]
        location: Option<String>,
    },
    /// Replay days of random demand on a generated network under a policy, in memory
    Simulate {
        /// baseline, multi-echelon, or both (the baseline tuned to the same measured fill)
        #[arg(long, default_value = "both")]
        policy: String,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// days simulated before measuring, so the pipelines fill
        #[arg(long, default_value_t = 90)]
        warmup: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 300)]
        stations: usize,
        #[arg(long, default_value_t = 2000)]
        parts: usize,
        /// the multi-echelon policy's target station fill rate
        #[arg(long, default_value_t = 0.98)]
        target_fill: f64,
        /// the baseline's service level (with --policy baseline)
        #[arg(long, default_value_t = 0.95)]
        service: f64,
        /// the baseline stocks a part at a location selling at least this many a year (with
        /// --policy baseline; `both` tunes it)
        #[arg(long, default_value_t = 1.0)]
        min_annual: f64,
        /// print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Export data to a file
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Benchmarks
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Sweep both policies on a generated network; write points.csv, curves.svg, summary.json
    Planning {
        #[arg(long, default_value_t = 1500)]
        stations: usize,
        #[arg(long, default_value_t = 10000)]
        parts: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 365)]
        days: u32,
        #[arg(long, default_value_t = 90)]
        warmup: u32,
        #[arg(long, default_value = "bench/planning")]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// A period's finance settlement, streamed to a CSV or XLSX file (as the API's export)
    Settlement {
        /// the month, YYYY-MM
        #[arg(long)]
        period: String,
        /// csv or xlsx
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        out: std::path::PathBuf,
        /// one station's code (default: every station)
        #[arg(long)]
        station: Option<String>,
    },
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Load the demo network and users into an empty database
    Demo,
    /// Generate a reproducible synthetic network into an empty database (for benchmarks)
    Generate {
        #[arg(long, default_value_t = 1500)]
        stations: usize,
        #[arg(long, default_value_t = 10000)]
        parts: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Add a generated settlement month (completed tickets with parts, loans with overdue
    /// cores) to every station of a generated network (for the export benchmark)
    Settlement {
        /// the month, YYYY-MM
        #[arg(long)]
        period: String,
        /// completed tickets per station
        #[arg(long, default_value_t = 20)]
        tickets: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Simulate and write a history of tickets, parts requests, shipments and stock movements
    /// onto a generated network (for the KPI benchmark); once, before any real use
    History {
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from the first line of standard input
    Add {
        #[arg(long)]
        username: String,
        /// admin, warehouse, station, technician, agent, finance or courier
        #[arg(long)]
        role: String,
        /// location code, for warehouse, station and technician users
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi { out } = &cli.command {
        let doc = echelon::openapi::document_json();
        return match out {
            Some(path) => match std::fs::write(path, doc) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!("cannot write {}: {e}", path.display())),
            },
            None => {
                print!("{doc}");
                ExitCode::SUCCESS
            }
        };
    }
    match &cli.command {
        Command::Simulate {
            policy,
            days,
            warmup,
            seed,
            stations,
            parts,
            target_fill,
            service,
            min_annual,
            json,
        } => {
            let args = tools::planning::cli::SimArgs {
                policy: policy.clone(),
                days: *days,
                warmup: *warmup,
                seed: *seed,
                stations: *stations,
                parts: *parts,
                target_fill: *target_fill,
                service: *service,
                min_annual: *min_annual,
                json: *json,
            };
            return print_or_fail(tools::planning::cli::simulate_command(&args));
        }
        Command::Bench { what: BenchCommand::Planning { stations, parts, seed, days, warmup, out } } => {
            return print_or_fail(tools::planning::cli::bench_command(
                *stations, *parts, *seed, *days, *warmup, out,
            ));
        }
        _ => {}
    }
    echelon::telemetry::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    match run(cli.command, config) {
        Ok(code) => code,
        Err(e) => fail(e),
    }
}

fn print_or_fail(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("echelon: {message}");
    ExitCode::from(2)
}

fn open(config: &Config) -> Result<Db, String> {
    let db = Db::connect(&config.database_url, config.database_read_url.as_deref(), config.pool_size)?;
    let mut conn = db.write.get().map_err(|e| format!("cannot connect to the database: {e}"))?;
    db::migrate(&mut conn)?;
    Ok(db)
}

fn run(command: Command, mut config: Config) -> Result<ExitCode, String> {
    match command {
        Command::Serve { demo, bind } => {
            if let Some(b) = bind {
                config.bind = b;
            }
            if demo {
                config.check_demo_allowed()?;
            }
            let db = open(&config)?;
            if demo {
                load_demo(&db, &config, false)?;
            }
            serve(config, db)
        }
        Command::Migrate => {
            open(&config)?;
            println!("migrations applied to {}", db::redact(&config.database_url));
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed { what: SeedCommand::Generate { stations, parts, seed } } => {
            let db = open(&config)?;
            let started = std::time::Instant::now();
            let spec = tools::planning::generate::Spec { stations, parts, seed };
            let synth = tools::planning::generate::generate(spec);
            println!("generated in memory in {:.1} s", started.elapsed().as_secs_f64());
            let mut conn = db.write.get().map_err(|e| e.to_string())?;
            let say = |s: &str| println!("  {s} ({:.1} s)", started.elapsed().as_secs_f64());
            let written = db::write_tx(&mut conn, |c| {
                db::setup_lock(c)?;
                if !echelon::demo::is_empty(c)? {
                    return Ok(None);
                }
                tools::planning::seed::write_synth(c, &synth, chrono::Utc::now(), &say).map(Some)
            })
            .map_err(|e| e.to_string())?
            .ok_or("the database is not empty; a network is generated into an empty database only")?;
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
        Command::Seed { what: SeedCommand::History { days, seed } } => {
            if !(1..=3650).contains(&days) {
                return Err("--days must be 1-3650".into());
            }
            let db = open(&config)?;
            let started = std::time::Instant::now();
            let mut conn = db.write.get().map_err(|e| e.to_string())?;
            let say = |s: &str| println!("  {s} ({:.1} s)", started.elapsed().as_secs_f64());
            let now = chrono::Utc::now().naive_utc();
            let w = db::write_tx(&mut conn, |c| {
                db::setup_lock(c)?;
                tools::planning::history_write::write_history(c, days, seed, now, &say)
            })
            .map_err(|e| e.to_string())?;
            analyze(&mut conn)?;
            println!(
                "history of {days} days (seed {seed}): {} tickets, {} requests with {} lines, {} allocations, \
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
        Command::Replenish { policy, target_fill, budget, service, min_annual, location } => {
            let policy = match policy.as_str() {
                "multi-echelon" | "multi_echelon" => echelon::planning::service::PolicyKind::MultiEchelon,
                "baseline" => echelon::planning::service::PolicyKind::Baseline,
                other => return Err(format!("--policy must be multi-echelon or baseline, not {other:?}")),
            };
            let budget = budget.map(|b| echelon::money::Money::parse(&b)).transpose()?;
            let input = echelon::planning::api::PlanningRunIn {
                policy: Some(policy),
                target_fill,
                budget,
                service_level: service,
                min_annual_demand: min_annual,
                location: None,
            };
            let params = echelon::planning::api::params_of(&input).map_err(|e| e.detail)?;
            let db = open(&config)?;
            let started = std::time::Instant::now();
            let mut conn = db.write.get().map_err(|e| e.to_string())?;
            let bar = tools::planning::cli::progress("planning parts", false);
            let run = db::write_tx(&mut conn, |c| {
                let caller = echelon::auth::Caller {
                    user_id: 0,
                    username: "cli".into(),
                    role: echelon::auth::Role::Admin,
                    location: None,
                };
                let scope = echelon::planning::api::scope_location(c, &caller, location.as_deref())?;
                echelon::planning::service::run(c, &scope, params, "cli", chrono::Utc::now(), &bar)
            })
            .map_err(|e| e.to_string())?;
            bar.finish_and_clear();
            println!(
                "planning run {} ({}): {} parts x {} locations; target stock value {}; expected fill {}; {} transfer and {} purchase orders, {} lines worth {}; {} ms in the run, {:.1} s in all",
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
        Command::Seed { what: SeedCommand::Settlement { period, tickets, seed } } => {
            let p = echelon::settlement::rules::Period::parse(&period)
                .ok_or_else(|| format!("--period must be YYYY-MM, not {period:?}"))?;
            let db = open(&config)?;
            let started = std::time::Instant::now();
            let mut conn = db.write.get().map_err(|e| e.to_string())?;
            let g = db::write_tx(&mut conn, |c| tools::settlement::bench::generate(c, p, tickets, seed))
                .map_err(|e| e.to_string())?;
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
        Command::Export { what: ExportCommand::Settlement { period, format, out, station } } => {
            let db = open(&config)?;
            let line = tools::settlement::cli::export_command(
                &db,
                &period,
                &format,
                station.as_deref(),
                &out,
                chrono::Utc::now(),
            )?;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed { what: SeedCommand::Demo } => {
            config.check_demo_allowed()?;
            let db = open(&config)?;
            load_demo(&db, &config, true)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit => {
            let db = open(&config)?;
            let mut conn = db.read.get().map_err(|e| e.to_string())?;
            let breaches = echelon::audit::run(&mut conn).map_err(|e| format!("audit failed: {e}"))?;
            if breaches.is_empty() {
                println!("audit: clean");
                Ok(ExitCode::SUCCESS)
            } else {
                for b in &breaches {
                    println!("breach: {b}");
                }
                println!("audit: {} breach(es)", breaches.len());
                Ok(ExitCode::from(1))
            }
        }
        Command::User { what: UserCommand::Add { username, role, location, display_name } } => {
            let db = open(&config)?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
            let password = line.trim_end_matches(['\r', '\n']);
            let mut conn = db.write.get().map_err(|e| e.to_string())?;
            echelon::auth::admin::add_user(
                &mut conn,
                &username,
                &role,
                location.as_deref(),
                display_name.as_deref(),
                password,
            )?;
            println!("user {username} ({role}) added");
            Ok(ExitCode::SUCCESS)
        }
        Command::Followups { share, seed } => {
            let share_bp = match share {
                Some(s) => echelon::tickets::sla::parse_share(&s).map_err(|e| format!("--share: {e}"))?,
                None => config.followup_share_bp,
            };
            let db = open(&config)?;
            let mut conn = db.write.get().map_err(|e| e.to_string())?;
            let now = chrono::Utc::now();
            let run = db::write_tx(&mut conn, |c| {
                echelon::tickets::followups::sample(c, share_bp, seed, "echelon followups", now)
            })
            .map_err(|e| e.to_string())?;
            println!(
                "follow-ups: {} completed ticket(s) considered, {} call(s) drawn at {}%",
                run.considered,
                run.created.len(),
                f64::from(share_bp) / 100.0
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi { .. } | Command::Simulate { .. } | Command::Bench { .. } => {
            unreachable!("handled before configuration")
        }
    }
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
        echelon::demo::load(c, &password, now).map(Some)
    })
    .map_err(|e| e.to_string())?;
    match loaded {
        Some(s) => {
            println!(
                "demo data loaded: 1 central warehouse, {} regional centres, {} stations, {} users",
                s.centres, s.stations, s.users
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

fn serve(config: Config, db: Db) -> Result<ExitCode, String> {
    let demo_password = config.demo_password.clone();
    let bind = config.bind.clone();
    actix_web::rt::System::new().block_on(async move {
        let app =
            Application::build(config, db, None).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        let base = format!("http://{host}:{}", app.port);
        // the KPI rollups' days are closed beside the server
        actix_web::rt::spawn(echelon::reports::rollup::keep_closing(app.state.clone()));
        println!("echelon listening on {base}");
        println!("  Swagger UI:   {base}/swagger-ui/");
        println!("  OpenAPI:      {base}/api-docs/openapi.json");
        println!("  demo users (password {demo_password:?}):");
        for (name, role, loc) in echelon::demo::users() {
            println!("    {name:<20} {role:<11} {}", loc.unwrap_or_default());
        }
        app.server.await.map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Refreshes the planner's statistics after a bulk load (`ANALYZE`, in both dialects).
fn analyze(conn: &mut db::DbConn) -> Result<(), String> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("ANALYZE").map_err(|e| format!("ANALYZE: {e}"))
}
