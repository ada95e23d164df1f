//! Webhooks: events written with their changes, delivered signed to a real HTTP receiver that
//! the test starts, retried with backoff, logged, replayable, and never outside their scope.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration};
use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// An HTTP receiver on loopback: answers each request with the next planned status (200 when
/// the plan is empty) and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::slow(0)
    }

    /// A receiver that takes `delay_ms` to answer each request.
    fn slow(delay_ms: u64) -> Receiver {
        Receiver::listen(delay_ms, None)
    }

    /// An https receiver on 127.0.0.1 with a certificate of its own; answers the receiver and
    /// the certificate (PEM) a client must trust to reach it.
    fn https() -> (Receiver, String) {
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        // ring, as the delivery client uses (deprecated only for lacking post-quantum groups)
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .unwrap();
        (Receiver::listen(0, Some(Arc::new(tls))), cert.cert.pem())
    }

    fn listen(delay_ms: u64, tls: Option<Arc<rustls::ServerConfig>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{}/hooks", listener.local_addr().unwrap().port());
        let got = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let (g, p) = (got.clone(), plan.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let answer = |s: &mut dyn ReadWrite| -> std::io::Result<()> {
                    let received = read_request(s)?;
                    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
                    g.lock().unwrap().push(received);
                    let status = p.lock().unwrap().pop_front().unwrap_or(200);
                    write!(s, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")?;
                    s.flush()
                };
                // a client that does not trust the certificate hangs up in the handshake
                let _ = match &tls {
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                        let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                        answer(&mut tls_stream).map(|_| tls_stream.conn.send_close_notify())
                    }
                    None => {
                        let mut stream = stream;
                        answer(&mut stream)
                    }
                };
            }
        });
        Receiver { url, got, plan }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn types(&self) -> Vec<String> {
        self.got().iter().map(|r| r.json()["type"].as_str().unwrap().to_string()).collect()
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Reads one HTTP request (its headers and its body of `content-length` bytes).
fn read_request(stream: &mut dyn ReadWrite) -> std::io::Result<Received> {
    let mut reader = BufReader::new(stream);
    let mut headers = HashMap::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.trim().split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Received { headers, body: String::from_utf8(body).unwrap_or_default() })
}

const ALL: [&str; 8] = [
    "parts_request.allocated",
    "parts_request.backordered",
    "backorder.filled",
    "shipment.picked_up",
    "shipment.delivered",
    "shipment.damaged",
    "claim.opened",
    "ticket.state_changed",
];

