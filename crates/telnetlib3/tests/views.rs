//! What each side of a connection between our server and our client sees, through the
//! writer's typed getters and watches.

mod support;

use std::time::Duration;

use support::{local, port, wait_for_binary, xterm, PATIENCE};
use telnetlib3::proto::options::naws::WindowSize;
use telnetlib3::proto::{Event, Mode, Role, TelnetOption};
use telnetlib3::{create_server, open_connection};
use tokio::sync::mpsc;
use tokio::time::timeout;

async fn next(rx: &mut mpsc::Receiver<String>) -> String {
    timeout(PATIENCE, rx.recv()).await.unwrap().unwrap()
}

/// What the server's shell saw.
#[derive(Debug)]
struct View {
    role: Role,
    term: String,
    size: (u16, u16),
    lang: Option<String>,
    env_term: Option<String>,
    columns: Option<String>,
    charset: Option<String>,
    speed: Option<(u32, u32)>,
    binary: (bool, bool),
    mode: Mode,
    summary: String,
    repr: String,
}

#[tokio::test]
async fn both_sides_see_the_negotiated_state() {
    let (tx, mut rx) = mpsc::channel(4);
    let server = create_server(local(), move |mut reader, writer| {
        let tx = tx.clone();
        async move {
            wait_for_binary(&writer).await;
            let view = View {
                role: writer.role(),
                term: writer.terminal_type(),
                size: writer.window_size(),
                lang: writer.environ_value("LANG"),
                env_term: writer.environ_value("term"),
                columns: writer.environ_value("COLUMNS"),
                charset: writer.charset(),
                speed: writer
                    .terminal_speed()
                    .map(|speed| (speed.transmit, speed.receive)),
                binary: (
                    writer.local_enabled(TelnetOption::Binary),
                    writer.remote_enabled(TelnetOption::Binary),
                ),
                mode: writer.mode(),
                summary: writer.options_summary(),
                repr: writer.to_string(),
            };
            tx.send(view).await.unwrap();
            // Stay until the client goes.
            while !reader.read(100).await.unwrap_or_default().is_empty() {}
        }
    })
    .await
    .unwrap();
    let (reader, writer) = timeout(
        PATIENCE,
        open_connection("127.0.0.1", port(&server), xterm()),
    )
    .await
    .unwrap()
    .unwrap();
    let view = timeout(PATIENCE, rx.recv()).await.unwrap().unwrap();
    assert_eq!(view.role, Role::Server);
    assert_eq!(view.term, "xterm-256color");
    assert_eq!(view.size, (132, 43));
    assert_eq!(view.lang.as_deref(), Some("en_US.UTF-8"));
    assert_eq!(view.env_term.as_deref(), Some("xterm-256color"));
    assert_eq!(view.columns.as_deref(), Some("132"));
    assert_eq!(view.charset.as_deref(), Some("UTF-8"));
    // telnetlib3's server does not ask for TSPEED.
    assert_eq!(view.speed, None);
    assert_eq!(view.binary, (true, true));
    assert_eq!(view.mode, Mode::Kludge);
    assert_eq!(
        view.summary,
        "server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE"
    );
    assert_eq!(
        view.repr,
        "<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim \
         server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>"
    );

    // The client's side of the same connection.
    wait_for_binary(&writer).await;
    assert_eq!(writer.role(), Role::Client);
    assert_eq!(writer.mode(), Mode::Kludge);
    assert_eq!(writer.charset().as_deref(), Some("UTF-8"));
    assert!(writer.remote_enabled(TelnetOption::Echo));
    assert!(writer.local_enabled(TelnetOption::Naws));
    assert_eq!(
        writer.to_string(),
        "<TelnetWriter client mode:kludge +lineflow -xon_any +slc_sim \
         client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE server-will:BINARY,CHARSET,ECHO,SGA>"
    );
    assert_eq!(
        reader.to_string(),
        "<TelnetReader limit=65536 buflen=0 eof=False>"
    );
}

#[tokio::test]
async fn the_server_can_watch_window_size_and_terminal_type() {
    let (tx, mut rx) = mpsc::channel(8);
    let server = create_server(local(), move |_reader, writer| {
        let tx = tx.clone();
        async move {
            let mut sizes = writer.watch_window_size();
            let terms = writer.watch_terminal_type();
            let term = terms.borrow().clone();
            tx.send(format!("term {term:?}")).await.unwrap();
            let first = *sizes.borrow_and_update();
            tx.send(format!("size {first:?}")).await.unwrap();
            while sizes.changed().await.is_ok() {
                let size = *sizes.borrow_and_update();
                tx.send(format!("size {size:?}")).await.unwrap();
            }
        }
    })
    .await
    .unwrap();
    let (_reader, writer) = open_connection("127.0.0.1", port(&server), xterm())
        .await
        .unwrap();
    assert_eq!(next(&mut rx).await, "term Some(\"xterm-256color\")");
    assert_eq!(
        next(&mut rx).await,
        "size Some(WindowSize { cols: 132, rows: 43 })"
    );
    for (cols, rows) in [(100, 30), (200, 60)] {
        writer.with_session(|s| s.set_window_size(WindowSize { cols, rows }));
        assert_eq!(
            next(&mut rx).await,
            format!("size Some(WindowSize {{ cols: {cols}, rows: {rows} }})")
        );
    }
    drop(writer);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn the_event_hook_sees_the_negotiation_in_order() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut config = local();
    // The hook runs inside the driver: it only sends on a channel.
    config.on_event = Some(std::sync::Arc::new(move |event: &Event<'_>| {
        let _ = tx.send(format!("{event:?}"));
    }));
    let server = create_server(config, |mut reader, _writer| async move {
        let _ = reader.read(1).await;
    })
    .await
    .unwrap();
    let (_reader, _writer) = open_connection("127.0.0.1", port(&server), xterm())
        .await
        .unwrap();
    let mut events = Vec::new();
    while !events
        .iter()
        .any(|event: &String| event.starts_with("Environ(Variables"))
    {
        events.push(timeout(PATIENCE, rx.recv()).await.unwrap().unwrap());
    }
    let position = |needle: &str| {
        events
            .iter()
            .position(|event| event.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {events:#?}"))
    };
    let ttype = position("TerminalType { name: \"xterm-256color\"");
    let naws = position("WindowSize { cols: 132, rows: 43 }");
    let environ = position("Environ(Variables");
    assert!(position("OptionChanged { option: Ttype") < ttype);
    assert!(ttype < environ, "{events:#?}");
    assert!(naws < environ, "{events:#?}");
}
