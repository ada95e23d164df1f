//! Builders for the objects scenarios need, on the test app (crates.io's `CrateBuilder`):
//! `app.part().cost("10.00").stock_at("RC-HZ", 5).create()`, `app.ticket().at("ST-TZ-001")
//! .dispatched_to("tech-st-tz-001").on_site().create()`, `app.request().line(&part, 2)
//! .for_ticket(t).create()`, `app.loan().ticket(t).line(CMP, 1).create()`. Each goes through the
//! API as a user would and asserts every step it takes, so a scenario reads as its story and a
//! set-up lives in one place.
//!
//! `create()` asserts the object was made and returns its id (or code); `send()` returns the
//! answer for scenarios that check it themselves (a refusal, the allocations).

use chrono::{Duration, NaiveDate};
use echelon::error::AppError;
use serde_json::{json, Value};

use crate::helpers::{Resp, TestApp, PASSWORD};

/// A demo unit of BCD-539WT (12 months on the unit, 120 on the compressor).
const DEMO_UNIT: &str = "RF00000001";
/// Its model.
pub const DEMO_MODEL: &str = "BCD-539WT";
/// The demo's technician at ST-TZ-001.
pub const TECH: &str = "tech-st-tz-001";

impl TestApp {
    /// A new unserialized part (line RF, family TST), unit cost and sale price 10.00 unless
    /// told, with no stock unless counted in with `stock_at`.
    pub fn part(&self) -> PartBuilder<'_> {
        PartBuilder {
            app: self,
            family: "TST".into(),
            cost: "10.00".into(),
            stock: Vec::new(),
            fits: Vec::new(),
        }
    }

    /// A ticket of the demo unit's compressor, taken in by the agent (open, no station).
    pub fn ticket(&self) -> TicketBuilder<'_> {
        TicketBuilder {
            app: self,
            serial: DEMO_UNIT.into(),
            family: Some("CMP".into()),
            category: "repair".into(),
            urgency: "normal".into(),
            station: None,
            intake_by: "agent".into(),
            quote: None,
            dispatch: None,
            on_site: false,
            resolve: None,
            confirm: None,
        }
    }

    /// A parts request of ST-TZ-001, posted by its station user.
    pub fn request(&self) -> RequestBuilder<'_> {
        RequestBuilder { app: self, by: "station-st-tz-001".into(), body: json!({"lines": []}) }
    }

    /// A loan to ST-TZ-001's technician, posted by its station user.
    pub fn loan(&self) -> LoanBuilder<'_> {
        LoanBuilder {
            app: self,
            by: "station-st-tz-001".into(),
            technician: TECH.into(),
            ticket: None,
            lines: Vec::new(),
        }
    }

    /// A goods receipt at a location, posted by admin.
    pub fn receipt(&self, location: &str) -> ReceiptBuilder<'_> {
        ReceiptBuilder { app: self, location: location.into(), lines: Vec::new() }
    }

    /// A product model of the RF line (12 months on the unit, 120 on the compressor), launched
    /// 1000 days before the clock's today unless told.
    pub fn model(&self, code: &str) -> ModelBuilder<'_> {
        let launch = self.state.clock.now().date_naive() - Duration::days(1000);
        ModelBuilder {
            app: self,
            code: code.into(),
            name: "Test refrigerator".into(),
            launch,
            parts: Vec::new(),
            units: Vec::new(),
        }
    }

    /// The station user of a station (`station-st-tz-001` for `ST-TZ-001`), added with the
    /// demo password when the demo has none; returns the username.
    pub async fn station_user(&self, station: &str) -> String {
        let name = format!("station-{}", station.to_lowercase());
        self.user_at(&name, "station", station, true).await;
        name
    }

    /// A warehouse user of a location (`warehouse-<code>`), created if need be.
    pub async fn warehouse_user(&self, location: &str) -> String {
        let name = format!("warehouse-{}", location.to_lowercase());
        self.user_at(&name, "warehouse", location, true).await;
        name
    }

    /// Adds a new technician to a station (with the demo password); a name that exists fails
    /// the set-up.
    pub async fn technician(&self, name: &str, station: &str) {
        self.user_at(name, "technician", station, false).await;
    }

    /// Adds a user of `role` at `station`; an existing one is kept when `may_exist`, else the
    /// set-up fails (a technician's name is new in every scenario).
    async fn user_at(&self, name: &str, role: &str, station: &str, may_exist: bool) {
        let (name, role, station) = (name.to_string(), role.to_string(), station.to_string());
        self.state
            .db
            .write(move |conn| {
                use diesel::prelude::*;
                use echelon::db::schema::users;
                let known: i64 = users::table.filter(users::username.eq(&name)).count().get_result(conn)?;
                assert!(may_exist || known == 0, "user {name} exists already");
                if known > 0 {
                    return Ok(());
                }
                echelon::auth::admin::add_user(conn, &name, &role, Some(&station), None, PASSWORD)
                    .map_err(|e| AppError::internal(anyhow::anyhow!(e)))
            })
            .await
            .unwrap();
    }

    /// The shipments of a request, as `user` lists them (oldest first as the API orders them).
    pub async fn shipments_of(&self, request: i64, user: &str) -> Vec<Value> {
        let list = self.get(&format!("/api/v1/shipments?request_id={request}"), Some(user)).await;
        list.ok()["items"].as_array().unwrap().clone()
    }

    /// courier-1 picks a shipment up and, `after` later on the test's clock, delivers it.
    pub async fn deliver(&self, shipment: i64, after: Duration) {
        let events = format!("/api/v1/shipments/{shipment}/events");
        self.post(&events, "courier-1", json!({"kind": "picked_up"})).await.ok();
        if after > Duration::zero() {
            self.state.clock.advance(after);
        }
        self.post(&events, "courier-1", json!({"kind": "delivered"})).await.ok();
    }

    /// An action on a parts request (`ship`, `receive`, `cancel`, ...) as `user`, with no body.
    /// A receipt comes after the request's shipments are on their way: any still awaiting a
    /// tender is tendered and awarded first (see [`TestApp::dispatch`]).
    pub async fn on_request(&self, id: i64, action: &str, user: &str) -> Resp {
        if action == "receive" {
            self.dispatch(id).await;
        }
        self.post(&format!("/api/v1/parts-requests/{id}/{action}"), user, json!({})).await
    }

    /// Gives every shipment of request `id` still awaiting its tender a courier, as its
    /// centre would: a tender of it alone, a bid of each courier serving its lane, the award
    /// (a station receives only what a courier has).
    pub async fn dispatch(&self, id: i64) {
        for s in self.shipments_of(id, "admin").await {
            if s["status"] != "awaiting_tender" {
                continue;
            }
            let deadline = (self.state.clock.now() + Duration::hours(2)).to_rfc3339();
            let t = self
                .post(
                    "/api/v1/tenders",
                    "admin",
                    json!({"shipment_ids": [s["id"]], "bid_deadline": deadline}),
                )
                .await;
            let tid = t.ok()["id"].as_i64().unwrap();
            for courier in ["courier-1", "courier-2", "courier-3"] {
                let bid = json!({"price": "30.00", "transit_hours": 12});
                self.post(&format!("/api/v1/tenders/{tid}/bids"), courier, bid).await;
            }
            self.post(&format!("/api/v1/tenders/{tid}/award"), "admin", json!({"now": true})).await.ok();
        }
    }
}

