//! Users (spec section 12): admins create users and change their role, location, active flag
//! or password through the API and the CLI; a disabled or changed user's live tokens are
//! refused (401) from the next request on, on every process. Login throttling: failures per
//! username and per address are slowed, then refused 429 with `Retry-After`, the same for
//! known and unknown usernames.

use std::time::{Duration, Instant};

use echelon::config::LoginThrottle;
use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::cli::run_echelon;
use crate::helpers::{Resp, TestApp};

const MEMBERS: &str = "/api/v1/locations/ST-TZ-001";

async fn login(app: &TestApp, username: &str, password: &str) -> Resp {
    let body = json!({"username": username, "password": password});
    app.send(Method::POST, "/api/v1/auth/login", None, Some(body)).await
}

async fn get_with(app: &TestApp, path: &str, token: &str) -> Resp {
    app.send(Method::GET, path, Some(token), None).await
}

both!(an_admin_creates_lists_reads_and_changes_users, |app| async {
    let new = json!({"username": "tech-st-tz-009", "password": "a-long-initial-password",
                     "role": "technician", "location": "ST-TZ-001", "display_name": "Li Wei"});
    let r = app.post("/api/v1/users", "admin", new.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.headers["location"], "/api/v1/users/tech-st-tz-009");
    assert_eq!(r.json["role"], "technician");
    assert_eq!(r.json["location"], "ST-TZ-001");
    assert_eq!(r.json["active"], true);
    assert!(r.json.get("password_hash").is_none() && r.json.get("password").is_none());
    assert_eq!(
        app.post("/api/v1/users", "admin", new.clone()).await.problem(409)["type"],
        "/problems/already_exists"
    );
    // the new user logs in and sees its station
    let token = login(&app, "tech-st-tz-009", "a-long-initial-password").await.ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get_with(&app, MEMBERS, &token).await.status, 200);

    // bodies that break a rule change nothing
    let bad = |patch: Value| {
        let mut b = new.clone();
        b["username"] = json!("someone-new");
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let r = app.post("/api/v1/users", "admin", bad(json!({"role": "root"}))).await;
    assert!(r.problem(422)["detail"].as_str().unwrap().contains("role"), "{}", r.text);
    let r = app.post("/api/v1/users", "admin", bad(json!({"location": "ST-XX-999"}))).await;
    assert_eq!(r.problem(404)["detail"], "location ST-XX-999 not found");
    let r = app.post("/api/v1/users", "admin", bad(json!({"location": "RC-HZ"}))).await;
    assert_eq!(r.problem(422)["type"], "/problems/invalid_location");
    let r = app.post("/api/v1/users", "admin", bad(json!({"role": "finance"}))).await;
    assert_eq!(r.problem(422)["type"], "/problems/invalid_location", "a finance user has no location");
    let r = app.post("/api/v1/users", "admin", bad(json!({"password": "short"}))).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "password");
    let r = app.post("/api/v1/users", "admin", bad(json!({"username": "has space"}))).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "username");
    assert_eq!(
        app.get("/api/v1/users/someone-new", Some("admin")).await.problem(404)["detail"],
        "user someone-new not found"
    );

    // list and read
    let page = app.get("/api/v1/users?role=technician&limit=500", Some("admin")).await.ok().clone();
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert!(names.contains(&"tech-st-tz-009") && names.contains(&"tech-st-tz-001"), "{names:?}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "ordered by username");
    let first = app.get("/api/v1/users?limit=1", Some("admin")).await.ok().clone();
    let second = app
        .get(
            &format!("/api/v1/users?limit=1&cursor={}", first["next_cursor"].as_str().unwrap()),
            Some("admin"),
        )
        .await
        .ok()
        .clone();
    assert!(second["items"][0]["username"].as_str() > first["items"][0]["username"].as_str());
    // a cursor that is no username's form was never a next_cursor
    for cursor in ["%20garbage%20", "-x", "a%2Fb", "%C3%A9t%C3%A9"] {
        let r = app.get(&format!("/api/v1/users?cursor={cursor}"), Some("admin")).await;
        assert_eq!(r.problem(400)["type"], "/problems/invalid_query", "{cursor}: {}", r.text);
    }
    let one = app.get("/api/v1/users/tech-st-tz-009", Some("admin")).await.ok().clone();
    assert_eq!(one["display_name"], "Li Wei");

    // change: move the technician to another station, then make it an agent (no location)
    let r = app.patch("/api/v1/users/tech-st-tz-009", "admin", json!({"location": "ST-NB-001"})).await;
    assert_eq!(r.ok()["location"], "ST-NB-001");
    let r = app.patch("/api/v1/users/tech-st-tz-009", "admin", json!({"role": "agent"})).await;
    assert!(r.problem(422)["detail"].as_str().unwrap().contains("location: null"), "{}", r.text);
    let r =
        app.patch("/api/v1/users/tech-st-tz-009", "admin", json!({"role": "agent", "location": null})).await;
    assert_eq!(r.ok()["role"], "agent");
    assert!(r.json["location"].is_null());
    let r = app
        .patch("/api/v1/users/tech-st-tz-009", "admin", json!({"role": "station", "location": "HQ"}))
        .await;
    assert_eq!(r.problem(422)["type"], "/problems/invalid_location");
    let r = app.patch("/api/v1/users/tech-st-tz-009", "admin", json!({"rol": "agent"})).await;
    assert_eq!(r.status, 422, "an unknown field: {}", r.text);
    let r = app.patch("/api/v1/users/nobody-here", "admin", json!({"active": false})).await;
    assert_eq!(r.problem(404)["detail"], "user nobody-here not found");
    // an admin may not lock themselves out
    let r = app.patch("/api/v1/users/admin", "admin", json!({"active": false})).await;
    assert_eq!(r.problem(409)["type"], "/problems/conflict");
    let r = app.patch("/api/v1/users/admin", "admin", json!({"role": "finance"})).await;
    assert_eq!(r.problem(409)["type"], "/problems/conflict");
    assert_eq!(app.get("/api/v1/me", Some("admin")).await.ok()["role"], "admin");
    // a password reset: the old password no longer logs in, the new one does
    app.patch("/api/v1/users/tech-st-tz-009", "admin", json!({"password": "a-new-password-2"})).await.ok();
    assert_eq!(login(&app, "tech-st-tz-009", "a-long-initial-password").await.status, 401);
    assert_eq!(login(&app, "tech-st-tz-009", "a-new-password-2").await.status, 200);
    // others may not
    app.get("/api/v1/users", Some("station-st-tz-001")).await.problem(403);
    app.patch("/api/v1/users/tech-st-tz-001", "warehouse-rc-hz", json!({"active": false})).await.problem(403);
    app.get("/api/v1/users", None).await.problem(401);
});

