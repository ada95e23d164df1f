//! The settlement as a file: CSV (the `csv` crate) or XLSX (`rust_xlsxwriter` in constant-
//! memory mode), written row by row as the lines arrive, so memory stays flat however many
//! stations the period has. Layout (one table, header frozen in XLSX): a `detail` row per
//! ticket or charge, a `summary` row after each station's details, a `total` row, then the
//! `reconciliation` rows (in XLSX on a second sheet). Every row names the station beside its
//! code and carries the period's state in words (`period_status`: open, closed at .. by .., or
//! closed as part of a later close with the period its items went to); an adjustment's row
//! has the period it corrects (`adjusts_period`) and its posting day (`posted_on`) beside the
//! row's `period`, the one it landed in.

use std::io::Write;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet};

use super::lines::{Sink, Spec};
use super::rules::{self, Line, Period, Totals};
use super::service::{self, Check};
use crate::db::DbConn;
use crate::error::AppError;

pub const HEADER: [&str; 24] = [
    "period",
    "period_status",
    "station",
    "station_name",
    "row_type",
    "kind",
    "date",
    "reference",
    "tier",
    "job_type",
    "warranty",
    "adjusts_period",
    "posted_on",
    "parts_qty",
    "labour",
    "parts_sold",
    "warranty_parts",
    "parts_at_cost",
    "overdue_cores",
    "adjustments",
    "net_payable",
    "note",
    "expected",
    "actual",
];

/// The text columns before `parts_qty`.
const TEXTS: usize = 13;
/// `date` and `posted_on`: dates in the XLSX.
const DATE_COLUMNS: [usize; 2] = [6, 12];
/// `note`, the last column of the XLSX's Settlement sheet.
const NOTE: u16 = 21;

/// The Settlement sheet's column widths (in characters), in `HEADER`'s order.
const COLUMN_WIDTHS: [f64; 22] = [
    9.0, 40.0, 12.0, 24.0, 15.0, 16.0, 11.0, 22.0, 6.0, 14.0, 17.0, 15.0, 11.0, 10.0, 14.0, 14.0, 16.0, 15.0,
    15.0, 14.0, 14.0, 44.0,
];

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Xlsx,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!("settlement export: {e}"))
}

fn amounts(l: &Line) -> [i64; 7] {
    [l.labour, l.parts_sold, l.warranty_parts, l.parts_cost, l.overdue_cores, l.adjustments, l.net()]
}

fn total_amounts(t: &Totals) -> [i64; 7] {
    [t.labour, t.parts_sold, t.warranty_parts, t.parts_cost, t.overdue_cores, t.adjustments, t.net]
}

pub use crate::http::sheet::{neutralised, BOM};

/// The text columns of a row, in `HEADER`'s order up to `posted_on`.
type Texts<'a> = [&'a str; TEXTS];

/// What every row starts with: the period and its state, the station's code and name, the row
/// type; then the line's own texts (empty on the summary, total and reconciliation rows).
fn texts<'a>(head: [&'a str; 5], rest: [&'a str; TEXTS - 5]) -> Texts<'a> {
    let mut t = [""; TEXTS];
    t[..5].copy_from_slice(&head);
    t[5..].copy_from_slice(&rest);
    t
}

/// A line's texts after its head (`date` and `posted_on` as given).
fn line_texts<'a>(l: &'a Line, date: &'a str, posted_on: &'a str) -> [&'a str; TEXTS - 5] {
    [
        l.kind.as_str(),
        date,
        &l.reference,
        l.tier.as_deref().unwrap_or(""),
        l.job_type.as_deref().unwrap_or(""),
        l.warranty.as_deref().unwrap_or(""),
        l.adjusts.as_deref().unwrap_or(""),
        posted_on,
    ]
}

struct CsvSink<W: Write> {
    w: csv::Writer<W>,
    period: String,
    /// the period's state in words, on every row
    status: String,
}

