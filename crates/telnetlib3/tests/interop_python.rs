//! The async library against the reference, Python telnetlib3 5.0.1, both ways.
//!
//! The Python is `$TELNETLIB3_PYTHON`, or else `.venv/bin/python` at the workspace root
//! (`scripts/test.sh` creates it); without it these tests fail. The Python programs are
//! the core crate's `tests/python/*.py`.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::python::{python, script, start_server, Reaped};

/// Start the Python script `name` (from the support scripts) with `args`, its standard
/// output and error piped; killed and reaped when dropped.
fn python_client(name: &str, args: &[&str]) -> Reaped {
    let child = Command::new(python())
        .arg(script(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Reaped(child)
}

/// Everything `child` writes to its standard output, then to its standard error, up to
/// its exit (read on a blocking thread).
async fn outputs(mut child: Reaped) -> (String, String) {
    tokio::task::spawn_blocking(move || {
        let (mut text, mut errors) = (String::new(), String::new());
        let process = &mut child.0;
        process
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        process
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut errors)
            .unwrap();
        (text, errors)
    })
    .await
    .unwrap()
}
use support::{megabyte, next_line, wait_for_binary, PATIENCE};
use telnetlib3::proto::TelnetOption;
use telnetlib3::{create_server, open_connection, ClientConfig, ServerConfig};
use tokio::time::timeout;

#[tokio::test]
async fn python_client_against_our_server() {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let server = create_server(config, move |_reader, mut writer| {
        let tx = tx.clone();
        async move {
            let seen = writer.with_session(|s| {
                (
                    s.terminal_type().map(str::to_owned),
                    s.peer_window_size(),
                    s.charset().map(str::to_owned),
                    s.remote_enabled(TelnetOption::Binary),
                )
            });
            let _ = tx.send((seen, writer.to_string())).await;
            let _ = writer.write(b"Ready.\r\ntel:sh> ").await;
            writer.send_go_ahead();
            let _ = writer.drain().await;
        }
    })
    .await
    .unwrap();
    let port = server.local_addrs()[0].port();
    let child = python_client("client_view.py", &[&port.to_string()]);
    let ((term, size, charset, binary), repr) =
        timeout(PATIENCE, rx.recv()).await.unwrap().unwrap();
    assert_eq!(term.as_deref(), Some("xterm-256color"));
    assert_eq!(size.map(|s| (s.cols, s.rows)), Some((132, 43)));
    assert_eq!(charset.as_deref(), Some("UTF-8"));
    assert!(binary);
    assert_eq!(
        repr,
        "<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim \
         server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>"
    );
    let output = async { outputs(child).await.0 };
    let text = timeout(PATIENCE, output).await.unwrap();
    assert!(text.contains("text='Ready.\\r\\ntel:sh> '"), "{text}");
    assert!(text.contains("mode=kludge"), "{text}");
}

#[tokio::test]
async fn our_client_against_the_python_server() {
    let (_python_server, port) = start_server("server_view.py");

    let mut config = ClientConfig::default();
    config.term = "xterm-256color".into();
    config.cols = 100;
    config.rows = 30;
    config.lang = "en_US.UTF-8".into();
    let (mut reader, writer) = timeout(PATIENCE, open_connection("127.0.0.1", port, config))
        .await
        .unwrap()
        .unwrap();
    let mut text = Vec::new();
    loop {
        let chunk = timeout(PATIENCE, reader.read(4096)).await.unwrap().unwrap();
        if chunk.is_empty() {
            break;
        }
        text.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&text);
    for fact in [
        "TERM=xterm-256color",
        "cols=100",
        "rows=30",
        "LANG=en_US.UTF-8",
        "charset=UTF-8",
        "mode=kludge",
        "client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE",
    ] {
        assert!(
            text.contains(fact),
            "the reference server did not see {fact}: {text}"
        );
    }
    assert_eq!(
        writer.with_session(|s| s.charset().map(str::to_owned)),
        Some("UTF-8".into())
    );
}

#[tokio::test]
async fn a_megabyte_through_the_python_echo_server_in_binary() {
    let (_python_server, port) = start_server("echo_server.py");

    let (mut reader, mut writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port, ClientConfig::default()),
    )
    .await
    .unwrap()
    .unwrap();
    wait_for_binary(&writer).await;
    let data = megabyte();
    let sent = data.clone();
    let send = tokio::spawn(async move {
        writer.write(&sent).await.unwrap();
        writer.drain().await.unwrap();
        writer
    });
    let back = timeout(Duration::from_secs(60), reader.read_exact(1 << 20))
        .await
        .unwrap()
        .unwrap();
    let _writer = send.await.unwrap();
    assert!(back == data, "the megabyte came back changed");
}