both!(a_disabled_or_changed_users_live_tokens_are_refused_at_the_next_request, |app| async {
    let station = app.token("station-st-tz-001").await;
    let tech = app.token("tech-st-tz-001").await;
    let finance = app.token("finance").await;
    assert_eq!(get_with(&app, MEMBERS, &station).await.status, 200);
    assert_eq!(get_with(&app, MEMBERS, &tech).await.status, 200);
    // disabled: refused at once, and it cannot log in
    app.patch("/api/v1/users/station-st-tz-001", "admin", json!({"active": false})).await.ok();
    let r = get_with(&app, MEMBERS, &station).await;
    assert!(r.problem(401)["detail"].as_str().unwrap().contains("log in again"), "{}", r.text);
    assert_eq!(login(&app, "station-st-tz-001", "echelon-demo").await.status, 401);
    // enabled again: the old token stays refused, a new login works
    app.patch("/api/v1/users/station-st-tz-001", "admin", json!({"active": true})).await.ok();
    get_with(&app, MEMBERS, &station).await.problem(401);
    let fresh = login(&app, "station-st-tz-001", "echelon-demo").await.ok()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get_with(&app, MEMBERS, &fresh).await.status, 200);
    // demoted: the technician's token named its old role
    app.patch("/api/v1/users/tech-st-tz-001", "admin", json!({"role": "agent", "location": null})).await.ok();
    get_with(&app, MEMBERS, &tech).await.problem(401);
    // moved to another location: the token named the old one
    let hq = app.token("warehouse-hq").await;
    assert_eq!(get_with(&app, MEMBERS, &hq).await.status, 200);
    app.patch("/api/v1/users/warehouse-hq", "admin", json!({"location": "RC-NB"})).await.ok();
    get_with(&app, MEMBERS, &hq).await.problem(401);
    // a password reset: every token issued under the old password goes
    let agent = app.token("agent").await;
    assert_eq!(get_with(&app, "/api/v1/me", &agent).await.status, 200);
    app.patch("/api/v1/users/agent", "admin", json!({"password": "a-reset-password-42"})).await.ok();
    get_with(&app, "/api/v1/me", &agent).await.problem(401);
    assert_eq!(login(&app, "agent", "echelon-demo").await.status, 401);
    assert_eq!(login(&app, "agent", "a-reset-password-42").await.status, 200);
    // a change of the display name only is not a change of what the token stands for, nor is
    // the same role, location or flag sent again
    app.patch("/api/v1/users/finance", "admin", json!({"display_name": "Finance desk"})).await.ok();
    assert_eq!(get_with(&app, "/api/v1/me", &finance).await.ok()["display_name"], "Finance desk");
    let rc = app.token("warehouse-rc-hz").await;
    let same = json!({"role": "warehouse", "location": "RC-HZ", "active": true});
    app.patch("/api/v1/users/warehouse-rc-hz", "admin", same).await.ok();
    assert_eq!(get_with(&app, "/api/v1/locations/RC-HZ", &rc).await.status, 200);
    let admin = app.token("admin").await;
    app.patch("/api/v1/users/admin", "admin", json!({"role": "admin", "active": true})).await.ok();
    assert_eq!(get_with(&app, "/api/v1/me", &admin).await.status, 200);
    // and the other users' tokens are untouched
    assert_eq!(app.get("/api/v1/locations/RC-HZ", Some("warehouse-rc-hz")).await.status, 200);
});

