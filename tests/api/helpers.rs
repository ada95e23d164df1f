//! `TestApp`: echelon served on a random port against a fresh database of either backend,
//! with the demo network loaded, a client that logs in as any demo role, and an audit that
//! runs when the test ends.

#![allow(dead_code, reason = "helpers serve every test module; not each uses each helper")]

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use actix_web::web;
use diesel::connection::SimpleConnection;
use echelon::config::Config;
use echelon::db::{self, Backend, Db};
use echelon::startup::Application;
use echelon::state::AppState;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub use crate::pg::cluster;

pub const PASSWORD: &str = "echelon-demo";

/// The demo's ten stations under RC-HZ (each one's first choice).
pub const RC_HZ_STATIONS: [&str; 10] = [
    "ST-TZ-001",
    "ST-HZ-001",
    "ST-SX-001",
    "ST-JH-001",
    "ST-WZ-001",
    "ST-HU-001",
    "ST-JX-001",
    "ST-LS-001",
    "ST-QZ-001",
    "ST-ZS-001",
];

/// Runs a test body on SQLite and on PostgreSQL: `both!(name, |app| async move { ... });`
/// makes `name::sqlite` and `name::postgres`. Without PostgreSQL binaries the postgres variant
/// prints why and passes, unless ECHELON_REQUIRE_PG=1.
#[macro_export]
macro_rules! both {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[actix_web::test]
            async fn sqlite() {
                let $app = $crate::helpers::TestApp::spawn(echelon::db::Backend::Sqlite).await;
                $body.await;
                $app.finish().await;
            }
            #[actix_web::test]
            async fn postgres() {
                let Some($app) = $crate::helpers::TestApp::spawn_pg().await else { return };
                $body.await;
                $app.finish().await;
            }
        }
    };
}

/// A fresh database URL of the backend, holding the migrated demo network (copied from a
/// template made once per test process).
pub fn fresh_database(backend: Backend) -> String {
    static TEMPLATES: Mutex<Option<HashMap<&'static str, String>>> = Mutex::new(None);
    let mut templates = TEMPLATES.lock().unwrap_or_else(|e| e.into_inner());
    let templates = templates.get_or_insert_with(HashMap::new);
    let name = format!("t{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = scratch_dir();
            let template = templates.entry("sqlite").or_insert_with(|| {
                let path = dir.join("template.db");
                build_template(&format!("sqlite://{}", path.display()));
                path.display().to_string()
            });
            let path = dir.join(format!("{name}.db"));
            std::fs::copy(&*template, &path).expect("copy the template database");
            format!("sqlite://{}", path.display())
        }
        Backend::Postgres => {
            let base = &cluster().expect("PostgreSQL is available").base;
            templates.entry("postgres").or_insert_with(|| {
                admin_sql(base, "CREATE DATABASE echelon_template");
                build_template(&format!("{base}/echelon_template"));
                "echelon_template".into()
            });
            admin_sql(base, &format!("CREATE DATABASE {name} TEMPLATE echelon_template"));
            format!("{base}/{name}")
        }
    }
}

/// An empty database (no migrations, no data).
pub fn empty_database(backend: Backend) -> String {
    let name = format!("e{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => format!("sqlite://{}", scratch_dir().join(format!("{name}.db")).display()),
        Backend::Postgres => {
            let base = &cluster().expect("PostgreSQL is available").base;
            admin_sql(base, &format!("CREATE DATABASE {name}"));
            format!("{base}/{name}")
        }
    }
}

pub fn scratch_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::Builder::new().prefix("echelon-test-").tempdir().unwrap()).path()
}

pub fn admin_sql(base: &str, sql: &str) {
    let manager = db::Manager::new(&format!("{base}/postgres")).unwrap();
    let mut conn = manager.connect_now().expect("connect to the test cluster");
    conn.batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn build_template(url: &str) {
    let manager = db::Manager::new(url).unwrap();
    let mut conn = manager.connect_now().expect("connect to the template database");
    db::migrate(&mut conn).expect("migrate the template");
    db::write_tx(&mut conn, |c| echelon::demo::load_network(c, PASSWORD, chrono::Utc::now()).map(|_| ()))
        .expect("load the demo data");
    // The template's users keep their password, hashed with Argon2id's lightest parameters: a
    // login verifies with the parameters its hash names, so each of the suite's thousands of
    // logins costs a fraction of a millisecond instead of the product's OWASP cost (tens of
    // milliseconds of CPU, several per cent of the whole suite). Hashes the product makes (a
    // password set or changed through the API, the demo loaded by `seed demo`) keep its own.
    conn.batch_execute(&format!("UPDATE users SET password_hash = '{}'", light_hash(PASSWORD)))
        .expect("lighten the template's password hashes");
    // the connection closes here, so SQLite folds its WAL into the file before it is copied
}

/// `password` hashed as the product hashes it (Argon2id, random salt), with the least memory
/// and passes Argon2 allows.
fn light_hash(password: &str) -> String {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let params = argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None).unwrap();
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string()
}

