//! Our server and our client against each other, and against raw sockets, on 127.0.0.1.
//! Every wait is bounded.

mod support;

use std::time::Duration;

use support::{local, megabyte, next_line, port, report_shell, wait_for_binary, xterm, PATIENCE};
use telnetlib3::proto::options::naws::WindowSize;
use telnetlib3::proto::{Mode, ServerPlan, TelnetOption};
use telnetlib3::{create_server, open_connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

#[tokio::test]
async fn each_side_sees_what_the_other_negotiated() {
    let config = local();
    let server = create_server(config, report_shell).await.unwrap();

    let (mut reader, mut writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port(&server), xterm()),
    )
    .await
    .unwrap()
    .unwrap();
    let report = next_line(&mut reader).await;
    assert_eq!(
        String::from_utf8_lossy(&report),
        "TERM=xterm-256color size=Some(WindowSize { cols: 132, rows: 43 }) LANG=en_US.UTF-8 \
         charset=Some(\"UTF-8\") mode=kludge\r\n"
    );
    let repr = next_line(&mut reader).await;
    assert_eq!(
        String::from_utf8_lossy(&repr),
        "<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim \
         server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>\r\n"
    );
    assert_eq!(writer.mode(), Mode::Kludge);
    assert!(writer.with_session(
        |s| s.local_enabled(TelnetOption::Binary) && s.remote_enabled(TelnetOption::Binary)
    ));
    assert_eq!(
        writer.with_session(|s| s.charset().map(str::to_owned)),
        Some("UTF-8".into())
    );
    writer.write(b"echo me\r\n").await.unwrap();
    let echoed = next_line(&mut reader).await;
    assert_eq!(echoed, b"echo me\r\n");
    assert!(
        timeout(PATIENCE, reader.read(10))
            .await
            .unwrap()
            .unwrap()
            .is_empty(),
        "closed"
    );
}

#[tokio::test]
async fn a_megabyte_of_random_bytes_crosses_intact_both_ways_in_binary() {
    let mut config = local();
    // Our data can overtake the end of the TTYPE cycle; while the shell has not started,
    // a full input buffer holds the cycle's answers back until connect_maxwait.
    config.connect_maxwait = Duration::from_millis(500);
    let server = create_server(config, |mut reader, mut writer| async move {
        let data = reader.read_exact(1 << 20).await.unwrap();
        writer.write(&data).await.unwrap();
        writer.drain().await.unwrap();
    })
    .await
    .unwrap();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), xterm())
        .await
        .unwrap();
    wait_for_binary(&writer).await;
    let data = megabyte();
    let sent = data.clone();
    let send = tokio::spawn(async move {
        writer.write(&sent).await.unwrap();
        writer.drain().await.unwrap();
        writer
    });
    let back = timeout(PATIENCE, reader.read_exact(1 << 20))
        .await
        .unwrap()
        .unwrap();
    let _writer = send.await.unwrap();
    assert!(back == data, "the megabyte came back changed");
}

#[tokio::test]
async fn a_peer_that_stops_reading_holds_the_writer_back() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let server = create_server(config, move |_reader, mut writer| {
        let tx = tx.clone();
        async move {
            let block = vec![b'x'; 64 * 1024];
            let mut written = 0usize;
            // 64 MiB to a peer that reads nothing: must block long before the end.
            let outcome = timeout(Duration::from_millis(1500), async {
                while written < 64 << 20 {
                    writer.write(&block).await.unwrap();
                    written += block.len();
                }
            })
            .await;
            let queued = writer.pending_output();
            let _ = tx.send((outcome.is_err(), written, queued)).await;
        }
    })
    .await
    .unwrap();
    let _silent = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let (blocked, written, queued) = timeout(PATIENCE, rx.recv()).await.unwrap().unwrap();
    assert!(blocked, "64 MiB were accepted by a peer that reads nothing");
    assert!(written < 16 << 20, "{written} bytes accepted");
    assert!(
        queued <= telnetlib3::WRITE_HIGH_WATER,
        "{queued} bytes queued"
    );
}

#[tokio::test]
async fn a_client_that_never_negotiates_gets_the_shell_after_connect_maxwait() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(300);
    let server = create_server(config, |_reader, mut writer| async move {
        writer.write(b"hello").await.unwrap();
        writer.drain().await.unwrap();
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut got = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"\xff\xfd\x18hello", "only DO TTYPE, then the shell");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn garbage_and_abrupt_closes_cost_only_their_connection() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(200);
    let server = create_server(config, |mut reader, mut writer| async move {
        let line = reader.read_line().await.unwrap();
        let _ = writer.write(&line).await;
    })
    .await
    .unwrap();
    for garbage in [
        &b"\xff\xfa\x18\x00\xff\xff\xff"[..],
        &[0xff; 5000],
        b"\xff\xfb",
    ] {
        let mut rude = TcpStream::connect(("127.0.0.1", port(&server)))
            .await
            .unwrap();
        rude.write_all(garbage).await.unwrap();
        drop(rude);
    }
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), xterm())
        .await
        .unwrap();
    writer.write(b"still here\r\n").await.unwrap();
    let line = next_line(&mut reader).await;
    assert_eq!(line, b"still here\r\n");
}