impl<W: Write> CsvSink<W> {
    fn row(
        &mut self,
        fixed: Texts<'_>,
        qty: String,
        money: [i64; 7],
        tail: [&str; 3],
    ) -> Result<(), AppError> {
        let money = money.map(rules::money);
        let fixed = fixed.map(neutralised);
        let tail = tail.map(neutralised);
        let mut rec: Vec<&str> = Vec::with_capacity(HEADER.len());
        rec.extend(fixed.iter().map(|c| c.as_ref()));
        rec.push(&qty);
        rec.extend(money.iter().map(String::as_str));
        rec.extend(tail.iter().map(|c| c.as_ref()));
        self.w.write_record(&rec).map_err(internal)
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn line(&mut self, l: &Line) -> Result<(), AppError> {
        let (p, status) = (self.period.clone(), self.status.clone());
        let date = l.date.to_string();
        let posted = l.posted_on.map(|d| d.to_string()).unwrap_or_default();
        let fixed =
            texts([&p, &status, &l.station_code, &l.station_name, "detail"], line_texts(l, &date, &posted));
        self.row(fixed, l.parts_qty.to_string(), amounts(l), [l.note.as_deref().unwrap_or(""), "", ""])
    }

    fn station(&mut self, code: &str, name: &str, t: &Totals) -> Result<(), AppError> {
        let (p, status) = (self.period.clone(), self.status.clone());
        let note = format!("{} lines, {} tickets", t.lines, t.tickets);
        let fixed = texts([&p, &status, code, name, "summary"], [""; TEXTS - 5]);
        self.row(fixed, t.parts_qty.to_string(), total_amounts(t), [&note, "", ""])
    }
}

/// The scope of a file: `ALL`, or a station's code and name.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub code: String,
    pub name: String,
}

impl Scope {
    pub fn all() -> Scope {
        Scope { code: "ALL".into(), name: String::new() }
    }
}

/// Writes the period's CSV to `out`, reading the lines as it goes; with `bom`, the file starts
/// with the UTF-8 byte-order mark. Every row carries the period's state (`period_status`).
pub fn write_csv<W: Write>(
    conn: &mut DbConn,
    spec: &Spec,
    scope: &Scope,
    mut out: W,
    bom: bool,
) -> Result<(), AppError> {
    if bom {
        out.write_all(BOM.as_bytes()).map_err(internal)?;
    }
    let status = service::state(conn, spec.period)?.describe();
    let mut sink = CsvSink { w: csv::Writer::from_writer(out), period: spec.period.to_string(), status };
    sink.w.write_record(HEADER).map_err(internal)?;
    let (totals, sources) = service::export(conn, spec, &mut sink)?;
    let (p, status) = (spec.period.to_string(), sink.status.clone());
    let note = format!("{} lines, {} tickets", totals.lines, totals.tickets);
    sink.row(
        texts([&p, &status, &scope.code, &scope.name, "total"], [""; TEXTS - 5]),
        totals.parts_qty.to_string(),
        total_amounts(&totals),
        [&note, "", ""],
    )?;
    for c in service::checks(&totals, &sources) {
        let ok = if c.ok { "ok" } else { "mismatch" };
        let mut rest = [""; TEXTS - 5];
        rest[0] = &c.name;
        let fixed = texts([&p, &status, &scope.code, &scope.name, "reconciliation"], rest).map(neutralised);
        let mut rec: Vec<&str> = fixed.iter().map(|c| c.as_ref()).collect();
        rec.extend([""; 8]);
        rec.extend([ok, c.expected.as_str(), c.actual.as_str()]);
        sink.w.write_record(&rec).map_err(internal)?;
    }
    sink.w.flush().map_err(internal)
}

struct XlsxSink<'a> {
    ws: &'a mut Worksheet,
    row: u32,
    period: String,
    status: String,
    money: Format,
    date: Format,
}

