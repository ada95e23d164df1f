//! The catalogue's CSV file: what `POST /parts/import` reads and `GET /parts/export` writes
//! (and what `seed/parts.csv` is). No HTTP, no database.
//!
//! Canonical form, which exports always have and which imports back byte for byte:
//! - UTF-8 without a byte-order mark, `\n` line ends, a final line end;
//! - the header `code,name,line,family,unit_of_measure,unit_cost,sale_price,serialized,`
//!   `core_returnable,weight_grams,lifecycle,superseded_by,interchangeability`, in that order;
//! - one row per part in code order;
//! - money with two decimal places (`1280.00`), booleans `true`/`false`, weight in whole
//!   grams, lifecycle `active`/`phase_out`/`obsolete`, interchangeability `one_way`/`two_way`;
//! - an empty field where there is no successor (and then no interchangeability);
//! - fields quoted only when they must be (a comma, quote or line end inside), quotes doubled.
//!
//! Imports also accept the columns in any order and money with fewer places (`12.5`); such a
//! file imports fine but exports in canonical form.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::codes::{CodeError, PartCode};
use super::rules::{self, Interchangeability, Lifecycle};
use crate::money::Money;

pub const COLUMNS: [&str; 13] = [
    "code",
    "name",
    "line",
    "family",
    "unit_of_measure",
    "unit_cost",
    "sale_price",
    "serialized",
    "core_returnable",
    "weight_grams",
    "lifecycle",
    "superseded_by",
    "interchangeability",
];

/// One part as a row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    pub code: PartCode,
    pub name: String,
    pub unit_of_measure: String,
    pub unit_cost: Money,
    pub sale_price: Money,
    pub serialized: bool,
    pub core_returnable: bool,
    pub weight_grams: i32,
    pub lifecycle: Lifecycle,
    pub superseded_by: Option<PartCode>,
    pub interchangeability: Option<Interchangeability>,
}

/// A record and the line of the file it starts on.
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub line: u64,
    pub record: PartRecord,
}

/// One complaint about the file: its line (the header is line 1), the column when one is at
/// fault, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl RowError {
    pub fn new(line: u64, column: Option<&str>, message: impl Into<String>) -> RowError {
        RowError { line, column: column.map(str::to_string), message: message.into() }
    }
}

/// Reads a whole file: every row, or every error of every row.
pub fn parse(bytes: &[u8]) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(bytes);
    let header = match reader.headers() {
        Ok(h) if !(h.is_empty() || h.len() == 1 && h[0].is_empty()) => h.clone(),
        Ok(_) => {
            return Err(vec![RowError::new(
                1,
                None,
                format!("the file is empty; the first line must be the header: {}", COLUMNS.join(",")),
            )])
        }
        Err(e) => return Err(vec![RowError::new(1, None, format!("the header cannot be read: {e}"))]),
    };
    let index = header_index(&header)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError::new(line, None, format!("unreadable row: {e}")));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() != header.len() {
            errors.push(RowError::new(
                line,
                None,
                format!("{} fields; the header has {}", record.len(), header.len()),
            ));
            continue;
        }
        // a NUL in any cell: PostgreSQL cannot store it (the API refuses it everywhere else too)
        let nul: Vec<&str> =
            header.iter().zip(record.iter()).filter(|(_, f)| f.contains('\0')).map(|(h, _)| h).collect();
        if !nul.is_empty() {
            for column in nul {
                errors.push(RowError::new(line, Some(column), "holds a NUL character"));
            }
            continue;
        }
        let field = |name: &str| &record[index[name]];
        match parse_row(line, field, &mut errors) {
            Some(rec) => {
                if let Some(first) = seen.insert(rec.code.to_string(), line) {
                    errors.push(RowError::new(
                        line,
                        Some("code"),
                        format!("{} is also on line {first}", rec.code),
                    ));
                }
                rows.push(ParsedRow { line, record: rec });
            }
            None => continue,
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn header_index(header: &csv::StringRecord) -> Result<HashMap<&'static str, usize>, Vec<RowError>> {
    let mut index = HashMap::new();
    let mut errors = Vec::new();
    for (i, name) in header.iter().enumerate() {
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) if index.contains_key(c) => {
                errors.push(RowError::new(1, Some(name), "this column appears twice"))
            }
            Some(c) => {
                index.insert(*c, i);
            }
            None => errors.push(RowError::new(
                1,
                Some(name),
                format!("unknown column; the columns are {}", COLUMNS.join(",")),
            )),
        }
    }
    for c in COLUMNS {
        if !index.contains_key(c) {
            errors.push(RowError::new(1, Some(c), "this column is missing"));
        }
    }
    if errors.is_empty() {
        Ok(index)
    } else {
        Err(errors)
    }
}

