//! Finance settlement (spec section 10): a hand-built month whose export matches figures
//! computed by hand, the CSV and XLSX read back with the same totals, period close with a late
//! adjustment landing in the next period, and scoping.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

use crate::both;
use crate::builders::DEMO_MODEL;
use crate::helpers::{Resp, TestApp};
use crate::tickets::{act, CMP};

const TZ: &str = "ST-TZ-001";
const SX: &str = "ST-SX-001";
const TZ_TECH: &str = "tech-st-tz-001";
const SX_TECH: &str = "tech-st-sx-001";
const GSK: &str = "RF-GSK-00221D";
/// the stations' names (seed/locations.csv)
const TZ_NAME: &str = "Taizhou service station 1";
const SX_NAME: &str = "Shaoxing service station 1";
/// the factory record of RF00000001's compressor
const CMP_SERIAL: &str = "CMP6165341773";

/// The month after the clock's current one: every event of the test happens inside it.
pub(crate) fn next_month(app: &TestApp) -> NaiveDate {
    let today = app.state.clock.now().date_naive();
    today.with_day(1).unwrap().checked_add_months(Months::new(1)).unwrap()
}

pub(crate) fn period(first: NaiveDate) -> String {
    format!("{:04}-{:02}", first.year(), first.month())
}

/// Moves the clock forward to 10:00 on `day` of the month starting `first`.
pub(crate) fn move_to(app: &TestApp, first: NaiveDate, day: u32) {
    let target: NaiveDateTime = first.with_day(day).unwrap().and_hms_opt(10, 0, 0).unwrap();
    let now = app.state.clock.now().naive_utc();
    assert!(target > now, "the clock only moves forward");
    app.state.clock.advance(target - now);
}

/// The demo unit's model takes two of the gasket here (its two doors), so that one repair fits two.
pub(crate) async fn two_gaskets_per_unit(app: &TestApp) {
    let parts = json!({"parts": [{"part_code": GSK, "qty_per_unit": 2}]});
    app.post(&format!("/api/v1/models/{DEMO_MODEL}/parts"), "admin", parts).await.ok();
}

/// A ticket of `station` worked by `tech` up to the technician on site. In warranty: a
/// compressor fault; out of warranty: a door gasket, quoted (with `parts`) and accepted.
pub(crate) async fn worked(
    app: &TestApp,
    station: &str,
    tech: &str,
    in_warranty: bool,
    job: &str,
    parts: Value,
) -> i64 {
    let ticket = app.ticket().at(station);
    let ticket = if in_warranty {
        ticket
    } else {
        ticket.family(Some("GSK")).quote_accepted(json!({"job_type": job, "parts": parts}))
    };
    ticket.dispatched_to(tech).on_site().create().await
}

pub(crate) async fn finish(app: &TestApp, id: i64, tech: &str, job: &str, parts: Value) {
    let r =
        act(app, id, "resolve", tech, json!({"job_type": job, "cause": "worn", "parts_used": parts})).await;
    assert_eq!(r.ok()["status"], "resolved");
    assert_eq!(act(app, id, "confirm", tech, json!({"note": "signed"})).await.ok()["status"], "confirmed");
}

pub(crate) async fn reconcile(app: &TestApp, loan: i64, how: &str, tech: &str, body: Value) {
    let r = app.post(&format!("/api/v1/loans/{loan}/lines/1/{how}"), tech, body).await;
    assert!(r.status == 200, "{how}: {}", r.text);
}

/// Builds the month: returns its first day. By hand (rates from seed/tiers.csv; CMP costs
/// 365.20, the gasket 48.80 and sells at 73.00):
/// - ST-TZ-001, tier B until the 16th, then A:
///   - day 2, in warranty, repair, one compressor: labour B 100.00, warranty parts 365.20
///   - day 2, out of warranty, two gaskets sold: owes 146.00 (at cost 97.60)
///   - day 20, in warranty, repair, no parts: labour A 120.00
///   - adjustment +15.00
///   - net 100.00 + 120.00 - 146.00 + 15.00 = 89.00
/// - ST-SX-001, tier C:
///   - day 2, in warranty, inspection: labour 30.00; a gasket lent and never returned,
///     overdue after tier C's 10 days (day 12): charged 48.80
///   - net 30.00 - 48.80 = -18.80
/// - total net 70.20; the parts at cost (462.80) equal the ledger's consumption (the
///   compressor core-returned and the gaskets paid by fee in the month).
async fn build_month(app: &TestApp) -> NaiveDate {
    let first = next_month(app);
    app.technician(SX_TECH, SX).await;
    two_gaskets_per_unit(app).await;
    app.set_stock(TZ, GSK, 10).await;
    app.set_stock(SX, GSK, 5).await;
    app.receipt(TZ).serials(CMP, &["NEWCMP0001"]).create().await;
    // the regrading, dated ahead to the 16th
    let regrade = json!({"tier": "A", "effective_from": first.with_day(16).unwrap().to_string(), "reason": "new workshop"});
    app.put(&format!("/api/v1/locations/{TZ}/tier"), "admin", regrade).await.ok();

    move_to(app, first, 2);
    let t1 = worked(app, TZ, TZ_TECH, true, "repair", json!([])).await;
    let l1 =
        app.loan().by("admin").technician(TZ_TECH).ticket(t1).serials(CMP, &["NEWCMP0001"]).create().await;
    finish(app, t1, TZ_TECH, "repair", json!([{"part_code": CMP, "qty": 1}])).await;
    reconcile(app, l1, "core-return", TZ_TECH, json!({"serial": CMP_SERIAL})).await;

    let gaskets = json!([{"part_code": GSK, "qty": 2}]);
    let t2 = worked(app, TZ, TZ_TECH, false, "repair", gaskets.clone()).await;
    let l2 = app.loan().by("admin").technician(TZ_TECH).ticket(t2).line(GSK, 2).create().await;
    finish(app, t2, TZ_TECH, "repair", gaskets).await;
    reconcile(app, l2, "fee", TZ_TECH, json!({})).await;

    let t3 = worked(app, SX, SX_TECH, true, "inspection", json!([])).await;
    app.loan().by("admin").technician(SX_TECH).ticket(t3).line(GSK, 1).create().await;
    finish(app, t3, SX_TECH, "inspection", json!([])).await;

    move_to(app, first, 20);
    let t4 = worked(app, TZ, TZ_TECH, true, "repair", json!([])).await;
    finish(app, t4, TZ_TECH, "repair", json!([])).await;
    let adj =
        json!({"station": TZ, "period": period(first), "amount": "15.00", "reason": "call-out fee missed"});
    let a = app.post("/api/v1/settlements/adjustments", "finance", adj).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["period"], period(first));
    first
}

