//! What Swagger UI shows of each operation is that operation's own (issue 23, item 3): every
//! response is described, every problem example agrees with its kind's status and is an answer
//! the operation can give, and real refusals carry the members their operation's examples show.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use echelon::catalogue::PartCode;
use echelon::error::Problem;

use crate::both;
use crate::builders::TECH;
use crate::helpers::Resp;
use crate::tickets::CMP;

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

pub(crate) fn document() -> Value {
    serde_json::from_str(&echelon::openapi::document_json()).unwrap()
}

/// Every operation of the document: method, path, operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// The named problem examples of one response: name, value.
fn examples(response: &Value) -> Vec<(String, Value)> {
    response["content"]["application/problem+json"]["examples"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v["value"].clone())).collect())
        .unwrap_or_default()
}

/// The resource an operation belongs to: its path's first segment after `/api/v1`.
fn resource(path: &str) -> &str {
    path.trim_start_matches("/api/v1/").split('/').next().unwrap_or(path)
}

#[test]
fn every_response_is_described_and_every_problem_example_is_the_operations_own() {
    let doc = document();
    let schema_names: BTreeSet<String> =
        doc["components"]["schemas"].as_object().unwrap().keys().cloned().collect();
    let placeholders = ["", "ok", "created", "success", "response", "(derived from the operation)"];
    let mut faults = Vec::new();
    // the example details of each 404/409, with the resources that show them
    let mut shown: BTreeMap<(String, Vec<String>), BTreeSet<String>> = BTreeMap::new();
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        let has_body = op.get("requestBody").is_some();
        for (status, response) in op["responses"].as_object().unwrap() {
            let description = response["description"].as_str().unwrap_or_default().trim();
            if placeholders.contains(&description.to_lowercase().as_str())
                || schema_names.contains(description)
                || description.len() < 12
            {
                faults.push(format!("{at} {status}: a placeholder description {description:?}"));
            }
            if !has_body && (status == "415" || status == "413") {
                faults.push(format!("{at} {status}: documented, yet the operation takes no body"));
            }
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let found = examples(response);
            if found.is_empty() && response["content"].get("application/problem+json").is_some() {
                faults.push(format!("{at} {status}: a problem answer without an example"));
            }
            let code: u16 = status.parse().unwrap();
            for (name, value) in &found {
                let kind = Problem::ALL.iter().find(|p| Some(p.type_uri()) == value["type"].as_str());
                let Some(kind) = kind else {
                    faults.push(format!("{at} {status} {name}: no problem kind {}", value["type"]));
                    continue;
                };
                if value["status"] != code || !kind.statuses().iter().any(|s| s.as_u16() == code) {
                    faults.push(format!(
                        "{at} {status} {name}: {kind} is answered with {:?}, the example says {}",
                        kind.statuses().iter().map(|s| s.as_u16()).collect::<Vec<_>>(),
                        value["status"]
                    ));
                }
                if value["title"] != kind.title() {
                    faults.push(format!("{at} {status} {name}: title {} is not {kind}'s", value["title"]));
                }
                if value["detail"].as_str().is_none_or(|d| d.len() < 8) {
                    faults.push(format!("{at} {status} {name}: no real detail"));
                }
                if !has_body && matches!(kind, Problem::MalformedJson | Problem::UnreadableBody) {
                    faults.push(format!("{at} {status}: {kind} documented, yet the operation takes no body"));
                }
                if !name.starts_with(kind.slug()) {
                    faults.push(format!("{at} {status}: example {name} is not named after its kind {kind}"));
                }
            }
            if status == "404" || status == "409" {
                let mut details: Vec<String> =
                    found.iter().map(|(_, v)| v["detail"].as_str().unwrap_or_default().to_string()).collect();
                details.sort();
                shown.entry((status.clone(), details)).or_default().insert(resource(&path).to_string());
            }
        }
    }
    for ((status, details), resources) in &shown {
        if resources.len() > 1 {
            faults
                .push(format!("the {status} examples {details:?} are shown by operations of {resources:?}"));
        }
    }
    assert!(faults.is_empty(), "{} faults:\n{}", faults.len(), faults.join("\n"));
}

