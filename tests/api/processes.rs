//! The `echelon` binary as users run it: `serve --demo` on a fresh directory, several
//! processes on one PostgreSQL database, refusing production with development secrets, and
//! the `openapi` and `audit` commands.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use echelon::db::Backend;
use serde_json::{json, Value};

use crate::helpers::{empty_database, fresh_database, pg_or_skip};

pub const BIN: &str = env!("CARGO_BIN_EXE_echelon");

/// An `echelon serve` child process, killed when dropped.
pub struct Served {
    pub child: Child,
    pub base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `echelon serve ARGS` with the environment given, in `dir`, and waits until
/// `/readyz` answers 200.
pub fn serve(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Served {
    let port = free_port();
    let mut cmd = Command::new(BIN);
    cmd.arg("serve").args(args).current_dir(dir).env_remove("DATABASE_URL").env_remove("ECHELON_ENV");
    cmd.env("ECHELON_BIND", format!("127.0.0.1:{port}"))
        .env("ECHELON_LOG", "warn")
        .env("ECHELON_WORKERS", "2");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start echelon");
    let mut served = Served { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::blocking::Client::new();
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", served.base)).send() {
            if r.status() == 200 {
                return served;
            }
        }
        if let Some(status) = served.child.try_wait().unwrap() {
            let mut err = String::new();
            served.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("echelon exited with {status}: {err}");
        }
        // a guard against a hang, not a measure: on a loaded 2-core machine a debug build loads
        // the demo's 90 days into PostgreSQL in well over a minute
        assert!(start.elapsed() < Duration::from_secs(600), "echelon did not become ready in 10 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn login(base: &str, user: &str) -> String {
    let r: Value = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": "echelon-demo"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["access_token"].as_str().expect("a token").to_string()
}

fn get(base: &str, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut req = reqwest::blocking::Client::new().get(format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, r.json().unwrap_or(Value::Null))
}

/// What the README's run command shows a new user, on the embedded SQLite default.
#[test]
fn serve_demo_on_a_fresh_directory_serves_the_demo_network() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = serve(dir.path(), &[], &["--demo"]);
    assert!(dir.path().join("echelon.db").exists(), "the default database is ./echelon.db");
    assert_eq!(get(&s.base, "/healthz", None).0, 200);
    assert_eq!(get(&s.base, "/readyz", None).2["database"], "sqlite");
    let (status, ct, body) = get(&s.base, "/api/v1/locations?limit=500", None);
    assert_eq!(status, 401);
    assert!(ct.starts_with("application/problem+json"));
    assert_eq!(body["status"], 401);
    let admin = login(&s.base, "admin");
    let (status, _, body) = get(&s.base, "/api/v1/locations?limit=500", Some(&admin));
    assert_eq!(status, 200);
    let items = body["items"].as_array().unwrap();
    assert!(items.iter().any(|l| l["code"] == "HQ"));
    assert_eq!(items.iter().filter(|l| l["kind"] == "regional_centre").count(), 30);
    assert!(items.iter().filter(|l| l["kind"] == "station").count() >= 200);
    let station = login(&s.base, "station-st-tz-001");
    let (status, _, body) = get(&s.base, "/api/v1/locations/ST-TZ-001", Some(&station));
    assert_eq!(status, 200);
    assert_eq!(body["tier"], "B");
    let _ = s.child.kill();
    let mut out = String::new();
    s.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(out.contains("/swagger-ui/"), "prints the Swagger URL: {out}");
    for user in [
        "admin",
        "warehouse-hq",
        "warehouse-rc-hz",
        "station-st-tz-001",
        "tech-st-tz-001",
        "agent",
        "finance",
        "courier-1",
    ] {
        assert!(out.contains(user), "prints demo user {user}: {out}");
    }
    assert!(out.contains("echelon-demo"), "prints the demo password");

    // a second start on the same file keeps the data and does not load it twice
    drop(s);
    let s = serve(dir.path(), &[], &["--demo"]);
    let admin = login(&s.base, "admin");
    let (_, _, body) = get(&s.base, "/api/v1/locations?limit=500&kind=central_warehouse", Some(&admin));
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
}

#[test]
fn two_serve_processes_on_one_postgres_database_both_answer() {
    if pg_or_skip().is_none() {
        return;
    }
    let url = empty_database(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    // both start at once on the empty database: migrations and the demo load happen once
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| serve(dir.path(), &[("DATABASE_URL", &url)], &["--demo"]));
        let b = s.spawn(|| serve(dir.path(), &[("DATABASE_URL", &url)], &["--demo"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    for s in [&a, &b] {
        assert_eq!(get(&s.base, "/readyz", None).2["database"], "postgres");
    }
    // a token from one process works on the other (stateless replicas)
    let token = login(&a.base, "station-st-tz-001");
    let (status, _, body) = get(&b.base, "/api/v1/locations/ST-TZ-001", Some(&token));
    assert_eq!(status, 200, "{body}");
    let admin = login(&b.base, "admin");
    let (_, _, body) = get(&a.base, "/api/v1/locations?limit=500&kind=regional_centre", Some(&admin));
    assert_eq!(body["items"].as_array().unwrap().len(), 30, "the demo was loaded exactly once");
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn production_refuses_the_development_secret_and_demo_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--demo"])
        .current_dir(dir.path())
        .env("ECHELON_ENV", "production")
        .env_remove("ECHELON_JWT_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing to start") && err.contains("ECHELON_JWT_SECRET"), "{err}");
    assert!(!dir.path().join("echelon.db").exists(), "nothing was created");

    let out = Command::new(BIN)
        .args(["serve", "--demo"])
        .current_dir(dir.path())
        .env("ECHELON_ENV", "production")
        .env("ECHELON_JWT_SECRET", "a-real-secret-of-enough-length-0123456789")
        .env_remove("ECHELON_DEMO_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("demo password"));
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "openapi/openapi.json is stale: run `cargo run -- openapi --out openapi/openapi.json`"
    );
}

#[test]
fn audit_is_clean_on_the_demo_and_fails_on_a_breach() {
    let url = fresh_database(Backend::Sqlite);
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit: clean"));
    // break an invariant behind echelon's back: a station loses its tier history
    let manager = echelon::db::Manager::new(&url).unwrap();
    let mut conn = manager.connect_now().unwrap();
    use diesel::connection::SimpleConnection;
    conn.batch_execute("UPDATE locations SET tier = 'A' WHERE code = 'ST-TZ-001'").unwrap();
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ST-TZ-001"));
}

/// `echelon user add ARGS` on the database at `url`, the password typed on its standard input;
/// it must succeed.
fn user_add(url: &str, args: &[&str], password: &str) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["user", "add"])
        .args(args)
        .env("DATABASE_URL", url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn user_add_creates_a_user_who_can_log_in() {
    let url = fresh_database(Backend::Sqlite);
    user_add(
        &url,
        &["--username", "station-hz-2", "--role", "station", "--location", "ST-HZ-001"],
        "a-long-password-1",
    );
    let bad = Command::new(BIN)
        .args(["user", "add", "--username", "x", "--role", "station", "--location", "RC-HZ"])
        .env("DATABASE_URL", &url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let dir = tempfile::tempdir().unwrap();
    let s = serve(dir.path(), &[("DATABASE_URL", &url)], &[]);
    let r: Value = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/auth/login", s.base))
        .json(&json!({"username": "station-hz-2", "password": "a-long-password-1"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = r["access_token"].as_str().unwrap();
    assert_eq!(get(&s.base, "/api/v1/locations/ST-HZ-001", Some(token)).0, 200);
    assert_eq!(get(&s.base, "/api/v1/locations/ST-TZ-001", Some(token)).0, 404);
}

/// Two `echelon serve` on one fresh PostgreSQL database (none when there is no PostgreSQL),
/// and an admin token.
struct TwoServes {
    url: String,
    a: Served,
    b: Served,
    admin: String,
    /// their working directory, removed when they are done
    _dir: tempfile::TempDir,
}

fn two_serves_on_postgres() -> Option<TwoServes> {
    pg_or_skip()?;
    let url = fresh_database(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let a = serve(dir.path(), &[("DATABASE_URL", &url)], &[]);
    let b = serve(dir.path(), &[("DATABASE_URL", &url)], &[]);
    let admin = login(&a.base, "admin");
    Some(TwoServes { url, a, b, admin, _dir: dir })
}

/// A new unserialized part of cost 10.00 made through `base`; its code.
fn new_part(base: &str, admin: &str, name: &str) -> String {
    let part: Value = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/parts"))
        .bearer_auth(admin)
        .json(&json!({"line": "RF", "family": "TST", "name": name, "unit_of_measure": "pcs",
                      "unit_cost": "10.00", "sale_price": "10.00", "serialized": false,
                      "core_returnable": false, "weight_grams": 100}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    part["code"].as_str().unwrap().to_string()
}

/// `qty` units of `part` counted at `location` through `base`.
fn count_stock(base: &str, admin: &str, location: &str, part: &str, qty: i64) {
    let count = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/stock-counts"))
        .bearer_auth(admin)
        .json(&json!({"location": location, "part_code": part, "counted_qty": qty, "reason": "set-up"}))
        .send()
        .unwrap();
    assert_eq!(count.status(), 201);
}

/// Issue 5's race across processes: two `echelon serve` on one PostgreSQL database, 64
/// concurrent requests for one unit each against 10 available at RC-HZ.
#[test]
fn two_processes_racing_for_ten_units_promise_exactly_ten() {
    let Some(TwoServes { url, a, b, admin, _dir }) = two_serves_on_postgres() else { return };
    let client = reqwest::blocking::Client::new();
    let part = new_part(&a.base, &admin, "Race part");
    count_stock(&b.base, &admin, "RC-HZ", &part, 10);
    let stations = &crate::helpers::RC_HZ_STATIONS[..8];
    let bases = [a.base.clone(), b.base.clone()];
    let answers: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (base, admin, part) = (&bases[i % 2], &admin, &part);
                s.spawn(move || {
                    let r = reqwest::blocking::Client::new()
                        .post(format!("{base}/api/v1/parts-requests"))
                        .bearer_auth(admin)
                        .json(&json!({"station": stations[i % stations.len()], "lines": [{"part_code": part, "qty": 1}]}))
                        .send()
                        .unwrap();
                    assert_eq!(r.status(), 201);
                    r.json::<Value>().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let from_hz = answers
        .iter()
        .filter(|r| r["lines"][0]["allocations"].as_array().unwrap().iter().any(|a| a["source"] == "RC-HZ"))
        .count();
    assert_eq!(from_hz, 10, "exactly the ten units at RC-HZ were promised");
    assert_eq!(answers.len() - from_hz, 54);
    let stock: Value = client
        .get(format!("{}/api/v1/stock?location=RC-HZ&part_code={part}", a.base))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stock["items"][0]["available"], 0);
    assert_eq!(stock["items"][0]["reserved"], 10);
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_tier_changed_through_one_process_reaches_the_next_request_on_the_other() {
    // each `serve` keeps what routes a station's requests; the master data's revision in the
    // database tells it when another process changed any of it
    let Some(TwoServes { url, a, b, admin, _dir }) = two_serves_on_postgres() else { return };
    let client = reqwest::blocking::Client::new();
    let part = new_part(&a.base, &admin, "Routing part");
    count_stock(&a.base, &admin, "HQ", &part, 10);
    // ST-SX-001 is tier C, which may not order from HQ
    let ask = || -> Value {
        let r = client
            .post(format!("{}/api/v1/parts-requests", a.base))
            .bearer_auth(&admin)
            .json(&json!({"station": "ST-SX-001", "lines": [{"part_code": part, "qty": 1}]}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        r.json().unwrap()
    };
    assert_eq!(ask()["status"], "backordered");
    let (_, _, tiers) = get(&b.base, "/api/v1/tiers", Some(&admin));
    let mut c = tiers.as_array().unwrap().iter().find(|t| t["tier"] == "C").unwrap().clone();
    c.as_object_mut().unwrap().remove("tier");
    c["may_order_from_hq"] = json!(true);
    let put = client.put(format!("{}/api/v1/tiers/C", b.base)).bearer_auth(&admin).json(&c).send().unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(ask()["status"], "allocated", "process a routes by the tier process b changed");
    let out = Command::new(BIN).arg("audit").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// What a `serve` process printed, standard output (the banner) and error (its log) in one,
/// read after stopping it.
fn banner_of(mut s: Served) -> String {
    let _ = s.child.kill();
    let _ = s.child.wait();
    let mut out = String::new();
    s.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    s.child.stderr.take().unwrap().read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_banner_names_the_database_and_shows_only_users_that_exist_and_no_custom_password() {
    // the demo with a password of one's own: the users are listed, the password is not
    let dir = tempfile::tempdir().unwrap();
    let secret = "a-password-of-our-own-42";
    let out = banner_of(serve(dir.path(), &[("ECHELON_DEMO_PASSWORD", secret)], &["--demo"]));
    assert!(out.contains("database:     sqlite://echelon.db"), "{out}");
    assert!(out.contains("tech-st-tz-001") && out.contains("ECHELON_DEMO_PASSWORD"), "{out}");
    assert!(!out.contains(secret), "the custom password is never printed: {out}");
    // a database without the demo users (an empty one here): no users listed
    let empty = tempfile::tempdir().unwrap();
    let out = banner_of(serve(empty.path(), &[], &[]));
    assert!(out.contains("database:") && !out.contains("demo users") && !out.contains("admin"), "{out}");
    // a generated network: its own users only (none of the demo's), so none listed
    let generated = tempfile::tempdir().unwrap();
    let made = Command::new(BIN)
        .args(["seed", "generate", "--stations", "10", "--parts", "30"])
        .current_dir(generated.path())
        .env_remove("DATABASE_URL")
        .env_remove("ECHELON_ENV")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = banner_of(serve(generated.path(), &[], &[]));
    assert!(out.contains("database:     sqlite://echelon.db"), "{out}");
    assert!(!out.contains("demo users") && !out.contains("station-st-tz-001"), "{out}");
    // production: never a user list nor a password, even on the demo's database
    let env = [
        ("ECHELON_ENV", "production"),
        ("ECHELON_JWT_SECRET", "0123456789abcdef0123456789abcdef-production"),
        ("ECHELON_DEMO_PASSWORD", secret),
    ];
    let out = banner_of(serve(dir.path(), &env, &[]));
    assert!(!out.contains("demo users") && !out.contains(secret) && !out.contains("echelon-demo"), "{out}");
}

#[test]
fn a_busy_port_is_refused_before_the_database_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = format!("127.0.0.1:{}", taken.local_addr().unwrap().port());
    let out = Command::new(BIN)
        .args(["serve", "--demo", "--bind", &bind])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("ECHELON_ENV")
        .env("ECHELON_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("cannot listen on {bind}")) && err.contains("--bind"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!dir.path().join("echelon.db").exists(), "no demo was loaded for a server that cannot start");
}

/// A database whose demo users were loaded in development, served in production: the public
/// default password lets nobody in (401, as any wrong password), while a user with a password
/// of their own logs in.
#[test]
fn production_refuses_the_public_demo_password_on_a_database_loaded_before() {
    let url = fresh_database(Backend::Sqlite);
    user_add(&url, &["--username", "ops-admin", "--role", "admin"], "an-operator-password-7");
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("ECHELON_ENV", "production"),
        ("ECHELON_JWT_SECRET", "a-real-secret-of-enough-length-0123456789"),
        ("ECHELON_DEMO_PASSWORD", "not-the-public-default-42"),
    ];
    let s = serve(dir.path(), &env, &[]);
    let login = |user: &str, password: &str| {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/auth/login", s.base))
            .json(&json!({"username": user, "password": password}))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    for user in ["admin", "station-st-tz-001"] {
        let (status, body) = login(user, crate::helpers::PASSWORD);
        assert_eq!(status, 401, "{user}: {body}");
        assert!(body.get("access_token").is_none(), "{body}");
    }
    let (status, body) = login("ops-admin", "an-operator-password-7");
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string());
}
