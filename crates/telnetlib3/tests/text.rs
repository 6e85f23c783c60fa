//! Text streams between our server and client: the server picks the encoding the client
//! negotiated (LANG from NEW-ENVIRON, after BINARY both ways), and the bytes on the wire
//! are that encoding's.

mod support;

use std::time::Duration;

use telnetlib3::text::{Encoding, ErrorMode};
use telnetlib3::{
    create_server, negotiated_encoding, open_connection, ClientConfig, ServerConfig, TextReader,
    TextWriter,
};
use tokio::time::timeout;

use support::{next_line, PATIENCE};

async fn round_trip(lang: &str, encoding: &str, wire: &[u8], client_text: &str) {
    let mut config = ServerConfig::default();
    config.host = "127.0.0.1".into();
    config.port = 0;
    config.connect_maxwait = Duration::from_secs(2);
    let server = create_server(config, |reader, writer| async move {
        let utf8 = Encoding::from_name("utf8").unwrap();
        let chosen = writer.with_session(|s| negotiated_encoding(s, &utf8, false));
        let mut reader = TextReader::new(reader, chosen.clone(), ErrorMode::Strict);
        let mut writer = TextWriter::new(writer, &chosen, ErrorMode::Replace).unwrap();
        writer.write(&format!("{}|", chosen.name())).await.unwrap();
        writer.write("╔═╗ café ✓\r\n").await.unwrap();
        let line = reader.read_line().await.unwrap();
        writer.write(&format!("got {line}")).await.unwrap();
        let _ = writer.bytes().drain().await;
    })
    .await
    .unwrap();
    let mut client = ClientConfig::default();
    client.lang = lang.into();
    let port = server.local_addrs()[0].port();
    let (mut reader, writer) = timeout(PATIENCE, open_connection("127.0.0.1", port, client))
        .await
        .unwrap()
        .unwrap();
    let raw = next_line(&mut reader).await;
    let mut expected = format!("{encoding}|").into_bytes();
    expected.extend_from_slice(wire);
    assert_eq!(raw, expected, "{}", String::from_utf8_lossy(&raw));
    let ours = Encoding::from_name(encoding).unwrap();
    let mut text_reader = TextReader::new(reader, ours.clone(), ErrorMode::Strict);
    let mut text_writer = TextWriter::new(writer, &ours, ErrorMode::Strict).unwrap();
    text_writer.write(client_text).await.unwrap();
    text_writer.write("\r\n").await.unwrap();
    let reply = timeout(PATIENCE, text_reader.read_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, format!("got {client_text}\r\n"));
}

#[tokio::test]
async fn utf8_round_trip() {
    round_trip(
        "en_US.UTF-8",
        "UTF-8",
        "╔═╗ café ✓\r\n".as_bytes(),
        "naïve ☃ 日本",
    )
    .await;
}

#[tokio::test]
async fn cp437_round_trip() {
    // ✓ has no CP437 byte: the server's writer replaces it with '?'.
    round_trip(
        "en_US.CP437",
        "CP437",
        b"\xC9\xCD\xBB caf\x82 ?\r\n",
        "╚═╝ ½ ü",
    )
    .await;
}