/// Subscribes `user` to every event type at `url`; returns the subscription.
async fn subscribe(app: &TestApp, user: &str, url: &str) -> Value {
    let r = app.post("/api/v1/webhooks/subscriptions", user, json!({"url": url, "event_types": ALL})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

/// At ST-TZ-001, every change a station is told of: a request for a part nobody has
/// (backordered) that a receipt at RC-HZ fills (allocated), shipped, picked up, delivered and
/// received with one of its two units damaged (a claim); and a ticket dispatched to the
/// station's technician. Returns the request, its shipment and the ticket.
async fn every_change(app: &TestApp) -> (i64, i64, i64) {
    let part = app.part().cost("20.00").create().await;
    let rid = app.request().line(&part, 2).urgent().create().await;
    app.receipt("RC-HZ").line(&part, 5).create().await;
    app.on_request(rid, "ship", "warehouse-rc-hz").await.ok();
    let shipment = app.shipments_of(rid, "warehouse-rc-hz").await[0]["id"].as_i64().unwrap();
    app.deliver(shipment, Duration::hours(2)).await;
    app.post(
        &format!("/api/v1/parts-requests/{rid}/receive"),
        "station-st-tz-001",
        json!({"lines": [{"line_no": 1, "received_qty": 1, "damaged_qty": 1}]}),
    )
    .await
    .ok();
    let ticket = app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    (rid, shipment, ticket)
}

/// Runs the delivery worker's rounds until nothing is due.
async fn deliver(app: &TestApp) {
    while echelon::webhooks::deliver::deliver_due(&app.state, None).await.unwrap() > 0 {}
}

/// The signature a receiver computes, as the convention defines it.
fn verifies(secret: &str, r: &Received) -> bool {
    let id = &r.headers["webhook-id"];
    let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
    let expected = echelon::webhooks::rules::sign(secret, id, ts, &r.body).unwrap();
    r.headers["webhook-signature"].split(' ').any(|s| s == expected)
}

async fn event_count(app: &TestApp) -> i64 {
    app.state
        .db
        .read(|conn| {
            use diesel::prelude::*;
            Ok(echelon::db::schema::events::table.count().get_result::<i64>(conn)?)
        })
        .await
        .unwrap()
}

both!(each_change_reaches_its_stations_receiver_once_signed_and_no_other_station, |app| async {
    let ours = Receiver::start();
    let theirs = Receiver::start();
    let sub = subscribe(&app, "station-st-tz-001", &ours.url).await;
    let secret = sub["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{sub}");
    assert_eq!(sub["scope"], "ST-TZ-001");
    let other = app.station_user("ST-NB-001").await;
    subscribe(&app, &other, &theirs.url).await;
    // the secret is shown once
    let read =
        app.get(&format!("/api/v1/webhooks/subscriptions/{}", sub["id"]), Some("station-st-tz-001")).await;
    assert!(read.ok().get("secret").is_none(), "{}", read.text);
    // another station cannot see it, nor change, remove, re-key or read the log of it
    let path = format!("/api/v1/webhooks/subscriptions/{}", sub["id"]);
    app.get(&path, Some(&other)).await.problem(404);
    // (to a URL of its own, which it may subscribe to)
    app.patch(&path, &other, json!({"url": theirs.url})).await.problem(404);
    app.send(reqwest::Method::DELETE, &path, Some(&app.token(&other).await), None).await.problem(404);
    app.post(&format!("{path}/rotate-secret"), &other, json!({})).await.problem(404);
    app.get(&format!("{path}/deliveries"), Some(&other)).await.problem(404);
    let listed = app.get("/api/v1/webhooks/subscriptions", Some(&other)).await;
    assert!(listed.ok()["items"].as_array().unwrap().iter().all(|s| s["id"] != sub["id"]), "{}", listed.text);
    let unchanged = app.get(&path, Some("station-st-tz-001")).await;
    assert_eq!(
        (unchanged.ok()["url"].as_str(), unchanged.json["active"].as_bool()),
        (sub["url"].as_str(), Some(true)),
        "{}",
        unchanged.text
    );

    let (rid, _, _) = every_change(&app).await;
    deliver(&app).await;

    let types = ours.types();
    for t in [
        "parts_request.backordered",
        "backorder.filled",
        "parts_request.allocated",
        "shipment.picked_up",
        "shipment.delivered",
        "shipment.damaged",
        "claim.opened",
        "ticket.state_changed",
    ] {
        assert!(types.iter().any(|x| x == t), "no {t} in {types:?}");
    }
    let got = ours.got();
    // once each: no webhook-id twice
    let mut ids: Vec<&String> = got.iter().map(|r| &r.headers["webhook-id"]).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "a message was delivered twice");
    for r in &got {
        assert!(verifies(&secret, r), "a signature does not verify: {r:?}");
        let mut changed = r.clone();
        changed.body = changed.body.replacen("ST-TZ-001", "ST-TZ-002", 1);
        if changed.body != r.body {
            assert!(!verifies(&secret, &changed), "a changed body still verifies");
        }
    }
    // the backorder filled names its request, the ordering key grows per object
    let filled = got.iter().map(Received::json).find(|b| b["type"] == "backorder.filled").unwrap();
    assert_eq!(filled["data"]["request_id"], rid);
    assert_eq!(filled["data"]["qty"], 2);
    assert_eq!(filled["object"]["kind"], "parts_request");
    let sequences: Vec<i64> = got
        .iter()
        .map(Received::json)
        .filter(|b| b["object"]["kind"] == "parts_request" && b["object"]["id"] == rid)
        .map(|b| b["object"]["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    // the other station's receiver got nothing of ST-TZ-001's
    assert!(theirs.got().is_empty(), "{:?}", theirs.types());
    // the log shows every delivery delivered at the first attempt
    let log = app
        .get(&format!("/api/v1/webhooks/subscriptions/{}/deliveries", sub["id"]), Some("station-st-tz-001"))
        .await;
    let items = log.ok()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), got.len());
    assert!(items.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1), "{}", log.text);
});