/// Checks every field of one row, adding one error per bad field.
fn parse_row<'r>(
    line: u64,
    field: impl Fn(&str) -> &'r str,
    errors: &mut Vec<RowError>,
) -> Option<PartRecord> {
    let before = errors.len();
    let mut err = |column: &str, message: String| errors.push(RowError::new(line, Some(column), message));
    let code = match PartCode::parse(field("code")) {
        Ok(c) => Some(c),
        Err(CodeError::CheckFailed) => {
            err("code", format!("{:?}: the check character does not match", field("code")));
            None
        }
        Err(e) => {
            err("code", e.to_string());
            None
        }
    };
    // a name the export neutralised ('=...) reads back as it was
    let name = crate::http::sheet::restored(field("name"));
    if let Some(m) = rules::check_name(name, 200) {
        err("name", m);
    }
    if let Some(c) = &code {
        for (column, want) in [("line", c.line()), ("family", c.family())] {
            if field(column) != want {
                err(column, format!("{:?} does not match the code, whose {column} is {want}", field(column)));
            }
        }
    }
    let uom = field("unit_of_measure");
    if !rules::valid_unit_of_measure(uom) {
        err("unit_of_measure", format!("{uom:?}: use 1-10 lower-case letters, e.g. pcs"));
    }
    // a spreadsheet may pad a cell with spaces; the amount itself is held to the API's form
    let mut money = |column: &str| match Money::parse(field(column).trim()) {
        Ok(m) if m.0 >= 0 => Some(m),
        Ok(_) => {
            err(column, "must not be negative".into());
            None
        }
        Err(e) => {
            err(column, e);
            None
        }
    };
    let unit_cost = money("unit_cost");
    let sale_price = money("sale_price");
    let mut flag = |column: &str| match field(column) {
        "true" => Some(true),
        "false" => Some(false),
        other => {
            err(column, format!("{other:?}: use true or false"));
            None
        }
    };
    let serialized = flag("serialized");
    let core_returnable = flag("core_returnable");
    let weight = match field("weight_grams").parse::<i32>() {
        Ok(w) if (0..=rules::MAX_WEIGHT_GRAMS).contains(&w) => Some(w),
        _ => {
            err(
                "weight_grams",
                format!(
                    "{:?}: a whole number of grams, 0-{}",
                    field("weight_grams"),
                    rules::MAX_WEIGHT_GRAMS
                ),
            );
            None
        }
    };
    let lifecycle = Lifecycle::parse(field("lifecycle"));
    if lifecycle.is_none() {
        err("lifecycle", format!("{:?}: one of active, phase_out, obsolete", field("lifecycle")));
    }
    let successor = match field("superseded_by") {
        "" => Some(None),
        s => match PartCode::parse(s) {
            Ok(c) if Some(&c) == code.as_ref() => {
                err("superseded_by", "a part cannot supersede itself".into());
                None
            }
            Ok(c)
                if code.as_ref().is_some_and(|own| (own.line(), own.family()) != (c.line(), c.family())) =>
            {
                err("superseded_by", format!("{c}: a successor is of the part's own line and family"));
                None
            }
            Ok(c) => Some(Some(c)),
            Err(e) => {
                err("superseded_by", e.to_string());
                None
            }
        },
    };
    let interchangeability = match (field("interchangeability"), &successor) {
        ("", Some(None)) => Some(None),
        ("", Some(Some(_))) => {
            err("interchangeability", "required with superseded_by: one_way or two_way".into());
            None
        }
        (s, _) => match Interchangeability::parse(s) {
            Some(_) if matches!(successor, Some(None)) => {
                err("interchangeability", "only with superseded_by".into());
                None
            }
            Some(i) => Some(Some(i)),
            None => {
                err("interchangeability", format!("{s:?}: one of one_way, two_way"));
                None
            }
        },
    };
    if errors.len() > before {
        return None;
    }
    Some(PartRecord {
        code: code?,
        name: name.to_string(),
        unit_of_measure: uom.to_string(),
        unit_cost: unit_cost?,
        sale_price: sale_price?,
        serialized: serialized?,
        core_returnable: core_returnable?,
        weight_grams: weight?,
        lifecycle: lifecycle?,
        superseded_by: successor?,
        interchangeability: interchangeability?,
    })
}

