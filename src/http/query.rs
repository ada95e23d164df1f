//! `Query<T>`: actix's query extractor, then the query's documented limits
//! ([`crate::validate`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

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
        let parsed = web::Query::<T>::from_request(req, payload);
        Box::pin(async move {
            let q = parsed.await?.into_inner();
            validate::query(&q)?;
            Ok(Query(q))
        })
    }
}
