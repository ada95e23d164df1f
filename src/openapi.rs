//! The OpenAPI document: metadata, the bearer scheme and the shared schemas. Paths are
//! collected from the handlers by utoipa-actix-web as they are mounted (`routes::describe`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem, ProblemDocument};
use crate::events::payloads::{
    BackorderFilledEvent, ClaimEvent, EventObject, LoanLineOverdueEvent, PartsRequestEvent,
    PeriodClosedEvent, ProposalReleasedEvent, ShipmentEvent, TicketDeadlineEvent, TicketStateEvent,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "echelon",
        description = "After-sales spare-parts network: central warehouse, regional centres, repair \
                       stations, service tickets. Log in with `POST /api/v1/auth/login`, then press \
                       Authorize and paste the `access_token`. Errors are RFC 9457 problem+json; \
                       money is a decimal string with two places; times are RFC 3339 UTC.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ProblemDocument, Problem, FieldError, EventObject, PartsRequestEvent,
        BackorderFilledEvent, ShipmentEvent, ClaimEvent, TicketStateEvent, ProposalReleasedEvent,
        PeriodClosedEvent, TicketDeadlineEvent, LoanLineOverdueEvent)),
    modifiers(&BearerAuth),
    // in the order of the work: who you are, the network and its parts, the stock, the
    // tickets and the parts they need, how parts travel and are lent, planning, money, reports
    tags(
        (name = "auth", description = "Login and the caller's profile"),
        (name = "users", description = "User management (admin): create users, change their role, location or password, disable them"),
        (name = "network", description = "Locations, the echelon tree and station tiers"),
        (name = "catalogue", description = "Parts with self-checking codes, product models, compatibility, units sold, installed base"),
        (name = "stock", description = "The stock ledger: receipts, counts, balances, movements, audit"),
        (name = "tickets", description = "Service tickets: intake with the warranty decision, quotes, dispatch, the visit, sign-off, SLA deadlines; follow-up calls and station scorecards"),
        (name = "requests", description = "Parts requests: routing, allowance, reservation, pick/ship/receive"),
        (name = "shipping", description = "Shipments, courier tenders and bids, tracking, carrier claims"),
        (name = "loans", description = "Technician loans and their reconciliation: core returns checked against the factory record, fees, unused returns and their inspection; overdue loans"),
        (name = "planning", description = "Replenishment and multi-echelon planning: runs, proposals, release into the ledger"),
        (name = "finance", description = "Settlement per station and month (JSON, streamed CSV and XLSX), adjustments, period close"),
        (name = "reports", description = "The network's KPIs and service reports"),
        (name = "webhooks", description = "Events pushed to a station's or warehouse's own systems: subscriptions, signed deliveries (Standard Webhooks), their log and replay"),
        (name = "ops", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access_token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
    }
}

/// The whole document, as served at `/api-docs/openapi.json` and committed in
/// `openapi/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, mut doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::describe)
        .split_for_parts();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    state_path_hygiene(&mut doc);
    optional_bodies_as_references(&mut doc);
    pages_reference_their_items(&mut doc);
    derived_problem_examples(&mut doc);
    webhooks(&mut doc);
    doc
}

