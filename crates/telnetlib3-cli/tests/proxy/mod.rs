//! A logging proxy for the real-peer tests: it forwards one connection between our
//! client and a peer and records what the client sent, read by read, so that a test can
//! assert the bytes on the wire and where the client's writes ended.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::common::{listen_local, show};

/// The proxy's address is `127.0.0.1:port`; it forwards its first connection to
/// `127.0.0.1:target`.
pub struct Proxy {
    pub port: u16,
    from_client: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Proxy {
    /// Listen on a free port below 32768 and forward the first connection to `target`.
    pub fn start(target: u16) -> Self {
        let listener = listen_local();
        let port = listener.local_addr().unwrap().port();
        let from_client = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&from_client);
        // Detached: a test that fails before connecting leaves it blocked in accept
        // until the test process exits.
        thread::spawn(move || {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                return;
            };
            // Forward each read at once, as one write: the peer sees the client's
            // writes as the client made them.
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (client_in, server_out) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            thread::spawn(move || forward(server, client, None));
            forward(client_in, server_out, Some(&record));
        });
        Self { port, from_client }
    }

    /// What the client sent, one entry per read of the proxy.
    pub fn client_reads(&self) -> Vec<Vec<u8>> {
        self.from_client.lock().unwrap().clone()
    }

    /// What the client sent, as one stream.
    pub fn client_bytes(&self) -> Vec<u8> {
        self.client_reads().concat()
    }

    /// The client's reads, escaped, one per line (for assertion messages).
    pub fn show_client_reads(&self) -> String {
        self.client_reads()
            .iter()
            .map(|read| show(read))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn forward(mut from: TcpStream, mut to: TcpStream, record: Option<&Mutex<Vec<Vec<u8>>>>) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Some(record) = record {
                    record.lock().unwrap().push(buf[..n].to_vec());
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