/// A text shell and the reference client in `encoding`: the server takes the client's
/// encoding from its LANG (`en_US.<encoding>`), and text crosses both ways.
async fn text_round_trip_with_python(encoding: &str, expected_name: &str) {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.connect_maxwait = Duration::from_secs(2);
    let server = telnetlib3::create_text_server(config, |mut reader, mut writer| async move {
        // The canonical name: the client may name UTF-8 in LANG or in CHARSET, spelt either way.
        let name = reader.encoding().canonical_name().to_string();
        let _ = writer.write(&format!("{name} ╔═╗ café\r\n")).await;
        if let Ok(line) = reader.read_line().await {
            let _ = writer.write(&format!("you said {line}")).await;
        }
        let _ = writer.bytes().drain().await;
    })
    .await
    .unwrap();
    let port = server.local_addrs()[0].port();
    let child = python_client("text_client.py", &[&port.to_string(), encoding]);
    let output = async {
        let (text, errors) = outputs(child).await;
        text + &errors
    };
    let text = timeout(PATIENCE, output).await.unwrap();
    assert!(
        // Either spelling of the name: LANG and CHARSET may both name it.
        text.to_lowercase().contains(&format!(
            "got='{} ╔═╗ café\\r\\n'",
            expected_name.to_lowercase()
        )),
        "{text}"
    );
    assert!(text.contains("reply='you said ╚═╝ ½ ü\\r\\n'"), "{text}");
}

#[tokio::test]
async fn utf8_text_with_the_python_client() {
    text_round_trip_with_python("utf8", "UTF-8").await;
}

#[tokio::test]
async fn cp437_text_with_the_python_client() {
    text_round_trip_with_python("cp437", "cp437").await;
}

#[tokio::test]
async fn timing_mark_against_the_python_echo_server() {
    let (_python_server, port) = start_server("echo_server.py");
    let (mut reader, mut writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port, ClientConfig::default()),
    )
    .await
    .unwrap()
    .unwrap();
    writer.write(b"before the mark\r\n").await.unwrap();
    // The reference answers once it has parsed everything sent before the mark.
    let will = timeout(PATIENCE, writer.timing_mark())
        .await
        .unwrap()
        .unwrap();
    assert!(will, "telnetlib3 performs TIMING-MARK");
    let line = next_line(&mut reader).await;
    assert_eq!(line, b"before the mark\r\n");
}

/// The reference server with `compression=True` and its own shell: its greeting, its
/// echo and a command's output arrive through its MCCP2 stream. It offers MCCP3 and
/// refuses our DO at once: our stream, deferred a moment after the agreement, never
/// starts, and every answer of ours reaches it (its echo shows it agreed to echo).
#[tokio::test]
async fn our_client_with_the_python_server_compressing() {
    let (_python_server, port) = start_server("mccp_server.py");
    let (mut reader, mut writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port, ClientConfig::default()),
    )
    .await
    .unwrap()
    .unwrap();
    let mut text = Vec::new();
    while !text.ends_with(b"tel:sh> ") {
        let chunk = timeout(PATIENCE, reader.read(4096)).await.unwrap().unwrap();
        assert!(!chunk.is_empty(), "EOF: {}", String::from_utf8_lossy(&text));
        text.extend_from_slice(&chunk);
    }
    assert!(
        text.starts_with(b"Ready.\r\n"),
        "{}",
        String::from_utf8_lossy(&text)
    );
    // MCCP2 runs. telnetlib3 5.0.1's server offers WILL MCCP3 but answers our DO MCCP3
    // with WONT MCCP3 (its handle_do does not list the option): no stream of ours.
    let (mccp2, mccp3) = writer.with_session(|s| (s.input_compressed(), s.compressing()));
    let stats = writer.stats();
    assert!(mccp2 && !mccp3 && stats.compressed_out == 0, "{stats:?}");
    writer.write(b"help\r").await.unwrap();
    let mut output = Vec::new();
    while !output.windows(4).any(|w| w == b"dump") {
        let chunk = timeout(PATIENCE, reader.read(4096)).await.unwrap().unwrap();
        assert!(
            !chunk.is_empty(),
            "EOF: {}",
            String::from_utf8_lossy(&output)
        );
        output.extend_from_slice(&chunk);
    }
    let output = String::from_utf8_lossy(&output);
    assert!(output.starts_with("help\r\n"), "no echo: {output}");
    assert!(output.contains("quit, writer, slc"), "{output}");
    let stats = writer.stats();
    assert!(stats.compressed_in > 0, "{stats:?}");
    writer.close().await;
}