/// The OpenAPI 3.1 `webhooks`: one message per event type that is written, as the delivery
/// worker posts it (`webhooks::deliver::body`), with its `data` schema and the Standard
/// Webhooks headers. utoipa has no field for them, so they go in as a top-level member.
fn webhooks(doc: &mut utoipa::openapi::OpenApi) {
    use serde_json::json;
    let kinds = [
        (
            "parts_request.allocated",
            "A parts request is allocated: every unit is reserved",
            "PartsRequestEvent",
            "parts_request",
        ),
        (
            "parts_request.backordered",
            "A parts request waits for stock (backordered)",
            "PartsRequestEvent",
            "parts_request",
        ),
        (
            "backorder.filled",
            "Stock that arrived filled a backordered line",
            "BackorderFilledEvent",
            "parts_request",
        ),
        ("shipment.picked_up", "The courier picked a shipment up", "ShipmentEvent", "shipment"),
        ("shipment.delivered", "A shipment was delivered", "ShipmentEvent", "shipment"),
        ("shipment.damaged", "A shipment arrived with damaged units", "ShipmentEvent", "shipment"),
        ("claim.opened", "A claim against the courier was opened for damaged units", "ClaimEvent", "claim"),
        ("ticket.state_changed", "A service ticket moved to another state", "TicketStateEvent", "ticket"),
        (
            "ticket.deadline_missed",
            "A service ticket passed a deadline it had not met (once per ticket)",
            "TicketDeadlineEvent",
            "ticket",
        ),
        (
            "loan_line.overdue",
            "A lent part's core (or the unused part) was not back within the return days",
            "LoanLineOverdueEvent",
            "loan",
        ),
        (
            "proposal.released",
            "A planned order was released into the ledger",
            "ProposalReleasedEvent",
            "proposal's destination",
        ),
        (
            "period.closed",
            "A settlement month was closed",
            "PeriodClosedEvent",
            "network (admin and finance)",
        ),
    ];
    let header = |name: &str, description: &str, example: &str| {
        json!({"name": name, "in": "header", "required": true, "description": description,
            "schema": {"type": "string"}, "example": example})
    };
    let mut hooks = serde_json::Map::new();
    for (event, summary, data, object) in kinds {
        let message = json!({
            "type": "object",
            "required": ["type", "timestamp", "event_id", "object", "data"],
            "properties": {
                "type": {"type": "string", "const": event},
                "timestamp": {"type": "string", "format": "date-time", "description": "when the change happened"},
                "event_id": {"type": "integer", "format": "int64"},
                "object": {"$ref": "#/components/schemas/EventObject"},
                "data": {"$ref": format!("#/components/schemas/{data}")},
            }
        });
        hooks.insert(event.to_string(), json!({"post": {
            "summary": summary,
            "description": format!("Posted to each active subscription of an enabled owner to `{event}` whose scope holds the {object}                 (a station's own, a warehouse's subtree, admin and finance everything), at least once,                 retried with backoff for a day. Verify `webhook-signature` (Standard Webhooks: HMAC-SHA256                 of `webhook-id.webhook-timestamp.body` under the subscription's secret) before trusting                 the body; drop a repeated `webhook-id`, and a message whose `object.sequence` is older                 than one already seen."),
            "operationId": format!("on_{}", event.replace('.', "_")),
            "tags": ["webhooks"],
            "parameters": [
                header("webhook-id", "the message's id: the same on every retry and replay", "msg_12"),
                header("webhook-timestamp", "seconds since 1970 when this attempt was signed", "1764925200"),
                header("webhook-signature", "`v1,<base64 HMAC-SHA256>`; two, space separated, for a day after a secret's rotation", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            ],
            "requestBody": {"required": true, "content": {"application/json": {"schema": message}}},
            "responses": {"200": {"description": "Received: any 2xx ends the delivery; anything else, or no answer in 10 s, is retried"}}
        }}));
    }
    let extensions = doc.extensions.get_or_insert_with(Default::default);
    extensions.insert("webhooks".to_string(), serde_json::Value::Object(hooks));
}

/// A page (`Page_X`) lists its items by reference to `X`, not as an inline copy of it, so a
/// generated client has one class for a ticket whether it came alone or in a page.
fn pages_reference_their_items(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    use utoipa::openapi::{Ref, RefOr};
    let Some(components) = doc.components.as_mut() else { return };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Page_") else { continue };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        let RefOr::T(Schema::Object(page)) = schema else { continue };
        if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
            items.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
        }
    }
}

