//! Structured logs with `tracing`: text for people, JSON (`ECHELON_LOG_FORMAT=json`) for
//! collectors; the level from `ECHELON_LOG` (or `RUST_LOG`), default `info`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("ECHELON_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info,actix_server=warn".into());
    // colour codes only for a terminal: a log written to a file or a collector stays plain
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let json = std::env::var("ECHELON_LOG_FORMAT").is_ok_and(|f| f == "json");
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