pub(crate) fn station<'a>(out: &'a Value, code: &str) -> &'a Value {
    out["stations"].as_array().unwrap().iter().find(|s| s["station"] == code).unwrap_or(&Value::Null)
}

async fn csv_of(app: &TestApp, path: &str, user: &str) -> Resp {
    let r = app.get(path, Some(user)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type().starts_with("text/csv"), "{}", r.content_type());
    r
}

/// (row_type, station, kind) -> the row as a map, from the CSV.
pub fn parse_csv(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()
        })
        .collect()
}

both!(a_hand_built_month_settles_to_the_figures_computed_by_hand, |app| async {
    let first = build_month(&app).await;
    let p = period(first);
    move_to(&app, first.checked_add_months(Months::new(1)).unwrap(), 2);

    let r = app.get(&format!("/api/v1/settlements?period={p}"), Some("finance")).await;
    let out = r.ok();
    assert_eq!(out["status"], "open");
    let tz = station(out, TZ);
    assert_eq!(
        (&tz["labour"], &tz["parts_sold"], &tz["warranty_parts"], &tz["overdue_cores"], &tz["adjustments"]),
        (&json!("220.00"), &json!("146.00"), &json!("365.20"), &json!("0.00"), &json!("15.00")),
        "{}",
        r.text
    );
    assert_eq!(
        (&tz["net_payable"], &tz["tickets"], &tz["parts_at_cost"]),
        (&json!("89.00"), &json!(3), &json!("462.80"))
    );
    let sx = station(out, SX);
    assert_eq!(
        (&sx["labour"], &sx["overdue_cores"], &sx["net_payable"]),
        (&json!("30.00"), &json!("48.80"), &json!("-18.80"))
    );
    assert_eq!(out["stations"].as_array().unwrap().len(), 2, "no other station has lines: {}", r.text);
    assert_eq!(out["totals"]["net_payable"], "70.20");
    assert_eq!(out["balanced"], true, "{}", r.text);
    let ledger =
        out["reconciliation"].as_array().unwrap().iter().find(|c| c["name"] == "ledger_consumption").unwrap();
    assert_eq!((&ledger["expected"], &ledger["actual"]), (&json!("462.80"), &json!("462.80")));

    // the CSV's detail rows: the regrading splits ST-TZ-001's repairs between B and A
    let csv = csv_of(&app, &format!("/api/v1/settlements?period={p}&format=csv"), "finance").await;
    let rows = parse_csv(&csv.text);
    let tickets: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r["row_type"] == "detail" && r["kind"] == "ticket" && r["station"] == TZ)
        .map(|r| (r["tier"].clone(), r["warranty"].clone(), r["labour"].clone()))
        .collect();
    assert_eq!(
        tickets,
        vec![
            ("B".into(), "in_warranty".into(), "100.00".into()),
            ("B".into(), "out_of_warranty".into(), "0.00".into()),
            ("A".into(), "in_warranty".into(), "120.00".into())
        ]
    );
    let core = rows.iter().find(|r| r["kind"] == "core_charge").unwrap();
    assert_eq!((core["station"].as_str(), core["overdue_cores"].as_str()), (SX, "48.80"));
    // each row names its station beside the code, and says the period is open
    assert_eq!((tz["station_name"].as_str(), sx["station_name"].as_str()), (Some(TZ_NAME), Some(SX_NAME)));
    for r in rows.iter().filter(|r| r["row_type"] == "detail" || r["row_type"] == "summary") {
        let name = if r["station"] == TZ { TZ_NAME } else { SX_NAME };
        assert_eq!((r["station_name"].as_str(), r["period_status"].as_str()), (name, "open"), "{r:?}");
    }
    assert!(rows.iter().all(|r| r["period_status"] == "open"), "every row carries the state");
    assert_eq!((out["status_detail"].as_str(), out["covered_by"].as_str()), (Some("open"), None));
    assert_eq!(core["date"], first.with_day(12).unwrap().to_string(), "overdue 10 days after the 2nd");
    // the same month with an Accept header
    let token = app.token("finance").await;
    let by_accept = app
        .client
        .get(format!("{}/api/v1/settlements?period={p}", app.base))
        .bearer_auth(&token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(by_accept, csv.text);
});

