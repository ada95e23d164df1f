//! The `echelon` command: clap subcommands that call into the library and the tools.

mod tools;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use echelon::config::Config;

use tools::planning::cli::{SimArgs, MAX_DAYS};
use tools::{commands, users};

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
        /// the multi-echelon policy's target station fill (immediate fill from the station's own
        /// shelf, by units)
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
        /// plan with the variance of the demand estimate (multi-echelon)
        #[arg(long)]
        forecast_error: bool,
    },
    /// Replay days of random demand on a generated network under a policy, in memory
    Simulate(SimArgs),
    /// Export data to a file
    Export {
        #[command(subcommand)]
        what: ExportCommand,
    },
    /// Archive closed, settled months of the stock ledger (PostgreSQL), list or restore them
    Archive {
        #[command(subcommand)]
        what: ArchiveCommand,
    },
    /// Benchmarks
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

/// A count of at least one (a network of no stations or no parts plans nothing) and at most `max`.
fn count(max: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=max)
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Sweep both policies on a generated network; write points.csv, curves.svg, summary.json
    Planning {
        #[arg(long, default_value_t = 1500, value_parser = count(100_000))]
        stations: usize,
        #[arg(long, default_value_t = 10000, value_parser = count(1_000_000))]
        parts: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=MAX_DAYS))]
        days: u32,
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=MAX_DAYS))]
        warmup: u32,
        #[arg(long, default_value = "bench/planning")]
        out: std::path::PathBuf,
    },
    /// Drive one regional centre's mixed day against a running echelon (see bench/day.sh)
    Day {
        /// a server's base URL; given twice or more, the clients are spread over the servers
        #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
        urls: Vec<String>,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// the centre whose stations, warehouse and stock the day uses
        #[arg(long, default_value = "RC-HZ")]
        centre: String,
        /// the demo users' password
        #[arg(long, env = "ECHELON_DEMO_PASSWORD", default_value = "echelon-demo")]
        password: String,
        /// one JSON object instead of the table
        #[arg(long)]
        json: bool,
        /// open loop: start this many operations a second (Poisson arrivals), with at most
        /// `--clients` in flight, and count each call's latency from when it was due; without
        /// it, each client starts its next operation when the last one answers
        #[arg(long, value_parser = positive_rate)]
        rate: Option<f64>,
    },
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Detach every month before YYYY-MM from the live movements into a plain table
    /// `stock_movements_archive_YYYY_MM`; their balances stay as opening figures
    Movements {
        /// the first month kept live, YYYY-MM
        #[arg(long)]
        before: String,
    },
    /// Re-attach an archived month: its movements are live again
    Restore {
        /// the month, YYYY-MM
        month: String,
    },
    /// The archived months, their tables and movement counts
    List,
}

#[derive(Subcommand)]
enum ExportCommand {
    /// A period's finance settlement, streamed to a CSV or XLSX file (as the API's export)
    Settlement {
        /// the month, YYYY-MM
        #[arg(long)]
        period: String,
        /// csv or xlsx (default: --out's extension)
        #[arg(long)]
        format: Option<String>,
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
        #[arg(long, default_value_t = 1500, value_parser = count(100_000))]
        stations: usize,
        #[arg(long, default_value_t = 10000, value_parser = count(1_000_000))]
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
    /// onto a generated network (for the KPI benchmark); once, before any real use. The network
    /// is planned each week (multi-echelon, at --target-fill) and every location orders up to
    /// its planned level
    History {
        #[arg(long, default_value_t = 365)]
        days: i64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// the weekly planning runs' target station fill
        #[arg(long, default_value_t = 0.98)]
        target_fill: f64,
        /// no planning: each location reorders what left it, at the opening stock's levels
        #[arg(long)]
        one_for_one: bool,
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
    /// List users: username, role, location, active or disabled, display name
    List {
        /// only users of this role
        #[arg(long)]
        role: Option<String>,
        /// only users of this location code
        #[arg(long)]
        location: Option<String>,
    },
    /// Show one user
    Show { username: String },
    /// Change a user; its live tokens are refused from their next request on every process
    Set {
        username: String,
        /// the new role: admin, warehouse, station, technician, agent, finance or courier
        #[arg(long)]
        role: Option<String>,
        /// the new location code
        #[arg(long)]
        location: Option<String>,
        /// remove the location (for a role that has none)
        #[arg(long)]
        no_location: bool,
        /// disable the user: it can no longer log in, its tokens are refused
        #[arg(long)]
        disable: bool,
        /// enable a disabled user
        #[arg(long)]
        enable: bool,
        /// reset the password to the first line of standard input (10-200 characters)
        #[arg(long)]
        password: bool,
        #[arg(long)]
        display_name: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return misuse(e),
    };
    if !matches!(cli.command, Command::Serve { .. } | Command::Bench { .. }) {
        quiet_on_closed_stdout();
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("echelon: {message}");
            ExitCode::from(2)
        }
    }
}

/// A command whose output is cut short by its reader (`echelon simulate | head`) ends quietly,
/// as other command-line tools do, instead of panicking on the closed pipe: SIGPIPE back to
/// its default, which Rust's runtime sets to ignore. Not for `serve` and `bench`, whose sockets
/// must see a closed peer as an error to handle, not as the end of the process.
fn quiet_on_closed_stdout() {
    // SAFETY: called once at start-up, before any thread is spawned; SIG_DFL is a valid handler
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// `bench day --rate`: a finite number of operations a second above zero.
fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{s:?} is not a rate above zero (operations a second)")),
    }
}