/// Whether PostgreSQL tests must run (CI) rather than be skipped.
pub fn pg_required() -> bool {
    std::env::var("ECHELON_REQUIRE_PG").is_ok_and(|v| v == "1")
}

/// The PostgreSQL cluster, or `None` (after saying why) when the tests may skip it.
pub fn pg_or_skip() -> Option<()> {
    match cluster() {
        Ok(_) => Some(()),
        Err(why) if pg_required() => panic!("ECHELON_REQUIRE_PG=1 but PostgreSQL is unavailable: {why}"),
        Err(why) => {
            eprintln!("skipping the PostgreSQL variant: {why}");
            None
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    pub url: String,
    pub state: web::Data<AppState>,
    pub client: reqwest::Client,
    tokens: Mutex<HashMap<String, String>>,
}

/// A response as a user sees it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts a problem+json answer with this status; returns the document.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "expected {status}, got {}: {}", self.status, self.text);
        assert!(
            self.content_type().starts_with("application/problem+json"),
            "not problem+json: {} {}",
            self.content_type(),
            self.text
        );
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert!(self.json["type"].as_str().is_some_and(|t| t.starts_with("/problems/")), "{}", self.text);
        assert!(self.json["title"].is_string() && self.json["detail"].is_string(), "{}", self.text);
        &self.json
    }

    pub fn ok(&self) -> &Value {
        assert!((200..300).contains(&self.status), "expected 2xx, got {}: {}", self.status, self.text);
        &self.json
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let url = fresh_database(backend);
        TestApp::serve(url, backend)
    }

    pub async fn spawn_pg() -> Option<TestApp> {
        pg_or_skip()?;
        Some(TestApp::spawn(Backend::Postgres).await)
    }

    /// Serves the API over an existing database URL (migrated on start).
    pub fn serve(url: String, backend: Backend) -> TestApp {
        TestApp::serve_with(url, backend, |_| {})
    }

    /// Serves the API over an existing database URL with the test configuration changed by
    /// `configure` (another server on the same database, say with another login throttle).
    pub fn serve_with(url: String, backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config::for_database(&url);
        // the tests' webhook receivers listen on loopback
        config.webhooks.allow_hosts = vec!["127.0.0.1".into()];
        configure(&mut config);
        let db =
            Db::connect(&url, config.database_read_url.as_deref(), config.pool_size, config.read_pool_size)
                .expect("open the test database");
        db::migrate(&mut db.write.get().unwrap()).expect("migrate");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build(config, db, Some(listener)).expect("build the app");
        let base = format!("http://127.0.0.1:{}", app.port);
        let state = app.state.clone();
        actix_web::rt::spawn(app.server);
        TestApp {
            base,
            backend,
            url,
            state,
            client: reqwest::Client::new(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// A bearer token for a demo user (logged in once per test).
    /// Forgets `user`'s token, so that the next call logs in again (after a change that logs
    /// the user out).
    pub fn forget_token(&self, user: &str) {
        self.tokens.lock().unwrap().remove(user);
    }

    pub async fn token(&self, user: &str) -> String {
        if let Some(t) = self.tokens.lock().unwrap().get(user) {
            return t.clone();
        }
        let r = self
            .send(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": user, "password": PASSWORD})),
            )
            .await;
        let token = r.ok()["access_token"].as_str().expect("a token").to_string();
        self.tokens.lock().unwrap().insert(user.to_string(), token.clone());
        token
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_resp(req.send().await.expect("the server answers")).await
    }

    /// GET as a demo user (`None`: anonymous).
    pub async fn get(&self, path: &str, user: Option<&str>) -> Resp {
        let token = match user {
            Some(u) => Some(self.token(u).await),
            None => None,
        };
        self.send(reqwest::Method::GET, path, token.as_deref(), None).await
    }

    pub async fn post(&self, path: &str, user: &str, body: Value) -> Resp {
        let token = self.token(user).await;
        self.send(reqwest::Method::POST, path, Some(&token), Some(body)).await
    }

    pub async fn put(&self, path: &str, user: &str, body: Value) -> Resp {
        let token = self.token(user).await;
        self.send(reqwest::Method::PUT, path, Some(&token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, user: &str, body: Value) -> Resp {
        let token = self.token(user).await;
        self.send(reqwest::Method::PATCH, path, Some(&token), Some(body)).await
    }

    /// A request with a raw body and content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(u) = user {
            req = req.bearer_auth(self.token(u).await);
        }
        into_resp(req.send().await.expect("the server answers")).await
    }

    /// Every invariant holds (what `echelon audit` checks), with the KPI rollups' days over by
    /// the test's clock closed first (as `echelon serve` does), so the audit checks them too.
    pub async fn audit(&self) {
        echelon::rollup::close_due(&self.state).await.expect("the KPI days close");
        let breaches =
            self.state.db.read(|conn| Ok(echelon::audit::run(conn)?)).await.expect("the audit runs");
        assert!(breaches.is_empty(), "audit breaches: {breaches:#?}");
    }

    /// Rows a test wrote straight to the tables are a past imported before the event log
    /// began (as `seed history` does): the audit checks the changes made from now on against
    /// their events.
    pub async fn history_imported(&self) {
        let now = chrono::Utc::now().naive_utc();
        self.state.db.write(move |c| Ok(echelon::events::keep_since(c, now)?)).await.expect("the log starts");
    }

    /// Ends a test: the audit must be clean.
    pub async fn finish(self) {
        self.audit().await;
    }
}

pub async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, text, json }
}

impl TestApp {
    /// A new unserialized part with no stock anywhere; returns its code.
    pub async fn new_part(&self, unit_cost: &str) -> String {
        let r = self
            .post(
                "/api/v1/parts",
                "admin",
                serde_json::json!({"line": "RF", "family": "TST", "name": "Test part", "unit_of_measure": "pcs",
                    "unit_cost": unit_cost, "sale_price": unit_cost, "serialized": false,
                    "core_returnable": false, "weight_grams": 250}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["code"].as_str().unwrap().to_string()
    }

    /// Sets the counted stock of a part at a location (a stock count by admin).
    pub async fn set_stock(&self, location: &str, part: &str, qty: i64) {
        let r = self
            .post(
                "/api/v1/stock-counts",
                "admin",
                serde_json::json!({"location": location, "part_code": part, "counted_qty": qty, "reason": "test set-up"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }

    /// The one number a `SELECT COUNT(*) AS n ...` answers, read on the primary.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sql.to_string();
        self.state
            .db
            .primary(move |conn| {
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                use diesel::RunQueryDsl;
                let n: N = echelon::on_backend!(conn, |c| diesel::sql_query(sql.as_str()).get_result(c))?;
                Ok(n.n)
            })
            .await
            .unwrap()
    }

    /// Sets whether a location is active (`PATCH /locations/{code}` as admin).
    pub async fn set_active(&self, code: &str, active: bool) {
        let r = self
            .patch(&format!("/api/v1/locations/{code}"), "admin", serde_json::json!({"active": active}))
            .await;
        assert_eq!(r.ok()["active"], active, "{}", r.text);
    }

    /// (on_hand, reserved, available) of a part at a location.
    pub async fn stock(&self, location: &str, part: &str) -> (i64, i64, i64) {
        let r = self.get(&format!("/api/v1/stock?location={location}&part_code={part}"), Some("admin")).await;
        let items = r.ok()["items"].as_array().unwrap().clone();
        match items.first() {
            None => (0, 0, 0),
            Some(i) => (
                i["on_hand"].as_i64().unwrap(),
                i["reserved"].as_i64().unwrap(),
                i["available"].as_i64().unwrap(),
            ),
        }
    }
}

/// A test app reading on a real streaming replica (`DATABASE_READ_URL`), over a fresh
/// database of the replica pair. Whatever a test left (a paused replay, a stopped standby),
/// the standby runs and replays again after it. Tests that pause or stop the standby take
/// their turn one at a time.
pub struct Replicated {
    pub app: TestApp,
    pub pair: &'static crate::pg::Pair,
    /// the database's name on both servers
    pub name: String,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// How long reads stay on the primary after the replica failed, in these tests.
pub const REPLICA_RETRY: std::time::Duration = std::time::Duration::from_millis(300);

impl TestApp {
    /// The app on the replica pair, or `None` (after saying why) when PostgreSQL is missing
    /// and may be.
    pub async fn spawn_replicated() -> Option<Replicated> {
        static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let pair = match crate::pg::replica_pair() {
            Ok(p) => p,
            Err(why) if pg_required() => panic!("ECHELON_REQUIRE_PG=1 but no PostgreSQL replica: {why}"),
            Err(why) => {
                eprintln!("skipping the replica test: {why}");
                return None;
            }
        };
        let turn = TURN.lock().await;
        let name = replicated_database(pair).await;
        let read_url = format!("{}/{name}", pair.standby.base);
        let app = TestApp::serve_with(format!("{}/{name}", pair.primary.base), Backend::Postgres, |c| {
            c.database_read_url = Some(read_url)
        });
        app.state.db.set_replica_retry(REPLICA_RETRY);
        Some(Replicated { app, pair, name, _turn: turn })
    }
}

impl Replicated {
    /// One statement on the standby, in the test's database.
    pub fn standby_sql<T: diesel::QueryableByName<diesel::pg::Pg> + 'static>(&self, sql: &str) -> T {
        standby_query(&format!("{}/{}", self.pair.standby.base, self.name), sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Waits until the standby has replayed everything the primary has written.
    pub async fn caught_up(&self) {
        wait_replayed(self.pair).await;
    }

    /// Pauses the standby's replay (it keeps receiving WAL) and waits until it has paused.
    pub async fn pause(&self) {
        let url = format!("{}/postgres", self.pair.standby.base);
        standby_query::<Done>(&url, "SELECT pg_wal_replay_pause() IS NULL AS done").unwrap();
        for _ in 0..500 {
            let d: Done =
                standby_query(&url, "SELECT pg_get_wal_replay_pause_state() = 'paused' AS done").unwrap();
            if d.done {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the standby's replay did not pause");
    }

    pub fn resume(&self) {
        let url = format!("{}/postgres", self.pair.standby.base);
        standby_query::<Done>(&url, "SELECT pg_wal_replay_resume() IS NULL AS done").unwrap();
    }

    /// Waits (at most 30 s) until the standby accepts connections again after a restart.
    pub async fn standby_answers(&self) {
        let url = format!("{}/postgres", self.pair.standby.base);
        for _ in 0..3000 {
            if standby_query::<Done>(&url, "SELECT true AS done").is_ok() {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the standby does not answer");
    }

    /// Ends the test: the replica caught up, and the audit (read on it) clean.
    pub async fn finish(self) {
        self.caught_up().await;
        self.app.audit().await;
    }
}

impl Drop for Replicated {
    fn drop(&mut self) {
        // a test that failed half-way leaves the standby as the next test needs it
        let url = format!("{}/postgres", self.pair.standby.base);
        if standby_query::<Done>(&url, "SELECT true AS done").is_err() {
            self.pair.standby.restart();
        }
        let _ = standby_query::<Done>(&url, "SELECT pg_wal_replay_resume() IS NULL AS done");
    }
}

#[derive(diesel::QueryableByName)]
pub struct Done {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub done: bool,
}

#[derive(diesel::QueryableByName)]
struct LsnText {
    #[diesel(sql_type = diesel::sql_types::Text)]
    lsn: String,
}

fn standby_query<T>(url: &str, sql: &str) -> Result<T, String>
where
    T: diesel::QueryableByName<diesel::pg::Pg> + 'static,
{
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query(sql).get_result(&mut conn).map_err(|e| e.to_string())
}

/// Waits (at most 30 s) until the standby has replayed all the primary has written so far.
pub async fn wait_replayed(pair: &crate::pg::Pair) {
    let at: LsnText = standby_query(
        &format!("{}/postgres", pair.primary.base),
        "SELECT pg_current_wal_insert_lsn()::text AS lsn",
    )
    .expect("the primary answers");
    let check = format!("SELECT pg_last_wal_replay_lsn() >= '{}'::pg_lsn AS done", at.lsn);
    let url = format!("{}/postgres", pair.standby.base);
    for _ in 0..3000 {
        if standby_query::<Done>(&url, &check).is_ok_and(|d| d.done) {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the standby did not replay up to {} within 30 s", at.lsn);
}

/// A fresh database on the pair's primary (copied from a template made there once), returned
/// once the standby has replayed its creation; its name.
async fn replicated_database(pair: &crate::pg::Pair) -> String {
    static TEMPLATE: OnceLock<()> = OnceLock::new();
    let base = &pair.primary.base;
    TEMPLATE.get_or_init(|| {
        admin_sql(base, "CREATE DATABASE echelon_template");
        build_template(&format!("{base}/echelon_template"));
    });
    let name = format!("r{}", uuid::Uuid::new_v4().simple());
    // FILE_COPY: the standby copies the template's files itself rather than replaying them
    // all from the WAL (PostgreSQL 15's default WAL_LOG writes the whole database there)
    admin_sql(base, &format!("CREATE DATABASE {name} TEMPLATE echelon_template STRATEGY FILE_COPY"));
    wait_replayed(pair).await;
    name
}
