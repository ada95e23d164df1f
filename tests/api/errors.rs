//! Bad input of every kind gets the right 4xx as problem+json, never a 500 or plain text.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

const DEV_SECRET: &str = echelon::config::DEV_JWT_SECRET;

fn token_with(secret: &str, claims: serde_json::Value) -> String {
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn claims(exp_offset: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "admin", "uid": 1, "role": "admin", "iat": now, "exp": now + exp_offset,
           "iss": "echelon", "aud": "echelon-api", "ver": 1})
}

async fn status_with_token(app: &TestApp, token: &str) -> crate::helpers::Resp {
    app.send(Method::GET, "/api/v1/me", Some(token), None).await
}

both!(missing_and_malformed_authorization_is_401, |app| async {
    let r = app.get("/api/v1/me", None).await;
    r.problem(401);
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"echelon\"");
    let r = app
        .client
        .get(format!("{}/api/v1/me", app.base))
        .header("authorization", "Basic YWRtaW46eA==")
        .send()
        .await
        .unwrap();
    crate::helpers::into_resp(r).await.problem(401);
    status_with_token(&app, "not-a-jwt").await.problem(401);
});

both!(expired_tampered_and_forged_tokens_are_401, |app| async {
    // a good token works, to show the others fail for their flaw alone
    let good = token_with(DEV_SECRET, claims(600));
    status_with_token(&app, &good).await.ok();
    // well signed but naming no user version (as tokens from before versions did), or another
    // version than the user's: refused
    let mut unversioned = claims(600);
    unversioned.as_object_mut().unwrap().remove("ver");
    let mut other_version = claims(600);
    other_version["ver"] = json!(2);
    for c in [unversioned, other_version] {
        status_with_token(&app, &token_with(DEV_SECRET, c)).await.problem(401);
    }

    let expired = token_with(DEV_SECRET, claims(-600));
    assert!(status_with_token(&app, &expired).await.problem(401)["detail"]
        .as_str()
        .unwrap()
        .contains("expired"));

    let other_key = token_with("some-other-secret-some-other-secret", claims(600));
    status_with_token(&app, &other_key).await.problem(401);

    // tampered: the payload changed (role upgraded), the signature kept
    let real = app.token("station-st-tz-001").await;
    let parts: Vec<&str> = real.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["role"] = json!("admin");
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    status_with_token(&app, &forged).await.problem(401);

    // alg none
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let none = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims(600).to_string()));
    status_with_token(&app, &none).await.problem(401);

    // HS512 with the right secret: the algorithm is pinned
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(600),
        &EncodingKey::from_secret(DEV_SECRET.as_bytes()),
    )
    .unwrap();
    status_with_token(&app, &hs512).await.problem(401);

    // wrong audience, wrong issuer, no exp
    let mut c = claims(600);
    c["aud"] = json!("another-api");
    status_with_token(&app, &token_with(DEV_SECRET, c)).await.problem(401);
    let mut c = claims(600);
    c["iss"] = json!("someone-else");
    status_with_token(&app, &token_with(DEV_SECRET, c)).await.problem(401);
    let mut c = claims(600);
    c.as_object_mut().unwrap().remove("exp");
    status_with_token(&app, &token_with(DEV_SECRET, c)).await.problem(401);
});