pub struct PartBuilder<'a> {
    app: &'a TestApp,
    family: String,
    cost: String,
    stock: Vec<(String, i64)>,
    fits: Vec<String>,
}

impl PartBuilder<'_> {
    /// Unit cost and sale price.
    pub fn cost(mut self, cost: &str) -> Self {
        self.cost = cost.into();
        self
    }

    /// Of a family other than `TST` (the builder's in-warranty tickets are the compressor's
    /// longer term, which covers family `CMP` alone).
    pub fn family(mut self, family: &str) -> Self {
        self.family = family.into();
        self
    }

    /// Counted in at a location (a stock count by admin) once the part exists.
    pub fn stock_at(mut self, location: &str, qty: i64) -> Self {
        self.stock.push((location.into(), qty));
        self
    }

    /// In a model's bill of service parts (one per unit): a part a ticket of that model's units
    /// may request or borrow. `fits_demo_unit()` for the builder's tickets.
    pub fn fits(mut self, model: &str) -> Self {
        self.fits.push(model.into());
        self
    }

    /// Fits the demo unit's model (BCD-539WT), the unit of the builder's tickets.
    pub fn fits_demo_unit(self) -> Self {
        self.fits(DEMO_MODEL)
    }

    /// Creates the part (201) and counts its stock; returns its issued code.
    pub async fn create(self) -> String {
        let r = self
            .app
            .post(
                "/api/v1/parts",
                "admin",
                json!({"line": "RF", "family": self.family, "name": "Test part", "unit_of_measure": "pcs",
                    "unit_cost": self.cost, "sale_price": self.cost, "serialized": false,
                    "core_returnable": false, "weight_grams": 250}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let code = r.json["code"].as_str().unwrap().to_string();
        for model in &self.fits {
            let parts = json!({"parts": [{"part_code": code, "qty_per_unit": 1}]});
            self.app.post(&format!("/api/v1/models/{model}/parts"), "admin", parts).await.ok();
        }
        for (location, qty) in &self.stock {
            self.app.set_stock(location, &code, *qty).await;
        }
        code
    }
}

/// A ticket taken in and walked to the state the scenario needs; each step must succeed.
pub struct TicketBuilder<'a> {
    app: &'a TestApp,
    serial: String,
    family: Option<String>,
    category: String,
    urgency: String,
    station: Option<String>,
    intake_by: String,
    quote: Option<Value>,
    dispatch: Option<Dispatch>,
    on_site: bool,
    resolve: Option<Value>,
    confirm: Option<(Option<String>, Value)>,
}

