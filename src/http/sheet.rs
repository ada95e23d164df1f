//! Text files a spreadsheet opens: every CSV that echelon writes (settlement, planning levels,
//! the weekly report, the parts catalogue) starts with a byte-order mark and neutralises a text
//! cell that a spreadsheet would run as a formula.

use std::borrow::Cow;

/// A text cell as a spreadsheet may safely open it: text starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return would be read as a formula, so it gets a leading `'` (OWASP's
/// advice against CSV injection). Only text columns go through it: amounts and quantities are
/// numbers, and a negative one keeps its sign.
pub fn neutralised(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A cell read back from a file that echelon wrote: the `'` that [`neutralised`] put before a
/// formula's first character is taken off again, so a name exported and imported stays as it was.
pub fn restored(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA) => rest,
        _ => cell,
    }
}

/// What a spreadsheet takes a cell starting with for a formula.
const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The UTF-8 byte-order mark a CSV starts with by default, so Excel reads it as UTF-8 (a
/// Chinese reason would otherwise show as mojibake).
pub const BOM: &str = "\u{feff}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_is_neutralised_and_restored_and_other_text_left_alone() {
        for text in ["=SUM(1,2) 室内风机", "+86 571", "-18 °C sensor", "@cmd", "\tx"] {
            let safe = neutralised(text);
            assert_eq!(safe, format!("'{text}"));
            assert_eq!(restored(&safe), text);
        }
        for text in ["Compressor 110 W", "'quoted'", "", "室内风机"] {
            assert_eq!(neutralised(text), text);
            assert_eq!(restored(text), text);
        }
    }
}
