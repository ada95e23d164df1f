//! Every example of the OpenAPI document works on a fresh demo, as a user meets it in Swagger
//! UI's "Try it out": generated from the document, for each operation a fresh copy of the demo
//! (loaded once, as `serve --demo` loads it), the path filled with the parameters' documented
//! examples, the documented query examples and request body sent as a demo user of a role the
//! operation's `bearer` requirement names, and the documented success status answered. The
//! audit is clean after each.

use std::sync::OnceLock;

use chrono::Utc;
use echelon::db::Backend;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{admin_sql, cluster, pg_or_skip, scratch_dir, TestApp};
use crate::limits::caller;

/// Operations whose example cannot succeed on a fresh demo, with the reason.
const EXCEPTIONS: &[(&str, &str)] = &[
    // months close in order and the demo closes each on the 3rd of the next, so the month next
    // to close depends on the day the demo is loaded: no fixed example names it
    ("POST /api/v1/periods/{period}/close", "the next month to close moves with the load day"),
    // a bid deadline must lie between now and when the shipments are due, both of which move
    // with the load day: the example names the demo's shipment awaiting its tender, and its
    // deadline is to be set by the user
    ("POST /api/v1/tenders", "the deadline must fall between now and the shipments' due date"),
    // not yet in the demo: an open loan line of a serialized core, and one out of warranty
    ("POST /api/v1/loans/{id}/lines/{line}/core-return", "no open loan line of a serialized core"),
    ("POST /api/v1/loans/{id}/lines/{line}/fee", "no open loan line out of warranty and unsettled"),
];

/// The value a parameter documents as its example, as it goes into a URL.
fn example_of(param: &Value) -> Option<String> {
    let example = param.get("example").or_else(|| param["schema"].get("example"))?;
    Some(match example {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The documented request of an operation: (path and query, body as content type and bytes),
/// or why it has none.
/// A request body: its content type and bytes.
type Body = (String, Vec<u8>);

fn request_of(doc: &Value, path: &str, op: &Value) -> Result<(String, Option<Body>), String> {
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let mut url = String::new();
    for seg in path.split('/').skip(1) {
        url.push('/');
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let param = params
                    .iter()
                    .find(|p| p["in"] == "path" && p["name"] == name)
                    .ok_or_else(|| format!("path parameter {name} is not documented"))?;
                let value =
                    example_of(param).ok_or_else(|| format!("path parameter {name} has no example"))?;
                url.push_str(&value);
            }
            None => url.push_str(seg),
        }
    }
    let mut query = Vec::new();
    for p in params.iter().filter(|p| p["in"] == "query") {
        match example_of(p) {
            Some(v) => query.push(format!(
                "{}={}",
                p["name"].as_str().unwrap(),
                percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
            )),
            None if p["required"] == true => {
                return Err(format!("query parameter {} has no example", p["name"]))
            }
            None => {}
        }
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let body = match op.get("requestBody") {
        None => None,
        Some(rb) => {
            // the first content type with an example, as Swagger UI shows it
            let example_in = |media: &Value| {
                let schema = crate::limits::resolve(doc, &media["schema"]);
                media
                    .get("example")
                    .or_else(|| schema.get("example"))
                    .or_else(|| schema.get("examples").and_then(|e| e.get(0)))
                    .cloned()
            };
            let content = rb["content"].as_object().expect("a content type");
            let (ct, example) = content
                .iter()
                .find_map(|(ct, media)| example_in(media).map(|e| (ct, Some(e))))
                .unwrap_or_else(|| (content.keys().next().unwrap(), None));
            match example {
                Some(Value::String(text)) if ct != "application/json" => {
                    Some((ct.clone(), text.into_bytes()))
                }
                Some(v) => Some((ct.clone(), serde_json::to_vec(&v).unwrap())),
                None if rb["required"] == true => return Err("the request body has no example".into()),
                None => None,
            }
        }
    };
    Ok((url, body))
}

/// A database holding the demo as loaded at the start of this test, once per backend; a fresh
/// copy of it per call.
fn fresh_demo(backend: Backend) -> String {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    let name = format!("x{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let template = SQLITE.get_or_init(|| crate::demo::demo_database(Backend::Sqlite, Utc::now()));
            let from = template.trim_start_matches("sqlite://");
            let to = scratch_dir().join(format!("{name}.db"));
            std::fs::copy(from, &to).expect("copy the demo");
            format!("sqlite://{}", to.display())
        }
        Backend::Postgres => {
            let template = POSTGRES.get_or_init(|| crate::demo::demo_database(Backend::Postgres, Utc::now()));
            let base = &cluster().expect("PostgreSQL is available").base;
            let template = template.rsplit('/').next().unwrap();
            admin_sql(base, &format!("CREATE DATABASE {name} TEMPLATE {template}"));
            format!("{base}/{name}")
        }
    }
}

/// One operation's example on a fresh demo: `Err` with what went wrong.
async fn try_example(
    backend: Backend,
    doc: &Value,
    method: &str,
    path: &str,
    op: &Value,
) -> Result<(), String> {
    let (url, body) = request_of(doc, path, op)?;
    // served as `serve --demo` serves it
    let app = TestApp::serve_with(fresh_demo(backend), backend, |c| c.allow_demo_receiver());
    let token = match op.get("security") {
        Some(_) => Some(app.token(caller(op)).await),
        None => None,
    };
    let mut req =
        app.client.request(method.to_uppercase().parse::<Method>().unwrap(), format!("{}{url}", app.base));
    if let Some(t) = &token {
        req = req.bearer_auth(t);
    }
    if let Some((ct, bytes)) = body {
        req = req.header("content-type", ct).body(bytes);
    }
    let r = crate::helpers::into_resp(req.send().await.expect("the server answers")).await;
    let documented: Vec<u16> = op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|k| k.parse().ok())
        .filter(|s| (200..300).contains(s))
        .collect();
    let outcome = if documented.contains(&r.status) {
        Ok(())
    } else {
        Err(format!("{url} as {}: {} {}", caller(op), r.status, r.text.chars().take(300).collect::<String>()))
    };
    app.audit().await;
    outcome
}