impl XlsxSink<'_> {
    /// The text cells; `date` and `posted_on` are written as dates by the caller.
    fn texts(&mut self, texts: Texts<'_>) -> Result<(), AppError> {
        for (c, t) in texts.iter().enumerate() {
            if DATE_COLUMNS.contains(&c) || t.is_empty() {
                continue;
            }
            self.ws.write_string(self.row, c as u16, *t).map_err(internal)?;
        }
        Ok(())
    }

    fn numbers(&mut self, qty: i64, money: [i64; 7], note: &str) -> Result<(), AppError> {
        let first = TEXTS as u16;
        self.ws.write_number(self.row, first, qty as f64).map_err(internal)?;
        for (i, m) in money.iter().enumerate() {
            // the cell holds the amount in yuan; formatted with two places
            let v = (*m as f64) / 100.0;
            self.ws
                .write_number_with_format(self.row, first + 1 + i as u16, v, &self.money)
                .map_err(internal)?;
        }
        if !note.is_empty() {
            self.ws.write_string(self.row, NOTE, note).map_err(internal)?;
        }
        self.row += 1;
        Ok(())
    }
}

impl Sink for XlsxSink<'_> {
    fn line(&mut self, l: &Line) -> Result<(), AppError> {
        let (p, status) = (self.period.clone(), self.status.clone());
        self.texts(texts([&p, &status, &l.station_code, &l.station_name, "detail"], line_texts(l, "", "")))?;
        for (c, day) in DATE_COLUMNS.iter().zip([Some(l.date), l.posted_on]) {
            if let Some(day) = day {
                let d = excel_date(day)?;
                self.ws.write_datetime_with_format(self.row, *c as u16, &d, &self.date).map_err(internal)?;
            }
        }
        self.numbers(l.parts_qty, amounts(l), l.note.as_deref().unwrap_or(""))
    }

    fn station(&mut self, code: &str, name: &str, t: &Totals) -> Result<(), AppError> {
        let (p, status) = (self.period.clone(), self.status.clone());
        self.texts(texts([&p, &status, code, name, "summary"], [""; TEXTS - 5]))?;
        self.numbers(t.parts_qty, total_amounts(t), &format!("{} lines, {} tickets", t.lines, t.tickets))
    }
}

/// The widest amount of each money column, in characters as `#,##0.00` shows it: a pass over
/// the lines that writes nothing.
#[derive(Default)]
struct Widths([usize; 7]);

impl Widths {
    fn take(&mut self, amounts: &[i64; 7]) {
        for (w, m) in self.0.iter_mut().zip(amounts) {
            *w = (*w).max(money_width(*m));
        }
    }
}

impl Sink for Widths {
    fn line(&mut self, l: &Line) -> Result<(), AppError> {
        self.take(&amounts(l));
        Ok(())
    }

    fn station(&mut self, _: &str, _: &str, t: &Totals) -> Result<(), AppError> {
        self.take(&total_amounts(t));
        Ok(())
    }
}

/// The characters an amount in minor units takes as `#,##0.00`: its sign, digits, thousands
/// separators and two places.
fn money_width(minor: i64) -> usize {
    let digits = (minor / 100).unsigned_abs().to_string().len();
    digits + (digits - 1) / 3 + 3 + usize::from(minor < 0)
}

fn excel_date(d: chrono::NaiveDate) -> Result<ExcelDateTime, AppError> {
    use chrono::Datelike;
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).map_err(internal)
}

