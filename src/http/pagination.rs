//! Keyset pagination shared by every list: `limit` (default 50, at most 500) and a `cursor`:
//! the `next_cursor` of the previous page, which is the key of its last item (a code, an id,
//! or `location:part`). Any well-formed key is a valid position, so a client may also start
//! after a key it knows; each list documents the cursor's form.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, Problem};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;
/// Longest cursor (a part or location code, an id, or `location:part`).
pub const MAX_CURSOR: usize = 64;

/// A validated page request: how many, and after which key.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn new(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(
                Problem::InvalidQuery,
                format!("limit must be between 1 and {MAX_LIMIT}, got {limit}"),
            ));
        }
        let after = match cursor {
            None => None,
            // the document's `maxLength` counts characters, not bytes
            Some(c) if c.is_empty() || c.chars().count() > MAX_CURSOR => return Err(bad_cursor()),
            Some(c) => Some(c.to_string()),
        };
        Ok(PageRequest { limit, after })
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The after-key parsed as an id, for lists keyed by id.
    pub fn after_id(&self) -> Result<Option<i64>, AppError> {
        self.after.as_deref().map(|s| s.parse::<i64>().map_err(|_| bad_cursor())).transpose()
    }

    /// Cuts the fetched rows to the page and computes the next cursor from the last key.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(key) } else { None };
        Page { items: rows, next_cursor }
    }
}

fn bad_cursor() -> AppError {
    AppError::bad_request(
        Problem::InvalidQuery,
        "cursor is not a key of this list (use the next_cursor of the previous page)",
    )
}

/// One page of a list; `next_cursor` is absent on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, 50);
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(501), None).is_err());
        assert!(PageRequest::new(Some(500), None).is_ok());
        assert!(PageRequest::new(None, Some(&"x".repeat(65))).is_err());
        // 64 characters of four bytes each are 64 characters (what Schemathesis sent)
        assert!(PageRequest::new(None, Some(&"\u{1D54B}".repeat(64))).is_ok());
        assert!(PageRequest::new(None, Some(&"\u{1D54B}".repeat(65))).is_err());
        assert!(PageRequest::new(None, Some("")).is_err());
        assert!(PageRequest::new(None, Some("abc")).unwrap().after_id().is_err());
    }

    #[test]
    fn cursors_round_trip_and_pages_cut() {
        let req = PageRequest::new(Some(2), None).unwrap();
        let page = req.page(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(page.items, vec!["a", "b"]);
        let next = PageRequest::new(Some(2), page.next_cursor.as_deref()).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        let last = next.page(vec!["c"], |s| s.to_string());
        assert!(last.next_cursor.is_none());
    }
}
