//! `--metrics ADDR:PORT`: a small HTTP/1.1 endpoint for Prometheus scrapes.
//!
//! `GET /metrics` (or `HEAD`) answers `200` with [`ServerMetrics::encode`]'s text as
//! [`ServerMetrics::CONTENT_TYPE`]; any other path `404`, any other method `405`, a
//! request that does not parse `400`. One request per connection (`Connection: close`):
//! a scraper connects every few seconds, and keeping connections would only add state.
//!
//! Every scraper is a network peer: the request head is read up to
//! [`MAX_REQUEST_HEAD`] bytes within [`REQUEST_TIMEOUT`], and at most
//! [`MAX_SCRAPERS`] are served at once (the others wait in the listen backlog).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use telnetlib3::ServerMetrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

/// The longest request head read (the request line and the headers).
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How long a scraper may take to send its request and read the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The most scrapes served at once.
pub const MAX_SCRAPERS: usize = 16;

/// The most headers a request may have.
const MAX_HEADERS: usize = 64;

/// Listen on `addr` for scrapes of `metrics`; returns the bound address (`addr` with
/// port 0 gets a free one) once listening, the server running in a task of its own.
///
/// # Errors
///
/// When `addr` cannot be listened on.
pub async fn serve(addr: SocketAddr, metrics: Arc<ServerMetrics>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(accept(listener, metrics));
    Ok(bound)
}

async fn accept(listener: TcpListener, metrics: Arc<ServerMetrics>) {
    let permits = Arc::new(Semaphore::new(MAX_SCRAPERS));
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((socket, peer)) => {
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    let answered = tokio::time::timeout(REQUEST_TIMEOUT, answer(socket, &metrics));
                    match answered.await {
                        Ok(Ok(())) => {}
                        Ok(Err(error)) => debug!(%peer, "metrics request failed: {error}"),
                        Err(_) => debug!(%peer, "metrics request timed out"),
                    }
                    drop(permit);
                });
            }
            Err(error) => {
                warn!("cannot accept a metrics connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// `GET /metrics`; `head`: `HEAD`, no body.
    Metrics {
        head: bool,
    },
    NotFound,
    MethodNotAllowed,
    Malformed,
}

/// Read one request head from `socket` and answer it.
async fn answer(mut socket: TcpStream, metrics: &ServerMetrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let request = loop {
        let mut chunk = [0; 1024];
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            // Closed before a whole request: nothing to answer.
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
        match parse(&head) {
            Some(request) => break request,
            None if head.len() >= MAX_REQUEST_HEAD => break Request::Malformed,
            None => {}
        }
    };
    let (status, content_type, body): (&str, &str, String) = match request {
        Request::Metrics { .. } => ("200 OK", ServerMetrics::CONTENT_TYPE, metrics.encode()),
        Request::NotFound => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "Not found: the metrics are at /metrics\n".into(),
        ),
        Request::MethodNotAllowed => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "Only GET and HEAD\n".into(),
        ),
        Request::Malformed => (
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "Bad request\n".into(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if request == Request::MethodNotAllowed {
        response.push_str("Allow: GET, HEAD\r\n");
    }
    response.push_str("Connection: close\r\n\r\n");
    if request != (Request::Metrics { head: true }) {
        response.push_str(&body);
    }
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// The request `head` makes, or `None` while it is incomplete.
fn parse(head: &[u8]) -> Option<Request> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Partial) => None,
        Err(_) => Some(Request::Malformed),
        Ok(httparse::Status::Complete(_)) => {
            let head = match request.method {
                Some("GET") => false,
                Some("HEAD") => true,
                _ => return Some(Request::MethodNotAllowed),
            };
            // A query string (`?name[]=...`, as Prometheus may send) does not matter.
            let path = request.path.unwrap_or("");
            let path = path.split_once('?').map_or(path, |(path, _)| path);
            Some(if path == "/metrics" {
                Request::Metrics { head }
            } else {
                Request::NotFound
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sorted_by_method_and_path() {
        assert_eq!(parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Some(Request::Metrics { head: false })
        );
        assert_eq!(
            parse(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Some(Request::Metrics { head: false })
        );
        assert_eq!(
            parse(b"HEAD /metrics HTTP/1.1\r\n\r\n"),
            Some(Request::Metrics { head: true })
        );
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), Some(Request::NotFound));
        assert_eq!(
            parse(b"GET /metricsx HTTP/1.1\r\n\r\n"),
            Some(Request::NotFound)
        );
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Some(Request::MethodNotAllowed)
        );
        assert_eq!(
            parse(b"\x16\x03\x01\x02\x00\r\n\r\n"),
            Some(Request::Malformed)
        );
    }
}
