use std::time::Duration;

use telnetlib3_proto::{Config, Policy, Role, Session, TelnetOption};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::*;

const IAC: u8 = 255;
const WILL: u8 = 251;
const DO: u8 = 253;
const ECHO: u8 = 1;
const SGA: u8 = 3;

fn server(policy: Policy) -> (Connection<DuplexStream>, DuplexStream) {
    let (ours, theirs) = duplex(64 * 1024);
    let session = Session::new(Role::Server, Config::with_policy(policy));
    (Connection::new(ours, session), theirs)
}

async fn read_exactly(peer: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    peer.read_exact(&mut buf).await.unwrap();
    buf
}

#[tokio::test]
async fn read_answers_negotiation_and_returns_only_data() {
    let (mut conn, mut peer) = server(Policy::new().allow_local(TelnetOption::Sga));
    peer.write_all(&[IAC, DO, SGA, b'h', b'i']).await.unwrap();
    let mut buf = [0; 16];
    let n = conn.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"hi");
    assert_eq!(read_exactly(&mut peer, 3).await, [IAC, WILL, SGA]);
    assert!(conn.session().local_enabled(TelnetOption::Sga));
}

#[tokio::test]
async fn small_reads_drain_the_buffered_data_in_order() {
    let (mut conn, mut peer) = server(Policy::new());
    peer.write_all(b"hello").await.unwrap();
    let mut buf = [0; 2];
    let mut got = Vec::new();
    while got.len() < 5 {
        let n = conn.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"hello");
    assert!(conn.buffered().is_empty());
}

#[tokio::test]
async fn write_doubles_iac_and_applies_nvt_end_of_line() {
    let (mut conn, mut peer) = server(Policy::new());
    conn.write(b"a\n\xffb").await.unwrap();
    assert_eq!(read_exactly(&mut peer, 6).await, b"a\r\n\xff\xffb");
}

#[tokio::test]
async fn negotiate_returns_once_answered_and_keeps_early_data() {
    let (mut conn, mut peer) = server(Policy::new());
    conn.session_mut()
        .request_local(TelnetOption::Echo, true)
        .unwrap();
    let answer = tokio::spawn(async move {
        assert_eq!(read_exactly(&mut peer, 3).await, [IAC, WILL, ECHO]);
        peer.write_all(b"early").await.unwrap();
        peer.write_all(&[IAC, DO, ECHO]).await.unwrap();
        peer
    });
    assert!(conn.negotiate(Duration::from_secs(30)).await.unwrap());
    assert!(conn.session().local_enabled(TelnetOption::Echo));
    assert_eq!(conn.buffered(), b"early");
    drop(answer.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn negotiate_gives_up_after_maxwait() {
    let (mut conn, mut peer) = server(Policy::new());
    conn.session_mut()
        .request_remote(TelnetOption::Ttype, true)
        .unwrap();
    let start = tokio::time::Instant::now();
    assert!(!conn.negotiate(Duration::from_millis(1500)).await.unwrap());
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    // The request went out all the same.
    assert_eq!(read_exactly(&mut peer, 3).await, [IAC, DO, 24]);
}

#[tokio::test]
async fn read_returns_zero_after_the_peer_closes() {
    let (mut conn, mut peer) = server(Policy::new());
    peer.write_all(b"bye").await.unwrap();
    drop(peer);
    let mut buf = [0; 16];
    let n = conn.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"bye");
    assert_eq!(conn.read(&mut buf).await.unwrap(), 0);
    assert!(conn.peer_closed());
}

#[tokio::test]
async fn negotiate_stops_waiting_when_the_peer_closes() {
    let (mut conn, mut peer) = server(Policy::new());
    conn.session_mut()
        .request_local(TelnetOption::Echo, true)
        .unwrap();
    peer.shutdown().await.unwrap();
    assert!(!conn.negotiate(Duration::from_secs(30)).await.unwrap());
    assert!(conn.peer_closed());
    assert_eq!(read_exactly(&mut peer, 3).await, [IAC, WILL, ECHO]);
}

#[tokio::test]
async fn a_cancelled_read_loses_nothing() {
    let (mut conn, mut peer) = server(Policy::new());
    let mut buf = [0; 16];
    tokio::select! {
        _ = conn.read(&mut buf) => panic!("nothing was sent"),
        () = tokio::time::sleep(Duration::from_millis(10)) => {}
    }
    peer.write_all(b"later").await.unwrap();
    let n = conn.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"later");
}