/// The problem `r` answered is among the examples `method path` documents for its status, with
/// every member it carries (so the documentation and the behaviour cannot drift apart).
pub(crate) fn documented(doc: &Value, method: &str, path: &str, r: &Resp) {
    let answered = &r.json;
    let status = r.status.to_string();
    let response = &doc["paths"][path][method]["responses"][&status];
    assert!(response.is_object(), "{method} {path} does not document its {status}: {answered}");
    let members: BTreeSet<&String> = answered.as_object().unwrap().keys().collect();
    let same_kind: Vec<Value> =
        examples(response).into_iter().map(|(_, v)| v).filter(|v| v["type"] == answered["type"]).collect();
    assert!(
        !same_kind.is_empty(),
        "{method} {path} {status} shows no {} example: {answered}",
        answered["type"]
    );
    let covered = same_kind.iter().any(|v| {
        let shown: BTreeSet<&String> = v.as_object().unwrap().keys().collect();
        members.is_subset(&shown)
    });
    assert!(
        covered,
        "{method} {path} {status}: the {} answered carries {members:?}, its examples show {:?}",
        answered["type"],
        same_kind.iter().map(|v| v.as_object().unwrap().keys().collect::<Vec<_>>()).collect::<Vec<_>>()
    );
}

both!(real_refusals_carry_what_their_operations_examples_show, |app| async {
    let doc = document();
    let unknown =
        PartCode::issue("RF", "CMP", 99_990).or_else(|| PartCode::issue("RF", "CMP", 99_991)).unwrap();
    let unknown = unknown.as_str().to_string();

    // a part code well formed but of no part: 422 with `suggestions`, `code`, `line`
    let r = app.request().line(&unknown, 1).send().await;
    assert!(r.problem(422)["suggestions"].is_array(), "{}", r.text);
    documented(&doc, "post", "/api/v1/parts-requests", &r);
    // the same code in the path: 422 too, with suggestions
    let r = app.get(&format!("/api/v1/parts/{unknown}"), Some("admin")).await;
    assert_eq!(r.problem(422)["type"], "/problems/unknown_part_code");
    documented(&doc, "get", "/api/v1/parts/{code}", &r);

    // a part that does not fit the ticket's unit: 422 with `compatible_alternatives`
    let t = app.ticket().at("ST-TZ-001").dispatched_to(TECH).create().await;
    let loose = app.part().stock_at("RC-HZ", 2).create().await;
    let r = app.request().line(&loose, 1).for_ticket(t).send().await;
    assert!(r.problem(422)["compatible_alternatives"].is_array(), "{}", r.text);
    documented(&doc, "post", "/api/v1/parts-requests", &r);

    // a body that breaks its rules: 422 `validation_failed` with `errors`
    let bad = json!({"code": "st hz 1", "name": "x", "kind": "station", "parent": "RC-HZ", "tier": "C"});
    let r = app.post("/api/v1/locations", "admin", bad).await;
    assert!(r.problem(422)["errors"].is_array(), "{}", r.text);
    documented(&doc, "post", "/api/v1/locations", &r);
    let r = app.request().lines(json!([])).send().await;
    assert_eq!(r.problem(422)["type"], "/problems/validation_failed");
    documented(&doc, "post", "/api/v1/parts-requests", &r);
    // an existing location created again: 409 `already_exists`
    let again = json!({"code": "RC-HZ", "name": "Hangzhou", "kind": "regional_centre", "parent": "HQ-CW"});
    let r = app.post("/api/v1/locations", "admin", again).await;
    assert_eq!(r.problem(409)["type"], "/problems/already_exists");
    documented(&doc, "post", "/api/v1/locations", &r);

    // a request cancelled twice: 409 `invalid_transition` with `current_status`
    let id = app.request().line(CMP, 1).create().await;
    let cancel = format!("/api/v1/parts-requests/{id}/cancel");
    app.post(&cancel, "station-st-tz-001", json!({})).await.ok();
    let r = app.post(&cancel, "station-st-tz-001", json!({})).await;
    assert_eq!(r.problem(409)["current_status"], "cancelled");
    documented(&doc, "post", "/api/v1/parts-requests/{id}/cancel", &r);
    // an unknown request: 404 `not_found`
    let r = app.get("/api/v1/parts-requests/999999", Some("admin")).await;
    r.problem(404);
    documented(&doc, "get", "/api/v1/parts-requests/{id}", &r);
    app.audit().await;
});

/// Every snake_case name containing "fill" in a JSON value: object keys and enum members,
/// with the description beside a key where it has one (its whitespace made single spaces).
fn fill_names(v: &Value, out: &mut BTreeMap<String, Vec<String>>) {
    let is_name = |s: &str| s.contains("fill") && s.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if is_name(k) {
                    let said = x.get("description").and_then(Value::as_str).unwrap_or_default();
                    let said = said.split_whitespace().collect::<Vec<_>>().join(" ");
                    out.entry(k.clone()).or_default().push(said);
                }
                if k == "enum" {
                    for member in x.as_array().into_iter().flatten().filter_map(Value::as_str) {
                        if is_name(member) {
                            out.entry(member.to_string()).or_default();
                        }
                    }
                }
                fill_names(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| fill_names(x, out)),
        _ => {}
    }
}