/// POST /parts-requests with `token`, an optional Idempotency-Key and a raw body.
async fn order_with(app: &TestApp, token: &str, key: Option<&str>, body: &str) -> Resp {
    let mut r = app
        .client
        .post(format!("{}/api/v1/parts-requests", app.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        r = r.header("Idempotency-Key", key);
    }
    crate::helpers::into_resp(r.send().await.unwrap()).await
}

both!(a_changed_users_token_orders_nothing_and_is_401_before_any_other_answer, |app| async {
    // a parts request reads the token's user with its station rather than on its own: every
    // way through it still refuses a changed user first, and writes nothing
    let part = app.part().stock_at("RC-HZ", 20).create().await;
    let second = json!({"username": "second-admin", "role": "admin", "password": "echelon-demo"});
    assert_eq!(app.post("/api/v1/users", "admin", second).await.status, 201);
    let one = |station: Option<&str>| {
        let mut b = json!({"lines": [{"part_code": part, "qty": 1}]});
        if let Some(s) = station {
            b["station"] = json!(s);
        }
        b.to_string()
    };
    let two = json!({"station": "ST-TZ-001", "lines": [{"part_code": part, "qty": 1}, {"part_code": part, "qty": 1}]})
        .to_string();
    let users = [
        ("station-st-tz-001", json!({"active": false}), None),
        ("warehouse-rc-hz", json!({"location": "RC-NB"}), Some("ST-TZ-001")),
        ("second-admin", json!({"role": "finance"}), Some("ST-TZ-001")),
    ];
    let mut tokens = Vec::new();
    for (user, _, station) in &users {
        let token = app.token(user).await;
        let r = order_with(&app, &token, None, &one(*station)).await;
        assert_eq!(r.status, 201, "{user} orders while as the token says: {}", r.text);
        tokens.push(token);
    }
    assert_eq!(app.stock("RC-HZ", &part).await, (20, 3, 17));
    for (user, change, _) in &users {
        app.patch(&format!("/api/v1/users/{user}"), "admin", change.clone()).await.ok();
    }
    for ((user, _, station), token) in users.iter().zip(&tokens) {
        let cases: Vec<(Option<&str>, String)> = vec![
            (None, one(*station)),
            (None, two.clone()),
            (Some("k-1"), one(*station)),
            (None, json!({"lines": []}).to_string()),
            (None, "{\"lines\": ".to_string()),
            (None, json!({"lines": [{"part_code": part, "qty": 1}], "stashon": "ST-TZ-001"}).to_string()),
            (None, one(Some("ST-HZ-001"))),
            (None, one(Some("RC-HZ"))),
            (None, one(Some("ST-XX-999"))),
            (
                None,
                json!({"station": "ST-TZ-001", "lines": [{"part_code": "NO-SUCH-00001X", "qty": 1}]})
                    .to_string(),
            ),
            (Some("not ascii é"), one(*station)),
        ];
        for (key, body) in cases {
            let r = order_with(&app, token, key, &body).await;
            assert!(
                r.problem(401)["detail"].as_str().unwrap().contains("log in again"),
                "{user} with {body}: {}",
                r.text
            );
        }
    }
    // nothing reserved, nothing requested
    assert_eq!(app.stock("RC-HZ", &part).await, (20, 3, 17));
    let listed = app.get("/api/v1/parts-requests?station=ST-TZ-001&limit=500", Some("admin")).await;
    let mine = listed.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["lines"][0]["part_code"] == part)
        .count();
    assert_eq!(mine, 3);
});

