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
