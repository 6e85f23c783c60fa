//! `--metrics ADDR:PORT`: a small HTTP/1.1 endpoint for Prometheus scrapes.
//!
//! `GET /metrics` (or `HEAD`) answers `200` with [`ServerMetrics::encode`]'s text as
//! [`ServerMetrics::CONTENT_TYPE`]; any other path `404`, any other method `405`, a
//! request that does not parse `400`. One request per connection (`Connection: close`):
//! a scraper connects every few seconds, and keeping connections would only add state.
//!
//! Every scraper is a network peer: the request head is read up to
//! [`MAX_REQUEST_HEAD`] bytes within [`REQUEST_TIMEOUT`], and at most
//! [`MAX_SCRAPERS`] are served at once. When all are taken, a new connection takes the
//! place of the one that has waited longest for its request head (a scraper sends its
//! request at once; connections that send nothing must not keep scrapes out); only when
//! every one is past its head does the new one wait.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use telnetlib3::ServerMetrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
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

/// The connections still reading their request head, oldest first, each with what tells
/// it to give its place up.
#[derive(Default)]
struct Waiting {
    queue: Mutex<VecDeque<(u64, Arc<Notify>)>>,
}

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, Arc<Notify>)>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tell the oldest to give its place up; false if none is waiting.
    fn evict_oldest(&self) -> bool {
        let oldest = self.lock().pop_front();
        oldest.is_some_and(|(_, evicted)| {
            // A stored permit if it is not waiting yet: the eviction is not lost.
            evicted.notify_one();
            true
        })
    }

    fn remove(&self, id: u64) {
        self.lock().retain(|(waiting, _)| *waiting != id);
    }
}

async fn accept(listener: TcpListener, metrics: Arc<ServerMetrics>) {
    let permits = Arc::new(Semaphore::new(MAX_SCRAPERS));
    let waiting = Arc::new(Waiting::default());
    for id in 0u64.. {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!("cannot accept a metrics connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if waiting.evict_oldest() {
                    debug!(%peer, "metrics: all places taken, the oldest idle one given up");
                }
                // The evicted connection ends at once; else one finishing its answer.
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    return;
                };
                permit
            }
        };
        let evicted = Arc::new(Notify::new());
        waiting.lock().push_back((id, Arc::clone(&evicted)));
        let (metrics, waiting) = (Arc::clone(&metrics), Arc::clone(&waiting));
        tokio::spawn(async move {
            let served = tokio::time::timeout(REQUEST_TIMEOUT, async {
                let read = tokio::select! {
                    read = read_request(socket) => read,
                    () = evicted.notified() => return Ok(false),
                };
                let (mut socket, request) = read?;
                waiting.remove(id);
                match request {
                    Some(request) => answer(&mut socket, &request, &metrics).await.map(|()| true),
                    None => Ok(true),
                }
            });
            match served.await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => debug!(%peer, "metrics connection evicted before its request"),
                Ok(Err(error)) => debug!(%peer, "metrics request failed: {error}"),
                Err(_) => debug!(%peer, "metrics request timed out"),
            }
            waiting.remove(id);
            drop(permit);
        });
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

/// Read one request head from `socket`: the request, or `None` if the peer closed
/// before a whole one.
async fn read_request(mut socket: TcpStream) -> std::io::Result<(TcpStream, Option<Request>)> {
    let mut head = Vec::with_capacity(1024);
    let request = loop {
        let mut chunk = [0; 1024];
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            // Closed before a whole request: nothing to answer.
            return Ok((socket, None));
        }
        head.extend_from_slice(&chunk[..n]);
        match parse(&head) {
            Some(request) => break request,
            None if head.len() >= MAX_REQUEST_HEAD => break Request::Malformed,
            None => {}
        }
    };
    Ok((socket, Some(request)))
}

/// Answer `request` on `socket`.
async fn answer(
    socket: &mut TcpStream,
    request: &Request,
    metrics: &ServerMetrics,
) -> std::io::Result<()> {
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
    if *request == Request::MethodNotAllowed {
        response.push_str("Allow: GET, HEAD\r\n");
    }
    response.push_str("Connection: close\r\n\r\n");
    if *request != (Request::Metrics { head: true }) {
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

    const PATIENCE: Duration = Duration::from_secs(10);

    async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut got))
            .await
            .expect("the endpoint closes")
            .unwrap();
        got
    }

    /// All places held by connections that send nothing: a scrape takes the oldest's
    /// place and is answered; the oldest is closed, the others keep theirs.
    #[tokio::test]
    async fn a_scrape_takes_the_place_of_the_oldest_idle_connection() {
        let addr = serve(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(ServerMetrics::new()),
        )
        .await
        .unwrap();
        let mut idle = Vec::new();
        for _ in 0..MAX_SCRAPERS {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        let mut scrape = TcpStream::connect(addr).await.unwrap();
        scrape
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_all(&mut scrape).await;
        assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"), "{answer:?}");
        assert_eq!(read_all(&mut idle[0]).await, b"");
        // The second oldest still holds its place: its request is answered.
        idle[1]
            .write_all(b"HEAD /metrics HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        let answer = read_all(&mut idle[1]).await;
        assert!(answer.starts_with(b"HTTP/1.1 200 OK\r\n"), "{answer:?}");
    }

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