both!(the_cli_lists_shows_and_changes_users_and_says_why_it_refuses, |app| async {
    let url = app.url.clone();
    let tech = app.token("tech-st-tz-001").await;
    let list = run_echelon(&url, &["user", "list", "--role", "technician"], true);
    assert!(list.contains("tech-st-tz-001\ttechnician\tST-TZ-001\tactive"), "{list}");
    let show = run_echelon(&url, &["user", "show", "agent"], true);
    assert!(show.starts_with("agent\tagent\t-\tactive"), "{show}");
    // refusals: non-zero exit, a message naming the fault
    let err = cli_error(&url, &["user", "show", "nobody-here"]);
    assert!(err.contains("user nobody-here not found"), "{err}");
    let err = cli_error(&url, &["user", "set", "nobody-here", "--disable"]);
    assert!(err.contains("user nobody-here not found"), "{err}");
    let err = cli_error(&url, &["user", "set", "agent", "--role", "root"]);
    assert!(err.contains("unknown role \"root\""), "{err}");
    let err = cli_error(&url, &["user", "set", "tech-st-tz-001", "--location", "ST-XX-999"]);
    assert!(err.contains("location ST-XX-999 not found"), "{err}");
    let err = cli_error(&url, &["user", "set", "agent"]);
    assert!(err.contains("nothing to change"), "{err}");
    // the console has no account of its own, but the last active admin stays one
    let last: [&[&str]; 2] =
        [&["user", "set", "admin", "--disable"], &["user", "set", "admin", "--role", "finance"]];
    for args in last {
        let err = cli_error(&url, args);
        assert!(err.contains("admin is the last active admin"), "{err}");
    }
    assert_eq!(get_with(&app, MEMBERS, &tech).await.status, 200, "refusals changed nothing");
    // disabled through the CLI: the live token is refused by the running server
    let out = run_echelon(&url, &["user", "set", "tech-st-tz-001", "--disable"], true);
    assert!(out.contains("tech-st-tz-001\ttechnician\tST-TZ-001\tdisabled"), "{out}");
    get_with(&app, MEMBERS, &tech).await.problem(401);
    run_echelon(
        &url,
        &["user", "set", "tech-st-tz-001", "--enable", "--role", "agent", "--no-location"],
        true,
    );
    let show = run_echelon(&url, &["user", "show", "tech-st-tz-001"], true);
    assert!(show.starts_with("tech-st-tz-001\tagent\t-\tactive"), "{show}");
    // with a second admin, the first may go
    let second = json!({"username": "second-admin", "role": "admin", "password": "a-second-admin-42"});
    assert_eq!(app.post("/api/v1/users", "admin", second).await.status, 201);
    let out = run_echelon(&url, &["user", "set", "admin", "--disable"], true);
    assert!(out.contains("admin\tadmin\t-\tdisabled"), "{out}");
});

