//! Probing a Telnet server, as telnetlib3 5.0.1's `telnetlib3-fingerprint` does: connect,
//! answer the server's negotiation as telnetlib3's client would, read the banner, answer
//! the first prompts, then ask for each option with DO, ask for two client-side options
//! and offer a server-side one (the wrong-direction probe), re-request what was agreed
//! (loop detection), and report it all in telnetlib3's JSON record.

use std::time::{Duration, Instant, SystemTime};

use regex::bytes::Regex;
use serde_json::{json, Map, Value};
use telnetlib3::text::{Encoding, ErrorMode};
use telnetlib3_proto::{Parser, Verb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zlib_rs::{Inflate, InflateFlush, Status};

use super::banner::{Prompts, VirtualCursor};
use super::negotiator::{Negotiator, Stance, ECHO};
use super::record::{
    escaped_byte, fingerprint_hash, option_name, CORE_AND_MUD_OPTIONS, EXTENDED_OPTIONS,
    LEGACY_OPTIONS,
};

/// How long the opening negotiation may take before the probe starts reading the banner
/// (telnetlib3's fingerprint tool uses `connect_maxwait=4.0`).
const OPENING_MAX_WAIT: Duration = Duration::from_secs(4);
/// Straggling negotiation is read for this long first (`_NEGOTIATION_SETTLE`).
const SETTLE: Duration = Duration::from_millis(500);
/// How long each probe waits for its answers (`_PROBE_TIMEOUT`).
const PROBE_WAIT: Duration = Duration::from_millis(500);
/// How many prompts are answered at most (`_MAX_PROMPT_REPLIES`).
const MAX_PROMPT_REPLIES: usize = 5;
/// Options only a client performs: never asked of a server with DO (`_CLIENT_ONLY_WILL`).
const CLIENT_ONLY: [u8; 8] = [24, 32, 31, 35, 39, 33, 34, 23];
/// The wrong-direction probe: DO for these client-side options...
const WRONG_DIRECTION_DO: [u8; 2] = [31, 24];
/// ... and WILL for this server-side one.
const WRONG_DIRECTION_WILL: [u8; 1] = [ECHO];

/// How deep the probe goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanType {
    /// The core and MUD options (telnetlib3's default).
    Quick,
    /// The legacy options too.
    Full,
}

impl ScanType {
    /// The name in the JSON record: `quick` or `full`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Full => "full",
        }
    }
}

/// What to probe and how long to wait.
#[derive(Clone, Debug)]
pub struct ServerProbeSettings {
    /// The server's host name or address, as given.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The probe's depth.
    pub scan: ScanType,
    /// The terminal type answered to TTYPE SEND.
    pub terminal_type: String,
    /// The server's encoding, for the banner text (`ascii` by default, as telnetlib3).
    pub encoding: String,
    /// Silence that ends a banner.
    pub banner_quiet_time: Duration,
    /// The longest a banner read may take.
    pub banner_max_wait: Duration,
    /// The most bytes one banner read keeps.
    pub banner_max_bytes: usize,
    /// How long after connecting to wait for MSSP data when the server agreed to MSSP.
    pub mssp_wait: Duration,
    /// How long the TCP connection may take.
    pub connect_timeout: Duration,
    /// Options always offered (WILL), besides the MUD protocols.
    pub always_will: Vec<u8>,
    /// Options always requested (DO), besides the MUD protocols.
    pub always_do: Vec<u8>,
    /// Environment variables sent when NEW-ENVIRON asks, besides TERM.
    pub send_env: Vec<(String, String)>,
}

impl ServerProbeSettings {
    /// telnetlib3's defaults for `host` and `port`.
    #[must_use]
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            scan: ScanType::Quick,
            terminal_type: "VT100".to_owned(),
            encoding: "ascii".to_owned(),
            banner_quiet_time: Duration::from_secs(2),
            banner_max_wait: Duration::from_secs(8),
            banner_max_bytes: 65536,
            mssp_wait: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            always_will: Vec::new(),
            always_do: Vec::new(),
            send_env: Vec::new(),
        }
    }
}

