//! One strict way to take a body, generated from the OpenAPI document: every operation that
//! takes a JSON body, optional or not, refuses a malformed body (400), a body of another
//! content type (415) and a body with a field it does not know (422 naming the field), each as
//! problem+json, before anything is looked up or written. An optional body that is sent is
//! parsed like a required one: a broken one (even whitespace alone) is never read as "no
//! body". A body is one object: an array of its values is 422, a name given twice in it 422
//! naming that name, a compressed body 415.

use reqwest::Method;
use serde_json::{json, Value};

use crate::both;
use crate::limits::{counts, resolve};

/// The documented example of an operation's JSON body (an object), or `{}` when all its fields
/// are optional.
fn example_of(doc: &Value, content: &Value) -> Option<Value> {
    let schema = content["schema"]["oneOf"]
        .as_array()
        .and_then(|alts| alts.iter().find(|a| a.get("$ref").is_some()))
        .unwrap_or(&content["schema"]);
    content
        .get("example")
        .or_else(|| resolve(doc, schema).get("example"))
        .filter(|e| e.is_object())
        .cloned()
        .or_else(|| resolve(doc, schema).get("required").is_none().then(|| json!({})))
}

both!(every_body_is_parsed_strictly_and_a_refused_one_changes_nothing, |app| async {
    let doc = app.get("/api-docs/openapi.json", None).await.ok().clone();
    let before = counts(&app).await;
    let mut probed = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = crate::limits::concrete(path);
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op.pointer("/requestBody/content/application~1json") else { continue };
            let m: Method = method.to_uppercase().parse().unwrap();
            let example = example_of(&doc, content)
                .unwrap_or_else(|| panic!("{method} {path}: a JSON body without an object example"));
            // a caller the operation takes: another is refused before its body is read
            let user = crate::limits::caller(op);
            let send = |content_type: &'static str, body: Vec<u8>| {
                app.raw(m.clone(), &concrete, Some(user), content_type, body)
            };
            // truncated JSON
            let r = send("application/json", b"{\"".to_vec()).await;
            assert_eq!(r.problem(400)["type"], "/problems/malformed_json", "{method} {path}: truncated");
            // JSON of the right shape, sent as text
            let r = send("text/plain", serde_json::to_vec(&example).unwrap()).await;
            assert_eq!(
                r.problem(415)["type"],
                "/problems/unsupported_media_type",
                "{method} {path}: text/plain"
            );
            // JSON in a charset other than UTF-8 is not read as UTF-8 (RFC 8259): 415
            for ct in ["application/json; charset=latin1", "application/json; charset=\"ISO-8859-1\""] {
                let r = send(ct, serde_json::to_vec(&example).unwrap()).await;
                assert_eq!(
                    r.problem(415)["type"],
                    "/problems/unsupported_media_type",
                    "{method} {path}: {ct}"
                );
            }
            // UTF-8 named in any case is JSON: a truncated body is then malformed, not refused
            for ct in [
                "application/json; charset=utf-8",
                "application/json;charset=UTF-8",
                "Application/JSON; Charset=\"Utf-8\"",
            ] {
                let r = send(ct, b"{\"".to_vec()).await;
                assert_eq!(r.problem(400)["type"], "/problems/malformed_json", "{method} {path}: {ct}");
            }
            // a misspelled or unknown field beside valid ones
            let mut unknown = example.clone();
            unknown["colour_of_the_box"] = json!(1);
            let r = send("application/json", serde_json::to_vec(&unknown).unwrap()).await;
            let problem = r.problem(422);
            assert!(
                problem["detail"].as_str().unwrap_or("").contains("colour_of_the_box"),
                "{method} {path}: the unknown field is named: {}",
                r.text
            );
            // the example's values as an array, which serde would read as the fields in order
            let values: Vec<Value> = example.as_object().unwrap().values().cloned().collect();
            let r = send("application/json", serde_json::to_vec(&values).unwrap()).await;
            let detail = r.problem(422)["detail"].as_str().unwrap_or("").to_string();
            assert!(
                detail.contains("expected a JSON object") || detail.contains("map"),
                "{method} {path}: an array: {}",
                r.text
            );
            // a name given twice: refused, naming it, whichever value would have won
            let first = example.as_object().unwrap().iter().next();
            let (name, value) =
                first.map(|(k, v)| (k.clone(), v.clone())).unwrap_or(("note".into(), json!(1)));
            let text = serde_json::to_string(&example).unwrap();
            let twice = format!("{{{}: {value},{}", json!(name), &text[1..]);
            let twice = if example.as_object().unwrap().is_empty() {
                format!("{{\"{name}\": 1, \"{name}\": 2}}")
            } else {
                twice
            };
            let r = send("application/json", twice.into_bytes()).await;
            let problem = r.problem(422);
            assert_eq!(
                problem["errors"][0]["field"],
                json!(name),
                "{method} {path}: a name twice: {}",
                r.text
            );
            // sent but not JSON (whitespace alone is sent, not "no body"): 400
            for body in ["  ", "garbage"] {
                let r = send("application/json", body.as_bytes().to_vec()).await;
                assert_eq!(r.problem(400)["type"], "/problems/malformed_json", "{method} {path}: {body:?}");
            }
            // a compressed body is refused as such, not read as bytes of JSON
            let token = app.token(user).await;
            let r = app
                .client
                .request(m.clone(), format!("{}{concrete}", app.base))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(serde_json::to_vec(&example).unwrap())
                .send()
                .await
                .unwrap();
            let r = crate::helpers::into_resp(r).await;
            assert_eq!(r.problem(415)["type"], "/problems/unsupported_media_type", "{method} {path}: gzip");
            probed.push(format!("{method} {path}"));
        }
    }
    assert!(probed.len() >= 39, "{} operations with a body: {probed:?}", probed.len());
    assert_eq!(counts(&app).await, before, "a refused body wrote nothing");
});

/// A field has one name, the one the document shows: a serde `alias` would take a second name
/// the document never states (`unit_serial` for `serial`), so a misspelled body could pass.
#[test]
fn no_body_field_answers_to_a_name_the_document_does_not_show() {
    fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                scan(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let l = line.trim_start();
                    if l.starts_with("#[serde(") && l.contains("alias") {
                        found.push(format!("{}:{}: {l}", path.display(), n + 1));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    scan(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    assert!(found.is_empty(), "fields with a second name: {found:#?}");
}