async fn xlsx_bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let token = app.token("finance").await;
    let resp = app.client.get(format!("{}{path}", app.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    resp.bytes().await.unwrap().to_vec()
}

fn cents(s: &str) -> i64 {
    let neg = s.starts_with('-');
    let (a, b) = s.trim_start_matches('-').split_once('.').unwrap();
    let v = a.parse::<i64>().unwrap() * 100 + b.parse::<i64>().unwrap();
    if neg {
        -v
    } else {
        v
    }
}

both!(the_csv_and_the_xlsx_read_back_with_the_same_totals, |app| async {
    let first = build_month(&app).await;
    let p = period(first);
    move_to(&app, first.checked_add_months(Months::new(1)).unwrap(), 2);
    let csv = csv_of(&app, &format!("/api/v1/settlements?period={p}&format=csv"), "finance").await;
    let rows = parse_csv(&csv.text);
    // each station's summary is the sum of its detail rows; the total the sum of the summaries
    let mut summaries = 0;
    for s in rows.iter().filter(|r| r["row_type"] == "summary") {
        let details: i64 = rows
            .iter()
            .filter(|r| r["row_type"] == "detail" && r["station"] == s["station"])
            .map(|r| cents(&r["net_payable"]))
            .sum();
        assert_eq!(details, cents(&s["net_payable"]), "{}", s["station"]);
        summaries += cents(&s["net_payable"]);
    }
    let total = rows.iter().find(|r| r["row_type"] == "total").unwrap();
    assert_eq!((summaries, cents(&total["net_payable"])), (7020, 7020));
    let checks: Vec<&str> =
        rows.iter().filter(|r| r["row_type"] == "reconciliation").map(|r| r["note"].as_str()).collect();
    assert!(checks.len() >= 5 && checks.iter().all(|c| *c == "ok"), "{checks:?}");

    // the XLSX: numbers as numbers, dates as dates, the same totals
    let bytes = xlsx_bytes(&app, &format!("/api/v1/settlements?period={p}&format=xlsx")).await;
    use calamine::{Data, Reader};
    let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("the XLSX opens");
    let sheet = wb.worksheet_range("Settlement").expect("the Settlement sheet");
    let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut xlsx_summaries = 0;
    let mut xlsx_total = None;
    let mut saw_date = false;
    for row in sheet.rows().skip(1) {
        assert_eq!(row[col("period_status")], Data::String("open".into()), "{row:?}");
        let name = match row[col("station")].to_string().as_str() {
            TZ => TZ_NAME,
            SX => SX_NAME,
            _ => "",
        };
        assert_eq!(row[col("station_name")].to_string(), name, "{row:?}");
        let net = match &row[col("net_payable")] {
            Data::Float(f) => (f * 100.0).round() as i64,
            other => panic!("net_payable is not a number: {other:?}"),
        };
        match row[col("row_type")].to_string().as_str() {
            "summary" => xlsx_summaries += net,
            "total" => xlsx_total = Some(net),
            "detail" => {
                saw_date |= matches!(row[col("date")], Data::DateTime(_));
                assert!(matches!(row[col("parts_qty")], Data::Float(_)));
            }
            other => panic!("unexpected row type {other}"),
        }
    }
    assert!(saw_date, "detail dates are spreadsheet dates");
    assert_eq!((xlsx_summaries, xlsx_total), (7020, Some(7020)));
    let recon = wb.worksheet_range("Reconciliation").expect("the Reconciliation sheet");
    assert!(recon.rows().skip(1).all(|r| r[3] == Data::Bool(true)), "{recon:?}");
    // counts and amounts are numbers on the Reconciliation sheet too
    for r in recon.rows().skip(1) {
        assert!(matches!((&r[1], &r[2]), (Data::Float(_), Data::Float(_))), "{r:?}");
    }
    // every column of both sheets has a width, none narrower than its header
    let bytes = xlsx_bytes(&app, &format!("/api/v1/settlements?period={p}&format=xlsx")).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    for (sheet, header) in [
        ("xl/worksheets/sheet1.xml", header),
        ("xl/worksheets/sheet2.xml", vec!["check".into(), "expected".into(), "actual".into(), "ok".into()]),
    ] {
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(sheet).unwrap(), &mut xml).unwrap();
        let widths = column_widths(&xml);
        for (c, h) in header.iter().enumerate() {
            let w = widths.get(&(c as u32 + 1)).copied().unwrap_or(0.0);
            assert!(w >= h.len() as f64, "{sheet}: column {h} is {w} wide: {xml:.400}");
        }
    }
});

/// Each column's width from a worksheet's `<cols>`, by 1-based column number.
fn column_widths(xml: &str) -> std::collections::HashMap<u32, f64> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..].split('"').next()?.to_string())
    };
    let mut out = std::collections::HashMap::new();
    for tag in xml.split("<col ").skip(1).map(|t| format!(" {}", t.split('>').next().unwrap())) {
        let tag = tag.as_str();
        let (Some(min), Some(max), Some(width)) = (attr(tag, "min"), attr(tag, "max"), attr(tag, "width"))
        else {
            continue;
        };
        for c in min.parse::<u32>().unwrap()..=max.parse::<u32>().unwrap() {
            out.insert(c, width.parse().unwrap());
        }
    }
    out
}