/// Why a probe could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The TCP connection failed or timed out.
    #[error("{host}:{port}: {source}")]
    Connect {
        /// The host as given.
        host: String,
        /// The port.
        port: u16,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// The probe's connection: the socket, the parser, the negotiation tables and, once the
/// server starts MCCP2 (its output compressed from then on), the inflater.
struct Connection {
    stream: TcpStream,
    parser: Parser,
    negotiator: Negotiator,
    inflate: Option<Box<Inflate>>,
    closed: bool,
    dsr_requests: u64,
    dsr_replies: u64,
    cursor: VirtualCursor,
    /// The encoding the banner turned out to be in: a SyncTERM font switch, or the
    /// charset a menu answer picked (telnetlib3 sets `environ_encoding`).
    encoding: Option<String>,
    /// `--encoding` was given (not `ascii`): font switches and charset menus leave the
    /// encoding alone, and a code page menu is answered with return.
    explicit: bool,
    /// An ESC prompt, or a charset menu, was answered as it arrived; the prompt loop
    /// does not answer it again (telnetlib3's `_esc_inline`, `_menu_inline`).
    esc_inline: bool,
    menu_inline: bool,
}

/// What one banner read has answered already.
#[derive(Default)]
struct BannerRead {
    /// The read's text so far, escape sequences taken out.
    stripped: Vec<u8>,
    esc_answered: bool,
    menu_answered: bool,
}

/// An answer to the server's terminal queries, as telnetlib3's probe gives them.
struct AnsiProbes {
    device_attributes: Regex,
    status: Regex,
    cursor_position: Regex,
}

impl Connection {
    /// Read until `quiet` passes without data or `max_wait` is over, answering
    /// negotiation and terminal queries; the application data read is returned.
    async fn read_until_quiet(
        &mut self,
        quiet: Duration,
        max_wait: Duration,
        max_bytes: usize,
        ansi: &AnsiProbes,
        prompts: &Prompts,
    ) -> Vec<u8> {
        let deadline = Instant::now() + max_wait;
        let mut read = BannerRead::default();
        // Data that came with the opening negotiation is the banner's start.
        let mut collected = std::mem::take(&mut self.negotiator.data);
        if !collected.is_empty() {
            self.banner_chunk(&collected, ansi, prompts, &mut read);
        }
        collected.truncate(max_bytes);
        let mut buffer = vec![0u8; 16 * 1024];
        while !self.closed {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .min(quiet);
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, self.stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(n)) => {
                    self.receive(&buffer[..n]);
                    let chunk = std::mem::take(&mut self.negotiator.data);
                    if !chunk.is_empty() {
                        self.banner_chunk(&chunk, ansi, prompts, &mut read);
                    }
                    let room = max_bytes.saturating_sub(collected.len());
                    collected.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Err(_) => break,
            }
            self.flush().await;
        }
        self.flush().await;
        collected
    }

    /// Read for `wait`, or until `done` holds.
    async fn read_while(&mut self, wait: Duration, done: impl Fn(&Negotiator) -> bool) {
        let deadline = Instant::now() + wait;
        let mut buffer = vec![0u8; 16 * 1024];
        self.flush().await;
        while !self.closed && !done(&self.negotiator) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, self.stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => self.closed = true,
                Ok(Ok(n)) => self.receive(&buffer[..n]),
                Err(_) => break,
            }
            self.flush().await;
        }
    }

    /// Parse `bytes`, inflating them first once the server's MCCP2 stream runs.
    fn receive(&mut self, mut bytes: &[u8]) {
        let mut inflated = Vec::new();
        while !bytes.is_empty() {
            if let Some(inflate) = self.inflate.as_deref_mut() {
                let mut out = vec![0u8; 16 * 1024];
                let (in_before, out_before) = (inflate.total_in(), inflate.total_out());
                let status = inflate.decompress(bytes, &mut out, InflateFlush::NoFlush);
                let consumed =
                    usize::try_from(inflate.total_in() - in_before).unwrap_or(bytes.len());
                let produced = usize::try_from(inflate.total_out() - out_before).unwrap_or(0);
                inflated.clear();
                inflated.extend_from_slice(&out[..produced]);
                bytes = &bytes[consumed.min(bytes.len())..];
                match status {
                    Ok(Status::StreamEnd) => self.inflate = None,
                    Ok(_) if consumed == 0 && produced == 0 => bytes = &[],
                    Ok(_) => {}
                    Err(_) => {
                        // A corrupt stream: nothing after it can be read.
                        self.closed = true;
                        return;
                    }
                }
                let plain = std::mem::take(&mut inflated);
                self.parse(&plain);
                inflated = plain;
            } else {
                let used = self.parse(bytes);
                bytes = &bytes[used..];
            }
        }
    }

    /// Parse plain Telnet bytes; returns how many were taken (fewer when MCCP2 starts).
    fn parse(&mut self, bytes: &[u8]) -> usize {
        let mut used = 0;
        while used < bytes.len() {
            used += self.parser.advance(&mut self.negotiator, &bytes[used..]);
            if self.negotiator.compression_started {
                self.negotiator.compression_started = false;
                // MCCP2: everything after IAC SB MCCP2 IAC SE is one zlib stream.
                self.inflate = Some(Box::new(Inflate::new(true, 15)));
                return used;
            }
        }
        used
    }

    async fn flush(&mut self) {
        if self.negotiator.output.is_empty() || self.closed {
            return;
        }
        let output = std::mem::take(&mut self.negotiator.output);
        if self.stream.write_all(&output).await.is_err() {
            self.closed = true;
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        // Application data: IAC doubled (RFC 854).
        for &byte in bytes {
            self.negotiator.output.push(byte);
            if byte == telnetlib3_proto::IAC {
                self.negotiator.output.push(byte);
            }
        }
        self.flush().await;
    }

    /// One chunk of banner, as telnetlib3's `_read_banner_until_quiet` takes it: the
    /// terminal queries answered (or the cursor moved over it), a SyncTERM font switch
    /// followed, and an ESC prompt or a UTF-8 menu answered at once, before a botcheck
    /// countdown runs out (a code page menu too, with return, when the encoding was
    /// given).
    fn banner_chunk(
        &mut self,
        chunk: &[u8],
        ansi: &AnsiProbes,
        prompts: &Prompts,
        read: &mut BannerRead,
    ) {
        self.answer_terminal_queries(chunk, ansi, prompts);
        if let Some(font) = prompts.syncterm_font(chunk) {
            if !self.explicit {
                self.encoding = Some(font.to_owned());
                font.clone_into(&mut self.cursor.encoding);
            }
        }
        let stripped = prompts.strip(chunk);
        if !read.esc_answered {
            if let Some(twice) = prompts.esc_prompt(&stripped) {
                let reply: &[u8] = if twice { b"\x1b\x1b" } else { b"\x1b" };
                self.negotiator.output.extend_from_slice(reply);
                read.esc_answered = true;
                self.esc_inline = true;
            }
        }
        // Bounded: the chunks of one read are, by the banner limit and the socket
        // buffer; the menu may be split between them.
        read.stripped.extend_from_slice(&stripped);
        if !read.menu_answered {
            if self.explicit {
                if prompts.codepage_prompt(&read.stripped) {
                    self.negotiator.output.extend_from_slice(b"\r\n");
                    read.menu_answered = true;
                    self.menu_inline = true;
                }
            } else if let Some(response) = prompts.utf8_menu_entry(&read.stripped) {
                self.negotiator.output.extend_from_slice(&response);
                read.menu_answered = true;
                self.encoding = Some("utf-8".to_owned());
                "utf-8".clone_into(&mut self.cursor.encoding);
                self.menu_inline = true;
            }
        }
    }

    /// DA is answered as a VT100 with AVO, DSR 5n with "OK", ENQ with CR and DSR 6n
    /// with the cursor's position, the text before each report moving the cursor
    /// (telnetlib3's `_respond_to_ansi_probes`); a chunk without queries only moves it.
    fn answer_terminal_queries(&mut self, chunk: &[u8], ansi: &AnsiProbes, prompts: &Prompts) {
        let has_query = ansi.device_attributes.is_match(chunk)
            || ansi.status.is_match(chunk)
            || ansi.cursor_position.is_match(chunk)
            || memchr::memchr(0x05, chunk).is_some();
        if !has_query {
            self.cursor.advance(prompts, chunk);
            return;
        }
        let mut reply = Vec::new();
        for _ in ansi.device_attributes.find_iter(chunk) {
            reply.extend_from_slice(b"\x1b[?1;2c");
        }
        for _ in ansi.status.find_iter(chunk) {
            reply.extend_from_slice(b"\x1b[0n");
        }
        if memchr::memchr(0x05, chunk).is_some() {
            reply.push(b'\r');
        }
        let mut at = 0;
        for found in ansi.cursor_position.find_iter(chunk) {
            self.dsr_requests += 1;
            self.cursor.advance(prompts, &chunk[at..found.start()]);
            self.dsr_replies += 1;
            reply.extend_from_slice(&self.cursor.cpr());
            at = found.end();
        }
        self.cursor.advance(prompts, &chunk[at..]);
        self.negotiator.output.extend_from_slice(&reply);
    }
}