/// The reference client (compression passive, its default) against our server with
/// compression on: it decompresses our MCCP2 stream, and compresses its output with
/// MCCP3, which we decompress.
#[tokio::test]
async fn the_python_client_with_our_server_compressing_both_ways() {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.compression = Some(true);
    let (report, stats) = tokio::sync::oneshot::channel();
    let report = std::sync::Mutex::new(Some(report));
    let server = create_server(config, move |mut reader, mut writer| {
        let report = report.lock().unwrap().take();
        async move {
            let mut text = String::new();
            for n in 0..200 {
                text.push_str(&format!("line {n:04}: the quick brown fox jumps\r\n"));
            }
            text.push_str("END\r\n");
            let _ = writer.write(text.as_bytes()).await;
            let line = reader.read_line().await.unwrap_or_default();
            let ys = line.iter().filter(|&&b| b == b'y').count();
            let _ = writer.write(format!("got {ys}\r\n").as_bytes()).await;
            let _ = writer.drain().await;
            if let Some(report) = report {
                let _ = report.send(writer.stats());
            }
            let _ = reader.read(1).await;
        }
    })
    .await
    .unwrap();
    let port = server.local_addrs()[0].port();
    let child = python_client("mccp_client.py", &[&port.to_string()]);
    let output = outputs(child);
    let (text, errors) = timeout(PATIENCE, output).await.unwrap();
    assert!(text.contains("mccp2=True mccp3=True"), "{text} {errors}");
    assert!(text.contains("lines=200"), "{text} {errors}");
    assert!(text.contains("verdict=got 20000"), "{text} {errors}");
    // The shell's own view, taken after the client's reply was read (its MCCP3 stream).
    let stats = timeout(PATIENCE, stats).await.unwrap().unwrap();
    assert!(
        stats.compressed_out > 0 && stats.compressed_in > 0,
        "{stats:?}"
    );
}

/// The reference client against our server that ends its MCCP2 stream when idle and
/// starts a new one with the next output (telnetlib3's client ends its decompressor at
/// the stream's end and starts a new one on the next `IAC SB MCCP2 IAC SE`): both lines
/// arrive, and two streams ran.
#[tokio::test]
async fn the_python_client_reads_across_a_restarted_mccp2_stream() {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.compression = Some(true);
    config.compression_idle_release = Some(Duration::from_millis(300));
    let (report, starts) = tokio::sync::oneshot::channel();
    let report = std::sync::Mutex::new(Some(report));
    let server = create_server(config, move |mut reader, mut writer| {
        let report = report.lock().unwrap().take();
        async move {
            let mut starts = 0;
            // The stream runs once the client agreed.
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while !writer.with_session(|s| s.compressing()) {
                if tokio::time::Instant::now() > deadline {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            starts += 1;
            let _ = writer.write(b"first\r\n").await;
            while !writer.with_session(|s| s.output_compression_suspended()) {
                if tokio::time::Instant::now() > deadline {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = writer.write(b"second\r\n").await;
            // Written out: the driver started the new stream when it took the line.
            let _ = writer.flush().await;
            if writer.with_session(|s| s.compressing()) {
                starts += 1;
            }
            if let Some(report) = report {
                let _ = report.send(starts);
            }
            // The client closes once it has read both lines (closing first would
            // finish our stream before it looks at its state).
            while let Ok(Ok(data)) = timeout(PATIENCE, reader.read(4096)).await {
                if data.is_empty() {
                    break;
                }
            }
        }
    })
    .await
    .unwrap();
    let port = server.local_addrs()[0].port();
    let child = python_client("mccp_restart_client.py", &[&port.to_string()]);
    let output = outputs(child);
    let (text, errors) = timeout(PATIENCE, output).await.unwrap();
    assert!(
        text.contains("text='first\\r\\nsecond\\r\\n' mccp2=True"),
        "{text} {errors}"
    );
    assert_eq!(timeout(PATIENCE, starts).await.unwrap().unwrap(), 2);
}