struct Dispatch {
    by: String,
    station: Option<String>,
    technician: String,
}

impl TicketBuilder<'_> {
    pub fn serial(mut self, serial: &str) -> Self {
        self.serial = serial.into();
        self
    }

    /// The failed component family (`None`: the customer does not say).
    pub fn family(mut self, family: Option<&str>) -> Self {
        self.family = family.map(Into::into);
        self
    }

    pub fn category(mut self, category: &str) -> Self {
        self.category = category.into();
        self
    }

    pub fn urgency(mut self, urgency: &str) -> Self {
        self.urgency = urgency.into();
        self
    }

    /// The station named at intake.
    pub fn at(mut self, station: &str) -> Self {
        self.station = Some(station.into());
        self
    }

    /// Who takes the ticket in (default the agent).
    pub fn taken_in_by(mut self, user: &str) -> Self {
        self.intake_by = user.into();
        self
    }

    /// Quoted by the agent with this body (`{"job_type": .., "parts": [..]}`) and accepted: an
    /// out-of-warranty ticket may then be dispatched.
    pub fn quote_accepted(mut self, quote: Value) -> Self {
        self.quote = Some(quote);
        self
    }

    /// Dispatched by the agent to a technician of the station named at intake.
    pub fn dispatched_to(self, technician: &str) -> Self {
        self.dispatched_by("agent", technician)
    }

    /// Dispatched by `user` to a technician of the station named at intake (the station user
    /// names only the technician; others name the station too).
    pub fn dispatched_by(mut self, user: &str, technician: &str) -> Self {
        self.dispatch = Some(Dispatch { by: user.into(), station: None, technician: technician.into() });
        self
    }

    /// Dispatched by the agent to a station (not named at intake) and its technician.
    pub fn dispatched_at(mut self, station: &str, technician: &str) -> Self {
        self.dispatch = Some(Dispatch {
            by: "agent".into(),
            station: Some(station.into()),
            technician: technician.into(),
        });
        self
    }

    /// The technician has arrived.
    pub fn on_site(mut self) -> Self {
        self.on_site = true;
        self
    }

    /// Resolved by the technician with this body (`{"job_type": .., "cause": .., ..}`).
    pub fn resolved(mut self, body: Value) -> Self {
        self.on_site = true;
        self.resolve = Some(body);
        self
    }

    /// Confirmed by the technician with this body (after `resolved`).
    pub fn confirmed(mut self, body: Value) -> Self {
        self.confirm = Some((None, body));
        self
    }

    /// Confirmed by `user` with this body (after `resolved`).
    pub fn confirmed_by(mut self, user: &str, body: Value) -> Self {
        self.confirm = Some((Some(user.into()), body));
        self
    }

    /// The intake body (`tickets::ticket`'s), for scenarios that post it themselves.
    pub fn body(&self) -> Value {
        crate::tickets::ticket(
            &self.serial,
            self.family.as_deref(),
            &self.category,
            &self.urgency,
            self.station.as_deref(),
        )
    }

    /// Takes the ticket in (201) and walks it through every step asked for; returns its id.
    pub async fn create(self) -> i64 {
        let app = self.app;
        let r = app.post("/api/v1/tickets", &self.intake_by, self.body()).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.json["id"].as_i64().unwrap();
        let act = |action: &'static str, user: String, body: Value| async move {
            let r = app.post(&format!("/api/v1/tickets/{id}/{action}"), &user, body).await;
            r.ok();
            r
        };
        if let Some(quote) = self.quote {
            act("quote", "agent".into(), quote).await;
            act("accept-quote", "agent".into(), json!({})).await;
        }
        let Some(Dispatch { by, station, technician: tech }) = self.dispatch else {
            assert!(!self.on_site, "a ticket is dispatched before the technician arrives");
            return id;
        };
        let station = station.or(self.station).filter(|_| !by.starts_with("station-"));
        let body = match station {
            Some(s) => json!({"station": s, "technician": tech}),
            None => json!({"technician": tech}),
        };
        act("dispatch", by, body).await;
        if self.on_site {
            act("arrive", tech.clone(), json!({})).await;
        }
        if let Some(body) = self.resolve {
            let r = act("resolve", tech.clone(), body).await;
            assert_eq!(r.json["status"], "resolved", "{}", r.text);
        }
        if let Some((by, body)) = self.confirm {
            let r = act("confirm", by.unwrap_or(tech), body).await;
            assert_eq!(r.json["status"], "confirmed", "{}", r.text);
        }
        id
    }
}

pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    by: String,
    body: Value,
}

impl RequestBuilder<'_> {
    pub fn line(mut self, part: &str, qty: i64) -> Self {
        self.body["lines"].as_array_mut().unwrap().push(json!({"part_code": part, "qty": qty}));
        self
    }

    /// Lines as the API takes them (`[{"part_code": .., "qty": ..}]`).
    pub fn lines(mut self, lines: Value) -> Self {
        self.body["lines"] = lines;
        self
    }

    /// For another station, posted by admin on its behalf.
    pub fn station(mut self, station: &str) -> Self {
        self.by = "admin".into();
        self.body["station"] = json!(station);
        self
    }

    pub fn urgency(mut self, urgency: &str) -> Self {
        self.body["urgency"] = json!(urgency);
        self
    }

    pub fn urgent(self) -> Self {
        self.urgency("urgent")
    }

    pub fn for_ticket(mut self, ticket: i64) -> Self {
        self.body["ticket_id"] = json!(ticket);
        self
    }

    /// Any other field of the request body (`source`, ...).
    pub fn with(mut self, field: &str, value: Value) -> Self {
        self.body[field] = value;
        self
    }

    /// Posts the request; the answer as it comes.
    pub async fn send(self) -> Resp {
        self.app.post("/api/v1/parts-requests", &self.by, self.body).await
    }

    /// Posts the request (2xx); returns its id.
    pub async fn create(self) -> i64 {
        let r = self.send().await;
        r.ok()["id"].as_i64().unwrap()
    }
}

