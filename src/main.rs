//! The `echelon` command: clap subcommands that call into the library.

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
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Load the demo network and users into an empty database
    Demo,
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
        Command::Openapi { .. } => unreachable!("handled before configuration"),
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