fn every_example_works_on(backend: Backend) {
    let doc = serde_json::from_str::<Value>(&echelon::openapi::document_json()).unwrap();
    let mut failed = Vec::new();
    let mut exempt_but_worked = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let outcome = actix_web::rt::System::new().block_on(try_example(backend, &doc, method, path, op));
            let exempt = EXCEPTIONS.iter().any(|(n, _)| *n == name);
            match outcome {
                Err(why) if !exempt => failed.push(format!("{name}: {why}")),
                Ok(()) if exempt => exempt_but_worked.push(name),
                _ => {}
            }
        }
    }
    assert!(failed.is_empty(), "{} examples fail on a fresh demo:\n{}", failed.len(), failed.join("\n"));
    assert!(exempt_but_worked.is_empty(), "excepted but working now: {exempt_but_worked:?}");
}

// Not in the default run yet: the demo's ids move with the time of day it is loaded at (seen
// 13 examples naming objects in another state at 14:05 UTC that passed at 13:40), so the
// examples' fixed ids hold only for part of the day. Run it with `cargo test -- --ignored
// examples_on_demo` until the demo numbers its showcase objects the same whenever it loads.
mod every_example_works_on_a_fresh_demo {
    use super::*;

    #[test]
    #[ignore = "the demo's ids move with the time of day of the load; see above"]
    fn sqlite() {
        every_example_works_on(Backend::Sqlite);
    }

    #[test]
    #[ignore = "the demo's ids move with the time of day of the load; see above"]
    fn postgres() {
        if pg_or_skip().is_none() {
            return;
        }
        every_example_works_on(Backend::Postgres);
    }
}
