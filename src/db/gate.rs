//! A fair queue in front of a pool: a request takes a turn here, on the async side, before its
//! work goes to a blocking thread, and there are as many turns as the pool has connections.
//! The blocking work holds the turn until it ends, even when the request is dropped meanwhile
//! (its client went away), so a turn given always finds a connection free.
//!
//! Without it every request waiting for a connection holds a blocking thread parked in the
//! pool's condition variable, and a thread that has just returned a connection can take it
//! back for its next task before the longest waiter wakes. Under load that gives a few
//! requests long waits (the tail of the latency) and costs a task switch per waiter woken in
//! vain. Here the waiters queue in order (tokio's semaphore is first in, first out), only as
//! many blocking threads run as there are connections, and each finds one free.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// How long a request waits for its turn before it is answered 503, as long as the pool itself
/// waits for a connection.
pub const WAIT: Duration = Duration::from_secs(5);

/// The turns of one pool (cloned with the pool: the clones share the queue).
#[derive(Clone, Debug)]
pub struct Gate(Option<Arc<Semaphore>>);

impl Gate {
    /// `turns` at a time; `ECHELON_DB_GATE=0` opens the gate for good (requests go straight to
    /// the pool, as before it existed), for measuring what it changes.
    pub fn new(turns: u32) -> Gate {
        let open = std::env::var("ECHELON_DB_GATE").is_ok_and(|v| v == "0");
        Gate((!open).then(|| Arc::new(Semaphore::new(turns.max(1) as usize))))
    }

    /// Waits for a turn (in order of arrival): None when the gate is open for good. A wait
    /// beyond `WAIT` is the pool's exhaustion: 503 with `Retry-After`.
    pub async fn turn(&self) -> Result<Option<OwnedSemaphorePermit>, AppError> {
        let Some(turns) = &self.0 else { return Ok(None) };
        match tokio::time::timeout(WAIT, turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // never closed; and a timeout is what the pool's own timeout would have answered
            _ => {
                tracing::warn!("no database connection within {WAIT:?}");
                Err(AppError::unavailable("the database is unavailable; retry shortly"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn turns_are_given_in_order_of_arrival_and_only_as_many_as_there_are() {
        let gate = Gate(Some(Arc::new(Semaphore::new(1))));
        let first = gate.turn().await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..5 {
            let (gate, order) = (gate.clone(), order.clone());
            waiting.push(actix_web::rt::spawn(async move {
                let _turn = gate.turn().await.unwrap();
                order.lock().unwrap().push(i);
                actix_web::rt::time::sleep(Duration::from_millis(2)).await;
            }));
            // each waiter queued before the next arrives
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(order.lock().unwrap().is_empty(), "a turn was given while the only one was taken");
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