both!(bodies_that_are_not_json_of_the_right_shape_are_refused, |app| async {
    let login = "/api/v1/auth/login";
    let r = app.raw(Method::POST, login, None, "application/json", b"{\"username\": ".to_vec()).await;
    assert_eq!(r.problem(400)["type"], "/problems/malformed_json");
    let r = app.raw(Method::POST, login, None, "application/json", Vec::new()).await;
    r.problem(400);
    let r = app
        .raw(Method::POST, login, None, "application/json", br#"{"username": 42, "password": "x"}"#.to_vec())
        .await;
    let p = r.problem(422);
    assert_eq!(p["errors"][0]["field"], "username");
    let r =
        app.raw(Method::POST, login, None, "application/json", br#"{"username": "admin"}"#.to_vec()).await;
    assert!(r.problem(422)["detail"].as_str().unwrap().contains("password"));
    let r = app
        .raw(Method::POST, login, None, "text/plain", br#"{"username":"a","password":"b"}"#.to_vec())
        .await;
    r.problem(415);
    let big = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(2 * 1024 * 1024));
    let r = app.raw(Method::POST, login, None, "application/json", big.into_bytes()).await;
    r.problem(413);
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    app.raw(Method::POST, login, None, "application/json", deep.into_bytes()).await.problem(400);
    // a wrong type in a field of a protected endpoint, too
    let r = app.post("/api/v1/locations", "admin", json!({"code": "ST-X-1", "name": "x", "kind": 7})).await;
    assert_eq!(r.problem(422)["errors"][0]["field"], "kind");
    let r = app
        .post(
            "/api/v1/locations",
            "admin",
            json!({"code": "ST-X-1", "name": "x", "kind": "station", "colour": "red"}),
        )
        .await;
    assert!(r.problem(422)["detail"].as_str().unwrap().contains("colour"));
});

both!(an_optional_body_that_is_sent_is_parsed_strictly, |app| async {
    // these bodies may be left out; one that is sent and malformed, or of the wrong shape, is
    // refused before anything is looked up, never read as no body
    for path in [
        "/api/v1/tenders/999999/award",
        "/api/v1/loans/999999/lines/1/fee",
        "/api/v1/parts-requests/999999/approve",
        "/api/v1/parts-requests/999999/reject",
        "/api/v1/parts-requests/999999/receive",
    ] {
        let r = app.raw(Method::POST, path, Some("admin"), "application/json", b"{\"note\": ".to_vec()).await;
        assert_eq!(r.problem(400)["type"], "/problems/malformed_json", "{path}");
        let r = app.raw(Method::POST, path, Some("admin"), "application/json", b"[1, 2]".to_vec()).await;
        r.problem(422);
        // no body at all: the handler runs and finds nothing by that id
        app.raw(Method::POST, path, Some("admin"), "application/json", Vec::new()).await.problem(404);
    }
});

both!(unknown_routes_wrong_methods_and_bad_parameters_are_problems, |app| async {
    app.get("/api/v1/no-such-thing", Some("admin")).await.problem(404);
    app.get("/nothing/here", None).await.problem(404);
    let r = app.send(Method::DELETE, "/api/v1/locations/HQ", Some(&app.token("admin").await), None).await;
    let p = r.problem(405);
    assert_eq!(p["allowed"], json!(["GET", "PATCH"]));
    assert_eq!(r.headers["allow"], "GET, PATCH");
    app.send(Method::PUT, "/api/v1/auth/login", None, None).await.problem(405);
    for q in ["limit=0", "limit=501", "limit=abc", "kind=depot", "tier=E", "colour=red"] {
        app.get(&format!("/api/v1/locations?{q}"), Some("admin")).await.problem(400);
    }
    // an id-keyed list takes an id as its cursor
    app.get("/api/v1/parts-requests?cursor=abc", Some("admin")).await.problem(400);
    app.get("/api/v1/stock?cursor=12", Some("admin")).await.problem(400);
    app.get("/api/v1/locations/DOES-NOT-EXIST", Some("admin")).await.problem(404);
});

both!(money_is_a_decimal_string_with_two_places_and_nothing_else, |app| async {
    // SPEC's form: "1000.00"; an exponent, a plus sign, padding or a third place is refused
    // (422 naming the field)
    for amount in ["1e3", "+1000.00", " 1000.00", "1000.001", "1,000.00"] {
        let r = app
            .post(
                "/api/v1/settlements/adjustments",
                "finance",
                json!({"station": "ST-TZ-001", "period": "2026-11", "amount": amount, "reason": "x"}),
            )
            .await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "amount", "{amount}: {}", r.text);
    }
});

both!(a_settlement_of_a_month_that_has_not_begun_is_refused, |app| async {
    let next = (app.state.clock.now().date_naive() + chrono::Duration::days(40)).format("%Y-%m").to_string();
    for format in ["json", "csv", "xlsx"] {
        let r = app.get(&format!("/api/v1/settlements?period={next}&format={format}"), Some("finance")).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "period", "{format}: {}", r.text);
    }
});

both!(an_id_or_a_query_that_does_not_parse_is_told_in_plain_words, |app| async {
    let r = app.get("/api/v1/tickets/1.5", Some("admin")).await;
    let detail = r.problem(404)["detail"].as_str().unwrap_or("").to_string();
    assert_eq!(detail, "no resource at /api/v1/tickets/1.5 (an id is a whole number)");
    let r = app.get("/api/v1/tickets?limit=abc", Some("admin")).await;
    let detail = r.problem(400)["detail"].as_str().unwrap_or("").to_string();
    assert!(detail.starts_with("invalid query parameters: ") && !detail.contains("deserialize"), "{detail}");
});
