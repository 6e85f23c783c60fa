//! TELNETS: the library's TLS server and client against each other and against raw
//! sockets, with certificates made here (rcgen).
#![cfg(feature = "tls")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use support::{local, next_line, port, PATIENCE};
use telnetlib3::tls::{TlsClient, TlsError, TlsServer};
use telnetlib3::{
    create_server, open_connection, ClientConfig, Error, Server, ServerConfig, TelnetReader,
    TelnetWriter,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A directory of PEM files for one test, removed at the end.
struct Pki {
    dir: PathBuf,
}

/// A certificate authority that signs the certificates of a test.
struct Authority {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

impl Pki {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "telnetlib3-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A CA named `name`, its certificate written to `<name>.pem`.
    fn authority(&self, name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let certificate = params.self_signed(&key).unwrap();
        std::fs::write(self.path(&format!("{name}.pem")), certificate.pem()).unwrap();
        Authority { certificate, key }
    }

    /// A certificate for `names` (with `common_name`) signed by `by`, written to
    /// `<file>.pem` and its key to `<file>-key.pem`; `expired` puts its end in the past.
    fn issue(&self, file: &str, by: &Authority, common_name: &str, names: &[&str], expired: bool) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let certificate = params.signed_by(&key, &by.certificate, &by.key).unwrap();
        std::fs::write(self.path(&format!("{file}.pem")), certificate.pem()).unwrap();
        std::fs::write(self.path(&format!("{file}-key.pem")), key.serialize_pem()).unwrap();
    }

    /// A CA `ca` and a server certificate `server` for localhost and 127.0.0.1.
    fn standard() -> Self {
        let pki = Self::new();
        let ca = pki.authority("ca");
        pki.issue(
            "server",
            &ca,
            "localhost",
            &["localhost", "127.0.0.1"],
            false,
        );
        pki
    }

    fn server_tls(&self, file: &str, client_ca: Option<&Path>) -> Arc<TlsServer> {
        let (cert, key) = (
            self.path(&format!("{file}.pem")),
            self.path(&format!("{file}-key.pem")),
        );
        Arc::new(TlsServer::from_pem_files(cert, key, client_ca).unwrap())
    }

    fn client(&self, ca: &str) -> ClientConfig {
        let mut config = ClientConfig::default();
        config.tls = Some(TlsClient::with_ca_file(self.path(&format!("{ca}.pem"))).unwrap());
        config.connect_maxwait = Duration::from_millis(500);
        config
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A shell that says how the connection is secured, then echoes one line.
async fn security_shell(mut reader: TelnetReader, mut writer: TelnetWriter) {
    let line = match writer.tls() {
        Some(tls) => format!(
            "secure: {} {} peer={}\r\n",
            tls.version,
            tls.cipher_suite,
            tls.peer_subject.as_deref().unwrap_or("none")
        ),
        None => "plain\r\n".to_owned(),
    };
    let _ = writer.write(line.as_bytes()).await;
    if let Ok(line) = reader.read_line().await {
        let _ = writer.write(&line).await;
    }
}

async fn tls_server(tls: Arc<TlsServer>, tls_auto: Option<Duration>) -> Server {
    let mut config: ServerConfig = local();
    config.tls = Some(tls);
    config.tls_auto = tls_auto;
    config.connect_maxwait = Duration::from_millis(500);
    create_server(config, security_shell).await.unwrap()
}

/// The first line a connection's shell writes, and the echo of a line sent.
async fn converse(config: ClientConfig, port: u16) -> (String, Vec<u8>) {
    let (mut reader, mut writer) = open_connection("127.0.0.1", port, config).await.unwrap();
    let first = String::from_utf8(next_line(&mut reader).await).unwrap();
    writer.write(b"ping\r\n").await.unwrap();
    let echo = next_line(&mut reader).await;
    (first, echo)
}

async fn handshake_error(config: ClientConfig, port: u16) -> String {
    match open_connection("127.0.0.1", port, config).await {
        Err(error @ Error::TlsHandshake { .. }) => error.to_string(),
        Err(other) => panic!("not a handshake error: {other}"),
        Ok(_) => panic!("the handshake succeeded"),
    }
}

#[tokio::test]
async fn a_tls_session_runs_the_shell_and_both_sides_see_the_same_agreement() {
    let pki = Pki::standard();
    let server = tls_server(pki.server_tls("server", None), None).await;
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), pki.client("ca"))
        .await
        .unwrap();
    let client_side = writer.tls().expect("the client's session is TLS").clone();
    assert_eq!(client_side.version, "TLSv1.3");
    let first = next_line(&mut reader).await;
    assert_eq!(
        String::from_utf8(first).unwrap(),
        format!("secure: TLSv1.3 {} peer=none\r\n", client_side.cipher_suite)
    );
    assert!(
        client_side.cipher_suite.starts_with("TLS_AES_"),
        "{client_side:?}"
    );
    // Telnet runs inside: the opening negotiation was answered, data is escaped.
    assert!(writer.with_session(|s| s.remote_enabled(telnetlib3::proto::TelnetOption::Echo)));
    writer.write(b"\xffdata\r\n").await.unwrap();
    assert_eq!(next_line(&mut reader).await, b"\xffdata\r\n");
    server.close();
}

#[tokio::test]
async fn tls_auto_serves_tls_and_plain_clients_on_one_port() {
    let pki = Pki::standard();
    let server = tls_server(
        pki.server_tls("server", None),
        Some(Duration::from_millis(500)),
    )
    .await;
    let (first, echo) = converse(pki.client("ca"), port(&server)).await;
    assert!(first.starts_with("secure: TLSv1.3 "), "{first}");
    assert_eq!(echo, b"ping\r\n");
    let mut plain = ClientConfig::default();
    plain.connect_maxwait = Duration::from_millis(500);
    let (first, echo) = converse(plain, port(&server)).await;
    assert_eq!(first, "plain\r\n");
    assert_eq!(echo, b"ping\r\n");
    server.close();
}

#[tokio::test]
async fn tls_auto_starts_telnet_at_once_on_any_other_first_byte() {
    let pki = Pki::standard();
    // A wait this long would time the test out if the server waited it out.
    let server = tls_server(
        pki.server_tls("server", None),
        Some(Duration::from_secs(3600)),
    )
    .await;
    let mut socket = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    // WONT TTYPE: a Telnet client's first byte is IAC, never a TLS record's 0x16.
    socket.write_all(b"\xff\xfc\x18").await.unwrap();
    let mut opening = [0; 3];
    timeout(PATIENCE, socket.read_exact(&mut opening))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opening, *b"\xff\xfd\x18", "the server's DO TTYPE");
    server.close();
}