both!(a_subscription_follows_its_owner_moved_or_made_a_role_that_receives_nothing, |app| async {
    let hook = Receiver::start();
    let owner = app.station_user("ST-NB-001").await;
    let sub = subscribe(&app, &owner, &hook.url).await;
    assert_eq!(sub["scope"], "ST-NB-001");
    let path = format!("/api/v1/webhooks/subscriptions/{}", sub["id"]);
    let user = format!("/api/v1/users/{owner}");
    // moved to ST-TZ-001: that station's events come, ST-NB-001's no longer
    app.patch(&user, "admin", json!({"location": "ST-TZ-001"})).await.ok();
    app.forget_token(&owner);
    assert_eq!(app.get(&path, Some(&owner)).await.ok()["scope"], "ST-TZ-001");
    app.technician("tech-st-nb-001", "ST-NB-001").await;
    let left = app.ticket().at("ST-NB-001").dispatched_to("tech-st-nb-001").create().await;
    let joined = app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    let tickets = |hook: &Receiver| -> Vec<i64> {
        hook.got().iter().filter_map(|r| r.json()["data"]["id"].as_i64()).collect()
    };
    let got = tickets(&hook);
    assert!(got.contains(&joined) && !got.contains(&left), "{got:?}");
    let log = app.get(&format!("{path}/deliveries"), Some("admin")).await;
    let states: Vec<&str> =
        log.ok()["items"].as_array().unwrap().iter().filter_map(|d| d["status"].as_str()).collect();
    assert!(
        states.iter().all(|s| *s == "delivered"),
        "no failed delivery of the old station's events: {states:?}"
    );
    // made a technician (who receives no events): paused with the reason, nothing more sent,
    // and an admin reads why
    app.patch(&user, "admin", json!({"role": "technician"})).await.ok();
    let read = app.get(&path, Some("admin")).await;
    assert_eq!(read.ok()["active"], false, "{}", read.text);
    assert!(read.json["paused_reason"].as_str().unwrap_or("").contains("technician"), "{}", read.text);
    let before = hook.got().len();
    let later = app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    assert_eq!(hook.got().len(), before, "nothing after the owner became a technician (ticket {later})");
    app.audit().await;
});

both!(a_failing_receiver_is_retried_with_backoff_until_it_answers, |app| async {
    let receiver = Receiver::start();
    receiver.plan.lock().unwrap().extend([500, 503, 502]);
    let sub = subscribe(&app, "station-st-tz-001", &receiver.url).await;
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    assert_eq!(receiver.got().len(), 1, "one attempt, then it waits");
    let mut waits = Vec::new();
    for _ in 0..3 {
        // nothing is sent again before its time
        deliver(&app).await;
        let log = app
            .get(
                &format!("/api/v1/webhooks/subscriptions/{}/deliveries", sub["id"]),
                Some("station-st-tz-001"),
            )
            .await;
        let d = log.ok()["items"][0].clone();
        let last = d["log"].as_array().unwrap().last().unwrap()["at"].as_str().unwrap().to_string();
        let next = d["next_attempt_at"].as_str().unwrap().to_string();
        let gap = chrono::DateTime::parse_from_rfc3339(&next).unwrap()
            - chrono::DateTime::parse_from_rfc3339(&last).unwrap();
        waits.push(gap.num_seconds());
        app.state.clock.advance(gap + Duration::seconds(1));
        deliver(&app).await;
    }
    // 30 s doubled each time, with up to 20% jitter either way
    assert!(
        (24..=36).contains(&waits[0]) && (48..=72).contains(&waits[1]) && (96..=144).contains(&waits[2]),
        "{waits:?}"
    );
    let got = receiver.got();
    assert_eq!(got.len(), 4, "three failures and one success");
    assert!(
        got.windows(2).all(|w| w[0].headers["webhook-id"] == w[1].headers["webhook-id"]),
        "one message id"
    );
    let log = app
        .get(&format!("/api/v1/webhooks/subscriptions/{}/deliveries", sub["id"]), Some("station-st-tz-001"))
        .await;
    let d = &log.ok()["items"][0];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 4);
    let codes: Vec<i64> =
        d["log"].as_array().unwrap().iter().map(|a| a["status_code"].as_i64().unwrap()).collect();
    assert_eq!(codes, vec![500, 503, 502, 200]);
    // a replay sends it again, same id
    let r = app
        .post(&format!("/api/v1/webhooks/deliveries/{}/replay", d["id"]), "station-st-tz-001", json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    deliver(&app).await;
    assert_eq!(receiver.got().len(), 5);
    assert_eq!(receiver.got()[4].headers["webhook-id"], got[0].headers["webhook-id"]);
    // another station may not replay it
    let other = app.station_user("ST-NB-001").await;
    app.post(&format!("/api/v1/webhooks/deliveries/{}/replay", d["id"]), &other, json!({}))
        .await
        .problem(404);
});