both!(the_csv_opens_in_a_spreadsheet_as_utf_8_without_running_a_formula, |app| async {
    let first = build_month(&app).await;
    let p = period(first);
    let adj = json!({"station": TZ, "period": p, "amount": "-5.00",
                     "reason": "=HYPERLINK(\"http://evil.example\",\"退回 claim\")"});
    app.post("/api/v1/settlements/adjustments", "finance", adj).await.ok();
    move_to(&app, first.checked_add_months(Months::new(1)).unwrap(), 2);
    let token = app.token("finance").await;
    let raw = |query: &'static str| {
        let url = format!("{}/api/v1/settlements?period={p}&format=csv{query}", app.base);
        let token = token.clone();
        let client = app.client.clone();
        async move { client.get(url).bearer_auth(token).send().await.unwrap().bytes().await.unwrap().to_vec() }
    };
    let with_bom = raw("").await;
    assert!(with_bom.starts_with(b"\xEF\xBB\xBFperiod,"), "{:?}", &with_bom[..12]);
    let without = raw("&bom=false").await;
    assert!(without.starts_with(b"period,"));
    assert_eq!(&with_bom[3..], &without[..], "the mark is the only difference");
    let rows = parse_csv(std::str::from_utf8(&without).unwrap());
    let notes: Vec<&str> =
        rows.iter().map(|r| r["note"].as_str()).filter(|n| n.contains("HYPERLINK")).collect();
    assert_eq!(notes, vec!["'=HYPERLINK(\"http://evil.example\",\"退回 claim\")"]);
    // amounts stay numbers: a negative one keeps its sign
    let adjustment = rows.iter().find(|r| r["note"].contains("HYPERLINK")).unwrap();
    assert_eq!(adjustment["adjustments"], "-5.00");
});

