//! The MUD examples end to end: `examples/mud_server.rs` served, and played by the
//! client of `examples/gmcp_client.rs` (their code included here), over TCP.

mod support;

#[path = "../examples/gmcp_client.rs"]
mod gmcp_client;
#[path = "../examples/mud_server.rs"]
mod mud_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{port, PATIENCE};
use telnetlib3::proto::TelnetOption;
use telnetlib3::{open_connection, TelnetReader};
use tokio::time::timeout;

/// Read until `text` has come; returns what came.
async fn read_until(reader: &mut TelnetReader, text: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(text) {
        let data = timeout(PATIENCE, reader.read(4096))
            .await
            .unwrap_or_else(|_| panic!("{text:?} never came; got {seen:?}"))
            .unwrap();
        assert!(!data.is_empty(), "closed before {text:?}; got {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&data));
    }
    seen
}

/// Wait until `gmcp` holds a message that contains `text`.
async fn wait_gmcp(gmcp: &Mutex<Vec<String>>, text: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !gmcp.lock().unwrap().iter().any(|m| m.contains(text)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no GMCP with {text:?}: {:?}",
            gmcp.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gmcp_client_walks_the_mud_with_gmcp_and_mccp2() {
    let mut config = mud_server::config("127.0.0.1", 0);
    config.connect_maxwait = Duration::from_millis(500);
    let server = mud_server::serve(config).await.unwrap();
    let gmcp = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&gmcp);
    let client = gmcp_client::config(move |message| {
        seen.lock().unwrap().push(gmcp_client::show(message));
    });
    let (mut reader, mut writer) = open_connection("127.0.0.1", port(&server), client)
        .await
        .unwrap();
    let text = read_until(&mut reader, "> ").await;
    assert!(text.contains("The Temple Square"), "{text}");
    // The server's output is compressed (MCCP2), and GMCP arrived for the first room.
    assert!(writer.with_session(|s| s.input_compressed()));
    wait_gmcp(&gmcp, r#"GMCP Room.Info {"area":"The City","exits":{"east":2,"north":1},"name":"The Temple Square","num":0}"#).await;
    wait_gmcp(&gmcp, r#"GMCP Char.Vitals {"hp":100,"#).await;

    writer.write(b"go east\r\n").await.unwrap();
    let text = read_until(&mut reader, "> ").await;
    assert!(text.contains("The Market"), "{text}");
    wait_gmcp(&gmcp, r#""name":"The Market","num":2"#).await;
    wait_gmcp(&gmcp, r#"GMCP Char.Vitals {"hp":99,"#).await;

    writer.write(b"north\r\n").await.unwrap();
    let text = read_until(&mut reader, "> ").await;
    assert!(text.contains("You cannot go that way."), "{text}");
    writer.write(b"look\r\n").await.unwrap();
    let text = read_until(&mut reader, "> ").await;
    assert!(text.contains("The Market"), "{text}");
    writer.write(b"quit\r\n").await.unwrap();
    read_until(&mut reader, "Farewell.").await;
    writer.close().await;
    server.close();
}

#[tokio::test]
async fn a_crawler_learns_the_mud_from_mssp() {
    let server = mud_server::serve(mud_server::config("127.0.0.1", 0))
        .await
        .unwrap();
    let mut client = telnetlib3::ClientConfig::default();
    client.policy.set_remote(TelnetOption::Mssp, true);
    client.connect_maxwait = Duration::from_millis(500);
    let (_reader, mut writer) = open_connection("127.0.0.1", port(&server), client)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let known = writer.with_session(|s| format!("{:?}", s.mssp_data()));
        if known.contains(mud_server::NAME) {
            assert!(known.contains("ROOMS"), "{known}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no MSSP: {known}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    writer.close().await;
    server.close();
}