both!(a_rotated_secret_signs_beside_the_old_one_and_a_refused_change_sends_nothing, |app| async {
    let receiver = Receiver::start();
    let sub = subscribe(&app, "station-st-tz-001", &receiver.url).await;
    let old = sub["secret"].as_str().unwrap().to_string();
    let rotated = app
        .post(
            &format!("/api/v1/webhooks/subscriptions/{}/rotate-secret", sub["id"]),
            "station-st-tz-001",
            json!({}),
        )
        .await;
    let new = rotated.ok()["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    // a change that is refused writes no event
    let before = event_count(&app).await;
    let r = app
        .post(
            "/api/v1/parts-requests",
            "station-st-tz-001",
            json!({"lines": [{"part_code": "RF-CMP-00131A", "qty": 1}]}),
        )
        .await;
    assert!(r.status >= 400, "{}", r.text);
    assert_eq!(event_count(&app).await, before);
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    let got = receiver.got();
    assert!(!got.is_empty());
    for r in &got {
        assert!(verifies(&new, r) && verifies(&old, r), "both secrets sign within the grace: {r:?}");
    }
    // after the grace, only the new one
    app.state.clock.advance(Duration::hours(25));
    app.ticket().at("ST-TZ-001").create().await;
    let id = app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    let last = receiver.got().into_iter().rfind(|r| r.json()["data"]["id"] == id).unwrap();
    assert!(verifies(&new, &last) && !verifies(&old, &last));
    // paused: nothing is sent; deleted: gone
    let p = app
        .patch(
            &format!("/api/v1/webhooks/subscriptions/{}", sub["id"]),
            "station-st-tz-001",
            json!({"active": false}),
        )
        .await;
    assert_eq!(p.ok()["active"], false);
    let n = receiver.got().len();
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    assert_eq!(receiver.got().len(), n);
    let d = app
        .client
        .delete(format!("{}/api/v1/webhooks/subscriptions/{}", app.base, sub["id"]))
        .bearer_auth(app.token("station-st-tz-001").await)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), 204);
    app.get(&format!("/api/v1/webhooks/subscriptions/{}", sub["id"]), Some("station-st-tz-001"))
        .await
        .problem(404);
});

