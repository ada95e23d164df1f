//! The limits the OpenAPI document states are the limits a request is held to, generated from
//! the document itself, so a limit added to a schema is tested at once:
//! - every string field of every JSON body (and of the objects in its lists) with a
//!   `maxLength`: one character over is 422 naming the field; exactly at the limit, in
//!   characters of three UTF-8 bytes, draws no length error (lengths are characters);
//! - every string field, documented limit or not: a NUL is 422 naming the field;
//! - every query parameter with a `maxLength`: one over is 400 naming it (outside its
//!   schema, so malformed); a NUL in any string query parameter is a 400 or 422 problem, and
//!   bytes that are not UTF-8 text a 400;
//! - every path parameter: a NUL is 400 `invalid_path`; a string one over its stated limit too,
//!   and at its limit draws no complaint about the path.
//!
//! Each probe changes one field of the operation's documented example (so the rest of the
//! body is valid); no refused probe writes anything (the row counts of the written tables are
//! the same after them), and the audit is clean at the end.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::TestApp;

/// A character of three UTF-8 bytes.
const WIDE: &str = "字";

pub(crate) fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("{r} resolves")),
        None => schema,
    }
}

fn is_string(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// A body with one value replaced at `path` (`[field]` or `[list, 0, field]`).
fn with(body: &Value, path: &[Value], value: Value) -> Value {
    let mut out = body.clone();
    let mut at = &mut out;
    for (i, step) in path.iter().enumerate() {
        let last = i == path.len() - 1;
        at = match step {
            Value::String(k) if last => {
                at[k.as_str()] = value;
                return out;
            }
            Value::String(k) => &mut at[k.as_str()],
            Value::Number(n) => &mut at[n.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    out
}

/// The string fields of a body schema that its example holds, with their paths, their names
/// as the service reports them (`lines[0].part_code`) and their `maxLength`.
fn string_fields(doc: &Value, schema: &Value, example: &Value) -> Vec<(Vec<Value>, String, Option<u64>)> {
    let mut out = Vec::new();
    let schema = resolve(doc, schema);
    let Some(props) = schema["properties"].as_object() else { return out };
    for (name, prop) in props {
        let prop = resolve(doc, prop);
        if is_string(prop) {
            out.push((vec![json!(name)], name.clone(), prop["maxLength"].as_u64()));
        } else if let (Some(items), Some(first)) = (prop.get("items"), example[name].get(0)) {
            for (path, field, max) in string_fields(doc, items, first) {
                let mut p = vec![json!(name), json!(0)];
                p.extend(path);
                out.push((p, format!("{name}[0].{field}"), max));
            }
        }
    }
    out
}

fn fields_named(r: &Value) -> Vec<(String, String)> {
    r["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_string(),
                        e["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A demo user the operation takes, by the roles its `bearer` requirement names: admin when it
/// names none or names admin (a role it does not take is refused before its input is read).
pub(crate) fn caller(op: &Value) -> &'static str {
    let roles: Vec<&str> =
        op["security"][0]["bearer"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    match roles.first() {
        _ if roles.is_empty() || roles.contains(&"admin") => "admin",
        Some(&"warehouse") => "warehouse-rc-hz",
        Some(&"station") => "station-st-tz-001",
        Some(&"technician") => "tech-st-tz-001",
        Some(&"agent") => "agent",
        Some(&"finance") => "finance",
        Some(&"courier") => "courier-1",
        Some(other) => panic!("no demo user of the role {other}"),
        None => unreachable!(),
    }
}

/// A documented path with every `{parameter}` as `1`.
pub(crate) fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { "1" } else { seg }).collect::<Vec<_>>().join("/")
}

pub(crate) async fn counts(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "locations",
        "parts",
        "product_models",
        "product_units",
        "stock_movements",
        "parts_requests",
        "tickets",
        "loans",
        "shipments",
        "tenders",
        "settlement_adjustments",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let n = app
            .state
            .db
            .read(move |conn| {
                #[derive(diesel::QueryableByName)]
                struct N {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                use diesel::RunQueryDsl;
                Ok(diesel::sql_query(sql.as_str()).get_result::<N>(conn)?.n)
            })
            .await
            .unwrap_or_else(|e| panic!("count {table}: {e:?}"));
        out.push(n);
    }
    out
}

both!(every_documented_limit_is_the_limit_held, |app| async {
    let doc = app.get("/api-docs/openapi.json", None).await.ok().clone();
    let before = counts(&app).await;
    let token = app.token("admin").await;
    let (mut over, mut at_limit, mut nul, mut queries) = (0, 0, 0, 0);
    let (mut paths, mut query_nul) = (0, 0);
    let mut no_example = Vec::new();
    let mut at_limits = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = crate::limits::concrete(path);
        for (method, op) in item.as_object().unwrap() {
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            // path parameters: a NUL (or any control character) and one character over the
            // stated limit are 400 invalid_path before any database call; at the limit, no
            // complaint about the path
            for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
                let name = p["name"].as_str().unwrap();
                let at = |value: &str| {
                    path.split('/')
                        .map(|seg| {
                            if seg == format!("{{{name}}}") {
                                value
                            } else if seg.starts_with('{') {
                                "1"
                            } else {
                                seg
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("/")
                };
                let r = app.send(m.clone(), &at("a%00b"), Some(&token), None).await;
                assert_eq!(
                    r.problem(400)["type"],
                    "/problems/invalid_path",
                    "{method} {path}: NUL in {name}"
                );
                paths += 1;
                let Some(max) = p["schema"]["maxLength"].as_u64() else { continue };
                let r = app.send(m.clone(), &at(&"x".repeat(max as usize + 1)), Some(&token), None).await;
                assert_eq!(
                    r.problem(400)["type"],
                    "/problems/invalid_path",
                    "{method} {path}: {name} over {max}"
                );
                let r = app.send(m.clone(), &at(&"x".repeat(max as usize)), Some(&token), None).await;
                assert!(
                    r.status != 500 && !r.text.contains("invalid_path"),
                    "{method} {path}: {name} at its limit {max}: {} {}",
                    r.status,
                    r.text
                );
                paths += 1;
            }
            // a NUL in any string query parameter, limit or not: a clear 4xx, never 500
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] != "query" || !is_string(resolve(&doc, &p["schema"])) {
                    continue;
                }
                let name = p["name"].as_str().unwrap();
                let r = app.send(m.clone(), &format!("{concrete}?{name}=a%00b"), Some(&token), None).await;
                assert!(
                    [400, 422].contains(&r.status)
                        && r.content_type().starts_with("application/problem+json"),
                    "{method} {path}?{name}= with a NUL: {} {}",
                    r.status,
                    r.text
                );
                // bytes that are not UTF-8 text: 400, not looked up as a replacement character
                let r = app.send(m.clone(), &format!("{concrete}?{name}=a%FFb"), Some(&token), None).await;
                assert!(
                    r.status == 400 && r.content_type().starts_with("application/problem+json"),
                    "{method} {path}?{name}= not UTF-8: {} {}",
                    r.status,
                    r.text
                );
                query_nul += 1;
            }
            // query parameters
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (Some(max), "query") =
                    (p["schema"]["maxLength"].as_u64(), p["in"].as_str().unwrap_or(""))
                else {
                    continue;
                };
                let name = p["name"].as_str().unwrap();
                let long = WIDE.repeat(max as usize + 1);
                let r = app.send(m.clone(), &format!("{concrete}?{name}={long}"), Some(&token), None).await;
                let problem = r.problem(400);
                assert!(
                    fields_named(problem).iter().any(|(f, _)| f == name),
                    "{method} {path}?{name}= one over {max}: {}",
                    r.text
                );
                queries += 1;
            }
            // JSON bodies
            let Some(content) = op.pointer("/requestBody/content/application~1json") else { continue };
            // an optional body is `oneOf [null, body]`
            let schema = content["schema"]["oneOf"]
                .as_array()
                .and_then(|alts| alts.iter().find(|a| a.get("$ref").is_some()))
                .unwrap_or(&content["schema"]);
            let example = content
                .get("example")
                .or_else(|| resolve(&doc, schema).get("example"))
                .filter(|e| e.is_object() && !e.as_object().unwrap().is_empty())
                .cloned()
                // a body whose fields are all optional is probed from `{}`
                .or_else(|| resolve(&doc, schema).get("required").is_none().then(|| json!({})));
            let Some(example) = example else {
                no_example.push(format!("{method} {path}"));
                continue;
            };
            let example = &example;
            let token = app.token(caller(op)).await;
            for (fpath, field, max) in string_fields(&doc, schema, example) {
                let send = |body: Value| app.send(m.clone(), &concrete, Some(&token), Some(body));
                let r = send(with(example, &fpath, json!("a\u{0}b"))).await;
                let problem = r.problem(422);
                assert!(
                    fields_named(problem).iter().any(|(f, _)| f == &field),
                    "{method} {path}: a NUL in {field}: {}",
                    r.text
                );
                nul += 1;
                let Some(max) = max else { continue };
                let r = send(with(example, &fpath, json!(WIDE.repeat(max as usize + 1)))).await;
                assert!(
                    fields_named(r.problem(422)).iter().any(|(f, _)| f == &field),
                    "{method} {path}: {field} one over {max}: {}",
                    r.text
                );
                over += 1;
                // run after the refusals are counted: a body at its limits may be taken
                at_limits.push((
                    token.clone(),
                    m.clone(),
                    concrete.clone(),
                    with(example, &fpath, json!(WIDE.repeat(max as usize))),
                    field,
                ));
            }
        }
    }
    // the probes reach far: a limit added without an example to test it by fails here
    assert!(no_example.is_empty(), "bodies without an example: {no_example:?}");
    assert_eq!(counts(&app).await, before, "a refused request wrote nothing");
    for (token, m, path, body, field) in at_limits {
        let r = app.send(m.clone(), &path, Some(&token), Some(body)).await;
        let length_error =
            fields_named(&r.json).into_iter().find(|(f, m)| f == &field && m.contains("characters"));
        assert!(length_error.is_none(), "{m} {path}: {field} at its limit, in characters: {}", r.text);
        at_limit += 1;
    }
    assert!(
        over >= 66 && at_limit == over && nul >= 95 && queries >= 37 && paths >= 60 && query_nul >= 50,
        "{over} {at_limit} {nul} {queries} {paths} {query_nul}"
    );
});
