//! Two actions on one object at the same moment, sent at once over the real HTTP stack (on
//! PostgreSQL, where writers run side by side; SQLite's run one at a time): each object's row
//! is locked by the action that changes it, so the second action sees what the first did. At
//! most one of each competing action goes through, the others are 409, nothing is counted
//! twice, and the audit (at the end of every `both!` test) is clean.

use serde_json::{json, Value};

use crate::both;
use crate::helpers::{into_resp, Resp, TestApp};
use crate::loans::{cores_at_centre, CMP_SERIAL};
use crate::tickets::CMP;

/// Sends every call at once: (path, user, body); the answers in the same order, whatever they are.
async fn sent_at_once(app: &TestApp, calls: Vec<(String, &str, Value)>) -> Vec<Resp> {
    let mut sends = Vec::new();
    for (path, user, body) in calls {
        let token = app.token(user).await;
        sends.push(app.client.post(format!("{}{path}", app.base)).bearer_auth(token).json(&body).send());
    }
    let mut out = Vec::new();
    for a in futures_util::future::join_all(sends).await {
        out.push(into_resp(a.unwrap()).await);
    }
    out
}

/// [`sent_at_once`], each answer a success or a 409.
async fn at_once(app: &TestApp, calls: Vec<(String, &str, Value)>) -> Vec<Resp> {
    let out = sent_at_once(app, calls).await;
    for r in &out {
        assert!(r.status == 200 || r.status == 201 || r.status == 409, "{} {}", r.status, r.text);
    }
    out
}

fn passed(rs: &[Resp], from: usize, step: usize) -> usize {
    rs.iter().skip(from).step_by(step).filter(|r| r.status < 300).count()
}

both!(a_cancel_and_a_pick_of_one_request_at_once_leave_it_consistent, |app| async {
    for _ in 0..3 {
        let part = app.part().stock_at("RC-HZ", 1).create().await;
        let id = app.request().line(&part, 1).create().await;
        let path = |a: &str| format!("/api/v1/parts-requests/{id}/{a}");
        let calls =
            (0..12).map(|i| (path(if i % 2 == 0 { "cancel" } else { "pick" }), "warehouse-rc-hz", json!({})));
        let rs = at_once(&app, calls.collect()).await;
        // a pick may come before the cancel (a picked request may still be cancelled), never after
        assert_eq!(passed(&rs, 0, 2), 1, "one cancel");
        assert!(passed(&rs, 1, 2) <= 1, "at most one pick");
        let r = app.get(&format!("/api/v1/parts-requests/{id}"), Some("admin")).await;
        assert_eq!(r.ok()["status"], "cancelled", "{}", r.text);
        assert_eq!(r.json["lines"][0]["allocations"][0]["status"], "cancelled", "{}", r.text);
        assert_eq!(app.stock("RC-HZ", &part).await, (1, 0, 1));
    }
});

both!(one_shipment_received_twice_at_once_is_received_once, |app| async {
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    let id = app.request().line(&part, 1).create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    app.dispatch(id).await;
    let calls =
        (0..12).map(|_| (format!("/api/v1/parts-requests/{id}/receive"), "station-st-tz-001", json!({})));
    let rs = at_once(&app, calls.collect()).await;
    assert_eq!(passed(&rs, 0, 1), 1);
    assert_eq!(app.stock("ST-TZ-001", &part).await.0, 1, "one unit shipped, one received");
});