/// A command line clap cannot take, said in one line with where to read more (help and the
/// version are printed whole, as asked).
fn misuse(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let text = e.render().to_string();
    // the first paragraph, in one line ("the following required arguments were not provided:
    // --out <OUT>")
    let what: Vec<&str> = text.lines().take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
    let what = what.join(" ");
    let what = what.trim_start_matches("error: ");
    // the command named: "Usage: echelon export settlement [OPTIONS] ..." where clap gives it,
    // else the words before the first option
    let command: Vec<String> = match text.lines().find_map(|l| l.trim().strip_prefix("Usage: ")) {
        Some(usage) => usage
            .split_whitespace()
            .take_while(|w| !w.starts_with(['[', '<', '-']))
            .map(String::from)
            .collect(),
        None => std::iter::once("echelon".to_string())
            .chain(std::env::args().skip(1).take_while(|a| !a.starts_with('-')).take(2))
            .collect(),
    };
    eprintln!("echelon: {what} (see `{} --help`)", command.join(" "));
    ExitCode::from(2)
}

/// Runs one command; those that need no database run without configuration or logging.
fn run(command: Command) -> Result<ExitCode, String> {
    let command = match command {
        Command::Openapi { out } => return commands::openapi(out.as_deref()),
        Command::Simulate(args) => return commands::simulate(&args),
        Command::Bench { what: BenchCommand::Planning { stations, parts, seed, days, warmup, out } } => {
            return commands::bench_planning(stations, parts, seed, days, warmup, &out)
        }
        Command::Bench {
            what: BenchCommand::Day { urls, clients, seconds, centre, password, json, rate },
        } => {
            let day = tools::day::Day { urls, clients, seconds, centre, password, json, rate };
            return tools::day::run(day).map(|_| ExitCode::SUCCESS);
        }
        other => other,
    };
    echelon::telemetry::init();
    let config = Config::from_env()?;
    match command {
        Command::Serve { demo, bind } => commands::serve(config, demo, bind),
        Command::Migrate => commands::migrate(&config),
        Command::Seed { what: SeedCommand::Demo } => commands::seed_demo(&config),
        Command::Seed { what: SeedCommand::Generate { stations, parts, seed } } => {
            commands::seed_generate(&config, stations, parts, seed)
        }
        Command::Seed { what: SeedCommand::History { days, seed, target_fill, one_for_one } } => {
            commands::seed_history(&config, days, seed, (!one_for_one).then_some(target_fill))
        }
        Command::Seed { what: SeedCommand::Settlement { period, tickets, seed } } => {
            commands::seed_settlement(&config, &period, tickets, seed)
        }
        Command::Replenish { policy, target_fill, budget, service, min_annual, location, forecast_error } => {
            let options = commands::Replenish {
                policy,
                target_fill,
                budget,
                service,
                min_annual,
                location,
                forecast_error,
            };
            commands::replenish(&config, options)
        }
        Command::Export { what: ExportCommand::Settlement { period, format, out, station } } => {
            commands::export_settlement(&config, &period, format.as_deref(), &out, station.as_deref())
        }
        Command::Audit => commands::audit(&config),
        Command::Archive { what: ArchiveCommand::Movements { before } } => {
            tools::archive::movements(&config, &before)
        }
        Command::Archive { what: ArchiveCommand::Restore { month } } => {
            tools::archive::restore(&config, &month)
        }
        Command::Archive { what: ArchiveCommand::List } => tools::archive::list(&config),
        Command::User { what: UserCommand::Add { username, role, location, display_name } } => {
            users::add(&config, &username, &role, location.as_deref(), display_name.as_deref())
        }
        Command::User { what: UserCommand::List { role, location } } => {
            users::list(&config, role.as_deref(), location.as_deref())
        }
        Command::User { what: UserCommand::Show { username } } => users::show(&config, &username),
        Command::User {
            what:
                UserCommand::Set {
                    username,
                    role,
                    location,
                    no_location,
                    disable,
                    enable,
                    password,
                    display_name,
                },
        } => {
            let set = users::Set { role, location, no_location, disable, enable, password, display_name };
            users::set(&config, &username, set)
        }
        Command::Followups { share, seed } => commands::followups(&config, share.as_deref(), seed),
        Command::Openapi { .. } | Command::Simulate(_) | Command::Bench { .. } => {
            unreachable!("run above, without configuration")
        }
    }
}