/// Probe the server `settings` names and return telnetlib3's record:
/// `{"server-probe": {"fingerprint", "fingerprint-data", "session_data"}, "sessions"}`.
///
/// # Errors
/// [`ProbeError::Connect`] when the connection cannot be made; a server that closes
/// mid-probe still gives a record of what was seen.
pub async fn probe_server(settings: &ServerProbeSettings) -> Result<Value, ProbeError> {
    let connect_error = |source| ProbeError::Connect {
        host: settings.host.clone(),
        port: settings.port,
        source,
    };
    let stream = tokio::time::timeout(
        settings.connect_timeout,
        TcpStream::connect((settings.host.as_str(), settings.port)),
    )
    .await
    .map_err(|_| {
        connect_error(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "connect timed out",
        ))
    })?
    .map_err(connect_error)?;
    let peer_ip = stream.peer_addr().map(|a| a.ip().to_string()).ok();
    let started = Instant::now();
    let mut negotiator = Negotiator::new(
        &settings.terminal_type,
        &settings.always_will,
        &settings.always_do,
    );
    negotiator.send_env.clone_from(&settings.send_env);
    negotiator.begin();
    let mut connection = Connection {
        stream,
        parser: Parser::new(),
        negotiator,
        inflate: None,
        closed: false,
        dsr_requests: 0,
        dsr_replies: 0,
        cursor: VirtualCursor::new(&settings.encoding),
        encoding: None,
        explicit: !settings.encoding.eq_ignore_ascii_case("ascii"),
        esc_inline: false,
        menu_inline: false,
    };
    let ansi = AnsiProbes {
        device_attributes: Regex::new(r"\x1b\[0?c").expect("a fixed pattern"),
        status: Regex::new(r"\x1b\[5n").expect("a fixed pattern"),
        cursor_position: Regex::new(r"\x1b\[6n").expect("a fixed pattern"),
    };
    let prompts = Prompts::new();

    // The opening: until every request of ours is answered, at most 4 seconds.
    connection
        .read_while(OPENING_MAX_WAIT, |n| !n.has_pending())
        .await;
    let mut banner_before = connection
        .read_until_quiet(SETTLE, SETTLE, settings.banner_max_bytes, &ansi, &prompts)
        .await;
    banner_before.extend(
        connection
            .read_until_quiet(
                settings.banner_quiet_time,
                settings.banner_max_wait,
                settings.banner_max_bytes,
                &ansi,
                &prompts,
            )
            .await,
    );

    // The cursor measures in the encoding in force once the opening is over.
    if let Some(charset) = &connection.negotiator.charset {
        if connection.encoding.is_none() {
            connection.cursor.encoding.clone_from(charset);
        }
    }
    let mut banner_after = Vec::new();
    let mut latest = banner_before.clone();
    for _ in 0..MAX_PROMPT_REPLIES {
        if connection.closed {
            break;
        }
        let found = prompts.answer(&latest);
        let picks = found.as_ref().and_then(|answer| answer.encoding);
        let mut detected = found.as_ref().map(|answer| answer.response.clone());
        // Answered already as it arrived (telnetlib3 clears its flag and sends return).
        let esc = matches!(detected.as_deref(), Some(b"\x1b\x1b" | b"\x1b"));
        if esc && std::mem::take(&mut connection.esc_inline) {
            detected = None;
        }
        if picks.is_some() && std::mem::take(&mut connection.menu_inline) {
            detected = None;
        }
        if picks.is_some() && connection.explicit {
            detected = Some(b"\r\n".to_vec());
        }
        connection
            .send(detected.as_deref().unwrap_or(b"\r\n"))
            .await;
        if let Some(encoding) = picks.filter(|_| !connection.explicit) {
            connection.encoding = Some(encoding.to_owned());
            encoding.clone_into(&mut connection.cursor.encoding);
        }
        let previous = std::mem::take(&mut latest);
        latest = connection
            .read_until_quiet(
                settings.banner_quiet_time,
                settings.banner_max_wait,
                settings.banner_max_bytes,
                &ansi,
                &prompts,
            )
            .await;
        banner_after.extend_from_slice(&latest);
        if connection.closed || latest.is_empty() || latest == previous {
            break;
        }
        if detected.is_none() && prompts.answer(&latest).is_none() {
            break;
        }
    }

    let option_states = option_states(&connection.negotiator);
    let (probe_results, wrong_direction, looped, probe_time) = if connection.closed {
        (Vec::new(), Vec::new(), Vec::new(), 0.0)
    } else {
        let probe_started = Instant::now();
        let results = probe_options(&mut connection, settings.scan).await;
        let wrong = probe_wrong_direction(&mut connection).await;
        let looped = detect_loops(&mut connection).await;
        (
            results,
            wrong,
            looped,
            probe_started.elapsed().as_secs_f64(),
        )
    };

    // MSSP agreed but its data not yet in: wait for it, counted from the connection.
    let mssp_deadline = settings.mssp_wait.saturating_sub(started.elapsed());
    if connection.negotiator.remote_enabled(70) && connection.negotiator.mssp.is_none() {
        connection
            .read_while(mssp_deadline, |n| n.mssp.is_some())
            .await;
    }

    let encoding = connection
        .encoding
        .clone()
        .or_else(|| connection.negotiator.charset.clone())
        .unwrap_or_else(|| settings.encoding.clone());
    let mut session_data = Map::new();
    session_data.insert("option_states".into(), option_states);
    session_data.insert("scan_type".into(), settings.scan.name().into());
    session_data.insert("encoding".into(), encoding.clone().into());
    session_data.insert(
        "banner_before_return".into(),
        decode_banner(&banner_before, &encoding).into(),
    );
    session_data.insert(
        "banner_after_return".into(),
        decode_banner(&banner_after, &encoding).into(),
    );
    session_data.insert(
        "timing".into(),
        json!({"probe": probe_time, "total": started.elapsed().as_secs_f64()}),
    );
    session_data.insert("dsr_requests".into(), connection.dsr_requests.into());
    session_data.insert("dsr_replies".into(), connection.dsr_replies.into());
    if let Some(mssp) = &connection.negotiator.mssp {
        let mssp: Map<String, Value> = mssp
            .iter()
            .map(|(name, values)| {
                let value = if values.len() == 1 {
                    Value::String(values[0].clone())
                } else {
                    json!(values)
                };
                (name.clone(), value)
            })
            .collect();
        session_data.insert("mssp".into(), Value::Object(mssp));
    }

    let fingerprint_data = protocol_fingerprint(
        &connection.negotiator,
        &probe_results,
        settings.scan,
        &wrong_direction,
        &looped,
    );
    let hash = fingerprint_hash(&fingerprint_data);
    let session = json!({
        "host": settings.host,
        "ip": peer_ip.unwrap_or_else(|| settings.host.clone()),
        "port": settings.port,
        "connected": iso_utc(SystemTime::now()),
    });
    let _ = connection.stream.shutdown().await;
    Ok(json!({
        "server-probe": {
            "fingerprint": hash,
            "fingerprint-data": fingerprint_data,
            "session_data": Value::Object(session_data),
        },
        "sessions": [session],
    }))
}

