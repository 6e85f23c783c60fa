//! `--shell relay`: after telnetlib3's `relay_server.relay_shell`, a client that gives the
//! passcode is connected to another Telnet server, and the two are piped both ways.
//!
//! Where telnetlib3's example is fixed (its passcode, `1984.ws:23`), the destination and
//! the passcode are configured ([`RelayConfig`]). The next hop learns the client's
//! terminal type and window size (telnetlib3 leaves that as a to-do), and NAWS changes
//! follow. The passcode is read without echo, as a password is (telnetlib3 echoes it).

use std::time::Duration;

use telnetlib3::{open_connection, ClientConfig, TelnetReader, TelnetWriter};
use tracing::{debug, info, warn};

use crate::shell::LineEditor;

/// telnetlib3's example passcode, the default of `--relay-passcode`.
pub const DEFAULT_PASSCODE: &str = "867-5309";
/// How many passcodes a client may try.
pub const TRIES: usize = 3;
/// The pause after each passcode, right or wrong, as telnetlib3's (it slows guessing).
pub const PASSCODE_PAUSE: Duration = Duration::from_secs(1);

/// The most bytes moved per read, each way.
const CHUNK: usize = 16 * 1024;

/// Where the relay shell connects, and what it asks first.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// The next hop's host name or address.
    pub host: String,
    /// The next hop's port.
    pub port: u16,
    /// The passcode a client must give first; `None` connects at once.
    pub passcode: Option<String>,
}

/// Run the relay shell on a connection: the passcode (up to [`TRIES`] times), then the
/// next hop, piped both ways until either side closes.
pub async fn relay_shell(mut reader: TelnetReader, mut writer: TelnetWriter, config: &RelayConfig) {
    if writer
        .write(b"Telnet Relay shell ready.\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    if let Some(passcode) = &config.passcode {
        match ask_passcode(&mut reader, &mut writer, passcode.as_bytes()).await {
            Some(true) => info!("{}: passcode accepted", writer.peer()),
            Some(false) => {
                info!("{}: passcode failed after {TRIES} tries", writer.peer());
                writer.close().await;
                return;
            }
            None => return,
        }
    }
    let target = telnetlib3::net::display_addr(&config.host, config.port);
    let _ = writer
        .write(format!("Connecting to {target} ... ").as_bytes())
        .await;
    let mut client = ClientConfig::default();
    client.term = writer.terminal_type();
    (client.cols, client.rows) = writer.window_size();
    let (upstream_reader, mut upstream_writer) =
        match open_connection(&config.host, config.port, client).await {
            Ok(connection) => connection,
            Err(error) => {
                warn!("{}: relay to {target}: {error}", writer.peer());
                let _ = writer
                    .write(format!("failed: {error}\r\n").as_bytes())
                    .await;
                writer.close().await;
                return;
            }
        };
    if writer.write(b"connected!\r\n").await.is_err() {
        upstream_writer.close().await;
        return;
    }
    info!("{}: relayed to {target}", writer.peer());
    pipe(reader, writer, upstream_reader, upstream_writer).await;
}

/// Ask for the passcode until it is given or [`TRIES`] are used: `Some(true)` when
/// given, `Some(false)` when not, `None` when the client left.
async fn ask_passcode(
    reader: &mut TelnetReader,
    writer: &mut TelnetWriter,
    passcode: &[u8],
) -> Option<bool> {
    let mut editor = LineEditor::new();
    let mut unused = Vec::new();
    // What was typed ahead, after the line last taken: the next prompt's.
    let mut typed = Vec::new();
    for _ in 0..TRIES {
        writer.write(b"Passcode: ").await.ok()?;
        let line = loop {
            if typed.is_empty() {
                let input = reader
                    .read(CHUNK)
                    .await
                    .ok()
                    .filter(|data| !data.is_empty());
                let Some(input) = input else {
                    debug!("{}: EOF at the passcode", writer.peer());
                    return None;
                };
                typed = input;
            }
            // Not echoed.
            let (used, line) = editor.feed(&typed, false, &mut unused);
            typed.drain(..used);
            if let Some(line) = line {
                break line;
            }
        };
        tokio::time::sleep(PASSCODE_PAUSE).await;
        writer.write(b"\r\n").await.ok()?;
        if line == passcode {
            return Some(true);
        }
    }
    Some(false)
}

/// Move data both ways, and the client's window size to the next hop, until one side
/// closes; then close the other. Each direction runs on its own, so that a write waiting
/// on one side (back-pressure: a peer that does not read) never stops the other side from
/// being read: a next hop that echoes a large paste must have its echo read while the
/// paste is still going to it.
async fn pipe(
    mut reader: TelnetReader,
    mut writer: TelnetWriter,
    mut upstream_reader: TelnetReader,
    mut upstream_writer: TelnetWriter,
) {
    let peer = writer.peer().to_owned();
    let mut sizes = writer.watch_window_size();
    {
        let to_next_hop = async {
            let mut watching_sizes = true;
            loop {
                tokio::select! {
                    input = reader.read(CHUNK) => match input {
                        Ok(data) if !data.is_empty() => {
                            if upstream_writer.write(&data).await.is_err() {
                                debug!("{peer}: the next hop closed");
                                return;
                            }
                        }
                        _ => {
                            debug!("{peer}: EOF from the client");
                            return;
                        }
                    },
                    changed = sizes.changed(), if watching_sizes => {
                        if changed.is_err() {
                            watching_sizes = false;
                            continue;
                        }
                        let reported = *sizes.borrow_and_update();
                        if let Some(size) = reported {
                            upstream_writer.with_session(|session| session.set_window_size(size));
                        }
                    }
                }
            }
        };
        let to_client = async {
            loop {
                match upstream_reader.read(CHUNK).await {
                    Ok(data) if !data.is_empty() => {
                        if writer.write(&data).await.is_err() {
                            return;
                        }
                    }
                    _ => {
                        debug!("{peer}: EOF from the next hop");
                        return;
                    }
                }
            }
        };
        tokio::select! {
            () = to_next_hop => {}
            () = to_client => {}
        }
    }
    upstream_writer.close().await;
    writer.close().await;
}
