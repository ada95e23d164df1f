//! Settlement rules worked by hand (see `rules.rs`).

use super::*;

#[test]
fn line_kinds_read_back_from_their_text_and_refuse_an_unknown_one() {
    crate::db::text::assert_stored_as_text::<LineKind>();
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn t(s: &str) -> NaiveDateTime {
    d(s).and_hms_opt(12, 0, 0).unwrap()
}

fn p(s: &str) -> Period {
    Period::parse(s).unwrap()
}

#[test]
fn periods_parse_only_real_months_and_step_over_years() {
    assert_eq!(p("2026-12").to_string(), "2026-12");
    assert_eq!(p("2026-12").next().to_string(), "2027-01");
    assert_eq!(p("2027-01").prev().to_string(), "2026-12");
    assert_eq!(p("2026-02").end(), d("2026-03-01").and_hms_opt(0, 0, 0).unwrap());
    for bad in [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-01",
        "2026/01",
        "1999-12",
        "２０２６-01",
        "2026-01x",
        "",
        "é2-011",
        "20é-01",
        "2026-é",
    ] {
        assert!(Period::parse(bad).is_none(), "{bad}");
    }
    assert_eq!(Period::of(d("2026-11-30")), p("2026-11"));
}

#[test]
fn the_net_pays_labour_and_charges_parts_sold_and_overdue_cores() {
    let mut l = Line {
        station_id: 1,
        station_code: "ST".into(),
        station_name: "Station".into(),
        kind: LineKind::Ticket,
        item_id: 1,
        date: d("2026-11-03"),
        reference: "ticket:1".into(),
        tier: Some("B".into()),
        job_type: Some("repair".into()),
        warranty: Some("in_warranty".into()),
        parts_qty: 1,
        labour: 10_000,
        parts_sold: 0,
        warranty_parts: 43_000,
        parts_cost: 43_000,
        overdue_cores: 0,
        adjustments: 0,
        note: None,
        adjusts: None,
        posted_on: None,
    };
    assert_eq!(l.net(), 10_000, "warranty parts are shown, not netted");
    l.parts_sold = 2_500;
    l.overdue_cores = 1_000;
    l.adjustments = -300;
    assert_eq!(l.net(), 10_000 - 2_500 - 1_000 - 300);
    let mut tot = Totals::default();
    tot.add(&l);
    tot.add(&l);
    assert_eq!((tot.lines, tot.tickets, tot.net), (2, 2, 2 * l.net()));
    assert_eq!(tot.parts_qty, 2);
    // a core charged and credited back is no part used
    for kind in [LineKind::CoreCharge, LineKind::CoreCredit] {
        tot.add(&Line {
            kind,
            parts_qty: 1,
            labour: 0,
            parts_sold: 0,
            warranty_parts: 0,
            parts_cost: 0,
            ..l.clone()
        });
    }
    assert_eq!((tot.lines, tot.parts_qty), (4, 2));
}

#[test]
fn in_warranty_tickets_earn_labour_and_out_of_warranty_ones_owe_the_sale_price() {
    let used = |cost, sale| UsedParts { qty: 1, cost, sale, ..UsedParts::default() };
    let iw = ticket_figures(true, Some(10_000), &used(43_000, 72_000));
    assert_eq!((iw.labour, iw.parts_sold, iw.warranty_parts), (10_000, 0, 43_000));
    let oow = ticket_figures(false, Some(10_000), &used(1_500, 2_500));
    assert_eq!((oow.labour, oow.parts_sold, oow.warranty_parts), (0, 2_500, 0));
    // a compressor (cost 365.20) under its own longer term and a gasket (cost 48.80, sale
    // 73.00) outside it: the company bears the compressor, the station owes the gasket
    let mixed = UsedParts { qty: 2, cost: 41_400, sale: 57_000, outside_cost: 4_880, outside_sale: 7_300 };
    let f = ticket_figures(true, Some(10_000), &mixed);
    assert_eq!((f.labour, f.parts_sold, f.warranty_parts), (10_000, 7_300, 36_520));
}

#[test]
fn the_tier_on_a_date_is_the_latest_grading_in_force() {
    let h = vec![(d("2026-01-01"), 1, "B".to_string()), (d("2026-11-16"), 2, "A".to_string())];
    assert_eq!(tier_on(&h, d("2025-12-31")), None);
    assert_eq!(tier_on(&h, d("2026-11-15")), Some("B"));
    assert_eq!(tier_on(&h, d("2026-11-16")), Some("A"));
    let same_day = vec![(d("2026-01-01"), 1, "B".to_string()), (d("2026-01-01"), 2, "C".to_string())];
    assert_eq!(tier_on(&same_day, d("2026-01-01")), Some("C"));
}

#[test]
fn an_open_line_is_charged_when_it_falls_overdue_and_credited_when_it_comes_back() {
    let lent = t("2026-11-02");
    let due = lent + Duration::days(15);
    // not yet overdue
    assert_eq!(core_events(lent, 15, None, due), (None, None));
    // overdue and still open
    assert_eq!(core_events(lent, 15, None, t("2026-11-20")), (Some(due), None));
    // returned in time: nothing
    assert_eq!(core_events(lent, 15, Some(t("2026-11-10")), t("2026-12-20")), (None, None));
    // returned late: charged, then credited
    let back = t("2026-12-05");
    assert_eq!(core_events(lent, 15, Some(back), t("2026-12-20")), (Some(due), Some(back)));
}

#[test]
fn late_items_land_in_the_next_open_period() {
    assert_eq!(landing(p("2026-11"), None), p("2026-11"));
    assert_eq!(landing(p("2026-11"), Some(p("2026-11"))), p("2026-12"));
    assert_eq!(landing(p("2026-10"), Some(p("2026-11"))), p("2026-12"));
    assert_eq!(landing(p("2027-02"), Some(p("2026-11"))), p("2027-02"));
    assert_eq!(window(p("2026-12"), Some(p("2026-11"))), (None, p("2026-12").end()));
    assert_eq!(window(p("2027-01"), Some(p("2026-11"))), (Some(p("2027-01").start()), p("2027-01").end()));
    assert_eq!(window(p("2026-11"), None), (Some(p("2026-11").start()), p("2026-11").end()));
}

#[test]
fn periods_close_once_in_order_after_they_end() {
    let now = t("2026-12-10");
    assert_eq!(may_close(p("2026-11"), None, now), Ok(()));
    assert_eq!(may_close(p("2026-12"), None, now), Err(CloseRefusal::NotEnded));
    assert_eq!(may_close(p("2026-11"), Some(p("2026-11")), now), Err(CloseRefusal::AlreadyClosed));
    assert_eq!(may_close(p("2026-09"), Some(p("2026-11")), now), Err(CloseRefusal::AlreadyClosed));
    assert_eq!(may_close(p("2026-11"), Some(p("2026-09")), now), Err(CloseRefusal::OutOfOrder(p("2026-10"))));
    assert_eq!(may_close(p("2026-10"), Some(p("2026-09")), now), Ok(()));
}

#[test]
fn a_month_before_the_first_close_is_covered_by_it_and_its_items_land_after_it() {
    let at = d("2026-11-02").and_hms_opt(9, 0, 0).unwrap();
    assert_eq!(PeriodState::of(None, None), PeriodState::Open);
    assert_eq!(PeriodState::of(None, None).describe(), "open");
    let own = PeriodState::of(Some((at, "finance".into())), Some((p("2026-11"), at, "x".into())));
    assert_eq!((own.status(), own.covered_by()), ("closed", None));
    assert_eq!(own.describe(), "closed at 2026-11-02T09:00:00Z by finance");
    let covered = PeriodState::of(None, Some((p("2026-10"), at, "finance".into())));
    assert_eq!(
        (covered.status(), covered.covered_by(), covered.landed_in(), covered.closed_at()),
        ("closed", Some(p("2026-10")), Some(p("2026-11")), Some(at))
    );
    assert_eq!(
        covered.describe(),
        "closed as part of 2026-10 (closed at 2026-11-02T09:00:00Z by finance); its items are settled in 2026-11"
    );
    // and an item of the covered month lands there
    assert_eq!(landing(p("2026-09"), Some(p("2026-10"))), p("2026-11"));
}
