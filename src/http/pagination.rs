//! Keyset pagination shared by every list: `limit` (default 50, at most 500) and a `cursor`:
//! the `next_cursor` of the previous page, which is the key of its last item (a code, an id,
//! or `location:part`). Any well-formed key is a valid position, so a client may also start
//! after a key it knows; each list documents the cursor's form.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, Problem};
use crate::validate::Validate;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;
/// Longest cursor (a part or location code, an id, or `location:part`).
pub const MAX_CURSOR: usize = 64;

/// The page parameters of a list keyed by id (newest first), flattened into the list's query
/// struct: `#[serde(flatten)] #[param(ignore)] page: IdPage`, and named after that struct in
/// the operation's `params(...)`, since utoipa's `IntoParams` does not follow `flatten`.
#[derive(Debug, Default, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct IdPage {
    /// page size, 1-500 (default 50)
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "number")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page: the id of its last item (an id: 1 or more)
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

impl IdPage {
    pub fn request(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.limit, self.cursor.as_deref())
    }
}

/// The page parameters of a list keyed by code, flattened as [`IdPage`] is.
#[derive(Debug, Default, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct KeyPage {
    /// page size, 1-500 (default 50)
    #[param(minimum = 1, maximum = 500)]
    #[serde(default, deserialize_with = "number")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page
    #[param(min_length = 1, max_length = 64)]
    pub cursor: Option<String>,
}

impl KeyPage {
    pub fn request(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.limit, self.cursor.as_deref())
    }
}

/// A number from a query string. Inside a flattened struct serde hands the values on as the
/// text they were (serde_urlencoded parses numbers only for fields it sees itself), so the
/// number is parsed here, with the message the query parser gives.
pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let text: Option<Cow<'de, str>> = Option::deserialize(d)?;
    text.map(|t| t.parse::<i64>().map_err(serde::de::Error::custom)).transpose()
}

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

    /// The after-key, for lists keyed by text: 400 unless `is_key` takes it (a name of the
    /// list's form), as an id list refuses a cursor that is not an id.
    pub fn after_key(&self, is_key: impl Fn(&str) -> bool) -> Result<Option<&str>, AppError> {
        match self.after.as_deref() {
            Some(k) if !is_key(k) => Err(bad_cursor()),
            after => Ok(after),
        }
    }

    /// The after-key parsed as an id, for lists keyed by id.
    /// Only what the document's pattern takes (an id: 1 or more, at most 18 digits): `-1`, `+5`
    /// or `0` is no id this API issued (nor `007`, which no page gives), and a page after it
    /// would be silently empty.
    pub fn after_id(&self) -> Result<Option<i64>, AppError> {
        self.after
            .as_deref()
            .map(|s| match s.parse::<i64>() {
                Ok(id)
                    if id >= 1
                        && s.len() <= 18
                        && !s.starts_with('0')
                        && s.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    Ok(id)
                }
                _ => Err(bad_cursor()),
            })
            .transpose()
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

/// One page of a list; `next_cursor` is null on the last page.
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ListQuery {
        status: Option<String>,
        request_id: Option<i64>,
        #[serde(flatten)]
        page: IdPage,
    }

    fn query(q: &str) -> Result<ListQuery, String> {
        actix_web::web::Query::<ListQuery>::from_query(q).map(|q| q.into_inner()).map_err(|e| e.to_string())
    }

    #[test]
    fn flattened_page_parameters_parse_as_their_own_fields_did() {
        let q = query("status=open&request_id=7&limit=500&cursor=42").unwrap();
        assert_eq!((q.status.as_deref(), q.request_id), (Some("open"), Some(7)));
        assert_eq!((q.page.limit, q.page.cursor.as_deref()), (Some(500), Some("42")));
        let q = query("").unwrap();
        assert_eq!((q.page.limit, q.page.cursor.as_deref()), (None, None));
        assert_eq!(q.page.request().unwrap().limit, DEFAULT_LIMIT);
        assert!(query("limit=abc").unwrap_err().contains("invalid digit found in string"));
        assert!(query("limit=").unwrap_err().contains("cannot parse integer from empty string"));
        assert!(query("limit=5&sort=id").unwrap_err().contains("unknown field `sort`"));
        assert!(query("request_id=x").is_err());
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