pub struct LoanBuilder<'a> {
    app: &'a TestApp,
    by: String,
    technician: String,
    ticket: Option<i64>,
    lines: Vec<Value>,
}

impl LoanBuilder<'_> {
    /// Posted by this user (default ST-TZ-001's station user).
    pub fn by(mut self, user: &str) -> Self {
        self.by = user.into();
        self
    }

    pub fn technician(mut self, technician: &str) -> Self {
        self.technician = technician.into();
        self
    }

    pub fn ticket(mut self, ticket: i64) -> Self {
        self.ticket = Some(ticket);
        self
    }

    pub fn line(mut self, part: &str, qty: i64) -> Self {
        self.lines.push(json!({"part_code": part, "qty": qty}));
        self
    }

    /// A serialized line: these units.
    pub fn serials(mut self, part: &str, serials: &[&str]) -> Self {
        self.lines.push(json!({"part_code": part, "qty": serials.len(), "serials": serials}));
        self
    }

    /// Posts the loan; the answer as it comes.
    pub async fn send(self) -> Resp {
        let mut body = json!({"technician": self.technician, "lines": self.lines});
        if let Some(t) = self.ticket {
            body["ticket_id"] = json!(t);
        }
        self.app.post("/api/v1/loans", &self.by, body).await
    }

    /// Posts the loan (201); returns its id.
    pub async fn create(self) -> i64 {
        let r = self.send().await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json["id"].as_i64().unwrap()
    }
}

pub struct ReceiptBuilder<'a> {
    app: &'a TestApp,
    location: String,
    lines: Vec<Value>,
}

impl ReceiptBuilder<'_> {
    /// Units of an unserialized part.
    pub fn line(mut self, part: &str, qty: i64) -> Self {
        self.lines.push(json!({"part_code": part, "qty": qty}));
        self
    }

    /// Serialized units of a part.
    pub fn serials(mut self, part: &str, serials: &[&str]) -> Self {
        self.lines.push(json!({"part_code": part, "qty": serials.len(), "serials": serials}));
        self
    }

    /// Posts the receipt as admin (201).
    pub async fn create(self) {
        let r = self
            .app
            .post("/api/v1/receipts", "admin", json!({"location": self.location, "lines": self.lines}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

pub struct ModelBuilder<'a> {
    app: &'a TestApp,
    code: String,
    name: String,
    launch: NaiveDate,
    parts: Vec<String>,
    units: Vec<(String, NaiveDate)>,
}

impl ModelBuilder<'_> {
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    pub fn launched(mut self, day: NaiveDate) -> Self {
        self.launch = day;
        self
    }

    /// A compatible part, one per unit.
    pub fn part(mut self, code: &str) -> Self {
        self.parts.push(code.into());
        self
    }

    /// A unit of the model shipped on a day (in Zhejiang).
    pub fn unit(mut self, serial: &str, shipped: NaiveDate) -> Self {
        self.units.push((serial.into(), shipped));
        self
    }

    /// Creates the model (201), its compatibility (2xx) and its units (201).
    pub async fn create(self) {
        let app = self.app;
        let model = json!({"code": self.code, "line": "RF", "name": self.name,
            "launch_date": self.launch.to_string(), "warranty_months": 12, "component_warranty": {"CMP": 120}});
        let r = app.post("/api/v1/models", "admin", model).await;
        assert_eq!(r.status, 201, "{}", r.text);
        if !self.parts.is_empty() {
            let parts: Vec<Value> =
                self.parts.iter().map(|p| json!({"part_code": p, "qty_per_unit": 1})).collect();
            app.post(&format!("/api/v1/models/{}/parts", self.code), "admin", json!({"parts": parts}))
                .await
                .ok();
        }
        for (serial, day) in &self.units {
            let unit = json!({"serial": serial, "model": self.code, "ship_date": day.to_string(),
                "region": "Zhejiang"});
            let r = app.post("/api/v1/units", "admin", unit).await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    }
}