#[tokio::test]
async fn tls_auto_starts_telnet_after_the_wait_for_a_silent_client() {
    let pki = Pki::standard();
    let server = tls_server(
        pki.server_tls("server", None),
        Some(Duration::from_millis(200)),
    )
    .await;
    let mut socket = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let mut opening = [0; 3];
    timeout(PATIENCE, socket.read_exact(&mut opening))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opening, *b"\xff\xfd\x18");
    server.close();
}

#[tokio::test]
async fn a_plain_server_closes_a_connection_that_begins_with_a_client_hello() {
    let server = create_server(local(), security_shell).await.unwrap();
    let mut socket = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    // The start of a TLS 1.0 record header with a ClientHello.
    socket
        .write_all(b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00")
        .await
        .unwrap();
    let mut received = Vec::new();
    timeout(PATIENCE, socket.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    // What the server sent before it read the hello (its DO TTYPE), then the close: no
    // shell ran (it would have written "plain").
    assert_eq!(received, b"\xff\xfd\x18");
    // And our own TLS client gets an error, not a session.
    let pki = Pki::standard();
    let message = handshake_error(pki.client("ca"), port(&server)).await;
    assert!(
        message.starts_with(&format!(
            "TLS handshake with 127.0.0.1:{} failed: ",
            port(&server)
        )),
        "{message}"
    );
    server.close();
}

#[tokio::test]
async fn certificates_that_fail_verification_give_a_reason_and_no_session() {
    let pki = Pki::new();
    let ca = pki.authority("ca");
    pki.issue(
        "expired",
        &ca,
        "localhost",
        &["localhost", "127.0.0.1"],
        true,
    );
    pki.issue(
        "other-name",
        &ca,
        "other.example",
        &["other.example"],
        false,
    );
    let stranger = pki.authority("stranger");
    pki.issue(
        "unknown",
        &stranger,
        "localhost",
        &["localhost", "127.0.0.1"],
        false,
    );

    let server = tls_server(pki.server_tls("expired", None), None).await;
    let message = handshake_error(pki.client("ca"), port(&server)).await;
    assert!(
        message.ends_with(
            "invalid peer certificate: certificate expired (not valid after Jan  1 00:00:00 2002 +00:00)"
        ),
        "{message}"
    );
    assert_eq!(server.connection_count(), 0);
    server.close();

    let server = tls_server(pki.server_tls("other-name", None), None).await;
    let message = handshake_error(pki.client("ca"), port(&server)).await;
    assert!(
        message.contains("certificate not valid for name \"127.0.0.1\""),
        "{message}"
    );
    // The name asked for is the one verified.
    let mut config = pki.client("ca");
    config.tls = config.tls.map(|tls| tls.with_server_name("other.example"));
    let (first, _) = converse(config, port(&server)).await;
    assert!(first.starts_with("secure: "), "{first}");
    server.close();

    let server = tls_server(pki.server_tls("unknown", None), None).await;
    let message = handshake_error(pki.client("ca"), port(&server)).await;
    assert!(
        message
            .ends_with("certificate signed by an unknown authority (not among the trusted roots)"),
        "{message}"
    );
    // Without verification the session runs (encrypted, unauthenticated).
    let mut config = pki.client("ca");
    config.tls = Some(TlsClient::without_verification());
    let (first, _) = converse(config, port(&server)).await;
    assert!(first.starts_with("secure: TLSv1.3"), "{first}");
    server.close();
}

#[tokio::test]
async fn a_self_signed_certificate_in_the_ca_file_is_trusted_as_itself() {
    // What `openssl req -x509` makes: a self-signed CA certificate used as the server's.
    let pki = Pki::new();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let certificate = params.self_signed(&key).unwrap();
    std::fs::write(pki.path("self.pem"), certificate.pem()).unwrap();
    std::fs::write(pki.path("self-key.pem"), key.serialize_pem()).unwrap();
    let server = tls_server(pki.server_tls("self", None), None).await;
    let (first, _) = converse(pki.client("self"), port(&server)).await;
    assert!(first.starts_with("secure: TLSv1.3"), "{first}");
    // Its name is still checked.
    let mut config = pki.client("self");
    config.tls = config
        .tls
        .map(|tls| tls.with_server_name("elsewhere.example"));
    let message = handshake_error(config, port(&server)).await;
    assert!(
        message.contains("not valid for name \"elsewhere.example\""),
        "{message}"
    );
    server.close();
}

#[tokio::test]
async fn client_certificates_are_required_and_their_subject_reaches_the_shell() {
    let pki = Pki::standard();
    let clients = pki.authority("client-ca");
    pki.issue("alice", &clients, "alice", &["alice.example"], false);
    let stranger = pki.authority("stranger");
    pki.issue("mallory", &stranger, "mallory", &["mallory.example"], false);
    let server = tls_server(
        pki.server_tls("server", Some(&pki.path("client-ca.pem"))),
        None,
    )
    .await;

    let mut config = pki.client("ca");
    config.tls = config.tls.map(|tls| {
        tls.with_client_certificate(pki.path("alice.pem"), pki.path("alice-key.pem"))
            .unwrap()
    });
    let (first, _) = converse(config, port(&server)).await;
    assert!(first.ends_with(" peer=CN=alice\r\n"), "{first}");

    // No certificate, or one from another CA: no session. (In TLS 1.3 the client learns
    // of the refusal only when it reads, after its handshake completed.)
    for client_cert in [None, Some("mallory")] {
        let mut config = pki.client("ca");
        if let Some(name) = client_cert {
            let (cert, key) = (
                pki.path(&format!("{name}.pem")),
                pki.path(&format!("{name}-key.pem")),
            );
            config.tls = config
                .tls
                .map(|tls| tls.with_client_certificate(cert, key).unwrap());
        }
        match open_connection("127.0.0.1", port(&server), config).await {
            Err(_) => {}
            Ok((mut reader, _writer)) => {
                let read = timeout(PATIENCE, reader.read(100))
                    .await
                    .expect("no end within PATIENCE");
                assert!(matches!(read.as_deref(), Ok(b"") | Err(_)), "{read:?}");
            }
        }
    }
    server.close();
}

#[tokio::test]
async fn a_reload_serves_new_connections_the_new_certificate_and_keeps_open_ones() {
    let pki = Pki::standard();
    let tls = pki.server_tls("server", None);
    let server = tls_server(Arc::clone(&tls), None).await;
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), pki.client("ca"))
        .await
        .unwrap();
    let _ = next_line(&mut reader).await;
    assert!(!tls.reload_if_changed().unwrap(), "nothing changed yet");

    // A renewal by a new CA, written over the same files.
    let renewed = pki.authority("ca2");
    pki.issue(
        "server",
        &renewed,
        "localhost",
        &["localhost", "127.0.0.1"],
        false,
    );
    assert!(tls.reload().unwrap());
    let message = handshake_error(pki.client("ca"), port(&server)).await;
    assert!(message.contains("unknown authority"), "{message}");
    let (first, _) = converse(pki.client("ca2"), port(&server)).await;
    assert!(first.starts_with("secure: "), "{first}");
    // The session opened before the reload goes on with its own.
    writer.write(b"still here\r\n").await.unwrap();
    assert_eq!(next_line(&mut reader).await, b"still here\r\n");

    // A failed load keeps what was in use.
    std::fs::write(pki.path("server-key.pem"), "not a key").unwrap();
    assert!(matches!(tls.reload(), Err(TlsError::NoPem { .. })));
    let (first, _) = converse(pki.client("ca2"), port(&server)).await;
    assert!(first.starts_with("secure: "), "{first}");
    server.close();
}