#[tokio::test]
async fn timing_mark_round_trip() {
    let config = local();
    let server = create_server(config, |mut reader, _writer| async move {
        let _ = reader.read(1).await;
    })
    .await
    .unwrap();
    let (_reader, mut writer) = open_connection("127.0.0.1", port(&server), xterm())
        .await
        .unwrap();
    let answered = timeout(PATIENCE, writer.timing_mark())
        .await
        .unwrap()
        .unwrap();
    assert!(answered, "the server performs TIMING-MARK: WILL");
}

#[tokio::test]
async fn shutdown_lets_shells_finish_then_closes_the_rest() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    config.plan = ServerPlan::default();
    let server = create_server(config, |mut reader, _writer| async move {
        // Finishes only when the connection closes.
        while !reader.read(100).await.unwrap().is_empty() {}
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let mut first = [0u8; 3];
    raw.read_exact(&mut first).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.connection_count() == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.connections().len(), 1);
    let closed = timeout(PATIENCE, server.shutdown(Duration::from_millis(200)))
        .await
        .unwrap();
    assert_eq!(closed, 1, "the shell did not finish by itself");
    let mut rest = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while server.connection_count() != 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port(&server)))
            .await
            .is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn window_size_changes_reach_the_server() {
    let config = local();
    let server = create_server(config, |mut reader, mut writer| async move {
        let _ = reader.read_line().await;
        let size = writer.with_session(|s| s.peer_window_size());
        let _ = writer.write(format!("{size:?}\r\n").as_bytes()).await;
    })
    .await
    .unwrap();
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), xterm())
        .await
        .unwrap();
    writer.with_session(|s| {
        s.set_window_size(WindowSize {
            cols: 200,
            rows: 50,
        })
    });
    writer.write(b"go\r\n").await.unwrap();
    let line = next_line(&mut reader).await;
    assert_eq!(line, b"Some(WindowSize { cols: 200, rows: 50 })\r\n");
}

#[tokio::test]
async fn terminal_defaults_hold_until_the_client_reports_and_ga_can_be_turned_off() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(200);
    config.terminal.term = "vt100".into();
    config.terminal.cols = 100;
    config.terminal.never_send_ga = true;
    let server = create_server(config, |_reader, mut writer| async move {
        let (cols, rows) = writer.window_size();
        let sent = writer.send_go_ahead();
        let line = format!("{} {cols}x{rows} ga={sent}", writer.terminal_type());
        writer.write(line.as_bytes()).await.unwrap();
        writer.drain().await.unwrap();
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let mut got = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"\xff\xfd\x18vt100 100x25 ga=false");
}

#[tokio::test]
async fn an_idle_client_is_told_and_disconnected() {
    let mut config = local();
    config.connect_maxwait = Duration::from_millis(100);
    config.timeout = Some(Duration::from_millis(300));
    let server = create_server(config, |mut reader, _writer| async move {
        // A shell that waits for input forever.
        let _ = reader.read(1).await;
        std::future::pending::<()>().await;
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut got = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"\xff\xfd\x18\r\nTimeout.\r\n");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// RFC 727: a client's DO LOGOUT is answered WILL LOGOUT, after what the shell wrote,
/// and the server closes the connection; the shell's reader sees the end.
#[tokio::test]
async fn an_agreed_logout_closes_the_connection() {
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel();
    let ended_tx = std::sync::Mutex::new(Some(ended_tx));
    let mut config = local();
    // The plan's WILL ECHO and DO NEW_ENVIRON go unanswered by this raw peer.
    config.connect_maxwait = Duration::from_millis(100);
    let server = create_server(config, move |mut reader, mut writer| {
        let ended_tx = ended_tx.lock().unwrap().take();
        async move {
            writer.write(b"hello\r\n").await.unwrap();
            let rest = reader.read(100).await.unwrap();
            if let Some(ended_tx) = ended_tx {
                let _ = ended_tx.send(rest);
            }
        }
    })
    .await
    .unwrap();
    let mut raw = TcpStream::connect(("127.0.0.1", port(&server)))
        .await
        .unwrap();
    raw.write_all(b"\xff\xfc\x18").await.unwrap(); // WONT TTYPE: the shell runs soon
    let mut seen = Vec::new();
    while !seen.ends_with(b"hello\r\n") {
        let mut buf = [0; 256];
        let n = timeout(PATIENCE, raw.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    raw.write_all(b"\xff\xfd\x12").await.unwrap(); // DO LOGOUT
    let mut rest = Vec::new();
    timeout(PATIENCE, raw.read_to_end(&mut rest))
        .await
        .expect("the server did not close")
        .unwrap();
    assert_eq!(rest, b"\xff\xfb\x12");
    let shell_saw = timeout(PATIENCE, ended_rx).await.unwrap().unwrap();
    assert!(shell_saw.is_empty(), "{shell_saw:?}");
}