/// One option's probe result: its name and `WILL`, `WONT` or `timeout`.
type ProbeResult = (String, &'static str);

/// Ask for each option with DO and wait for the answers (telnetlib3's
/// `probe_server_capabilities`).
async fn probe_options(connection: &mut Connection, scan: ScanType) -> Vec<ProbeResult> {
    let mut options: Vec<u8> = CORE_AND_MUD_OPTIONS.to_vec();
    if scan == ScanType::Full {
        options.extend(LEGACY_OPTIONS);
    }
    options.extend(EXTENDED_OPTIONS);
    options.retain(|option| !CLIENT_ONLY.contains(option));

    let mut results = Vec::new();
    let mut asked = Vec::new();
    for &option in &options {
        match connection.negotiator.remote.get(&option) {
            Some(true) => results.push((option_name(option), "WILL")),
            Some(false) => results.push((option_name(option), "WONT")),
            None => asked.push(option),
        }
    }
    for &option in &asked {
        connection.negotiator.request(Verb::Do, option);
    }
    let waiting = asked.clone();
    connection
        .read_while(PROBE_WAIT, move |n| {
            waiting.iter().all(|o| n.remote.contains_key(o))
        })
        .await;
    for option in asked {
        let status = match connection.negotiator.remote.get(&option) {
            Some(true) => "WILL",
            Some(false) => "WONT",
            None => "timeout",
        };
        results.push((option_name(option), status));
    }
    results
}

/// DO for client-side options and WILL for a server-side one: a server that agrees
/// does not know its role (telnetlib3's `probe_server_wrong_direction`). The names of
/// the options it wrongly agreed to are returned.
async fn probe_wrong_direction(connection: &mut Connection) -> Vec<String> {
    connection.negotiator.stance = Stance::Server;
    for option in WRONG_DIRECTION_DO {
        connection.negotiator.send_raw(Verb::Do, option);
    }
    for option in WRONG_DIRECTION_WILL {
        connection.negotiator.send_raw(Verb::Will, option);
    }
    connection
        .read_while(PROBE_WAIT, |n| {
            WRONG_DIRECTION_DO.iter().all(|o| n.remote.contains_key(o))
                && WRONG_DIRECTION_WILL.iter().all(|o| n.local.contains_key(o))
        })
        .await;
    connection.negotiator.stance = Stance::Client;
    let negotiator = &connection.negotiator;
    let mut wrong: Vec<String> = WRONG_DIRECTION_DO
        .iter()
        .filter(|o| negotiator.remote_enabled(**o))
        .chain(
            WRONG_DIRECTION_WILL
                .iter()
                .filter(|o| negotiator.local_enabled(**o)),
        )
        .map(|o| option_name(*o))
        .collect();
    wrong.sort();
    wrong
}

/// Re-request every option already agreed, each way: a server that answers again would
/// loop with a peer that does the same (RFC 854's rule against acknowledging a mode
/// already in effect). The names of those options are returned, sorted.
async fn detect_loops(connection: &mut Connection) -> Vec<String> {
    let mut looped = std::collections::BTreeSet::new();
    for (verb, remote_side) in [(Verb::Do, true), (Verb::Will, false)] {
        let table = |n: &Negotiator| {
            if remote_side {
                n.remote.clone()
            } else {
                n.local.clone()
            }
        };
        let agreed: Vec<u8> = table(&connection.negotiator)
            .into_iter()
            .filter_map(|(option, on)| on.then_some(option))
            .collect();
        if agreed.is_empty() {
            continue;
        }
        for &option in &agreed {
            let negotiator = &mut connection.negotiator;
            if remote_side {
                negotiator.remote.remove(&option);
            } else {
                negotiator.local.remove(&option);
            }
            negotiator.forget_pending(verb, option);
        }
        for &option in &agreed {
            connection.negotiator.request(verb, option);
        }
        let waiting = agreed.clone();
        connection
            .read_while(PROBE_WAIT, move |n| {
                let t = if remote_side { &n.remote } else { &n.local };
                waiting.iter().all(|o| t.contains_key(o))
            })
            .await;
        let negotiator = &mut connection.negotiator;
        for &option in &agreed {
            let settled = if remote_side {
                negotiator.remote.insert(option, true).is_some()
            } else {
                negotiator.local.insert(option, true).is_some()
            };
            if settled {
                looped.insert(option_name(option));
            }
            negotiator.forget_pending(verb, option);
        }
    }
    looped.into_iter().collect()
}

/// `session_data.option_states`: what the server offered and requested, the options it
/// was refused for asking in the wrong direction, and its NEW-ENVIRON request.
fn option_states(negotiator: &Negotiator) -> Value {
    let names = |table: &std::collections::BTreeMap<u8, bool>| -> Map<String, Value> {
        table
            .iter()
            .map(|(o, on)| (option_name(*o), Value::Bool(*on)))
            .collect()
    };
    let mut states = Map::new();
    states.insert(
        "server_offered".into(),
        Value::Object(names(&negotiator.remote)),
    );
    states.insert(
        "server_requested".into(),
        Value::Object(names(&negotiator.local)),
    );
    states.insert(
        "directional_refusals".into(),
        json!(sorted_names(
            negotiator.directional_refusals.iter().copied()
        )),
    );
    if let Some(raw) = &negotiator.environ_send {
        states.insert("environ_requested".into(), environ_request(raw));
    }
    Value::Object(states)
}

fn sorted_names(options: impl Iterator<Item = u8>) -> Vec<String> {
    let mut names: Vec<String> = options.map(option_name).collect();
    names.sort();
    names
}

/// A NEW-ENVIRON SEND list (RFC 1572: VAR 0, USERVAR 3, VALUE 1) as telnetlib3 records
/// it; an empty list asks for everything.
fn environ_request(raw: &[u8]) -> Value {
    const VAR: u8 = 0;
    const VALUE: u8 = 1;
    const USERVAR: u8 = 3;
    if raw.is_empty() {
        return json!([{"type": "VAR", "name": "*"}, {"type": "USERVAR", "name": "*"}]);
    }
    let starts: Vec<usize> = memchr::memchr2_iter(VAR, USERVAR, raw).collect();
    let mut entries = Vec::new();
    for (index, &start) in starts.iter().enumerate() {
        let kind = if raw[start] == VAR { "VAR" } else { "USERVAR" };
        let end = starts.get(index + 1).copied().unwrap_or(raw.len());
        let chunk = &raw[start + 1..end];
        if chunk.is_empty() {
            entries.push(json!({"type": kind, "name": "*"}));
            continue;
        }
        let (name, value) = match memchr::memchr(VALUE, chunk) {
            Some(at) => (&chunk[..at], &chunk[at + 1..]),
            None => (chunk, &b""[..]),
        };
        // Only the printable ASCII prefix of the name is kept, as telnetlib3 does.
        let printable = name
            .iter()
            .take_while(|b| (0x20..0x7f).contains(*b))
            .count();
        let mut entry = Map::new();
        entry.insert("type".into(), kind.into());
        entry.insert(
            "name".into(),
            String::from_utf8_lossy(&name[..printable])
                .into_owned()
                .into(),
        );
        if !value.is_empty() {
            let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
            entry.insert("value_hex".into(), hex.into());
        }
        entries.push(Value::Object(entry));
    }
    Value::Array(entries)
}

/// `fingerprint-data`: what is hashed.
fn protocol_fingerprint(
    negotiator: &Negotiator,
    results: &[ProbeResult],
    scan: ScanType,
    wrong_direction: &[String],
    looped: &[String],
) -> Value {
    let with_status = |wanted: &[&str]| -> Vec<String> {
        let mut names: Vec<String> = results
            .iter()
            .filter(|(_, status)| wanted.contains(status))
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        names
    };
    json!({
        "probed-protocol": "server",
        "scan-type": scan.name(),
        "offered-options": with_status(&["WILL"]),
        "requested-options": sorted_names(
            negotiator.local.iter().filter(|(_, on)| **on).map(|(o, _)| *o)
        ),
        "refused-options": with_status(&["WONT", "timeout"]),
        "wrong-direction-offered": wrong_direction,
        "directional-refusals": sorted_names(negotiator.directional_refusals.iter().copied()),
        "looped-negotiation": looped,
    })
}

/// Banner bytes as text the way telnetlib3 decodes them (`_format_banner`:
/// `surrogateescape`): each byte that does not decode is kept as itself (see
/// [`escaped_byte`]); an encoding nothing knows is read as Latin-1; PETSCII loses its
/// colour and cursor controls and has its CR line ends made LF.
fn decode_banner(bytes: &[u8], encoding: &str) -> String {
    let name = encoding.to_ascii_lowercase().replace('_', "-");
    match name.as_str() {
        "utf-8" | "utf8" => {
            let mut text = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                text.push_str(chunk.valid());
                text.extend(chunk.invalid().iter().map(|b| escaped_byte(*b)));
            }
            text
        }
        "ascii" | "us-ascii" => bytes
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b)
                } else {
                    escaped_byte(b)
                }
            })
            .collect(),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => match Encoding::from_name(encoding) {
            Ok(known) => {
                let text = decode_escaping(&known, bytes);
                if matches!(
                    name.as_str(),
                    "petscii" | "cbm" | "commodore" | "c64" | "c128"
                ) {
                    petscii_readable(&text)
                } else {
                    text
                }
            }
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        },
    }
}

