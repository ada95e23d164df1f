//! Who is calling comes before what they sent (spec 13): 401 for no token or a bad one, then
//! 403 for a role that lacks the action, and only then 400/415/422 for the input. Generated
//! from the OpenAPI document, so a new operation is covered as soon as it is documented: every
//! secured operation, for every role its `bearer` requirement does not name (which must be the
//! roles the authorization matrix, `authz::MATRIX`, refuses), with a malformed body, a body
//! with an unknown field, a body of another content type and an unknown query parameter; and
//! without a token, with a bad one, and with the token of a user disabled since.

use reqwest::Method;
use serde_json::{json, Value};

use crate::authz::{example_body, fill, fixtures, matrix, user, ROLES};
use crate::both;
use crate::helpers::{into_resp, Resp, TestApp};

/// Input no operation takes, each with what it is: (what, query, content type, body).
fn bad_inputs(doc: &Value, op: &Value) -> Vec<(&'static str, &'static str, Option<&'static str>, Vec<u8>)> {
    // the operation's own example with a field it does not have (an object with only that
    // field where it takes no JSON object)
    let mut unknown = match example_body(doc, op) {
        Some(Value::Object(o)) => Value::Object(o),
        _ => json!({}),
    };
    unknown["no_such_field"] = json!(1);
    let unknown = serde_json::to_vec(&unknown).unwrap();
    vec![
        ("malformed JSON", "", Some("application/json"), b"{\"lines\": [".to_vec()),
        ("a body with an unknown field", "", Some("application/json"), unknown.clone()),
        ("a body of another content type", "", Some("text/plain"), unknown),
        ("an unknown query parameter", "?no_such_parameter=1", None, Vec::new()),
    ]
}

/// Sends `method url` with one of [`bad_inputs`] (`token`: `None` is anonymous).
async fn send(
    app: &TestApp,
    method: &Method,
    url: &str,
    token: Option<&str>,
    input: &(&'static str, &'static str, Option<&'static str>, Vec<u8>),
) -> Resp {
    let (_, query, content_type, body) = input;
    let mut req = app.client.request(method.clone(), format!("{}{url}{query}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", *ct).body(body.clone());
    }
    into_resp(req.send().await.expect("the server answers")).await
}

/// Roles the matrix refuses at its callers' places but the document names, because the role
/// may call the operation elsewhere: which of them may depends on where they work (read from
/// the database), so they are refused as an object out of scope is, after their input is read.
/// (method, path, role)
const REFUSED_BY_PLACE: &[(&str, &str, char)] = &[
    // the central warehouse's staff read the network's history; a centre's do not
    ("GET", "/api/v1/reports/kpis/history", 'W'),
    ("GET", "/api/v1/reports/kpis/sparkline", 'W'),
];

/// The letter of a role the document names (`authz::ROLES`).
fn letter(role: &str) -> char {
    match role {
        "admin" => 'A',
        "warehouse" => 'W',
        "station" => 'S',
        "technician" => 'T',
        "agent" => 'G',
        "finance" => 'F',
        "courier" => 'C',
        other => panic!("no role {other}"),
    }
}

/// Every secured operation of the document with its path filled and the roles its `bearer`
/// requirement names (all when it names none), which must be the roles the matrix lets call
/// it, bar [`REFUSED_BY_PLACE`].
async fn secured(app: &TestApp) -> (Value, Vec<(Method, String, Value, String)>) {
    let doc: Value = app.get("/api-docs/openapi.json", None).await.ok().clone();
    let table = matrix();
    let fx = fixtures(app).await;
    let mut ops = Vec::new();
    let mut problems = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_uppercase();
            let allowed = table
                .get(&(method.clone(), path.clone()))
                .unwrap_or_else(|| panic!("{method} {path}: no entry in the authorization matrix"));
            if allowed == "public" {
                assert!(op.get("security").is_none(), "{method} {path} is public but states a security");
                continue;
            }
            let named: String = op["security"][0]["bearer"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} states no bearer requirement"))
                .iter()
                .map(|r| letter(r.as_str().unwrap()))
                .collect();
            let named = if named.is_empty() { ROLES.iter().collect() } else { named };
            for role in ROLES {
                let by_place = REFUSED_BY_PLACE.contains(&(method.as_str(), path.as_str(), role));
                if allowed.contains(role) != named.contains(role) && !by_place {
                    problems.push(format!(
                        "{method} {path}: the document names {named}, the matrix allows {allowed} ({role})"
                    ));
                }
            }
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            ops.push((m, fill(path, &fx), op.clone(), named));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    (doc, ops)
}

fn is(r: &Resp, status: u16, kind: &str) -> bool {
    r.status == status && r.json["type"] == format!("/problems/{kind}")
}

both!(a_caller_is_refused_for_who_it_is_before_what_it_sent, |app| async {
    let (doc, ops) = secured(&app).await;
    let mut problems = Vec::new();
    let mut tried = 0;
    for (method, url, op, allowed) in &ops {
        for input in bad_inputs(&doc, op) {
            let what = input.0;
            for token in [None, Some("not-a-token")] {
                let r = send(&app, method, url, token, &input).await;
                tried += 1;
                if !is(&r, 401, "unauthorized") {
                    let who = if token.is_some() { "with a bad token" } else { "without a token" };
                    problems
                        .push(format!("{method} {url} {who}, {what}: {} (want 401) {}", r.status, r.text));
                }
            }
            for role in ROLES.into_iter().filter(|r| !allowed.contains(*r)) {
                let token = app.token(user(role)).await;
                let r = send(&app, method, url, Some(&token), &input).await;
                tried += 1;
                if !is(&r, 403, "forbidden") {
                    problems.push(format!(
                        "{method} {url} as {}, {what}: {} (want 403) {}",
                        user(role),
                        r.status,
                        r.text
                    ));
                }
            }
        }
    }
    assert!(tried > 1000, "only {tried} requests: is the document served?");
    assert!(
        problems.is_empty(),
        "{} of {tried} answers out of order:\n{}",
        problems.len(),
        problems.join("\n")
    );
});

both!(a_disabled_users_token_is_refused_before_what_it_sent, |app| async {
    let (doc, ops) = secured(&app).await;
    // one user whose role may call many operations, one whose role may call few
    let users = ["station-st-tz-001", "courier-1"];
    let mut tokens = Vec::new();
    for u in users {
        tokens.push((u, app.token(u).await));
        app.patch(&format!("/api/v1/users/{u}"), "admin", json!({"active": false})).await.ok();
    }
    let mut problems = Vec::new();
    for (method, url, op, _) in &ops {
        for input in bad_inputs(&doc, op) {
            for (u, token) in &tokens {
                let r = send(&app, method, url, Some(token), &input).await;
                if !is(&r, 401, "unauthorized") {
                    problems.push(format!(
                        "{method} {url} as {u} (disabled), {}: {} (want 401) {}",
                        input.0, r.status, r.text
                    ));
                }
            }
        }
    }
    for u in users {
        app.patch(&format!("/api/v1/users/{u}"), "admin", json!({"active": true})).await.ok();
    }
    assert!(problems.is_empty(), "{} answers out of order:\n{}", problems.len(), problems.join("\n"));
});
