//! The MUD protocols through the async layer: our client and server over an in-memory
//! stream, GMCP's greeting, MSSP's variables and the event hook's owned MUD events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use telnetlib3::proto::options::gmcp::GmcpMessage;
use telnetlib3::proto::{Event, Policy, SessionConfig, TelnetOption};
use telnetlib3::{connect_stream, serve_stream, ClientConfig, ServerConfig};
use tokio::sync::oneshot;

const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn gmcp_greeting_and_mssp_between_our_client_and_server() {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let mut protocol = SessionConfig::with_policy(Policy::server());
    protocol.mssp.variables = vec![("NAME".into(), vec!["test MUD".into()])];
    let mut server = ServerConfig::default();
    server.protocol = Arc::new(protocol);
    server.plan.offers = Arc::from([TelnetOption::Gmcp]);
    let (hello_tx, hello_rx) = oneshot::channel();
    tokio::spawn(async move {
        serve_stream(
            server_end,
            "client",
            &server,
            |mut reader, mut writer| async move {
                // The greeting comes with the client's DO GMCP, before or soon after the shell
                // starts.
                let hello = loop {
                    let hello = writer.with_session(|session| {
                        session
                            .gmcp_data()
                            .get("Core.Hello")
                            .map(ToString::to_string)
                    });
                    if let Some(hello) = hello {
                        break hello;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                };
                let vitals = GmcpMessage::decode(br#"Char.Vitals {"hp":10}"#).unwrap();
                assert!(writer.send_gmcp(&vitals));
                let _ = hello_tx.send(hello);
                // Until the client closes.
                while !reader.read(64).await.unwrap_or_default().is_empty() {}
            },
        )
        .await;
    });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let mut client = ClientConfig::default();
    client.policy.set_remote(TelnetOption::Mssp, true);
    client.gmcp_modules = vec!["Char 1".into()];
    client.on_event = Some(Arc::new(move |event: &Event<'_>| {
        if matches!(event, Event::Gmcp(_) | Event::Mssp(_)) {
            hook_seen.lock().unwrap().push(format!("{event:?}"));
        }
    }));
    let (_reader, mut writer) = connect_stream(client_end, "server", &client).await;
    let hello = tokio::time::timeout(PATIENCE, hello_rx)
        .await
        .unwrap()
        .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        hello,
        format!(r#"{{"client":"telnetlib3","version":"{version}"}}"#)
    );
    tokio::time::timeout(PATIENCE, async {
        while seen.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            r#"Mssp(Variables([("NAME", ["test MUD"])]))"#,
            r#"Gmcp(Message(GmcpMessage { package: "Char.Vitals", data: Some(Object {"hp": Number(10)}) }))"#,
        ]
    );
    let kept = writer.with_session(|session| session.mssp_data().to_vec());
    assert_eq!(kept, [("NAME".to_owned(), vec!["test MUD".to_owned()])]);
    writer.close().await;
}

/// ZMP, ATCP and Aardwolf from a MUD client reach the server's writer as its stores
/// (`zmp_data`, `atcp_data`, `aardwolf_data`); a full store is told to the event hook
/// with `MudDataDropped`, and `zmp.ping` is answered with `zmp.time`.
#[tokio::test]
async fn zmp_atcp_and_aardwolf_are_kept_and_a_full_store_is_told() {
    use telnetlib3::proto::options::aardwolf;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (mut client_end, server_end) = tokio::io::duplex(64 * 1024);
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let hook_dropped = Arc::clone(&dropped);
    let mut server = ServerConfig::default();
    server.connect_maxwait = Duration::from_millis(50);
    server.on_event = Some(Arc::new(move |event: &Event<'_>| {
        if let Event::MudDataDropped(dropped) = event {
            hook_dropped.lock().unwrap().push(format!("{dropped:?}"));
        }
    }));
    let (kept_tx, kept_rx) = oneshot::channel();
    tokio::spawn(async move {
        serve_stream(
            server_end,
            "client",
            &server,
            |_reader, writer| async move {
                let kept = loop {
                    let kept = writer.with_session(|session| {
                        (
                            session.zmp_data().to_vec(),
                            session.atcp_data().to_vec(),
                            session.aardwolf_data().to_vec(),
                        )
                    });
                    if kept.2.len() == 3 {
                        break kept;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                };
                let _ = kept_tx.send(kept);
                std::future::pending::<()>().await;
            },
        )
        .await;
    });
    // The client's side, as a MUD client sends it: agreements, then one message each;
    // then Aardwolf data on three more channels, 7 000 bytes each: the third passes the
    // store's 16 KiB.
    let mut wire = b"\xff\xfb\x5d\xff\xfa\x5dzmp.ident\0Mudlet\x004.17\0\xff\xf0\
                     \xff\xfa\x5dzmp.ping\0\xff\xf0\
                     \xff\xfb\xc8\xff\xfa\xc8hello Mudlet 4.17\xff\xf0\
                     \xff\xfb\x66\xff\xfa\x66\x64\x03\xff\xf0"
        .to_vec();
    assert_eq!(aardwolf::MAX_STORED_BYTES, 16 * 1024);
    for channel in [101u8, 102, 103] {
        wire.extend_from_slice(&[0xff, 0xfa, 0x66, channel]);
        wire.extend(std::iter::repeat_n(b'x', 7_000));
        wire.extend_from_slice(&[0xff, 0xf0]);
    }
    client_end.write_all(&wire).await.unwrap();
    // What the server sends back includes the answer to zmp.ping (the date varies).
    let mut seen = Vec::new();
    let mut buf = [0; 4096];
    let time = b"\xff\xfa\x5dzmp.time\0";
    while !seen.windows(time.len()).any(|w| w == time) {
        let n = tokio::time::timeout(PATIENCE, client_end.read(&mut buf))
            .await
            .expect("no zmp.time")
            .unwrap();
        assert!(n > 0, "closed: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    let (zmp, atcp, aardwolf) = tokio::time::timeout(PATIENCE, kept_rx)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        zmp,
        [
            (
                "zmp.ident".to_owned(),
                vec!["Mudlet".to_owned(), "4.17".to_owned()]
            ),
            ("zmp.ping".to_owned(), vec![]),
        ]
    );
    assert_eq!(atcp, [("hello".to_owned(), "Mudlet 4.17".to_owned())]);
    let channels: Vec<(&str, usize)> = aardwolf
        .iter()
        .map(|(name, data)| (name.as_str(), data.len()))
        .collect();
    assert_eq!(
        channels,
        [("status", 1), ("tick", 7_000), ("affect", 7_000)]
    );
    tokio::time::timeout(PATIENCE, async {
        while dropped.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(
        *dropped.lock().unwrap(),
        [r#"DataDropped { option: Aardwolf, name: "group" }"#]
    );
}