/// `bytes` decoded strictly, each byte that starts no valid character escaped: at each
/// place the shortest run (up to 4 bytes) that decodes is taken, which for the
/// single-byte sets and the prefix codes of East Asia (Big5, Shift_JIS, GBK, EUC) is
/// how Python's codecs split valid input from invalid.
fn decode_escaping(encoding: &Encoding, bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let mut taken = 0;
        for len in 1..=4.min(bytes.len() - at) {
            let mut piece = String::new();
            let decoded =
                encoding
                    .decoder(ErrorMode::Strict)
                    .decode(&bytes[at..at + len], true, &mut piece);
            if decoded.is_ok() && !piece.is_empty() {
                text.push_str(&piece);
                taken = len;
                break;
            }
        }
        if taken == 0 {
            text.push(escaped_byte(bytes[at]));
            taken = 1;
        }
        at += taken;
    }
    text
}

/// telnetlib3 keeps only PETSCII's readable text: colour, cursor and reverse controls
/// out, CR line ends as LF.
fn petscii_readable(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !matches!(c, '\x05' | '\x11'..='\x14' | '\x1c'..='\x1f' | '\u{81}' | '\u{90}'..='\u{9f}')
        })
        .collect::<String>()
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

/// `time` as Python's `datetime.now(timezone.utc).isoformat()`:
/// `2026-12-04T00:18:16.683559+00:00`.
pub(crate) fn iso_utc(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since.as_secs();
    let days = i64::try_from(seconds / 86_400).unwrap_or(0);
    let of_day = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environ_requests_are_recorded_as_telnetlib3_does() {
        assert_eq!(
            environ_request(b"\x00USER\x00LANG\x03\x00"),
            json!([
                {"type": "VAR", "name": "USER"},
                {"type": "VAR", "name": "LANG"},
                {"type": "USERVAR", "name": "*"},
                {"type": "VAR", "name": "*"},
            ])
        );
        assert_eq!(
            environ_request(b""),
            json!([{"type": "VAR", "name": "*"}, {"type": "USERVAR", "name": "*"}])
        );
        assert_eq!(
            environ_request(b"\x00X\x01\xff"),
            json!([{"type": "VAR", "name": "X", "value_hex": "ff"}])
        );
    }

    #[test]
    fn banners_keep_undecodable_bytes() {
        let text = decode_banner(b"ok\xb1", "UTF-8");
        assert_eq!(
            super::super::record::python_json(&Value::String(text), None),
            r#""ok\udcb1""#
        );
        assert_eq!(decode_banner(b"\xe9", "latin-1"), "\u{e9}");
        // Beyond: CP437 art, Big5 with a stray byte, an unknown name as Latin-1.
        assert_eq!(
            decode_banner(b"\xc9\xcd\xbb", "cp437"),
            "\u{2554}\u{2550}\u{2557}"
        );
        assert_eq!(
            decode_banner(b"\xa4\xa4\x80A", "big5"),
            format!("\u{4e2d}{}A", escaped_byte(0x80))
        );
        assert_eq!(decode_banner(b"\xe9", "codepage"), "\u{e9}");
    }

    #[test]
    fn timestamps_are_pythons_isoformat() {
        let time = SystemTime::UNIX_EPOCH + Duration::new(1_796_343_496, 683_559_000);
        assert_eq!(iso_utc(time), "2026-12-04T00:18:16.683559+00:00");
    }
}