/// An optional body is stated as what client generators expect: the body's schema by reference,
/// with `required: false`, rather than utoipa's `oneOf [null, body]` (which generated clients
/// send as a required argument, or fail on).
fn optional_bodies_as_references(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{Schema, Type};
    use utoipa::openapi::{RefOr, Required};
    let is_null =
        |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == Type::Null.into());
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete];
        for op in operations.into_iter().flatten() {
            let Some(body) = op.request_body.as_mut() else { continue };
            let mut optional = false;
            for content in body.content.values_mut() {
                if let Some(RefOr::T(Schema::OneOf(one))) = &content.schema {
                    if one.items.len() == 2 && one.items.iter().any(is_null) {
                        content.schema = one.items.iter().find(|s| !is_null(s)).cloned();
                        optional = true;
                    }
                }
            }
            if optional {
                body.required = Some(Required::False);
            }
        }
    }
}

/// What `http::clean_path` holds every path to, stated where clients read it: each string path
/// parameter at most `PATH_SEGMENT_MAX` characters and free of control characters (a pattern,
/// where the parameter has none of its own), and every operation with a path parameter
/// answering 400 `invalid_path` (a control character, a NUL among them, or a segment too long).
fn state_path_hygiene(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{Schema, Type};
    use utoipa::openapi::RefOr;
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete];
        for op in operations.into_iter().flatten() {
            let mut has_path_parameter = false;
            for p in op.parameters.iter_mut().flatten() {
                if p.parameter_in != ParameterIn::Path {
                    continue;
                }
                has_path_parameter = true;
                if let Some(RefOr::T(Schema::Object(o))) = &mut p.schema {
                    if o.schema_type == Type::String.into() {
                        o.max_length.get_or_insert(crate::http::PATH_SEGMENT_MAX);
                        // no control character (Unicode's Cc: NUL among them), as clean_path holds
                        o.pattern.get_or_insert_with(|| crate::http::PATH_SEGMENT_PATTERN.to_string());
                    }
                }
            }
            if has_path_parameter && !op.responses.responses.contains_key("400") {
                op.responses
                    .responses
                    .extend(<crate::http::docs::E400 as utoipa::IntoResponses>::responses());
            }
        }
    }
}