/// Issue 25 item 4: one vocabulary for fill. Every fill name the OpenAPI document and
/// `simulate`'s JSON show is defined in the README's section on fill, and a name means one
/// thing: the KPI report's `fill_rate` names are request fill wherever they are described,
/// the planner's and the simulator's station fill (from the station's own shelf) everywhere.
#[test]
fn every_fill_name_is_defined_in_the_readme_and_means_one_thing() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section =
        readme.split("### Fill: the names and what they measure").nth(1).expect("the README's fill section");
    let section = section.split("\n## ").next().unwrap();
    let mut names = BTreeMap::new();
    fill_names(&document(), &mut names);
    let out = std::process::Command::new(crate::processes::BIN)
        .args(["simulate", "--demand", "both", "--stations", "20", "--parts", "60", "--days", "30", "--json"])
        .output()
        .expect("run echelon");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let simulated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut from_simulate = BTreeMap::new();
    fill_names(&simulated, &mut from_simulate);
    for expected in ["target_fill", "expected_fill", "fill_rate", "fill_rate_units"] {
        assert!(names.contains_key(expected), "{expected} not in the document: {names:?}");
    }
    for expected in ["station_fill", "model_station_fill", "station_fill_on_true_demand", "fill_rate"] {
        assert!(from_simulate.contains_key(expected), "{expected} not in simulate's JSON: {from_simulate:?}");
    }
    names.extend(from_simulate);
    let mut faults = Vec::new();
    for (name, descriptions) in &names {
        if !section.contains(&format!("`{name}`")) && !section.contains(&format!("`{name}.")) {
            faults.push(format!("{name}: not defined in the README's fill section"));
        }
        for d in descriptions.iter().filter(|d| !d.is_empty()) {
            let station = name.contains("station_fill") || name == "target_fill" || name == "expected_fill";
            if name.starts_with("fill_rate") && !d.contains("request fill") {
                faults.push(format!("{name} is request fill, described as: {d}"));
            }
            if station && !d.contains("own shelf") {
                faults.push(format!("{name} is station fill (from the own shelf), described as: {d}"));
            }
        }
    }
    assert!(faults.is_empty(), "{faults:#?}");
}

#[test]
fn every_event_type_a_subscriber_may_choose_is_documented_with_its_payload() {
    let doc = document();
    let hooks = doc["webhooks"].as_object().expect("the document's webhooks");
    for event in echelon::events::TYPES {
        let message = &hooks.get(event).unwrap_or_else(|| panic!("{event} is not documented"))["post"]
            ["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(message["properties"]["type"]["const"], event, "{event}");
        let data = message["properties"]["data"]["$ref"].as_str().unwrap();
        let name = data.trim_start_matches("#/components/schemas/");
        let schema = &doc["components"]["schemas"][name];
        assert!(schema["properties"].is_object() && schema["example"].is_object(), "{event}: {name}");
    }
    // and nothing is documented that is never sent
    assert_eq!(hooks.len(), echelon::events::TYPES.len(), "{:?}", hooks.keys().collect::<Vec<_>>());
}

/// Every part code the document shows passes its check character, except the ones its
/// examples show refused for failing it (`invalid_part_code`): a client author copying an
/// example of a part that exists (or is unknown) sends a code that is one.
#[test]
fn every_part_code_in_the_document_is_well_formed_unless_shown_refused_as_malformed() {
    fn walk(v: &Value, malformed_context: bool, bad: &mut BTreeSet<String>, seen: &mut usize) {
        match v {
            Value::Object(m) => {
                let here = malformed_context
                    || m.get("type").and_then(Value::as_str) == Some("/problems/invalid_part_code")
                    || m.get("reason").and_then(Value::as_str) == Some("check_failed");
                for (k, x) in m {
                    if k == "suggestions" {
                        walk(x, false, bad, seen);
                    } else {
                        walk(x, here, bad, seen);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, malformed_context, bad, seen)),
            Value::String(s) => {
                for word in s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
                    let b = word.as_bytes();
                    let shaped = b.len() == 13
                        && b[2] == b'-'
                        && b[6] == b'-'
                        && b[..2].iter().chain(&b[3..6]).all(u8::is_ascii_uppercase)
                        && b[7..12].iter().all(u8::is_ascii_digit);
                    if shaped {
                        *seen += 1;
                        if PartCode::parse(word).is_err() && !malformed_context {
                            bad.insert(word.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let (mut bad, mut seen) = (BTreeSet::new(), 0);
    walk(&document(), false, &mut bad, &mut seen);
    assert!(seen > 50, "{seen} part codes seen");
    assert!(bad.is_empty(), "part codes failing their check character outside a refusal for it: {bad:?}");
}