/// Writes the period's XLSX to the file at `path`: sheet `Settlement` (the table, header
/// frozen, money as numbers with two places, dates as dates) and sheet `Reconciliation`.
pub fn write_xlsx(
    conn: &mut DbConn,
    spec: &Spec,
    scope: &Scope,
    path: &std::path::Path,
) -> Result<(), AppError> {
    let status = service::state(conn, spec.period)?.describe();
    let mut wb = Workbook::new();
    // a fixed creation time: the same period exports to the same bytes
    let created = excel_date(period_end_day(spec.period))?;
    wb.set_properties(&DocProperties::new().set_creation_datetime(&created).set_title("echelon settlement"));
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let (totals, sources) = {
        let ws = wb.add_worksheet_with_constant_memory();
        ws.set_name("Settlement").map_err(internal)?;
        // constant-memory mode cannot measure the cells, so each column gets the width its
        // contents take (codes, dates, amounts up to 999,999,999.99), never less than its
        // header; set before the first row, which writes the sheet's column list. The amounts'
        // columns are measured first, in a pass that writes nothing: a station's adjustments
        // alone may reach 1,000,000,000,000.00, which a fixed width would show as `#######`
        let mut measured = Widths::default();
        let (first_totals, _) = service::export(conn, spec, &mut measured)?;
        measured.take(&total_amounts(&first_totals));
        for (c, width) in COLUMN_WIDTHS.iter().enumerate() {
            let amount =
                c.checked_sub(TEXTS + 1).and_then(|i| measured.0.get(i)).map_or(0.0, |w| *w as f64 + 2.0);
            ws.set_column_width(c as u16, width.max(HEADER[c].len() as f64 + 2.0).max(amount))
                .map_err(internal)?;
        }
        for (c, h) in HEADER[..=NOTE as usize].iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold).map_err(internal)?;
        }
        ws.set_freeze_panes(1, 0).map_err(internal)?;
        let mut sink = XlsxSink { ws, row: 1, period: spec.period.to_string(), status, money, date };
        let (totals, sources) = service::export(conn, spec, &mut sink)?;
        let (p, status) = (spec.period.to_string(), sink.status.clone());
        sink.texts(texts([&p, &status, &scope.code, &scope.name, "total"], [""; TEXTS - 5]))?;
        let note = format!("{} lines, {} tickets", totals.lines, totals.tickets);
        sink.numbers(totals.parts_qty, total_amounts(&totals), &note)?;
        (totals, sources)
    };
    let ws = wb.add_worksheet_with_constant_memory();
    ws.set_name("Reconciliation").map_err(internal)?;
    let checks = service::checks(&totals, &sources);
    // the figures' columns as wide as their largest figure (with its separators)
    let figure = |v: &str| v.parse::<f64>().map_or(v.len(), |_| v.len() + v.len() / 3) as f64 + 3.0;
    let widest = checks.iter().flat_map(|c| [figure(&c.expected), figure(&c.actual)]).fold(16.0, f64::max);
    for (c, width) in [22.0, widest, widest, 6.0].iter().enumerate() {
        ws.set_column_width(c as u16, *width).map_err(internal)?;
    }
    for (c, h) in ["check", "expected", "actual", "ok"].iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold).map_err(internal)?;
    }
    ws.set_freeze_panes(1, 0).map_err(internal)?;
    let money = Format::new().set_num_format("#,##0.00");
    for (i, Check { name, expected, actual, ok }) in checks.into_iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, name).map_err(internal)?;
        // counts and amounts are numbers in the sheet (amounts with two places)
        for (c, value) in [(1u16, &expected), (2, &actual)] {
            match value.parse::<f64>() {
                Ok(n) if value.contains('.') => ws.write_number_with_format(r, c, n, &money),
                Ok(n) => ws.write_number(r, c, n),
                Err(_) => ws.write_string(r, c, value.as_str()),
            }
            .map_err(internal)?;
        }
        ws.write_boolean(r, 3, ok).map_err(internal)?;
    }
    wb.save(path).map_err(internal)
}

fn period_end_day(p: Period) -> chrono::NaiveDate {
    p.next().first_day().pred_opt().unwrap_or(p.first_day())
}

#[cfg(test)]
mod width_tests {
    use super::money_width;

    #[test]
    fn an_amount_is_as_wide_as_the_sheet_shows_it() {
        assert_eq!(money_width(0), "0.00".len());
        assert_eq!(money_width(99_999), "999.99".len());
        assert_eq!(money_width(100_000), "1,000.00".len());
        assert_eq!(money_width(-1_880), "-18.80".len());
        assert_eq!(money_width(100_000_000_000_000), "1,000,000,000,000.00".len());
        assert_eq!(money_width(i64::MIN), "-92,233,720,368,547,758.08".len());
    }
}