/// The answers every operation of a shape shares, stated from the operation itself (see
/// `http::docs`): its 400 lists the faults of what it takes (a body, a query, a path
/// parameter, a header) beside its own 400s; its 422 adds `validation_failed` for a body field
/// out of its limits or a query string holding a NUL; a 422 left without an example, and a 413
/// or 415 of an operation without a body, are dropped (it cannot answer them).
fn derived_problem_examples(doc: &mut utoipa::openapi::OpenApi) {
    use crate::http::docs::{self, Shape};
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{Schema, Type};
    use utoipa::openapi::RefOr;
    let components = doc.components.clone().unwrap_or_default();
    let resolve = |s: &RefOr<Schema>| -> Option<Schema> {
        match s {
            RefOr::T(s) => Some(s.clone()),
            RefOr::Ref(r) => {
                let name = r.ref_location.rsplit('/').next()?;
                match components.schemas.get(name)? {
                    RefOr::T(s) => Some(s.clone()),
                    RefOr::Ref(_) => None,
                }
            }
        }
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete];
        for op in operations.into_iter().flatten() {
            let params = op.parameters.clone().unwrap_or_default();
            let string_schema = |p: &utoipa::openapi::path::Parameter| match &p.schema {
                // a free string (an enum's value is refused as malformed, 400, before any rule)
                Some(RefOr::T(Schema::Object(o))) => {
                    (o.schema_type == Type::String.into() && o.enum_values.is_none(), o.max_length)
                }
                _ => (false, None),
            };
            let shape = Shape {
                path,
                has_body: op.request_body.is_some(),
                query: params
                    .iter()
                    .filter(|p| p.parameter_in == ParameterIn::Query)
                    .map(|p| {
                        let (string, max) = string_schema(p);
                        (p.name.as_str(), string, max)
                    })
                    .collect(),
                has_path_parameter: params.iter().any(|p| p.parameter_in == ParameterIn::Path),
                headers: params
                    .iter()
                    .filter(|p| p.parameter_in == ParameterIn::Header)
                    .map(|p| p.name.as_str())
                    .collect(),
            };
            let responses = &mut op.responses.responses;
            if !shape.has_body {
                responses.remove("413");
                responses.remove("415");
            }
            if responses.contains_key("400") {
                add_examples(responses, 400, docs::request_faults(&shape), |kinds| {
                    let mut phrases: Vec<&str> = kinds.iter().map(|k| docs::fault_phrase(*k)).collect();
                    phrases.dedup();
                    let mut d = phrases.join("; ");
                    if let Some(first) = d.get(..1) {
                        d.replace_range(..1, &first.to_uppercase());
                    }
                    d
                });
            }
            // a free-text query parameter can carry a NUL, which every handler refuses with 422
            // (`http::Query`): stated even where the handler names no 422 of its own
            if shape.query.iter().any(|(_, free, _)| *free) && !responses.contains_key("422") {
                use utoipa::IntoResponses;
                responses.extend(crate::http::docs::E422::responses());
            }
            if responses.contains_key("422") {
                let mut fault = Vec::new();
                let body_schema = op
                    .request_body
                    .as_ref()
                    .and_then(|b| b.content.get("application/json"))
                    .and_then(|c| c.schema.as_ref())
                    .and_then(&resolve);
                if let Some(Schema::Object(body)) = body_schema {
                    let limited = body.properties.iter().find_map(|(name, s)| match resolve(s)? {
                        Schema::Object(o) => {
                            o.max_length.map(|m| (name.clone(), format!("at most {m} characters")))
                        }
                        _ => None,
                    });
                    let (field, message) = limited.unwrap_or_else(|| match body.required.first() {
                        Some(r) => (r.clone(), "required".to_string()),
                        None => ("(body)".to_string(), "unknown field `colour`".to_string()),
                    });
                    fault.push(docs::field_fault(&field, &message));
                } else if let Some((name, _, _)) = shape.query.iter().find(|(_, string, _)| *string) {
                    fault.push(docs::field_fault(name, "must not contain NUL characters"));
                }
                add_examples(responses, 422, fault, |_| {
                    "A field breaks a rule; `errors` names each field and what is wrong".to_string()
                });
            }
        }
    }
}

/// Adds `examples` (those whose key is not there yet) to the problem response of `status`;
/// a response still marked as derived is described by `describe` of its kinds, or dropped when
/// it has no example at all.
fn add_examples(
    responses: &mut std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>>,
    status: u16,
    examples: Vec<crate::http::docs::Example>,
    describe: impl Fn(&[Problem]) -> String,
) {
    use utoipa::openapi::example::ExampleBuilder;
    use utoipa::openapi::RefOr;
    let key = status.to_string();
    let Some(RefOr::T(response)) = responses.get_mut(&key) else { return };
    let Some(content) = response.content.get_mut(crate::error::PROBLEM_JSON) else { return };
    for e in &examples {
        let value = e.value(status);
        let summary = e.kind.title();
        content
            .examples
            .entry(e.key())
            .or_insert_with(|| RefOr::T(ExampleBuilder::new().summary(summary).value(Some(value)).build()));
    }
    if content.examples.is_empty() {
        responses.remove(&key);
        return;
    }
    if response.description == crate::http::docs::DERIVED {
        let kinds: Vec<Problem> = content
            .examples
            .values()
            .filter_map(|e| match e {
                RefOr::T(e) => e.value.as_ref()?.get("type")?.as_str().map(str::to_string),
                RefOr::Ref(_) => None,
            })
            .filter_map(|t| Problem::ALL.iter().copied().find(|p| p.type_uri() == t))
            .collect();
        response.description = describe(&kinds);
    }
}

/// The document as pretty JSON with a trailing newline (the committed file's form).
pub fn document_json() -> String {
    let mut s = document().to_pretty_json().expect("the OpenAPI document serialises");
    s.push('\n');
    s
}