both!(a_closed_period_never_changes_and_a_late_adjustment_lands_in_the_next, |app| async {
    let first = build_month(&app).await;
    let p = period(first);
    let next_first = first.checked_add_months(Months::new(1)).unwrap();
    let next = period(next_first);
    // not ended yet: 422
    let early = app.post(&format!("/api/v1/periods/{p}/close"), "finance", json!({})).await;
    assert_eq!(early.problem(422)["type"], "/problems/period_not_ended");

    move_to(&app, next_first, 2);
    let url = format!("/api/v1/settlements?period={p}&format=csv");
    let before = csv_of(&app, &url, "finance").await.text;
    app.post(&format!("/api/v1/periods/{p}/close"), "station-st-tz-001", json!({})).await.problem(403);
    let c = app.post(&format!("/api/v1/periods/{p}/close"), "finance", json!({})).await;
    assert_eq!(
        (c.ok()["net_payable"].as_str(), c.json["next_open_period"].as_str()),
        (Some("70.20"), Some(next.as_str()))
    );
    let again = app.post(&format!("/api/v1/periods/{p}/close"), "finance", json!({})).await;
    assert_eq!(again.problem(409)["type"], "/problems/period_closed");
    // a regrading dated inside the closed month would reprice its labour: refused, and the
    // history keeps no trace of it; from the first open day it is taken
    let back =
        |day: NaiveDate| json!({"tier": "C", "effective_from": day.to_string(), "reason": "backdated"});
    let r =
        app.put(&format!("/api/v1/locations/{TZ}/tier"), "admin", back(first.with_day(10).unwrap())).await;
    assert_eq!(r.problem(409)["type"], "/problems/period_closed", "{}", r.text);
    assert_eq!(r.json["earliest"], next_first.to_string());
    let history = app.get(&format!("/api/v1/locations/{TZ}/tier-history"), Some("admin")).await;
    assert!(!history.text.contains("backdated"), "{}", history.text);
    let skip = period(next_first.checked_add_months(Months::new(2)).unwrap());
    let out_of_order = app.post(&format!("/api/v1/periods/{skip}/close"), "finance", json!({})).await;
    assert_eq!(out_of_order.problem(409)["next_to_close"], next);
    let after_close = csv_of(&app, &url, "finance").await.text;
    // the same figures; only the period's state says it is closed now
    let j = app.get(&format!("/api/v1/settlements?period={p}"), Some("finance")).await;
    let closed_state = j.ok()["status_detail"].as_str().unwrap().to_string();
    let closed_at: chrono::DateTime<chrono::Utc> = c.json["closed_at"].as_str().unwrap().parse().unwrap();
    let closed_at = closed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(closed_state, format!("closed at {closed_at} by finance"));
    assert_eq!((j.json["closed_by"].as_str(), j.json["covered_by"].as_str()), (Some("finance"), None));
    let without_state = |text: &str, state: &str| -> Vec<std::collections::HashMap<String, String>> {
        parse_csv(text)
            .into_iter()
            .map(|mut r| {
                assert_eq!(r.remove("period_status").as_deref(), Some(state), "{r:?}");
                r
            })
            .collect()
    };
    assert_eq!(
        without_state(&after_close, &closed_state),
        without_state(&before, "open"),
        "the export reads the same before and after the close"
    );
    let xlsx_url = format!("/api/v1/settlements?period={p}&format=xlsx");
    let xlsx_closed = xlsx_bytes(&app, &xlsx_url).await;

    // a late adjustment for the closed month lands in the next open one
    let late = json!({"station": SX, "period": p, "amount": "-20.00", "reason": "parts claimed twice"});
    let a = app.post("/api/v1/settlements/adjustments", "finance", late).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(
        (a.json["requested_period"].as_str(), a.json["period"].as_str()),
        (Some(p.as_str()), Some(next.as_str()))
    );
    // and the overdue gasket comes back: credited in the month it returns
    let loans = app.get("/api/v1/loans?overdue=true", Some("admin")).await;
    let sx_loan = loans.ok()["items"].as_array().unwrap().iter().find(|l| l["station"] == SX).unwrap()["id"]
        .as_i64()
        .unwrap();
    reconcile(&app, sx_loan, "unused-return", SX_TECH, json!({})).await;

    let closed = csv_of(&app, &url, "finance").await.text;
    assert_eq!(closed, after_close, "the closed export is byte-identical");
    assert!(xlsx_bytes(&app, &xlsx_url).await == xlsx_closed, "the closed XLSX is byte-identical too");
    let j = app.get(&format!("/api/v1/settlements?period={p}"), Some("finance")).await;
    assert_eq!(
        (j.ok()["status"].as_str(), j.json["totals"]["net_payable"].as_str()),
        (Some("closed"), Some("70.20"))
    );
    let n = app.get(&format!("/api/v1/settlements?period={next}"), Some("finance")).await;
    let sx = station(n.ok(), SX);
    assert_eq!(
        (&sx["adjustments"], &sx["overdue_cores"], &sx["net_payable"]),
        (&json!("-20.00"), &json!("-48.80"), &json!("28.80")),
        "{}",
        n.text
    );
    assert!(station(&n.json, TZ).is_null(), "nothing of the closed month is settled twice: {}", n.text);
    // the adjustment's row: the period it corrects, the day it was posted and the period it
    // landed in, each its own column
    let posted_on = next_first.with_day(2).unwrap();
    let posted_at = a.json["posted_at"].as_str().unwrap();
    assert!(posted_at.starts_with(&posted_on.to_string()), "{}", a.text);
    let next_csv = format!("/api/v1/settlements?period={next}&format=csv");
    let adjustment_row = |rows: &[std::collections::HashMap<String, String>]| {
        let adj = rows.iter().find(|r| r["kind"] == "adjustment").unwrap().clone();
        (adj["period"].clone(), adj["adjusts_period"].clone(), adj["posted_on"].clone(), adj["note"].clone())
    };
    let rows = parse_csv(&csv_of(&app, &next_csv, "finance").await.text);
    let (landed, adjusts, posted, note) = adjustment_row(&rows);
    assert_eq!((landed.as_str(), adjusts.as_str()), (next.as_str(), p.as_str()));
    assert_eq!(posted, posted_on.to_string());
    assert!(note.contains(&format!("for {p}")), "{note}");
    let xlsx_adjustment = |bytes: Vec<u8>| {
        use calamine::{Data, Reader};
        let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("the XLSX opens");
        let sheet = wb.worksheet_range("Settlement").expect("the Settlement sheet");
        let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let row =
            sheet.rows().find(|r| r[col("kind")] == Data::String("adjustment".into())).unwrap().to_vec();
        let posted = match &row[col("posted_on")] {
            Data::DateTime(d) => d.as_f64(),
            other => panic!("posted_on is not a date: {other:?}"),
        };
        (row[col("period")].to_string(), row[col("adjusts_period")].to_string(), posted)
    };
    let excel_day = (posted_on - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days() as f64;
    let next_xlsx = format!("/api/v1/settlements?period={next}&format=xlsx");
    assert_eq!(xlsx_adjustment(xlsx_bytes(&app, &next_xlsx).await), (next.clone(), p.clone(), excel_day));

    // the next month closes once it ends, taking the late items with it
    move_to(&app, next_first.checked_add_months(Months::new(1)).unwrap(), 1);
    let c2 = app.post(&format!("/api/v1/periods/{next}/close"), "admin", json!({})).await;
    assert_eq!(c2.ok()["net_payable"], "28.80");
    // its snapshot keeps the three apart
    let rows = parse_csv(&csv_of(&app, &next_csv, "finance").await.text);
    assert_eq!(adjustment_row(&rows), (next.clone(), p.clone(), posted_on.to_string(), note));
    assert_eq!(xlsx_adjustment(xlsx_bytes(&app, &next_xlsx).await), (next.clone(), p.clone(), excel_day));
});

both!(a_station_reads_only_its_own_settlement, |app| async {
    let first = build_month(&app).await;
    let p = period(first);
    let own = app.get(&format!("/api/v1/settlements?period={p}"), Some("station-st-tz-001")).await;
    let stations = own.ok()["stations"].as_array().unwrap().clone();
    assert_eq!(stations.len(), 1);
    assert_eq!(stations[0]["station"], TZ);
    assert_eq!(own.json["station"], TZ);
    let other =
        app.get(&format!("/api/v1/settlements?period={p}&station={SX}"), Some("station-st-tz-001")).await;
    other.problem(404);
    let csv = csv_of(&app, &format!("/api/v1/settlements?period={p}&format=csv"), "station-st-tz-001").await;
    assert!(parse_csv(&csv.text).iter().all(|r| r["station"] == TZ), "{}", csv.text);
    for user in [TZ_TECH, "agent", "warehouse-hq", "courier-1"] {
        app.get(&format!("/api/v1/settlements?period={p}"), Some(user)).await.problem(403);
    }
    let adj = json!({"station": TZ, "period": p, "amount": "5.00", "reason": "x"});
    app.post("/api/v1/settlements/adjustments", "station-st-tz-001", adj).await.problem(403);
    // bad input: clear problems, nothing changes
    app.get("/api/v1/settlements?period=2026-13", Some("finance")).await.problem(422);
    app.get(&format!("/api/v1/settlements?period={p}&station=NOPE"), Some("finance")).await.problem(404);
    let zero = json!({"station": TZ, "period": p, "amount": "0.00", "reason": "x"});
    app.post("/api/v1/settlements/adjustments", "finance", zero).await.problem(422);
    let nobody = json!({"station": "RC-HZ", "period": p, "amount": "1.00", "reason": "x"});
    app.post("/api/v1/settlements/adjustments", "finance", nobody).await.problem(404);
    app.post("/api/v1/periods/2026-1/close", "finance", json!({})).await.problem(422);
});

both!(a_month_covered_by_a_later_close_says_so_everywhere_and_names_where_its_items_went, |app| async {
    // the hand-built month A, then B closed first while A never was
    let first = build_month(&app).await;
    let a = period(first);
    let b_first = first.checked_add_months(Months::new(1)).unwrap();
    let c_first = b_first.checked_add_months(Months::new(1)).unwrap();
    let (b, c) = (period(b_first), period(c_first));
    move_to(&app, c_first, 2);
    let closed = app.post(&format!("/api/v1/periods/{b}/close"), "finance", json!({})).await;
    assert_eq!(closed.ok()["next_open_period"], c);
    let closed_at: chrono::DateTime<chrono::Utc> =
        closed.json["closed_at"].as_str().unwrap().parse().unwrap();
    let closed_at = closed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let state =
        format!("closed as part of {b} (closed at {closed_at} by finance); its items are settled in {c}");

    // the statement: closed, covered by B's close, its items in C; no lines, balanced
    let r = app.get(&format!("/api/v1/settlements?period={a}"), Some("finance")).await;
    let out = r.ok();
    assert_eq!(
        (out["status"].as_str(), out["covered_by"].as_str(), out["landed_in"].as_str()),
        (Some("closed"), Some(b.as_str()), Some(c.as_str())),
        "{}",
        r.text
    );
    assert_eq!(
        (out["status_detail"].as_str(), out["closed_by"].as_str()),
        (Some(state.as_str()), Some("finance"))
    );
    let at: chrono::DateTime<chrono::Utc> = out["closed_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), closed_at, "when B was closed");
    assert_eq!((out["stations"].as_array().unwrap().len(), &out["totals"]["lines"]), (0, &json!(0)));
    assert_eq!(out["balanced"], true, "{}", r.text);
    // B itself is closed, by its own close
    let own = app.get(&format!("/api/v1/settlements?period={b}"), Some("finance")).await;
    assert_eq!(
        (own.ok()["status"].as_str(), own.json["covered_by"].as_str(), own.json["landed_in"].as_str()),
        (Some("closed"), None, None)
    );

    // the files say the same on every row
    let csv = csv_of(&app, &format!("/api/v1/settlements?period={a}&format=csv"), "finance").await;
    let rows = parse_csv(&csv.text);
    assert!(rows.iter().any(|r| r["row_type"] == "total"), "{}", csv.text);
    assert!(rows.iter().all(|r| r["period_status"] == state), "{}", csv.text);
    assert!(rows.iter().all(|r| r["row_type"] != "detail"), "no lines: {}", csv.text);
    assert!(
        rows.iter().filter(|r| r["row_type"] == "reconciliation").all(|r| r["note"] == "ok"),
        "{}",
        csv.text
    );
    let bytes = xlsx_bytes(&app, &format!("/api/v1/settlements?period={a}&format=xlsx")).await;
    {
        use calamine::{Data, Reader};
        let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("the XLSX opens");
        let sheet = wb.worksheet_range("Settlement").expect("the Settlement sheet");
        let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        let at = header.iter().position(|h| h == "period_status").expect("a period_status column");
        let cells: Vec<&Data> = sheet.rows().skip(1).map(|r| &r[at]).collect();
        assert!(!cells.is_empty() && cells.iter().all(|c| **c == Data::String(state.clone())), "{cells:?}");
    }

    // closing it: 409, saying the same
    let again = app.post(&format!("/api/v1/periods/{a}/close"), "finance", json!({})).await;
    let problem = again.problem(409);
    assert_eq!(problem["type"], "/problems/period_closed");
    assert_eq!(problem["detail"], format!("period {a} is already {state}"));
    assert_eq!(
        (problem["covered_by"].as_str(), problem["landed_in"].as_str(), problem["closed_by"].as_str()),
        (Some(b.as_str()), Some(c.as_str()), Some("finance"))
    );

    // and its items are in C's statement, with their own dates
    let n = app.get(&format!("/api/v1/settlements?period={c}"), Some("finance")).await;
    let n = n.ok();
    assert_eq!(
        (&station(n, TZ)["net_payable"], &station(n, SX)["net_payable"], &n["status"]),
        (&json!("89.00"), &json!("-18.80"), &json!("open")),
        "{n}"
    );
    // and reconciled there: their tickets' parts against their consumption in the ledger
    assert_eq!(n["balanced"], true, "{n}");
    let rows =
        parse_csv(&csv_of(&app, &format!("/api/v1/settlements?period={c}&format=csv"), "finance").await.text);
    let from_a: Vec<&std::collections::HashMap<String, String>> =
        rows.iter().filter(|r| r["row_type"] == "detail" && r["date"].starts_with(&a)).collect();
    assert_eq!(from_a.len(), 6, "4 tickets, the overdue core and the adjustment: {rows:?}");
    assert!(from_a.iter().all(|r| r["period"] == c), "{from_a:?}");
    let late = from_a.iter().find(|r| r["kind"] == "ticket").unwrap();
    assert!(late["note"].contains(&format!("dated in closed period {a}")), "{late:?}");
});

both!(
    a_part_consumed_on_the_last_day_for_a_ticket_completed_on_the_first_reconciles_in_the_later_month,
    |app| {
        async {
            let first = next_month(&app);
            let next = first.checked_add_months(Months::new(1)).unwrap();
            two_gaskets_per_unit(&app).await;
            app.set_stock(TZ, GSK, 10).await;
            // the gaskets go in (the loan line paid by fee: consumed) on the month's last day ...
            move_to(&app, first, (next - chrono::Duration::days(1)).day());
            let gaskets = json!([{"part_code": GSK, "qty": 2}]);
            let t = worked(&app, TZ, TZ_TECH, false, "repair", gaskets.clone()).await;
            let l = app.loan().by("admin").technician(TZ_TECH).ticket(t).line(GSK, 2).create().await;
            reconcile(&app, l, "fee", TZ_TECH, json!({})).await;
            // ... and the ticket is completed on the next month's first
            move_to(&app, next, 1);
            finish(&app, t, TZ_TECH, "repair", gaskets).await;
            // the ticket settles in the later month, and the ledger's consumption with it (2 x 48.80)
            for (month, cost) in [(first, "0.00"), (next, "97.60")] {
                let r =
                    app.get(&format!("/api/v1/settlements?period={}", period(month)), Some("finance")).await;
                let checks = r.ok()["reconciliation"].as_array().unwrap().clone();
                let ledger = checks.iter().find(|c| c["name"] == "ledger_consumption").unwrap();
                assert_eq!(
                    (&ledger["expected"], &ledger["actual"]),
                    (&json!(cost), &json!(cost)),
                    "{}",
                    r.text
                );
                assert!(checks.iter().all(|c| c["ok"] == true), "{}: {checks:#?}", period(month));
            }
        }
    }
);

both!(a_parts_cost_changed_after_its_use_leaves_the_ledger_check_ok, |app| async {
    // a compressor fitted on a warranty ticket at 365.20: its cost is raised between the resolve
    // and the core return (the consume movement), and again before finance's export. The ledger
    // consumed what the ticket used, so the check stays ok, at the cost the ticket recorded.
    let first = next_month(&app);
    app.receipt(TZ).serials(CMP, &["NEWCMP0001"]).create().await;
    move_to(&app, first, 2);
    let t = worked(&app, TZ, TZ_TECH, true, "repair", json!([])).await;
    let loan =
        app.loan().by("admin").technician(TZ_TECH).ticket(t).serials(CMP, &["NEWCMP0001"]).create().await;
    finish(&app, t, TZ_TECH, "repair", json!([{"part_code": CMP, "qty": 1}])).await;
    let cost = |c: &'static str| json!({"unit_cost": c});
    app.patch(&format!("/api/v1/parts/{CMP}"), "admin", cost("400.00")).await.ok();
    reconcile(&app, loan, "core-return", TZ_TECH, json!({"serial": CMP_SERIAL})).await;
    app.patch(&format!("/api/v1/parts/{CMP}"), "admin", cost("410.50")).await.ok();
    move_to(&app, first.checked_add_months(Months::new(1)).unwrap(), 2);

    let r = app.get(&format!("/api/v1/settlements?period={}", period(first)), Some("finance")).await;
    let out = r.ok();
    let check =
        |name: &str| out["reconciliation"].as_array().unwrap().iter().find(|c| c["name"] == name).cloned();
    let ledger = check("ledger_consumption").unwrap();
    assert_eq!(
        (&ledger["expected"], &ledger["actual"], &ledger["ok"]),
        (&json!("365.20"), &json!("365.20"), &json!(true)),
        "{}",
        r.text
    );
    assert_eq!(station(out, TZ)["warranty_parts"], "365.20");
    assert!(out["reconciliation"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{}", r.text);

    // a part the ledger consumed for a ticket that does not show it used is still a mismatch,
    // valued at the part's cost now: a second compressor lent on the same unit's next ticket,
    // core-returned (the old part is the one fitted above), while the resolve named no part
    app.receipt(TZ).serials(CMP, &["NEWCMP0002"]).create().await;
    let t2 = worked(&app, TZ, TZ_TECH, true, "repair", json!([])).await;
    let loan2 =
        app.loan().by("admin").technician(TZ_TECH).ticket(t2).serials(CMP, &["NEWCMP0002"]).create().await;
    finish(&app, t2, TZ_TECH, "repair", json!([])).await;
    reconcile(&app, loan2, "core-return", TZ_TECH, json!({"serial": "NEWCMP0001"})).await;
    let second = first.checked_add_months(Months::new(1)).unwrap();
    move_to(&app, first.checked_add_months(Months::new(2)).unwrap(), 2);
    let r = app.get(&format!("/api/v1/settlements?period={}", period(second)), Some("finance")).await;
    let out = r.ok();
    let ledger =
        out["reconciliation"].as_array().unwrap().iter().find(|c| c["name"] == "ledger_consumption").unwrap();
    assert_eq!(
        (&ledger["expected"], &ledger["actual"], &ledger["ok"]),
        (&json!("410.50"), &json!("0.00"), &json!(false)),
        "{}",
        r.text
    );
});

both!(a_components_longer_term_covers_that_component_alone_and_the_customer_pays_the_rest, |app| async {
    // RF00000001 is past its own 12 months, inside its compressor's 120: a compressor fault is in
    // warranty for the compressor alone. The gasket the technician also fits is the customer's.
    let first = next_month(&app);
    app.set_stock(TZ, GSK, 2).await;
    app.receipt(TZ).serials(CMP, &["NEWCMP0001"]).create().await;
    move_to(&app, first, 2);
    let t = worked(&app, TZ, TZ_TECH, true, "repair", json!([])).await;
    let seen = app.get(&format!("/api/v1/tickets/{t}"), Some("agent")).await;
    assert_eq!(
        (&seen.ok()["warranty"], &seen.json["warranty_covers"]),
        (&json!("in_warranty"), &json!("CMP"))
    );
    let loan = app
        .loan()
        .by("admin")
        .technician(TZ_TECH)
        .ticket(t)
        .serials(CMP, &["NEWCMP0001"])
        .line(GSK, 1)
        .create()
        .await;
    let used = json!([{"part_code": CMP, "qty": 1}, {"part_code": GSK, "qty": 1}]);
    finish(&app, t, TZ_TECH, "repair", used).await;
    // the compressor comes back as a core; the gasket is not free: no core return, a fee
    reconcile(&app, loan, "core-return", TZ_TECH, json!({"serial": CMP_SERIAL})).await;
    let line2 = |how: &str, body: Value| {
        let path = format!("/api/v1/loans/{loan}/lines/2/{how}");
        let app = &app;
        async move { app.post(&path, TZ_TECH, body).await }
    };
    let free = line2("core-return", json!({})).await;
    let p = free.problem(422);
    assert_eq!(p["type"], "/problems/not_in_warranty", "{}", free.text);
    assert!(p["detail"].as_str().unwrap().contains("covers its CMP parts only"), "{}", free.text);
    assert_eq!(line2("fee", json!({})).await.ok()["lines"][1]["status"], "fee_charged");
    move_to(&app, first.checked_add_months(Months::new(1)).unwrap(), 2);

    // the company pays the labour (tier B repair 100.00) and bears the compressor (365.20); the
    // station collected the gasket (sale 73.00) from the customer and owes it
    let r = app.get(&format!("/api/v1/settlements?period={}", period(first)), Some("finance")).await;
    let out = r.ok();
    let tz = station(out, TZ);
    assert_eq!(
        (&tz["labour"], &tz["warranty_parts"], &tz["parts_sold"], &tz["parts_at_cost"], &tz["net_payable"]),
        (&json!("100.00"), &json!("365.20"), &json!("73.00"), &json!("414.00"), &json!("27.00")),
        "{}",
        r.text
    );
    assert!(out["reconciliation"].as_array().unwrap().iter().all(|c| c["ok"] == true), "{}", r.text);
    app.audit().await;
});

both!(an_xlsx_money_column_is_as_wide_as_its_largest_amount, |app| async {
    // a station's adjustments may reach 1,000,000,000,000.00: the sheet shows the amount, not
    // `#######`, in the summary, the total and the reconciliation alike
    let p = app.state.clock.now().format("%Y-%m").to_string();
    let adj = json!({"station": TZ, "period": p, "amount": "999999999900.00", "reason": "big"});
    assert_eq!(app.post("/api/v1/settlements/adjustments", "finance", adj).await.status, 201);
    let bytes = xlsx_bytes(&app, &format!("/api/v1/settlements?period={p}&format=xlsx")).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let widths = |zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, sheet: &str| {
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(sheet).unwrap(), &mut xml).unwrap();
        column_widths(&xml)
    };
    let shown = "999,999,999,900.00".len() as f64;
    let settlement = widths(&mut zip, "xl/worksheets/sheet1.xml");
    // adjustments and net_payable: the 20th and 21st columns
    for c in [20u32, 21] {
        assert!(settlement[&c] >= shown, "column {c} is {} wide", settlement[&c]);
    }
    assert!(settlement[&14] < shown, "a column of small amounts stays narrow: {}", settlement[&14]);
    let recon = widths(&mut zip, "xl/worksheets/sheet2.xml");
    assert!(recon[&2] >= shown && recon[&3] >= shown, "{recon:?}");
});

both!(a_part_is_not_fitted_for_a_ticket_already_settled_it_goes_back_unused, |app| async {
    let first = next_month(&app);
    let next = first.checked_add_months(Months::new(1)).unwrap();
    app.set_stock(TZ, GSK, 10).await;
    move_to(&app, first, 3);
    // a ticket finished with no part used, a gasket still on loan for it
    let t = worked(&app, TZ, TZ_TECH, false, "repair", json!([])).await;
    let l = app.loan().by("admin").technician(TZ_TECH).ticket(t).line(GSK, 1).create().await;
    finish(&app, t, TZ_TECH, "repair", json!([])).await;
    move_to(&app, next, 2);
    app.post(&format!("/api/v1/periods/{}/close", period(first)), "finance", json!({})).await.ok();
    // the ticket is settled: the gasket is not consumed for it now (no month's check would see it)
    let stock = app.stock(TZ, GSK).await;
    for how in ["core-return", "fee"] {
        let r = app.post(&format!("/api/v1/loans/{l}/lines/1/{how}"), TZ_TECH, json!({})).await;
        assert_eq!(r.problem(409)["type"], "/problems/ticket_takes_no_parts", "{how}: {}", r.text);
        assert_eq!(r.json["settled_in"], period(first));
    }
    let moves =
        app.get(&format!("/api/v1/movements?reference=loan:{l}/1&reason=consume"), Some("admin")).await;
    assert!(moves.ok()["items"].as_array().unwrap().is_empty(), "{}", moves.text);
    // it goes back unused, and the open month's checks hold
    reconcile(&app, l, "unused-return", TZ_TECH, json!({})).await;
    assert_eq!(app.stock(TZ, GSK).await, stock);
    let s = app.get(&format!("/api/v1/settlements?period={}", period(next)), Some("finance")).await;
    let checks = s.ok()["reconciliation"].as_array().unwrap().clone();
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:#?}");
    app.audit().await;
});