both!(only_http_urls_on_public_or_allowed_hosts_and_only_subscribing_roles, |app| async {
    for (url, why) in [
        ("http://localhost:9/hooks", "loopback"),
        ("http://10.1.2.3/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("ftp://127.0.0.1/hooks", "http or https"),
        ("http://user:pw@127.0.0.1:9/hooks", "credentials"),
        // IPv6 forms that reach 127.0.0.1 (NAT64, 6to4) and special-purpose ranges
        ("http://[64:ff9b::7f00:1]/hooks", "private, loopback or link-local"),
        ("http://[2002:7f00:1::]/hooks", "private, loopback or link-local"),
        ("http://198.18.0.1/hooks", "private, loopback or link-local"),
        ("http://224.0.0.1/hooks", "private, loopback or link-local"),
    ] {
        let r = app
            .post(
                "/api/v1/webhooks/subscriptions",
                "admin",
                json!({"url": url, "event_types": ["period.closed"]}),
            )
            .await;
        assert_eq!(r.status, 422, "{url}: {}", r.text);
        let r = app
            .post(
                "/api/v1/webhooks/subscriptions",
                "admin",
                json!({"url": url, "event_types": ["ticket.state_changed"]}),
            )
            .await;
        let p = r.problem(422);
        assert_eq!(p["type"], "/problems/invalid_url", "{url}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{url}: {p}");
    }
    let r = app
        .post(
            "/api/v1/webhooks/subscriptions",
            "courier-1",
            json!({"url": "http://127.0.0.1:9/h", "event_types": ["shipment.delivered"]}),
        )
        .await;
    r.problem(403);
    let r = app.post("/api/v1/webhooks/subscriptions", "admin", json!({"url": "http://127.0.0.1:9/h", "event_types": ["shipment.delivered", "shipment.delivered"]})).await;
    r.problem(422);
    let r = app
        .post(
            "/api/v1/webhooks/subscriptions",
            "warehouse-rc-hz",
            json!({"url": "http://127.0.0.1:9/h", "event_types": ["shipment.delivered"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["scope"], "RC-HZ");
});

both!(a_closed_month_reaches_finance_and_no_station, |app| async {
    let finance = Receiver::start();
    let station = Receiver::start();
    let r = app
        .post(
            "/api/v1/webhooks/subscriptions",
            "finance",
            json!({"url": finance.url, "event_types": ["period.closed"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json["scope"].is_null(), "finance's scope is the network: {}", r.text);
    let secret = r.json["secret"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/webhooks/subscriptions",
            "station-st-tz-001",
            json!({"url": station.url, "event_types": ["period.closed"]}),
        )
        .await;
    // a station's subscription could never receive it: refused, not kept silent
    assert_eq!(r.problem(422)["errors"][0]["field"], "event_types", "{}", r.text);
    let r = app
        .post(
            "/api/v1/webhooks/subscriptions",
            "station-st-tz-001",
            json!({"url": station.url, "event_types": ["ticket.state_changed"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sid = r.json["id"].as_i64().unwrap();
    let r = app
        .patch(
            &format!("/api/v1/webhooks/subscriptions/{sid}"),
            "station-st-tz-001",
            json!({"event_types": ["period.closed", "ticket.state_changed"]}),
        )
        .await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "event_types", "{}", r.text);
    let today = app.state.clock.now().date_naive();
    let last_month = today.with_day(1).unwrap().pred_opt().unwrap().format("%Y-%m").to_string();
    app.post(&format!("/api/v1/periods/{last_month}/close"), "finance", json!({})).await.ok();
    deliver(&app).await;
    let got = finance.got();
    assert_eq!(got.len(), 1, "{:?}", finance.types());
    let m = got[0].json();
    assert_eq!(m["type"], "period.closed");
    assert_eq!(m["data"]["period"], last_month.as_str());
    assert_eq!(m["object"]["kind"], "period");
    assert!(verifies(&secret, &got[0]));
    assert!(station.got().is_empty(), "a month is not a station's event");
});

/// `n` ticket changes made through `base` as the station: each ticket taken in and dispatched
/// (one `ticket.state_changed` each).
fn ticket_changes(base: &str, station: &str, n: usize) {
    let client = reqwest::blocking::Client::new();
    for _ in 0..n {
        let t: Value = client
            .post(format!("{base}/api/v1/tickets"))
            .bearer_auth(station)
            .json(&json!({"channel": "phone", "serial": "RF00000001", "component_family": "CMP", "fault": "not cooling", "category": "repair",
                "customer": {"name": "Wang Fang", "phone": "+86 576 8888 1234", "address": "12 Jiefang Rd", "region": "Zhejiang"}}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let d = client
            .post(format!("{base}/api/v1/tickets/{}/dispatch", t["id"]))
            .bearer_auth(station)
            .json(&json!({"technician": "tech-st-tz-001"}))
            .send()
            .unwrap();
        assert_eq!(d.status(), 200, "{}", d.text().unwrap());
    }
}

/// Waits until the receiver holds `n` distinct messages (at most `secs`); returns them all.
fn wait_for(receiver: &Receiver, n: usize, secs: u64) -> Vec<Received> {
    let start = std::time::Instant::now();
    loop {
        let got = receiver.got();
        let distinct: std::collections::HashSet<String> =
            got.iter().map(|r| r.headers["webhook-id"].clone()).collect();
        if distinct.len() >= n || start.elapsed() > std::time::Duration::from_secs(secs) {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn subscribe_blocking(base: &str, token: &str, url: &str) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/webhooks/subscriptions"))
        .bearer_auth(token)
        .json(&json!({"url": url, "event_types": ["ticket.state_changed"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
}

const WEBHOOK_ENV: [(&str, &str); 2] =
    [("ECHELON_WEBHOOK_ALLOW_HOSTS", "127.0.0.1"), ("ECHELON_WEBHOOK_TIMEOUT_SECONDS", "2")];

/// Two `echelon serve` on one PostgreSQL share the deliveries: each event reaches the receiver
/// once (rows are leased, and on PostgreSQL the ones another process holds are skipped).
#[test]
fn two_processes_on_one_postgres_deliver_each_event_once() {
    use crate::processes::{login, serve};
    if crate::helpers::pg_or_skip().is_none() {
        return;
    }
    let url = crate::helpers::fresh_database(echelon::db::Backend::Postgres);
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", url.as_str()), WEBHOOK_ENV[0], WEBHOOK_ENV[1]];
    let a = serve(dir.path(), &env, &[]);
    let b = serve(dir.path(), &env, &[]);
    let receiver = Receiver::slow(20);
    let station = login(&a.base, "station-st-tz-001");
    subscribe_blocking(&a.base, &station, &receiver.url);
    ticket_changes(&a.base, &station, 15);
    ticket_changes(&b.base, &station, 15);
    let got = wait_for(&receiver, 30, 60);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let got_after = receiver.got();
    assert_eq!(got.len(), 30, "every event arrived");
    assert_eq!(got_after.len(), 30, "and none twice");
    // both processes' workers count what they delivered
    let metrics: String = [&a.base, &b.base]
        .iter()
        .map(|base| reqwest::blocking::get(format!("{base}/metrics")).unwrap().text().unwrap())
        .collect();
    assert!(
        metrics.contains("echelon_webhook_attempts_total{outcome=\"delivered\",subscription=\"1\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("echelon_webhook_deliveries_pending 0"), "{metrics}");
}

/// `kill -9` of the delivering process: after a restart every event is delivered, at least
/// once, and a repeat carries the same `webhook-id`.
#[test]
fn a_process_killed_while_delivering_leaves_nothing_undelivered() {
    use crate::processes::{login, serve};
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_database(echelon::db::Backend::Sqlite);
    let env = [("DATABASE_URL", db.as_str()), WEBHOOK_ENV[0], WEBHOOK_ENV[1]];
    let mut a = serve(dir.path(), &env, &[]);
    // a slow receiver: the kill comes while deliveries are in flight
    let receiver = Receiver::slow(300);
    let station = login(&a.base, "station-st-tz-001");
    subscribe_blocking(&a.base, &station, &receiver.url);
    ticket_changes(&a.base, &station, 12);
    wait_for(&receiver, 2, 30);
    a.child.kill().unwrap(); // SIGKILL
    a.child.wait().unwrap();
    let b = serve(dir.path(), &env, &[]);
    let got = wait_for(&receiver, 12, 60);
    let ids: std::collections::HashSet<String> =
        got.iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert_eq!(ids.len(), 12, "every event delivered after the restart");
    // a repeat is the same message: same id, same body
    for r in &got {
        let first = got.iter().find(|x| x.headers["webhook-id"] == r.headers["webhook-id"]).unwrap();
        assert_eq!(first.body, r.body);
    }
    drop(b);
    let out = std::process::Command::new(crate::processes::BIN)
        .arg("audit")
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

both!(a_missed_deadline_and_an_overdue_core_are_told_once, |app| async {
    let receiver = Receiver::start();
    let r = app
        .post(
            "/api/v1/webhooks/subscriptions",
            "station-st-tz-001",
            json!({"url": receiver.url, "event_types": ["ticket.deadline_missed", "loan_line.overdue"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // an urgent complaint nobody answers, and a part lent for a ticket on site
    let urgent = app.ticket().category("complaint").urgency("urgent").at("ST-TZ-001").create().await;
    let on_site = app.ticket().at("ST-TZ-001").on_site().dispatched_to("tech-st-tz-001").create().await;
    let part = app.part().cost("100.00").fits_demo_unit().stock_at("ST-TZ-001", 1).create().await;
    let loan = app.loan().ticket(on_site).line(&part, 1).send().await;
    assert_eq!(loan.status, 201, "{}", loan.text);
    let sweep = |app: &TestApp| {
        let now = app.state.clock.now().naive_utc();
        let db = app.state.db.clone();
        async move { db.write(move |conn| echelon::webhooks::clock::record_due(conn, now, 30)).await.unwrap() }
    };
    assert_eq!(sweep(&app).await, 0, "nothing is late yet");
    // a day and a bit: the complaint missed its 24 hours
    app.state.clock.advance(Duration::hours(25));
    assert!(sweep(&app).await >= 1);
    assert_eq!(sweep(&app).await, 0, "told once");
    // past tier B's 15 core-return days: the lent part is overdue
    app.state.clock.advance(Duration::days(16));
    assert!(sweep(&app).await >= 1);
    assert_eq!(sweep(&app).await, 0, "told once");
    deliver(&app).await;
    let got: Vec<Value> = receiver.got().iter().map(Received::json).collect();
    let late = got.iter().find(|m| m["type"] == "ticket.deadline_missed" && m["data"]["id"] == urgent);
    let late = late.unwrap_or_else(|| panic!("no deadline missed for ticket {urgent}: {got:#?}"));
    assert_eq!(late["data"]["missed"], json!(["respond_by"]));
    let overdue = got.iter().find(|m| m["type"] == "loan_line.overdue").unwrap_or_else(|| panic!("{got:#?}"));
    assert_eq!(overdue["data"]["loan_id"], loan.json["id"]);
    assert_eq!(overdue["data"]["part_code"], part.as_str());
    assert_eq!(overdue["data"]["value"], "100.00");
    let ids: std::collections::HashSet<String> =
        receiver.got().iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert_eq!(ids.len(), receiver.got().len(), "no message twice");
    // past the 30 days kept, the old events go, and the audit checks the changes since then
    // only (the finish's audit is clean although the tickets' early changes lost their events)
    let before = event_count(&app).await;
    app.state.clock.advance(Duration::days(31));
    sweep(&app).await;
    assert!(event_count(&app).await < before, "old events are removed");
    let since = app.state.db.read(|c| Ok(echelon::events::kept_since(c)?)).await.unwrap();
    let cutoff = app.state.clock.now().naive_utc() - Duration::days(30);
    assert!((since - cutoff).num_seconds().abs() < 2, "kept since {since}, cut off at {cutoff}");
});

both!(a_receiver_failing_for_a_day_is_paused_with_the_reason_and_resumed_by_its_owner, |app| async {
    let receiver = Receiver::start();
    receiver.plan.lock().unwrap().extend(std::iter::repeat_n(500, 40));
    let sub = subscribe(&app, "station-st-tz-001", &receiver.url).await;
    let id = sub["id"].as_i64().unwrap();
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    // retried, backing off, for a day
    for _ in 0..12 {
        deliver(&app).await;
        app.state.clock.advance(Duration::hours(3));
    }
    deliver(&app).await;
    let s = app.get(&format!("/api/v1/webhooks/subscriptions/{id}"), Some("station-st-tz-001")).await;
    assert_eq!(s.ok()["active"], false, "{}", s.text);
    let reason = s.json["paused_reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("every delivery failed since") && reason.contains("500"), "{reason}");
    let log =
        app.get(&format!("/api/v1/webhooks/subscriptions/{id}/deliveries"), Some("station-st-tz-001")).await;
    let d = &log.ok()["items"][0];
    assert_eq!(d["status"], "failed", "given up after a day: {d}");
    let attempts = d["attempts"].as_i64().unwrap();
    assert!((4..=13).contains(&attempts), "backed off, not every round: {attempts}");
    // paused: it takes no new events; resumed by its owner, the reason is cleared
    let n = receiver.got().len();
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    assert_eq!(receiver.got().len(), n, "nothing is sent to a paused subscription");
    let r = app
        .patch(&format!("/api/v1/webhooks/subscriptions/{id}"), "station-st-tz-001", json!({"active": true}))
        .await;
    assert_eq!(r.ok()["active"], true);
    assert!(r.json["paused_reason"].is_null() && r.json["failing_since"].is_null(), "{}", r.text);
});

both!(the_audit_names_each_change_whose_event_is_missing, |app| async {
    // every change with its event
    let (rid, shipment, ticket) = every_change(&app).await;
    let found = app.state.db.read(|c| Ok(echelon::events::missing(c)?)).await.unwrap();
    assert_eq!(found, Vec::<String>::new());
    // each kind's events taken away (and put back: the change is rolled back), the audit names
    // the change that lost it
    for (event, says) in [
        ("parts_request.", format!("parts request {rid} was routed")),
        ("backorder.filled", format!("parts request {rid} had a waiting line filled")),
        ("shipment.picked_up", format!("shipment {shipment} was picked up")),
        ("shipment.delivered", format!("shipment {shipment} was delivered")),
        ("shipment.damaged", format!("shipment {shipment} arrived damaged")),
        ("claim.opened", "was opened without a claim.opened event".to_string()),
        ("ticket.state_changed", format!("ticket {ticket} changed state")),
    ] {
        let found = app
            .state
            .db
            .write(move |c| {
                use diesel::prelude::*;
                use echelon::db::schema::{events, webhook_deliveries};
                let mut found = Vec::new();
                let _ = c.transaction::<(), diesel::result::Error, _>(|c| {
                    // `parts_request.`: both of a request's routing events
                    let of = events::event_type.eq(event).or(events::event_type.like(format!("{event}%")));
                    let ids = events::table.filter(of.clone()).select(events::id);
                    diesel::delete(
                        webhook_deliveries::table.filter(webhook_deliveries::event_id.eq_any(ids)),
                    )
                    .execute(c)?;
                    diesel::delete(events::table.filter(of)).execute(c)?;
                    found = echelon::audit::run(c)?;
                    Err(diesel::result::Error::RollbackTransaction)
                });
                Ok(found)
            })
            .await
            .unwrap();
        assert!(found.iter().any(|b| b.contains(&says)), "{event}: {found:#?}");
    }
});

/// An https receiver: reached when its certificate is trusted (`ECHELON_WEBHOOK_CA_FILE`),
/// and when it is not, the delivery fails with the reason in the log and nothing is received.
/// A receiver named by an allowed host name is resolved when the delivery connects.
async fn an_https_receiver_is_reached_only_with_its_certificate_trusted(backend: echelon::db::Backend) {
    let (trusted, pem) = Receiver::https();
    let ca = crate::helpers::scratch_dir().join(format!("ca-{}.pem", uuid::Uuid::new_v4().simple()));
    std::fs::write(&ca, pem).unwrap();
    let ca_file = ca.to_string_lossy().to_string();
    let app = TestApp::serve_with(crate::helpers::fresh_database(backend), backend, |c| {
        c.webhooks.ca_file = Some(ca_file);
        c.webhooks.allow_hosts.push("localhost".into());
    });
    // a receiver named by a host name (allowed), resolved when the delivery connects
    let named = Receiver::start();
    let named_url = named.url.replace("127.0.0.1", "localhost");
    subscribe(&app, "station-st-tz-001", &named_url).await;
    let sub = subscribe(&app, "station-st-tz-001", &trusted.url).await;
    let secret = sub["secret"].as_str().unwrap().to_string();
    // a receiver whose certificate nobody vouches for
    let (untrusted, _) = Receiver::https();
    let other = subscribe(&app, "station-st-tz-001", &untrusted.url).await;
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    deliver(&app).await;
    let got = trusted.got();
    assert!(!got.is_empty() && got.iter().all(|r| verifies(&secret, r)), "{got:?}");
    assert!(untrusted.got().is_empty());
    assert_eq!(named.got().len(), got.len(), "the receiver named localhost got every message");
    let log = app
        .get(&format!("/api/v1/webhooks/subscriptions/{}/deliveries", other["id"]), Some("station-st-tz-001"))
        .await;
    let items = log.ok()["items"].as_array().unwrap().clone();
    assert!(!items.is_empty(), "{}", log.text);
    assert!(
        items.iter().all(|d| d["status"] == "pending"
            && d["attempts"] == 1
            && d["last_error"].as_str().is_some_and(|e| e.contains("certificate"))),
        "{}",
        log.text
    );
    app.finish().await;
}

mod an_https_receiver_is_reached_only_with_its_certificate_trusted {
    #[actix_web::test]
    async fn sqlite() {
        super::an_https_receiver_is_reached_only_with_its_certificate_trusted(echelon::db::Backend::Sqlite)
            .await;
    }

    #[actix_web::test]
    async fn postgres() {
        if crate::helpers::pg_or_skip().is_some() {
            super::an_https_receiver_is_reached_only_with_its_certificate_trusted(
                echelon::db::Backend::Postgres,
            )
            .await;
        }
    }
}

/// The deliveries written for a subscription.
async fn deliveries_of(app: &TestApp, subscription: &Value) -> i64 {
    let id = subscription["id"].as_i64().unwrap();
    app.count(&format!("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE subscription_id = {id}")).await
}

both!(a_disabled_owners_subscriptions_take_no_event_until_the_owner_is_enabled_again, |app| async {
    let hook = Receiver::start();
    let owner = "station-st-tz-001";
    let sub = subscribe(&app, owner, &hook.url).await;
    let part = app.part().stock_at("RC-HZ", 20).create().await;
    let other = app.part().stock_at("RC-HZ", 20).create().await;
    let ask = |lines: Value, key: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req = app
                .client
                .post(format!("{}/api/v1/parts-requests", app.base))
                .bearer_auth(app.token("warehouse-rc-hz").await)
                .json(&json!({"station": "ST-TZ-001", "lines": lines}));
            if let Some(k) = key {
                req = req.header("Idempotency-Key", k);
            }
            let r = crate::helpers::into_resp(req.send().await.unwrap()).await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    };
    // an event written while the owner is enabled, still waiting when it is disabled
    ask(json!([{"part_code": part, "qty": 1}]), None).await;
    assert_eq!(deliveries_of(&app, &sub).await, 1);
    let user = format!("/api/v1/users/{owner}");
    app.patch(&user, "admin", json!({"active": false})).await.ok();
    app.forget_token(owner);
    // disabled: the one statement (a one-line request), a transaction (two lines, a keyed
    // request) and a ticket's change write no delivery for it
    ask(json!([{"part_code": part, "qty": 1}]), None).await;
    ask(json!([{"part_code": part, "qty": 1}, {"part_code": other, "qty": 1}]), None).await;
    ask(json!([{"part_code": other, "qty": 1}]), Some("while-disabled")).await;
    app.ticket().at("ST-TZ-001").dispatched_to("tech-st-tz-001").create().await;
    assert_eq!(deliveries_of(&app, &sub).await, 1);
    // and the waiting one is not sent
    deliver(&app).await;
    assert!(hook.got().is_empty(), "{:?}", hook.types());
    // enabled again: new events are delivered
    app.patch(&user, "admin", json!({"active": true})).await.ok();
    ask(json!([{"part_code": part, "qty": 1}]), None).await;
    ask(json!([{"part_code": part, "qty": 1}, {"part_code": other, "qty": 1}]), None).await;
    assert_eq!(deliveries_of(&app, &sub).await, 3);
    deliver(&app).await;
    assert_eq!(hook.types(), vec!["parts_request.allocated", "parts_request.allocated"]);
});