both!(a_tracking_event_reported_twice_at_once_is_recorded_once, |app| async {
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    let id = app.request().line(&part, 1).create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    app.dispatch(id).await;
    let sid = app.shipments_of(id, "admin").await[0]["id"].as_i64().unwrap();
    let events = format!("/api/v1/shipments/{sid}/events");
    for kind in ["picked_up", "delivered"] {
        let rs =
            at_once(&app, (0..12).map(|_| (events.clone(), "courier-1", json!({"kind": kind}))).collect())
                .await;
        assert_eq!(passed(&rs, 0, 1), 1, "{kind}");
    }
    let s = app.get(&format!("/api/v1/shipments/{sid}"), Some("admin")).await;
    let kinds: Vec<&str> =
        s.ok()["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "delivered").count(), 1, "{}", s.text);
    assert_eq!(kinds.iter().filter(|k| **k == "picked_up").count(), 1, "{}", s.text);
});

both!(two_counts_of_one_shelf_at_once_each_set_the_figure_counted, |app| async {
    let part = app.part().stock_at("RC-HZ", 5).create().await;
    let calls = (10..22).map(|n| {
        let body = json!({"location": "RC-HZ", "part_code": part, "counted_qty": n, "reason": "recount"});
        ("/api/v1/stock-counts".to_string(), "warehouse-rc-hz", body)
    });
    let rs = at_once(&app, calls.collect()).await;
    assert!(rs.iter().all(|r| r.status == 201));
    // each count applied in turn, from the figure the one before it set: the books went from 5
    // through every count, and end at one of them
    let on_hand = app.stock("RC-HZ", &part).await.0;
    let mut before: Vec<i64> = rs.iter().map(|r| r.json["previous_on_hand"].as_i64().unwrap()).collect();
    let mut chain: Vec<i64> = (10..22).filter(|n| *n != on_hand).chain([5]).collect();
    before.sort();
    chain.sort();
    assert_eq!(before, chain, "on hand at the end: {on_hand}");
});

/// How many quotes of a ticket are in each status.
async fn quotes(app: &TestApp, ticket: i64) -> Vec<(String, i64)> {
    app.state
        .db
        .primary(move |conn| {
            use diesel::prelude::*;
            use echelon::db::schema::ticket_quotes as q;
            let rows: Vec<(String, i64)> = q::table
                .filter(q::ticket_id.eq(ticket))
                .group_by(q::status)
                .select((q::status, diesel::dsl::count_star()))
                .order(q::status)
                .load(conn)?;
            Ok(rows)
        })
        .await
        .unwrap()
}

both!(twelve_quotes_of_one_ticket_at_once_leave_one_offered_and_one_accepted, |app| async {
    // out of warranty (the door gasket has only the unit's 12 months): quoted before the work
    let id = app.ticket().at("ST-TZ-001").family(Some("GSK")).create().await;
    let path = format!("/api/v1/tickets/{id}/quote");
    let rs = at_once(&app, (0..12).map(|_| (path.clone(), "agent", json!({"job_type": "repair"}))).collect())
        .await;
    // a new quote replaces the one before it: each in turn
    assert_eq!(passed(&rs, 0, 1), 12);
    assert_eq!(quotes(&app, id).await, vec![("offered".to_string(), 1), ("superseded".to_string(), 11)]);
    let accept = format!("/api/v1/tickets/{id}/accept-quote");
    let rs = at_once(&app, (0..6).map(|_| (accept.clone(), "agent", json!({}))).collect()).await;
    assert_eq!(passed(&rs, 0, 1), 1);
    assert_eq!(quotes(&app, id).await, vec![("accepted".to_string(), 1), ("superseded".to_string(), 11)]);
});

both!(a_count_of_a_part_never_stocked_there_counted_at_once_sets_each_figure_in_turn, |app| async {
    // no balance row of the part at RC-HZ yet: the first count makes it, the others wait for it
    let part = app.part().create().await;
    assert_eq!(app.stock("RC-HZ", &part).await, (0, 0, 0));
    let calls = (10..22).map(|n| {
        let body = json!({"location": "RC-HZ", "part_code": part, "counted_qty": n, "reason": "first count"});
        ("/api/v1/stock-counts".to_string(), "warehouse-rc-hz", body)
    });
    let rs = at_once(&app, calls.collect()).await;
    assert!(rs.iter().all(|r| r.status == 201));
    let on_hand = app.stock("RC-HZ", &part).await.0;
    let mut before: Vec<i64> = rs.iter().map(|r| r.json["previous_on_hand"].as_i64().unwrap()).collect();
    let mut chain: Vec<i64> = (10..22).filter(|n| *n != on_hand).chain([0]).collect();
    before.sort();
    chain.sort();
    assert_eq!(before, chain, "on hand at the end: {on_hand}");
});

/// A shipment of one unit from RC-HZ to ST-TZ-001 awaiting its tender, put out to tender by
/// RC-HZ with a bid of 30.00 from each courier named; the tender's id and the bids' ids.
async fn tendered(app: &TestApp, couriers: &[&str]) -> (i64, i64, Vec<i64>) {
    let part = app.part().stock_at("RC-HZ", 1).create().await;
    let id = app.request().line(&part, 1).create().await;
    app.on_request(id, "ship", "warehouse-rc-hz").await.ok();
    let sid = app.shipments_of(id, "admin").await[0]["id"].as_i64().unwrap();
    let deadline = (app.state.clock.now() + chrono::Duration::hours(2)).to_rfc3339();
    let t = app
        .post("/api/v1/tenders", "warehouse-rc-hz", json!({"shipment_ids": [sid], "bid_deadline": deadline}))
        .await;
    let tid = t.ok()["id"].as_i64().unwrap();
    let mut bids = Vec::new();
    for c in couriers {
        let bid = json!({"price": "30.00", "transit_hours": 12});
        let r = app.post(&format!("/api/v1/tenders/{tid}/bids"), c, bid).await;
        bids.push(r.ok()["bids"][0]["bid_id"].as_i64().unwrap());
    }
    (sid, tid, bids)
}

fn statuses(rs: &[Resp]) -> Vec<(u16, String)> {
    rs.iter().map(|r| (r.status, r.json["type"].as_str().unwrap_or_default().to_string())).collect()
}

both!(one_tender_awarded_by_many_at_once_is_awarded_once, |app| async {
    for _ in 0..3 {
        let (sid, tid, bids) = tendered(&app, &["courier-1", "courier-2", "courier-3"]).await;
        // by score, or an override of each bid in turn: a second award would also change the
        // courier, not only write the same one again
        let calls = (0..12).map(|i| {
            let body = match i % 4 {
                0 => json!({"now": true}),
                k => json!({"now": true, "bid_id": bids[k - 1], "reason": "the one we trust"}),
            };
            (format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", body)
        });
        let rs = at_once(&app, calls.collect()).await;
        assert_eq!(passed(&rs, 0, 1), 1, "{:?}", statuses(&rs));
        for r in rs.iter().filter(|r| r.status == 409) {
            assert_eq!(r.json["type"], "/problems/tender_closed", "{}", r.text);
        }
        let won = rs.iter().find(|r| r.status == 200).unwrap();
        let awarded = won.json["awarded_bid_id"].clone();
        let courier = won.json["bids"].as_array().unwrap().iter().find(|b| b["bid_id"] == awarded).unwrap()
            ["courier"]
            .clone();
        // what the winner was told is what stands
        let t = app.get(&format!("/api/v1/tenders/{tid}"), Some("admin")).await;
        assert_eq!(
            (&t.ok()["awarded_bid_id"], &t.json["override_reason"]),
            (&awarded, &won.json["override_reason"])
        );
        let s = app.get(&format!("/api/v1/shipments/{sid}"), Some("admin")).await;
        assert_eq!((&s.ok()["courier"], &s.json["price"]), (&courier, &json!("30.00")), "{}", s.text);
    }
});

/// How many bids a tender has on record.
async fn bids_on_record(app: &TestApp, tender: i64) -> i64 {
    app.state
        .db
        .primary(move |conn| {
            use diesel::prelude::*;
            use echelon::db::schema::bids;
            Ok(bids::table.filter(bids::tender_id.eq(tender)).count().get_result(conn)?)
        })
        .await
        .unwrap()
}

both!(bids_sent_as_their_tender_is_awarded_are_weighed_by_the_award_or_refused, |app| async {
    for _ in 0..3 {
        let (_, tid, _) = tendered(&app, &["courier-1"]).await;
        let bids = format!("/api/v1/tenders/{tid}/bids");
        let bid =
            |c: &'static str, price: &str| (bids.clone(), c, json!({"price": price, "transit_hours": 12}));
        let calls = vec![
            bid("courier-2", "25.00"),
            bid("courier-3", "26.00"),
            (format!("/api/v1/tenders/{tid}/award"), "warehouse-rc-hz", json!({"now": true})),
            bid("courier-2", "24.00"),
            bid("courier-3", "23.00"),
        ];
        let rs = at_once(&app, calls).await;
        let award = &rs[2];
        assert_eq!(award.status, 200, "{}", award.text);
        let weighed: Vec<i64> =
            award.json["bids"].as_array().unwrap().iter().map(|b| b["bid_id"].as_i64().unwrap()).collect();
        for (i, r) in rs.iter().enumerate().filter(|(i, _)| *i != 2) {
            if r.status == 201 {
                let id = r.json["bids"][0]["bid_id"].as_i64().unwrap();
                assert!(weighed.contains(&id), "bid {id} taken but not weighed by the award: {}", award.text);
            } else {
                let kind = r.json["type"].as_str().unwrap();
                assert!(
                    matches!(kind, "/problems/tender_closed" | "/problems/already_bid"),
                    "{i}: {}",
                    r.text
                );
            }
        }
        // a courier bids once
        assert!(passed(&rs, 0, 3) <= 1 && passed(&rs, 1, 3) <= 1, "{:?}", statuses(&rs));
        assert_eq!(bids_on_record(&app, tid).await, weighed.len() as i64, "{}", award.text);
    }
});

const STATION: &str = "ST-TZ-001";
const TECH: &str = "tech-st-tz-001";

/// A loan of one new compressor (serial `serial`) to ST-TZ-001's technician, for an in-warranty
/// ticket with the technician on site; the loan's id and its custody.
async fn lent_compressor(app: &TestApp, serial: &str) -> (i64, String) {
    let ticket = app.ticket().at(STATION).on_site().dispatched_to(TECH).create().await;
    app.receipt(STATION).serials(CMP, &[serial]).create().await;
    let r = app.loan().ticket(ticket).serials(CMP, &[serial]).send().await;
    (r.ok()["id"].as_i64().unwrap(), r.json["custody"].as_str().unwrap().to_string())
}

/// A loan line's (status, wrong old parts counted), and the swaps recorded for its ticket.
async fn line_on_record(app: &TestApp, loan: i64) -> (String, i32, i64) {
    app.state
        .db
        .primary(move |conn| {
            use diesel::prelude::*;
            use echelon::db::schema::{loan_lines as l, loans, unit_swaps as s};
            let (status, wrong) = l::table
                .filter(l::loan_id.eq(loan))
                .filter(l::line_no.eq(1))
                .select((l::status, l::core_mismatches))
                .first::<(String, i32)>(conn)?;
            let ticket: i64 = loans::table.find(loan).select(loans::ticket_id).first(conn)?;
            let swaps = s::table.filter(s::ticket_id.eq(ticket)).count().get_result(conn)?;
            Ok((status, wrong, swaps))
        })
        .await
        .unwrap()
}

both!(one_loan_line_returned_unused_by_two_at_once_is_returned_once, |app| async {
    for n in 0..3 {
        let (loan, custody) = lent_compressor(&app, &format!("NEWCMP010{n}")).await;
        let quarantine = app.stock("QUARANTINE", CMP).await.0;
        let path = format!("/api/v1/loans/{loan}/lines/1/unused-return");
        let calls =
            (0..12).map(|i| (path.clone(), if i % 2 == 0 { TECH } else { "station-st-tz-001" }, json!({})));
        let rs = at_once(&app, calls.collect()).await;
        assert_eq!(passed(&rs, 0, 1), 1, "{:?}", statuses(&rs));
        for r in rs.iter().filter(|r| r.status == 409) {
            assert_eq!(r.json["type"], "/problems/already_reconciled", "{}", r.text);
        }
        assert_eq!(app.stock(&custody, CMP).await.0, 0);
        assert_eq!(app.stock("QUARANTINE", CMP).await.0, quarantine + 1, "moved once");
        assert_eq!(line_on_record(&app, loan).await, ("returned_unused".to_string(), 0, 0));
    }
});

both!(the_right_core_returned_by_many_at_once_is_taken_once_and_counts_no_wrong_guess, |app| async {
    for n in 0..3 {
        let (loan, custody) = lent_compressor(&app, &format!("NEWCMP020{n}")).await;
        // the unit's compressor: the factory's, then the one the swap before fitted
        let old = if n == 0 { CMP_SERIAL.to_string() } else { format!("NEWCMP020{}", n - 1) };
        let bin = cores_at_centre(&app, CMP).await;
        let path = format!("/api/v1/loans/{loan}/lines/1/core-return");
        let calls = (0..12).map(|i| {
            (path.clone(), if i % 2 == 0 { TECH } else { "station-st-tz-001" }, json!({"serial": old}))
        });
        // the part is the right one for whichever comes first; the others find the line
        // reconciled, not a wrong part (the unit's record holds the fitted part by then)
        let rs = sent_at_once(&app, calls.collect()).await;
        let all = statuses(&rs);
        assert_eq!(rs.iter().filter(|r| r.status == 200).count(), 1, "{all:?}");
        assert!(
            rs.iter().all(|r| r.status == 200 || r.json["type"] == "/problems/already_reconciled"),
            "{all:?}"
        );
        assert_eq!(app.stock(&custody, CMP).await.0, 0);
        assert_eq!(cores_at_centre(&app, CMP).await, bin + 1, "one core");
        assert_eq!(line_on_record(&app, loan).await, ("core_returned".to_string(), 0, 1));
    }
});

both!(a_core_returned_as_its_ticket_is_resolved_never_deadlocks, |app| async {
    // the technician resolves a ticket with the compressor a loan brought at the moment the
    // old one is returned: the resolve takes the ticket's row and then reads the ticket's loan
    // lines (share-locked), the core return takes the ticket's row before the line's too (its
    // movement and swap name the ticket), so neither waits on the other in a circle
    let before = if app.backend == echelon::db::Backend::Postgres {
        crate::hot_rows::deadlocks(&app).await
    } else {
        0
    };
    for n in 0..4 {
        let (loan, _) = lent_compressor(&app, &format!("NEWCMP030{n}")).await;
        let ticket = app.get(&format!("/api/v1/loans/{loan}"), Some("admin")).await.ok()["ticket_id"]
            .as_i64()
            .unwrap();
        let old = if n == 0 { CMP_SERIAL.to_string() } else { format!("NEWCMP030{}", n - 1) };
        let resolve =
            json!({"job_type": "repair", "cause": "worn", "parts_used": [{"part_code": CMP, "qty": 1}]});
        let rs = sent_at_once(
            &app,
            vec![
                (format!("/api/v1/loans/{loan}/lines/1/core-return"), TECH, json!({"serial": old})),
                (format!("/api/v1/tickets/{ticket}/resolve"), TECH, resolve),
            ],
        )
        .await;
        assert!(rs.iter().all(|r| r.status == 200), "{:?}", statuses(&rs));
        assert_eq!(line_on_record(&app, loan).await, ("core_returned".to_string(), 0, 1));
    }
    let found = if app.backend == echelon::db::Backend::Postgres {
        crate::hot_rows::deadlocks(&app).await - before
    } else {
        0
    };
    assert_eq!(found, 0, "deadlocks detected");
});

both!(one_shipment_put_out_to_tender_by_many_at_once_is_tendered_once, |app| async {
    let part = app.part().cost("1.00").stock_at("RC-HZ", 10).create().await;
    let r = app.request().station("ST-HZ-001").line(&part, 1).create().await;
    for action in ["pick", "ship"] {
        app.on_request(r, action, "admin").await.ok();
    }
    let shipment = app.shipments_of(r, "admin").await[0]["id"].as_i64().unwrap();
    let deadline = (app.state.clock.now() + chrono::Duration::hours(2)).to_rfc3339();
    let body = json!({"shipment_ids": [shipment], "bid_deadline": deadline});
    let calls = (0..12).map(|_| ("/api/v1/tenders".to_string(), "admin", body.clone())).collect();
    let rs = sent_at_once(&app, calls).await;
    let all = statuses(&rs);
    // one tender takes the shipment; the others find it tendered already
    let won: Vec<&Resp> = rs.iter().filter(|r| r.status == 201).collect();
    assert_eq!(won.len(), 1, "{all:?}");
    assert!(
        rs.iter().all(|r| r.status == 201 || r.json["type"] == "/problems/not_awaiting_tender"),
        "{all:?}"
    );
    let s = app.get(&format!("/api/v1/shipments/{shipment}"), Some("admin")).await;
    assert_eq!(s.ok()["tender_id"], won[0].json["id"], "{}", s.text);
    let tenders = app.get("/api/v1/tenders", Some("admin")).await;
    assert_eq!(tenders.ok()["items"].as_array().map(Vec::len), Some(1), "{}", tenders.text);
});

/// A loan or a parts request asked for while its ticket is being resolved waits for the resolve
/// and then finds the ticket resolved: 409 `ticket_takes_no_parts`, and no part leaves the shelf
/// for a ticket that takes no more (PostgreSQL, where the two run side by side; SQLite's
/// writers run one at a time). A transaction of the test's own holds the ticket's row first, as
/// a resolve under way does, so that the resolve queues before the loan or request does.
#[actix_web::test]
async fn a_loan_or_request_asked_while_its_ticket_is_resolved_finds_it_resolved() {
    let Some(app) = TestApp::spawn_pg().await else { return };
    for user in [TECH, "station-st-tz-001"] {
        app.token(user).await;
    }
    for (n, what) in ["loan", "request"].into_iter().enumerate() {
        let ticket = app.ticket().at(STATION).on_site().dispatched_to(TECH).create().await;
        let serial = format!("NEWCMP060{n}");
        app.receipt(STATION).serials(CMP, &[serial.as_str()]).create().await;
        let shelf = app.stock(STATION, CMP).await.0;
        let (url, (release, released)) = (app.url.clone(), std::sync::mpsc::channel::<()>());
        let (held, holding) = tokio::sync::oneshot::channel::<()>();
        let holder = std::thread::spawn(move || {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            let mut c = diesel::PgConnection::establish(&url).unwrap();
            c.batch_execute(&format!("BEGIN; SELECT id FROM tickets WHERE id = {ticket} FOR UPDATE"))
                .unwrap();
            held.send(()).unwrap();
            released.recv().unwrap();
            c.batch_execute("COMMIT").unwrap();
        });
        holding.await.unwrap();
        let pause = || tokio::time::sleep(std::time::Duration::from_millis(400));
        let (resolve, body) =
            (format!("/api/v1/tickets/{ticket}/resolve"), json!({"job_type": "repair", "cause": "worn"}));
        let (resolved, asked, _) = tokio::join!(
            app.post(&resolve, TECH, body),
            async {
                pause().await;
                match what {
                    "loan" => app.loan().ticket(ticket).serials(CMP, &[serial.as_str()]).send().await,
                    _ => app.request().for_ticket(ticket).line(CMP, 1).send().await,
                }
            },
            async {
                pause().await;
                pause().await;
                release.send(()).unwrap();
            }
        );
        holder.join().unwrap();
        assert_eq!(resolved.ok()["status"], "resolved", "{}", resolved.text);
        assert_eq!(asked.problem(409)["type"], "/problems/ticket_takes_no_parts", "{what}: {}", asked.text);
        assert_eq!(app.stock(STATION, CMP).await.0, shelf, "{what}: nothing left the shelf");
        let loans = app.count(&format!("SELECT COUNT(*) AS n FROM loans WHERE ticket_id = {ticket}")).await;
        let requests =
            app.count(&format!("SELECT COUNT(*) AS n FROM parts_requests WHERE ticket_id = {ticket}")).await;
        assert_eq!((loans, requests), (0, 0), "{what}");
    }
    app.finish().await;
}