/// Runs a command that must fail; its standard error.
fn cli_error(url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(crate::processes::BIN)
        .args(args)
        .env("DATABASE_URL", url)
        .env("ECHELON_LOG", "warn")
        .env_remove("ECHELON_ENV")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "echelon {args:?} must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A throttle that slows after 3 failures and refuses after 5, in a window of 10 minutes (the
/// tests end it by moving the server's clock, so a loaded machine's slow attempts never
/// outlast it).
fn quick_throttle(c: &mut echelon::config::Config) {
    c.login = LoginThrottle {
        window_seconds: 600,
        username_slow_after: 3,
        username_limit: 5,
        address_slow_after: 100,
        address_limit: 200,
        delay_ms: 150,
        max_delay_ms: 1000,
    };
}

/// Five wrong passwords for `username`: the statuses and how long the 4th and 5th took, then
/// the 6th attempt (with `sixth_password`).
async fn six_attempts(
    app: &TestApp,
    username: &str,
    sixth_password: &str,
) -> (Vec<u16>, Vec<Duration>, Resp) {
    let mut statuses = Vec::new();
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let r = login(app, username, "wrong-password").await;
        times.push(start.elapsed());
        assert_eq!(r.problem(401)["detail"], "wrong username or password");
        statuses.push(r.status);
    }
    (statuses, times, login(app, username, sixth_password).await)
}

both!(repeated_failed_logins_are_slowed_then_refused_the_same_for_unknown_usernames, |app| async {
    let quick = TestApp::serve_with(app.url.clone(), app.backend, quick_throttle);
    let (known, known_times, sixth) = six_attempts(&quick, "agent", "echelon-demo").await;
    // the 6th attempt, even with the right password, is refused until the window ends
    let problem = sixth.problem(429).clone();
    assert_eq!(problem["type"], "/problems/too_many_logins");
    let retry: i64 = sixth.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "Retry-After {retry}");
    let (unknown, unknown_times, ghost) = six_attempts(&quick, "no-such-user", "echelon-demo").await;
    assert_eq!(known, unknown, "the same answers for a known and an unknown username");
    assert_eq!(ghost.problem(429)["type"], problem["type"]);
    assert!(ghost.headers.contains_key("retry-after"));
    // from the 4th attempt on each waits (150 ms, then 300 ms), known or not
    for times in [&known_times, &unknown_times] {
        assert!(
            times[3] >= Duration::from_millis(150) && times[4] >= Duration::from_millis(300),
            "{times:?}"
        );
    }
    // another username from the same address is not affected
    assert_eq!(login(&quick, "finance", "echelon-demo").await.status, 200);
    // after the window the right password works, and clears the count
    quick.state.clock.advance(chrono::Duration::seconds(601));
    let r = login(&quick, "agent", "echelon-demo").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // the count starts again from one, below the three failures after which answers are slowed
    // (the slowing itself is shown above by its lower bounds, which a loaded machine cannot break)
    assert_eq!(login(&quick, "agent", "wrong-password").await.status, 401);
    let counted = quick
        .state
        .db
        .read(|c| Ok(echelon::auth::store::login_failures_of(c, "agent", "127.0.0.1")?))
        .await
        .unwrap();
    assert_eq!(counted.0.map(|f| f.failures), Some(1), "a fresh count: {counted:?}");
    // the other server on the same database counted the same failures (the counts are rows)
    app.audit().await;
});