/// Writes records in canonical form (the caller orders them by code).
pub fn write(records: &[PartRecord]) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // writing to a Vec cannot fail
    let _ = w.write_record(COLUMNS);
    for r in records {
        let _ = w.write_record([
            r.code.as_str(),
            &crate::http::sheet::neutralised(&r.name),
            r.code.line(),
            r.code.family(),
            &r.unit_of_measure,
            &r.unit_cost.to_string(),
            &r.sale_price.to_string(),
            if r.serialized { "true" } else { "false" },
            if r.core_returnable { "true" } else { "false" },
            &r.weight_grams.to_string(),
            r.lifecycle.as_str(),
            r.superseded_by.as_ref().map(PartCode::as_str).unwrap_or(""),
            r.interchangeability.map(Interchangeability::as_str).unwrap_or(""),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "code,name,line,family,unit_of_measure,unit_cost,sale_price,serialized,core_returnable,weight_grams,lifecycle,superseded_by,interchangeability
RF-CMP-00417I,\"Compressor, 120 W\",RF,CMP,pcs,410.00,690.00,true,true,9800,phase_out,RF-CMP-00418G,one_way
RF-CMP-00418G,Compressor 130 W,RF,CMP,pcs,430.50,720.00,true,true,9900,active,,
";

    #[test]
    fn a_canonical_file_reads_and_writes_back_identically() {
        let rows = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].record.name, "Compressor, 120 W");
        assert_eq!(rows[1].record.unit_cost, Money(43050));
        let records: Vec<PartRecord> = rows.into_iter().map(|r| r.record).collect();
        assert_eq!(write(&records), GOOD);
    }

    #[test]
    fn every_bad_field_is_listed_with_its_line_and_column() {
        let bad = GOOD.replace(
            "RF-CMP-00418G,Compressor 130 W,RF,CMP,pcs,430.50",
            "RF-CMP-00418H,Compressor 130 W,AC,CMP,PCS,-1",
        ) + "RF-CMP-00417I,again,RF,CMP,pcs,1,1,yes,false,1,active,,two_way\n";
        let errors = parse(bad.as_bytes()).unwrap_err();
        let at =
            |line: u64, col: &str| errors.iter().any(|e| e.line == line && e.column.as_deref() == Some(col));
        assert!(at(3, "code") && at(3, "unit_of_measure") && at(3, "unit_cost"), "{errors:?}");
        assert!(at(4, "serialized") && at(4, "interchangeability"), "{errors:?}");
        // the check failed on line 3, so line/family cannot be compared there
        assert!(!at(3, "line"));
    }

    #[test]
    fn a_successor_of_another_line_or_family_is_refused() {
        for other in ["AC-CMP-00170W", "RF-PCB-00183H"] {
            let bad = GOOD.replace("phase_out,RF-CMP-00418G,one_way", &format!("phase_out,{other},one_way"));
            let e = parse(bad.as_bytes()).unwrap_err();
            assert!(
                e.iter().any(|e| e.line == 2
                    && e.column.as_deref() == Some("superseded_by")
                    && e.message.contains("own line and family")),
                "{other}: {e:?}"
            );
        }
    }

    #[test]
    fn duplicates_short_rows_and_bad_headers_are_refused() {
        let dup = format!("{GOOD}{}", GOOD.lines().nth(2).unwrap()) + "\n";
        let e = parse(dup.as_bytes()).unwrap_err();
        assert_eq!((e[0].line, e[0].message.as_str()), (4, "RF-CMP-00418G is also on line 3"));
        let short = format!("{}RF-CMP-00417I,x\n", GOOD.lines().next().unwrap().to_owned() + "\n");
        assert_eq!(parse(short.as_bytes()).unwrap_err()[0].line, 2);
        let e = parse(b"code,name,colour\n").unwrap_err();
        assert!(e.iter().any(|e| e.column.as_deref() == Some("colour")));
        assert!(e.iter().any(|e| e.column.as_deref() == Some("sale_price") && e.message.contains("missing")));
        assert_eq!(parse(b"").unwrap_err()[0].line, 1);
    }

    #[test]
    fn columns_in_another_order_and_a_bom_are_accepted() {
        let text = "\u{FEFF}name,code,line,family,unit_of_measure,unit_cost,sale_price,serialized,core_returnable,weight_grams,lifecycle,superseded_by,interchangeability\nFan,RF-CMP-00418G,RF,CMP,pcs,1.5,2,false,false,300,active,,\n";
        let rows = parse(text.as_bytes()).unwrap();
        assert_eq!(rows[0].record.unit_cost, Money(150));
        assert_eq!(rows[0].record.name, "Fan");
    }
}
