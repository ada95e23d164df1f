//! A throw-away PostgreSQL cluster for the test run: started once per test process on a free
//! port (as the `postgres` user when we are root: initdb refuses root), removed when the
//! process ends by a small watcher process, even if the tests crash. `DATABASE_URL_TEST`
//! points at an existing server instead.
//!
//! The replica tests get a pair of their own (`replica_pair`): a primary and a streaming
//! standby made from it with `pg_basebackup -R` over a replication slot, started on first use
//! only. A standby replays its whole cluster, so it does not follow the shared cluster, whose
//! every test database it would have to copy.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub struct Cluster {
    /// `postgres://postgres@127.0.0.1:PORT` (no database)
    pub base: String,
}

/// The cluster, or why there is none.
pub fn cluster() -> Result<&'static Cluster, String> {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    CLUSTER.get_or_init(start).as_ref().map_err(Clone::clone)
}

fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("ECHELON_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs a PostgreSQL tool, as `postgres` when we are root.
fn pg_command(bin: &Path, tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start() -> Result<Cluster, String> {
    if let Ok(url) = std::env::var("DATABASE_URL_TEST") {
        return Ok(Cluster { base: url.trim_end_matches('/').to_string() });
    }
    let own = launch(&format!("echelon-pg-{}", std::process::id()), false, "")?;
    let base = own.base.clone();
    // kept running for the whole test process: the watcher removes it at exit
    std::mem::forget(own);
    Ok(Cluster { base })
}

/// A cluster of one's own, for tests that stop and start the server; removed when dropped.
pub struct Private {
    pub base: String,
    bin: PathBuf,
    data: PathBuf,
    dir: PathBuf,
    opts: String,
}

impl Private {
    /// Its commits are durable across a server crash (`synchronous_commit=on`): the tests
    /// that stop it count what was acknowledged before the stop.
    pub fn start() -> Result<Private, String> {
        launch(&format!("echelon-pg-{}-{}", std::process::id(), free_port()), true, "")
    }

    fn pg_ctl(&self, args: &[&str]) -> bool {
        pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Stops the server at once (`-m immediate`: no checkpoint, as a crash would).
    pub fn stop(&self) {
        assert!(self.pg_ctl(&["-m", "immediate", "-w", "stop"]), "pg_ctl stop");
    }

    pub fn restart(&self) {
        let log = self.dir.join("log");
        let log = log.to_str().unwrap();
        assert!(self.pg_ctl(&["-o", &self.opts, "-l", log, "-w", "-t", "60", "start"]), "pg_ctl start");
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        if std::mem::take(&mut self.opts).is_empty() {
            return;
        }
        self.pg_ctl(&["-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A cluster in its own directory. The shared one trades durability for speed
/// (`synchronous_commit=off`: a server crash may lose the last acknowledged commits);
/// `durable` keeps every acknowledged commit.
fn launch(name: &str, durable: bool, extra: &str) -> Result<Private, String> {
    let bin = pg_bin().ok_or("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")?;
    let dir = own_dir(name)?;
    let data = dir.join("data");
    let out = pg_command(&bin, "initdb")
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = free_port();
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit={} \
         -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB {extra}",
        dir.display(),
        if durable { "on" } else { "off" }
    );
    serve(bin, data, dir, port, opts)
}

/// A directory of one's own for a cluster, owned by the user the server runs as.
fn own_dir(name: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    if is_root() {
        let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status();
        if !ok.map(|s| s.success()).unwrap_or(false) {
            return Err("cannot hand the cluster directory to the postgres user".into());
        }
    }
    Ok(dir)
}

/// Starts the server of `data` and a watcher that removes it when this process ends.
fn serve(bin: PathBuf, data: PathBuf, dir: PathBuf, port: u16, opts: String) -> Result<Private, String> {
    let out = pg_command(&bin, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-o", &opts, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "-t", "60", "start"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("pg_ctl: {e}"))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {}{log}", String::from_utf8_lossy(&out.stderr)));
    }
    // The watcher outlives this process by at most a second and then removes the cluster.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runuser}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        runuser = if is_root() { "runuser -u postgres -- " } else { "" },
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cluster watcher: {e}"))?;
    Ok(Private { base: format!("postgres://postgres@127.0.0.1:{port}"), bin, data, dir, opts })
}

/// A primary and a streaming standby of it, for the replica tests.
pub struct Pair {
    pub primary: Private,
    pub standby: Private,
}

/// The replica tests' pair, started on first use (or why there is none).
pub fn replica_pair() -> Result<&'static Pair, String> {
    static PAIR: OnceLock<Result<Pair, String>> = OnceLock::new();
    PAIR.get_or_init(start_pair).as_ref().map_err(Clone::clone)
}

fn start_pair() -> Result<Pair, String> {
    let name = format!("echelon-pg-{}-primary", std::process::id());
    // commits are flushed (to the OS: fsync stays off) before they are acknowledged, so the
    // WAL sender streams a commit at once rather than after the WAL writer's next round
    // (initdb's pg_hba.conf already trusts replication connections from 127.0.0.1, and these
    // are PostgreSQL's defaults, named here because the standby depends on them)
    let primary =
        launch(&name, true, "-c wal_level=replica -c max_wal_senders=4 -c max_replication_slots=4")?;
    let bin = primary.bin.clone();
    let dir = own_dir(&format!("echelon-pg-{}-standby", std::process::id()))?;
    let data = dir.join("data");
    let port = primary.base.rsplit(':').next().unwrap_or_default().to_string();
    let out = pg_command(&bin, "pg_basebackup")
        .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-D"])
        .arg(&data)
        // -R writes standby.signal and primary_conninfo; -C -S: a slot keeps the WAL the
        // standby has not received yet, however far behind it falls while stopped
        .args(["-R", "-X", "stream", "-C", "-S", "echelon_standby", "-c", "fast", "--no-sync"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("pg_basebackup: {e}"))?;
    if !out.status.success() {
        return Err(format!("pg_basebackup failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = free_port();
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c hot_standby=on \
         -c max_connections=400 -c shared_buffers=64MB -c wal_receiver_status_interval=1s",
        dir.display()
    );
    let standby = serve(bin, data, dir, port, opts)?;
    Ok(Pair { primary, standby })
}