both!(failed_logins_from_one_address_are_refused_across_usernames, |app| async {
    let strict = TestApp::serve_with(app.url.clone(), app.backend, |c| {
        quick_throttle(c);
        c.login.address_slow_after = 2;
        c.login.address_limit = 3;
        c.login.delay_ms = 10;
    });
    for name in ["a-1", "b-2", "c-3"] {
        assert_eq!(login(&strict, name, "wrong-password").await.status, 401);
    }
    let r = login(&strict, "admin", "echelon-demo").await;
    assert_eq!(r.problem(429)["type"], "/problems/too_many_logins");
    // the default server on the same database keeps its own, higher address limit
    assert_eq!(login(&app, "admin", "echelon-demo").await.status, 200);
});

/// A login through a proxy: `X-Forwarded-For` as the proxy sends it.
async fn login_via(app: &TestApp, forwarded_for: &str, username: &str, password: &str) -> u16 {
    let r = app
        .client
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

both!(behind_a_trusted_load_balancer_failed_logins_count_per_client_not_per_balancer, |app| async {
    let address_limit_3 = |c: &mut echelon::config::Config| {
        quick_throttle(c);
        c.login.address_slow_after = 2;
        c.login.address_limit = 3;
        c.login.delay_ms = 10;
    };
    // the load balancer (here: loopback, every test client's address) is trusted
    let behind = TestApp::serve_with(app.url.clone(), app.backend, |c| {
        address_limit_3(c);
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    });
    for name in ["a-1", "b-2", "c-3"] {
        assert_eq!(login_via(&behind, "203.0.113.5", name, "wrong-password").await, 401);
    }
    // that client is refused, whatever it claims left of what the balancer appended
    assert_eq!(login_via(&behind, "203.0.113.5", "admin", "echelon-demo").await, 429);
    assert_eq!(login_via(&behind, "198.51.100.77, 203.0.113.5", "admin", "echelon-demo").await, 429);
    // every other client behind the same balancer still logs in
    assert_eq!(login_via(&behind, "203.0.113.6", "admin", "echelon-demo").await, 200);
    assert_eq!(login(&behind, "agent", "echelon-demo").await.status, 200, "the balancer's own address");

    // with no proxy trusted the header is not believed: the failures count against the peer
    let direct = TestApp::serve_with(app.url.clone(), app.backend, address_limit_3);
    for (i, name) in ["d-4", "e-5", "f-6"].iter().enumerate() {
        let claimed = format!("192.0.2.{i}");
        assert_eq!(login_via(&direct, &claimed, name, "wrong-password").await, 401);
    }
    assert_eq!(login_via(&direct, "192.0.2.200", "admin", "echelon-demo").await, 429);
});

/// Two `echelon serve` on one PostgreSQL database: a user disabled through the API of one and
/// another demoted through the CLI are refused on both at their next request.
#[test]
fn a_user_changed_through_either_process_or_the_cli_is_refused_on_both_processes() {
    use crate::helpers::{fresh_database, pg_or_skip};
    use crate::processes::{login, serve};
    use echelon::db::Backend;
    if pg_or_skip().is_none() {
        return;
    }
    let url = fresh_database(Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let a = serve(dir.path(), &[("DATABASE_URL", &url)], &[]);
    let b = serve(dir.path(), &[("DATABASE_URL", &url)], &[]);
    let client = reqwest::blocking::Client::new();
    let status = |base: &str, token: &str| {
        client.get(format!("{base}{MEMBERS}")).bearer_auth(token).send().unwrap().status().as_u16()
    };
    let admin = login(&a.base, "admin");
    let station = login(&a.base, "station-st-tz-001");
    let tech = login(&b.base, "tech-st-tz-001");
    for base in [&a.base, &b.base] {
        // each process has verified (and cached) both tokens
        assert_eq!(status(base, &station), 200);
        assert_eq!(status(base, &tech), 200);
    }
    // disabled through process b's API
    let r = client
        .patch(format!("{}/api/v1/users/station-st-tz-001", b.base))
        .bearer_auth(&admin)
        .json(&json!({"active": false}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!((status(&a.base, &station), status(&b.base, &station)), (401, 401));
    // demoted through the CLI, beside both running processes
    run_echelon(&url, &["user", "set", "tech-st-tz-001", "--role", "agent", "--no-location"], true);
    assert_eq!((status(&a.base, &tech), status(&b.base, &tech)), (401, 401));
    // the admin's own token is untouched on both
    assert_eq!((status(&a.base, &admin), status(&b.base, &admin)), (200, 200));
    let out = std::process::Command::new(crate::processes::BIN)
        .arg("audit")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

both!(two_admins_disabling_each_other_at_once_leave_one_admin, |app| async {
    let second = json!({"username": "second-admin", "role": "admin", "password": "a-second-admin-42"});
    assert_eq!(app.post("/api/v1/users", "admin", second).await.status, 201);
    let token = |user: &'static str, password: &'static str| {
        let app = &app;
        async move { login(app, user, password).await.ok()["access_token"].as_str().unwrap().to_string() }
    };
    for round in 0..6 {
        let a = token("admin", "echelon-demo").await;
        let b = token("second-admin", "a-second-admin-42").await;
        let off = json!({"active": false});
        let (x, y) = tokio::join!(
            app.send(Method::PATCH, "/api/v1/users/second-admin", Some(&a), Some(off.clone())),
            app.send(Method::PATCH, "/api/v1/users/admin", Some(&b), Some(off)),
        );
        let won = [x.status, y.status].iter().filter(|&&s| s == 200).count();
        assert_eq!(won, 1, "round {round}: {} {} / {} {}", x.status, x.text, y.status, y.text);
        // the one left enables the other again
        let (left, other, password) = if x.status == 200 {
            ("admin", "second-admin", "echelon-demo")
        } else {
            ("second-admin", "admin", "a-second-admin-42")
        };
        let t = token(left, password).await;
        let on = app
            .send(Method::PATCH, &format!("/api/v1/users/{other}"), Some(&t), Some(json!({"active": true})))
            .await;
        assert_eq!(on.status, 200, "{}", on.text);
    }
});

both!(usernames_differing_only_in_case_are_one_account, |app| async {
    let new = json!({"username": "desk-tz-001", "password": "a-long-initial-password",
                     "role": "agent", "location": null});
    assert_eq!(app.post("/api/v1/users", "admin", new.clone()).await.status, 201);
    let users = "SELECT COUNT(*) AS n FROM users";
    let before = app.count(users).await;
    // the same name in capitals is the same account: 409, nothing written
    for name in ["DESK-TZ-001", "Desk-Tz-001"] {
        let mut again = new.clone();
        again["username"] = json!(name);
        again["password"] = json!("another-long-password");
        let r = app.post("/api/v1/users", "admin", again).await;
        assert_eq!(r.problem(409)["type"], "/problems/already_exists", "{name}");
        assert!(r.json["detail"].as_str().unwrap().contains("desk-tz-001"), "{}", r.text);
    }
    assert_eq!(app.count(users).await, before);
    // login takes the name in any case; the account is the one stored, under its stored name
    for name in ["desk-tz-001", "DESK-TZ-001"] {
        let r = login(&app, name, "a-long-initial-password").await;
        let token = r.ok()["access_token"].as_str().unwrap().to_string();
        let me = get_with(&app, "/api/v1/me", &token).await;
        assert_eq!(me.ok()["username"], "desk-tz-001", "{name}");
    }
    assert_eq!(login(&app, "DESK-TZ-001", "another-long-password").await.status, 401);
    // read and changed by any case, answered under the stored name
    let r = app.get("/api/v1/users/Desk-TZ-001", Some("admin")).await;
    assert_eq!(r.ok()["username"], "desk-tz-001");
    // an admin does not demote itself by writing its name in capitals
    let r = app.patch("/api/v1/users/ADMIN", "admin", json!({"role": "agent"})).await;
    assert_eq!(r.problem(409)["type"], "/problems/conflict", "{}", r.text);
    assert_eq!(app.get("/api/v1/users/admin", Some("admin")).await.ok()["role"], "admin");
});
