//! A recording TCP proxy: the tests put it between a real peer and the program under
//! test to assert the bytes on the wire, each direction kept as the reads that carried it.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{listen_local, show, PATIENCE};

/// One direction's reads, in order.
type Reads = Arc<Mutex<Vec<Vec<u8>>>>;

/// Forwards one connection from `port()` to the target, recording both directions.
pub struct Proxy {
    port: u16,
    to_server: Reads,
    to_client: Reads,
}

impl Proxy {
    /// Listen on 127.0.0.1 (a free port below 32768) and forward the first connection to
    /// `127.0.0.1:target`. Gives up waiting for that connection after [`PATIENCE`].
    pub fn start(target: u16) -> Self {
        let listener = listen_local();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let (to_server, to_client) = (Reads::default(), Reads::default());
        let (up, down) = (to_server.clone(), to_client.clone());
        thread::spawn(move || {
            let deadline = Instant::now() + PATIENCE;
            let client = loop {
                match listener.accept() {
                    Ok((client, _)) => break client,
                    Err(_) if Instant::now() < deadline => {
                        thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => return,
                }
            };
            client.set_nonblocking(false).unwrap();
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                return;
            };
            // Forward each read at once, as one write: the peer sees the writes as they
            // were made.
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || pump(client2, server2, &up));
            pump(server, client, &down);
        });
        Self {
            port,
            to_server,
            to_client,
        }
    }

    /// The port the peer under test connects to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything the client sent so far.
    pub fn to_server(&self) -> Vec<u8> {
        self.to_server.lock().unwrap().concat()
    }

    /// Everything the server sent so far.
    pub fn to_client(&self) -> Vec<u8> {
        self.to_client.lock().unwrap().concat()
    }

    /// The client's bytes as the proxy read them, one entry per read.
    pub fn reads_to_server(&self) -> Vec<Vec<u8>> {
        self.to_server.lock().unwrap().clone()
    }

    /// The client's reads, escaped, one per line (for assertion messages).
    pub fn show_reads_to_server(&self) -> String {
        self.reads_to_server()
            .iter()
            .map(|read| show(read))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Wait until the client has sent bytes containing `needle`; returns all it sent.
    pub fn wait_to_server(&self, needle: &[u8]) -> Vec<u8> {
        wait_for(|| self.to_server(), needle)
    }

    /// Wait until the server has sent bytes containing `needle`; returns all it sent.
    pub fn wait_to_client(&self, needle: &[u8]) -> Vec<u8> {
        wait_for(|| self.to_client(), needle)
    }
}

fn wait_for(seen: impl Fn() -> Vec<u8>, needle: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let bytes = seen();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            return bytes;
        }
        assert!(
            Instant::now() < deadline,
            "{:?} never went by; saw {:?}",
            needle.escape_ascii().to_string(),
            bytes.escape_ascii().to_string()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// Copy `from` to `to`, recording each read, until either end closes.
fn pump(mut from: TcpStream, mut to: TcpStream, reads: &Mutex<Vec<Vec<u8>>>) {
    let mut buffer = [0; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        reads.lock().unwrap().push(buffer[..n].to_vec());
        if to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
