//! The blocking client against our async server running on a runtime of its own.

use std::time::Duration;

use telnetlib3::blocking::TelnetConnection;
use telnetlib3::proto::{Mode, TelnetOption};
use telnetlib3::{
    create_server, ClientConfig, Error, OptionWait, Server, ServerConfig, TelnetReader,
    TelnetWriter,
};
use tokio::runtime::Runtime;

/// Our server on 127.0.0.1 (a free port) running `shell`, on `runtime`.
fn serve<F, Fut>(runtime: &Runtime, shell: F) -> (Server, u16)
where
    F: Fn(TelnetReader, TelnetWriter) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let server = runtime.block_on(async {
        let mut config = ServerConfig::default();
        config.host = "127.0.0.1".into();
        config.port = 0;
        create_server(config, shell).await.unwrap()
    });
    let port = server.local_addrs()[0].port();
    (server, port)
}

#[test]
fn blocking_dialogue_and_timeouts() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, port) = serve(&runtime, |mut reader, mut writer| async move {
        let _ = writer.write(b"name> ").await;
        if let Ok(line) = reader.read_line().await {
            let _ = writer.write(b"hello ").await;
            let _ = writer.write(&line).await;
        }
        // Then stay silent until the client leaves.
        let _ = reader.read(1).await;
    });

    let wait = Some(Duration::from_secs(10));
    let mut conn = TelnetConnection::connect("127.0.0.1", port, ClientConfig::default()).unwrap();
    assert_eq!(conn.read_until(b">", wait).unwrap(), b"name>");
    conn.write(b"world\r\n").unwrap();
    assert_eq!(conn.read_line(wait).unwrap(), b" hello world\r\n");
    let silent = conn.read(10, Some(Duration::from_millis(200)));
    assert!(matches!(silent, Err(Error::TimedOut)), "{silent:?}");
    assert!(conn
        .writer()
        .to_string()
        .starts_with("<TelnetWriter client mode:"));
    conn.close();
    runtime.block_on(async { server.shutdown(Duration::from_secs(5)).await });
}

#[test]
fn blocking_expect_read_until_pattern_and_their_timeouts() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, port) = serve(&runtime, |mut reader, mut writer| async move {
        let _ = writer.write(b"Welcome\r\nrouter> ").await;
        if reader.read_until(b"\r\n").await.is_ok() {
            let _ = writer.write(b"Password: ").await;
        }
        let _ = reader.read(1).await;
    });

    let wait = Some(Duration::from_secs(10));
    let prompts = [
        regex::bytes::Regex::new(r"[#>] $").unwrap(),
        regex::bytes::Regex::new(r"(?i)password: $").unwrap(),
    ];
    let mut conn = TelnetConnection::connect("127.0.0.1", port, ClientConfig::default()).unwrap();
    let found = conn.expect(&prompts, wait).unwrap();
    assert_eq!(found.index, 0);
    assert_eq!(found.matched, b"> ");
    assert!(found.before.ends_with(b"Welcome\r\nrouter"), "{found:?}");
    conn.write(b"enable\r\n").unwrap();
    assert_eq!(
        conn.read_until_pattern(&prompts[1], wait).unwrap(),
        b"Password: "
    );
    let silent = conn.expect(&prompts, Some(Duration::from_millis(200)));
    assert!(matches!(silent, Err(Error::TimedOut)), "{silent:?}");
    conn.close();
    runtime.block_on(async { server.shutdown(Duration::from_secs(5)).await });
}