#[test]
fn bad_files_are_one_line_errors() {
    let pki = Pki::standard();
    let other = pki.authority("other");
    pki.issue("other-server", &other, "localhost", &["localhost"], false);
    let missing =
        TlsServer::from_pem_files(pki.path("absent.pem"), pki.path("server-key.pem"), None)
            .unwrap_err()
            .to_string();
    assert!(
        missing.starts_with("cannot read ")
            && missing.ends_with("absent.pem: No such file or directory"),
        "{missing}"
    );
    let mismatch = TlsServer::from_pem_files(
        pki.path("server.pem"),
        pki.path("other-server-key.pem"),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(mismatch.ends_with("other-server-key.pem"), "{mismatch}");
    assert!(
        mismatch.contains("server.pem does not match the private key in "),
        "{mismatch}"
    );
    let no_key = TlsServer::from_pem_files(pki.path("server.pem"), pki.path("server.pem"), None)
        .unwrap_err()
        .to_string();
    assert!(
        no_key.ends_with("server.pem: no PEM private key found"),
        "{no_key}"
    );
    for message in [missing, mismatch, no_key] {
        assert!(!message.contains('\n'), "{message}");
    }
}

#[tokio::test]
async fn tls_auto_without_tls_is_refused() {
    let mut config = local();
    config.tls_auto = Some(Duration::from_millis(500));
    let error = create_server(config, security_shell).await.unwrap_err();
    assert!(
        matches!(error, Error::Tls(TlsError::AutoWithoutTls)),
        "{error}"
    );
}

#[tokio::test]
async fn stalled_handshakes_time_out_and_do_not_delay_other_clients() {
    let pki = Pki::standard();
    let mut config = local();
    config.tls = Some(pki.server_tls("server", None));
    config.tls_handshake_timeout = Duration::from_millis(1500);
    config.connect_maxwait = Duration::from_millis(500);
    let server = create_server(config, security_shell).await.unwrap();
    // 500 clients that begin a handshake and stop: a record header promising more.
    let mut stalled = Vec::new();
    let before = rss_kib();
    for _ in 0..500 {
        let mut socket = TcpStream::connect(("127.0.0.1", port(&server)))
            .await
            .unwrap();
        socket.write_all(b"\x16\x03\x01\x02\x00\x01").await.unwrap();
        stalled.push(socket);
    }
    // What they hold once the server has read their bytes: about 12 KiB each here (the
    // task, the socket, rustls's state and its buffer for the promised record). The
    // bound leaves room for the other tests of this binary, which run alongside.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let growth = (rss_kib() - before) / 500;
    assert!(growth < 48, "{growth} KiB per stalled handshake");
    // Another client is served meanwhile.
    let (first, echo) = converse(pki.client("ca"), port(&server)).await;
    assert!(first.starts_with("secure: "), "{first}");
    assert_eq!(echo, b"ping\r\n");
    // Each stalled one is dropped at its deadline, without a byte sent back.
    for socket in &mut stalled {
        let mut received = Vec::new();
        timeout(PATIENCE, socket.read_to_end(&mut received))
            .await
            .expect("a stalled handshake outlived PATIENCE")
            .unwrap();
        assert_eq!(received, b"");
    }
    server.close();
}

/// The resident memory of this process.
fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn compression_is_refused_under_tls_whatever_the_config_says() {
    use telnetlib3::proto::TelnetOption;
    let pki = Pki::standard();
    let mut config = local();
    config.tls = Some(pki.server_tls("server", None));
    config.tls_auto = Some(Duration::from_millis(200));
    // A server that offers MCCP to plain clients (telnetlib3's `compression=True`) ...
    config.compression = Some(true);
    config.connect_maxwait = Duration::from_millis(500);
    let server = create_server(config, security_shell).await.unwrap();
    let mccp = |writer: &TelnetWriter| {
        writer.with_session(|s| {
            [TelnetOption::Mccp2, TelnetOption::Mccp3]
                .map(|o| s.remote_enabled(o) || s.local_enabled(o))
        })
    };
    // ... offers and agrees to nothing of it over TLS, to a client that would accept it.
    let mut tls_client = pki.client("ca");
    tls_client.compression = Some(true);
    let (mut reader, writer) = open_connection("127.0.0.1", port(&server), tls_client)
        .await
        .unwrap();
    assert!(next_line(&mut reader).await.starts_with(b"secure: "));
    assert_eq!(mccp(&writer), [false, false]);
    assert_eq!(writer.stats().compressed_in, 0);
    // The same server compresses for a plain client on the same port.
    let mut plain = ClientConfig::default();
    plain.connect_maxwait = Duration::from_millis(500);
    let (mut reader, writer) = open_connection("127.0.0.1", port(&server), plain)
        .await
        .unwrap();
    assert_eq!(next_line(&mut reader).await, b"plain\r\n");
    assert_eq!(mccp(&writer), [true, true]);
    assert!(writer.stats().compressed_in > 0, "{:?}", writer.stats());
    server.close();
}

#[tokio::test]
async fn close_and_drain_end_connections_still_in_their_tls_handshake() {
    let pki = Pki::standard();
    for drain in [false, true] {
        // A handshake that would otherwise be waited for far longer than the test.
        let mut config: ServerConfig = local();
        config.tls = Some(pki.server_tls("server", None));
        config.tls_handshake_timeout = PATIENCE * 10;
        let server = create_server(config, security_shell).await.unwrap();
        let mut stalled = TcpStream::connect(("127.0.0.1", port(&server)))
            .await
            .unwrap();
        // Half a ClientHello record header: the handshake has begun and waits for more.
        stalled.write_all(&[0x16, 0x03]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        if drain {
            let summary = timeout(PATIENCE, server.drain(b"bye\r\n", PATIENCE * 10))
                .await
                .expect("the drain waited for the handshake");
            assert_eq!(summary.open, 0);
        } else {
            server.close();
        }
        let mut rest = Vec::new();
        let read = timeout(PATIENCE, stalled.read_to_end(&mut rest))
            .await
            .expect("the handshake was kept");
        assert!(read.is_err() || rest.is_empty(), "{rest:?}");
        timeout(PATIENCE, server.wait_closed()).await.unwrap();
    }
}

#[tokio::test]
async fn write_eof_over_tls_sends_close_notify_and_keeps_reading() {
    let pki = Pki::standard();
    let mut config: ServerConfig = local();
    config.tls = Some(pki.server_tls("server", None));
    config.connect_maxwait = Duration::from_millis(500);
    let (answers, mut answered) = tokio::sync::mpsc::channel(1);
    let server = create_server(config, move |mut reader, mut writer| {
        let answers = answers.clone();
        async move {
            writer.write(b"question\r\n").await.unwrap();
            writer.write_eof().await.unwrap();
            let answer = reader.read_line().await.unwrap();
            answers.send(answer).await.unwrap();
        }
    })
    .await
    .unwrap();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), pki.client("ca"))
        .await
        .unwrap();
    assert_eq!(next_line(&mut reader).await, b"question\r\n");
    // close_notify then FIN: a clean end of file, not a truncation error.
    let end = timeout(PATIENCE, reader.read(16)).await.unwrap().unwrap();
    assert_eq!(end, b"");
    writer.write(b"answer\r\n").await.unwrap();
    let answer = timeout(PATIENCE, answered.recv()).await.unwrap().unwrap();
    assert_eq!(answer, b"answer\r\n");
    server.close();
}
