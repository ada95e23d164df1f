//! `Query<T>`: actix's query extractor, then the query's documented limits
//! ([`crate::validate`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use percent_encoding::percent_decode_str;

use crate::error::{AppError, Problem};
use crate::validate::{self, Validate};

/// `web::Query` held to its limits: the query parsed as actix does (its errors go through the
/// app's `QueryConfig`), then checked.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + Validate + 'static> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Query<T>, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // bytes that are not UTF-8 text would be read as U+FFFD and looked up as such
        if let Err(e) = utf8_text(req.query_string()) {
            return Box::pin(async move { Err(e.into()) });
        }
        let parsed = web::Query::<T>::from_request(req, payload);
        Box::pin(async move {
            let q = parsed.await?.into_inner();
            validate::query(&q)?;
            Ok(Query(q))
        })
    }
}

/// Every name and value of a query string, percent-decoded, must be UTF-8 text: else 400
/// naming the parameter (spec: invalid text anywhere in a request is a 400/422).
fn utf8_text(query: &str) -> Result<(), AppError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = |s: &str| percent_decode_str(&s.replace('+', " ")).collect::<Vec<u8>>();
        for part in [name, value] {
            if std::str::from_utf8(&decoded(part)).is_err() {
                let shown = String::from_utf8_lossy(&decoded(name)).into_owned();
                return Err(AppError::bad_request(
                    Problem::InvalidQuery,
                    format!("query parameter {shown:?}: not UTF-8 text"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::utf8_text;

    #[test]
    fn a_query_of_bytes_that_are_not_text_is_refused_naming_the_parameter() {
        assert!(utf8_text("").is_ok());
        assert!(utf8_text("location=ST-TZ-001&part_code=RF-CMP-00417K&x").is_ok());
        assert!(utf8_text("q=%E5%8E%8B%E7%BC%A9%E6%9C%BA+1").is_ok(), "Chinese text");
        for bad in ["location=%FF", "status=%C3%28", "%FF=1", "a=1&b=%E5%8E"] {
            let e = utf8_text(bad).unwrap_err();
            assert_eq!(e.status.as_u16(), 400, "{bad}");
            assert!(e.detail.contains("not UTF-8 text"), "{bad}: {}", e.detail);
        }
        assert!(utf8_text("location=%FF").unwrap_err().detail.contains("\"location\""));
    }
}