#[test]
fn the_blocking_client_has_the_async_clients_reads_waits_and_state() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, port) = serve(&runtime, |mut reader, mut writer| async move {
        let _ = writer.write(b"0123456789abcdef").await;
        // The client's request ends with its end of file: answer it after.
        let mut request = Vec::new();
        while let Ok(data) = reader.read(64).await {
            if data.is_empty() {
                break;
            }
            request.extend_from_slice(&data);
        }
        let _ = writer.write(b"request was: ").await;
        let _ = writer.write(&request).await;
    });
    let wait = Some(Duration::from_secs(10));
    let mut config = ClientConfig::default();
    config.term = "vt220".into();
    let mut conn = TelnetConnection::connect("127.0.0.1", port, config).unwrap();

    // The negotiated state, as the async writer has it.
    conn.wait_for(
        &OptionWait::new()
            .remote(TelnetOption::Echo, true)
            .local(TelnetOption::Ttype, true),
        wait,
    )
    .unwrap();
    assert!(conn.remote_enabled(TelnetOption::Echo));
    assert!(conn.local_enabled(TelnetOption::Naws));
    assert!(!conn.remote_enabled(TelnetOption::Naws));
    assert_eq!(conn.peer(), format!("127.0.0.1 {port}"));
    conn.wait_for_condition(|s| s.mode() == Mode::Kludge, wait)
        .unwrap();
    assert_eq!(conn.mode(), Mode::Kludge);
    assert!(
        conn.options_summary().contains("server-will:"),
        "{}",
        conn.options_summary()
    );
    let never = conn.wait_for(
        &OptionWait::new().remote(TelnetOption::Linemode, true),
        Some(Duration::from_millis(100)),
    );
    assert!(matches!(never, Err(Error::TimedOut)), "{never:?}");

    assert_eq!(conn.read_exact(4, wait).unwrap(), b"0123");
    let mut rest = conn.read_some(wait).unwrap();
    while rest.len() < 12 {
        rest.extend(conn.read_some(wait).unwrap());
    }
    assert_eq!(rest, b"456789abcdef");
    let silent = conn.read_some(Some(Duration::from_millis(100)));
    assert!(matches!(silent, Err(Error::TimedOut)), "{silent:?}");

    conn.write(b"show version").unwrap();
    conn.flush(wait).unwrap();
    conn.write_eof().unwrap();
    assert!(matches!(conn.write(b"more"), Err(Error::Closed)));
    assert_eq!(
        conn.read_until(b"version", wait).unwrap(),
        b"request was: show version"
    );
    assert_eq!(conn.read_some(wait).unwrap(), b"");
    assert!(conn.at_eof());
    conn.close();
    runtime.block_on(async { server.shutdown(Duration::from_secs(5)).await });
}

/// The text methods: UTF-8 by default (invalid bytes replaced), another encoding when
/// set, each read decoding across chunk boundaries; text writes encoded.
#[test]
fn blocking_text_reads_and_writes_in_utf8_and_in_a_chosen_encoding() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (server, port) = serve(&runtime, |mut reader, mut writer| async move {
        // "Grüße ✓" split inside its multi-byte characters, a bad byte, a prompt.
        for part in [
            &b"Gr\xc3"[..],
            b"\xbc\xc3\x9fe \xe2\x9c",
            b"\x93\r\n\xffok> ",
        ] {
            let _ = writer.write(part).await;
            let _ = writer.flush().await;
        }
        // The client's answer in Latin-1, echoed back as bytes.
        if let Ok(line) = reader.read_line().await {
            let _ = writer.write(&line).await;
        }
        let _ = reader.read(1).await;
    });

    let wait = Some(Duration::from_secs(10));
    let mut conn = TelnetConnection::connect("127.0.0.1", port, ClientConfig::default()).unwrap();
    assert_eq!(conn.read_text_line(wait).unwrap(), "Grüße ✓\r\n");
    let prompt = regex::Regex::new(r"ok> $").unwrap();
    let found = conn.expect_text(&[prompt], wait).unwrap();
    assert_eq!((found.index, found.before.as_str()), (0, "\u{fffd}"));
    assert_eq!(found.matched, "ok> ");
    let latin1 = telnetlib3::text::Encoding::from_name("latin-1").unwrap();
    conn.set_encoding(&latin1, telnetlib3::text::ErrorMode::Strict)
        .unwrap();
    conn.write_text("Grüße\r\n").unwrap();
    assert_eq!(conn.read_text_line(wait).unwrap(), "Grüße\r\n");
    let unmappable = conn.write_text("✓");
    assert!(matches!(unmappable, Err(Error::Text(_))), "{unmappable:?}");
    let silent = conn.read_text(10, Some(Duration::from_millis(200)));
    assert!(matches!(silent, Err(Error::TimedOut)), "{silent:?}");
    conn.close();
    runtime.block_on(async { server.shutdown(Duration::from_secs(5)).await });
}
