//! Streamed export bodies: a blocking task reads the lines in one read transaction and writes
//! the file into a bounded channel, which the response body drains. Memory holds a chunk of
//! lines and a few 64 KiB buffers, whatever the size of the period.

use std::io::{self, Read, Write};

use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;

use super::export::{self, Scope};
use super::lines::Spec;
use crate::db::{DbConn, Pool};
use crate::error::AppError;

const BUF: usize = 64 * 1024;

type Item = Result<Bytes, io::Error>;

/// `io::Write` into the channel, in 64 KiB pieces.
pub struct ChannelWriter {
    tx: mpsc::Sender<Item>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(BUF)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BUF {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

fn body(rx: mpsc::Receiver<Item>) -> impl Stream<Item = Item> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

/// Runs `work` on the blocking pool with a read transaction; an error ends the body with an
/// error (the client sees a broken transfer, never a file that looks complete). The planning
/// run's levels export streams through it too.
pub fn spawn<F>(pool: Pool, work: F) -> impl Stream<Item = Item>
where
    F: FnOnce(&mut DbConn, ChannelWriter) -> Result<(), AppError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Item>(4);
    let fail = tx.clone();
    actix_web::rt::spawn(async move {
        let result = actix_web::web::block(move || -> Result<(), AppError> {
            let mut conn = pool.get()?;
            let writer = ChannelWriter { tx, buf: Vec::with_capacity(BUF) };
            crate::db::read_tx(&mut conn, |c| work(c, writer))
        })
        .await;
        let err = match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(error = %err, "a file export failed while streaming");
        let _ = fail.send(Err(io::Error::other(err))).await;
    });
    body(rx)
}

pub fn csv(pool: Pool, spec: Spec, scope: Scope, bom: bool) -> impl Stream<Item = Item> {
    spawn(pool, move |conn, mut w| {
        export::write_csv(conn, &spec, &scope, &mut w, bom)?;
        w.flush().map_err(|e| AppError::internal(anyhow::anyhow!(e)))
    })
}

/// The workbook is written to a temporary file in constant-memory mode, then streamed.
pub fn xlsx(pool: Pool, spec: Spec, scope: Scope) -> impl Stream<Item = Item> {
    spawn(pool, move |conn, mut w| {
        let io = |e: io::Error| AppError::internal(anyhow::anyhow!(e));
        let file =
            tempfile::Builder::new().prefix("echelon-settlement-").suffix(".xlsx").tempfile().map_err(io)?;
        export::write_xlsx(conn, &spec, &scope, file.path())?;
        let mut f = file.reopen().map_err(io)?;
        let mut buf = vec![0u8; BUF];
        loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n]).map_err(io)?;
        }
        w.flush().map_err(io)
    })
}
