//! Probing a Telnet client, as telnetlib3 5.0.1's `telnetlib3-fingerprint-server` shell
//! does: after the opening negotiation (terminal type cycle, NEW-ENVIRON with an extended
//! list of variables, NAWS, CHARSET), ask for each option with DO, and record what the
//! client reported and agreed to in telnetlib3's JSON, with its hash.
//!
//! Built on the library's server: its opening negotiation is telnetlib3's, and its
//! session reports what the client sent. Options are asked for through the session's
//! Q-method (RFC 1143), whose states map onto telnetlib3's answers: agreed (`WILL`),
//! refused (`WONT`), no answer (`timeout`).

use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};
use telnetlib3::proto::options::environ::Request;
use telnetlib3::proto::{QState, SessionConfig, Side, TelnetOption};
use telnetlib3::TelnetWriter;

use super::record::{
    fingerprint_hash, option_name, python_json, CORE_AND_MUD_OPTIONS, EXTENDED_OPTIONS,
    LEGACY_OPTIONS,
};
use super::server_probe::iso_utc;
use super::slc_record::python_slc_record;

/// How long the probe waits for the answers (telnetlib3's `_PROBE_TIMEOUT`).
const PROBE_WAIT: Duration = Duration::from_millis(500);
/// How often the answers are looked at while waiting (telnetlib3 polls every 50 ms).
const POLL: Duration = Duration::from_millis(50);

/// The variables telnetlib3's fingerprint server asks for besides its server's usual
/// ones (`ENVIRON_EXTENDED`), in its order.
pub const ENVIRON_EXTENDED: [&str; 72] = [
    "HOME",
    "SHELL",
    "IPADDRESS",
    "SSH_CLIENT",
    "SSH_TTY",
    "SSH_AUTH_SOCK",
    "SSH_REMOTE_HOST",
    "HOSTNAME",
    "HOSTTYPE",
    "OSTYPE",
    "PWD",
    "PS1",
    "VISUAL",
    "TMUX",
    "STY",
    "SHELLOPTS",
    "TERM_PROGRAM_VERSION",
    "XDG_SESSION_PATH",
    "XDG_CURRENT_DESKTOP",
    "XCURSOR_THEME",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_COLLATE",
    "LC_TIME",
    "LC_ADDRESS",
    "LC_IDENTIFICATION",
    "LC_MEASUREMENT",
    "LC_MONETARY",
    "LC_NAME",
    "LC_NUMERIC",
    "LC_PAPER",
    "LC_TELEPHONE",
    "DOCKER_HOST",
    "HISTFILE",
    "HISTFILESIZE",
    "HISTSIZE",
    "EPOCHREALTIME",
    "LSCOLORS",
    "LS_COLORS",
    "DIRCOLORS",
    "GCC_COLORS",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "SSH_REMOTE_IP",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "GL_TOKEN",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "STRIPE_SECRET_KEY",
    "SENDGRID_API_KEY",
    "HEROKU_API_KEY",
    "NPM_TOKEN",
    "SLACK_TOKEN",
    "TWILIO_AUTH_TOKEN",
    "DATABASE_URL",
    "PGPASSWORD",
    "MYSQL_PWD",
    "REDIS_URL",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "SECRET_KEY",
    "API_KEY",
    "PRIVATE_KEY",
    "JWT_SECRET",
    "DOCKER_PASSWORD",
];

/// The encoding telnetlib3's fingerprint server runs with (its `--encoding` default).
const SERVER_ENCODING: &str = "utf8";

/// Terminal types that name one client exactly (telnetlib3's `PROTOCOL_MATCHED_TERMINALS`).
const PROTOCOL_MATCHED_TERMINALS: [&str; 1] = ["syncterm"];

/// The options a server agrees to let the client perform when it answers WILL; any
/// other WILL, even to our own DO, telnetlib3's server refuses with DONT and records as
/// rejected (its `handle_will`).
const SERVER_ACCEPTS_WILL: [u8; 25] = [
    0, 3, 31, 34, 25, 23, 44, 86, 87, 201, 69, 70, 90, 91, 93, 102, 200, 5, 35, 24, 32, 39, 33, 42,
    6,
];

/// The WILLs telnetlib3's server handles otherwise than by refusing and recording them
/// in `rejected_will`: those it accepts, and ECHO (an error on a server) and LOGOUT.
const WILL_NOT_REJECTED: [u8; 2] = [1, 18];

/// The options a client asks a server to perform (DO) that telnetlib3's server refuses
/// as meant for the other end (`handle_do`: LINEMODE, TTYPE, NAWS, NEW-ENVIRON, XDISPLOC,
/// LFLOW, TSPEED, SNDLOC), recorded in `directional_refusals`.
const DIRECTIONAL_DO: [u8; 8] = [34, 24, 31, 39, 35, 33, 32, 23];

/// The DOs telnetlib3's server handles (`handle_do`: agreed, or TIMING-MARK and LOGOUT);
/// any other, not directional, it refuses and records in `rejected_do`.
const DO_HANDLED: [u8; 24] = [
    1, 34, 0, 3, 33, 25, 24, 39, 35, 32, 42, 31, 5, 86, 201, 69, 70, 90, 91, 93, 102, 200, 6, 18,
];

/// The client's offers telnetlib3's server refused, as its `_collect_rejected_options`
/// sorts them: WILLs it does not handle, DOs it does not perform, and DOs for options
/// only a client performs. telnetlib3 keeps every offer ever made, whatever the state of
/// the option, so these come from what the client asked, not from the option table.
#[derive(Debug, Default)]
struct Rejected {
    will: Vec<String>,
    do_: Vec<String>,
    directional: Vec<String>,
}

fn rejected(writer: &TelnetWriter) -> Rejected {
    let asked = |side: Side| -> Vec<u8> {
        writer.with_session(|s| {
            (0..=255u8)
                .filter(|&code| s.peer_asked(side, TelnetOption::from(code)))
                .collect()
        })
    };
    let names = |codes: Vec<u8>| -> Vec<String> {
        let mut names: Vec<String> = codes.into_iter().map(option_name).collect();
        names.sort();
        names
    };
    let (will, dos) = (asked(Side::Remote), asked(Side::Local));
    Rejected {
        will: names(
            will.into_iter()
                .filter(|c| !SERVER_ACCEPTS_WILL.contains(c) && !WILL_NOT_REJECTED.contains(c))
                .collect(),
        ),
        do_: names(
            dos.iter()
                .copied()
                .filter(|c| !DO_HANDLED.contains(c) && !DIRECTIONAL_DO.contains(c))
                .collect(),
        ),
        directional: names(
            dos.into_iter()
                .filter(|c| DIRECTIONAL_DO.contains(c))
                .collect(),
        ),
    }
}

/// Our side of each option as telnetlib3's server tables it (`local_option`): true for
/// those we perform; and for each the client sent DO or DONT for, what `handle_do`
/// returned: true also for a DO it refused as meant for a client (its
/// `directional_refusals` branch falls through to `return True`), false for the rest.
fn python_local_table(writer: &TelnetWriter) -> Vec<(u8, bool)> {
    writer.with_session(|s| {
        (0..=255u8)
            .filter_map(|code| {
                let option = TelnetOption::from(code);
                if s.local_enabled(option) {
                    Some((code, true))
                } else if s.peer_negotiated(Side::Local, option) {
                    let directional =
                        DIRECTIONAL_DO.contains(&code) && s.peer_asked(Side::Local, option);
                    Some((code, directional))
                } else {
                    None
                }
            })
            .collect()
    })
}

/// Ask again for every option already agreed, as telnetlib3's
/// `probe_client_loop_detection` does: first DO for the client's options, then WILL for
/// ours, each round waiting up to [`PROBE_WAIT`] for every one to be answered. A client
/// that follows RFC 1143 stays silent; the options it answers again would loop against
/// a naive peer. Returns their names, sorted, each once.
async fn loop_detection(writer: &TelnetWriter) -> Vec<String> {
    // telnetlib3 asks again for what its tables say is agreed: ours includes the DOs it
    // refused as directional (see `python_local_table`). Both are read before the first
    // round forgets what the client negotiated.
    let remote: Vec<TelnetOption> =
        writer.with_session(|s| s.enabled_options(Side::Remote).collect());
    let local: Vec<TelnetOption> = python_local_table(writer)
        .into_iter()
        .filter(|&(_, agreed)| agreed)
        .map(|(code, _)| TelnetOption::from(code))
        .collect();
    let mut looped = Vec::new();
    for (side, agreed) in [(Side::Remote, remote), (Side::Local, local)] {
        if agreed.is_empty() {
            continue;
        }
        writer.with_session(|s| {
            s.clear_peer_negotiated();
            for &option in &agreed {
                s.repeat_request(side, option);
            }
        });
        let answered =
            |option: TelnetOption| writer.with_session(|s| s.peer_negotiated(side, option));
        let deadline = Instant::now() + PROBE_WAIT;
        while Instant::now() < deadline && !agreed.iter().all(|&o| answered(o)) {
            tokio::time::sleep(POLL).await;
        }
        looped.extend(
            agreed
                .iter()
                .filter(|&&o| answered(o))
                .map(|o| option_name(o.code())),
        );
    }
    looped.sort();
    looped.dedup();
    looped
}

/// The protocol configuration of a fingerprinting server: the library's server with
/// [`ENVIRON_EXTENDED`] asked for before the bare VAR and USERVAR, as telnetlib3's
/// `FingerprintingServer` asks.
#[must_use]
pub fn protocol_config(base: &SessionConfig) -> SessionConfig {
    let mut config = base.clone();
    let requests = &mut config.environ.server_request;
    let at = requests
        .iter()
        .position(Request::is_all)
        .unwrap_or(requests.len());
    let extra: Vec<Request> = ENVIRON_EXTENDED
        .iter()
        .filter(|name| !requests.iter().any(|r| r.name == name.as_bytes()))
        .map(|name| Request::var(*name))
        .collect();
    requests.splice(at..at, extra);
    config
}

/// One option's probe result: WILL, WONT or timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Will,
    Wont,
    Timeout,
}

impl Answer {
    const fn name(self) -> &'static str {
        match self {
            Self::Will => "WILL",
            Self::Wont => "WONT",
            Self::Timeout => "timeout",
        }
    }
}

/// What the client told the server, as telnetlib3 keeps it (its `_extra`).
struct Reported {
    /// Environment variables with a value, names upper-cased.
    environ: Vec<(String, String)>,
    terminal_types: Vec<String>,
    term: Option<String>,
    charset: Option<String>,
}

fn reported(writer: &TelnetWriter) -> Reported {
    let mut environ: Vec<(String, String)> = Vec::new();
    for variable in writer.environ() {
        let Some(value) = variable.value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let name = String::from_utf8_lossy(&variable.name).to_uppercase();
        let value = String::from_utf8_lossy(&value).into_owned();
        match environ.iter_mut().find(|(known, _)| *known == name) {
            Some(entry) => entry.1 = value,
            None => environ.push((name, value)),
        }
    }
    let terminal_types = writer.with_session(|s| s.terminal_types().to_vec());
    // The last terminal type reported is TERM, unless a MUD client's third answer is
    // MTTS flags (then its second), and NEW-ENVIRON's TERM, arriving later, wins.
    let mut term = terminal_types.iter().rev().find(|t| !t.is_empty()).cloned();
    if terminal_types.len() >= 3 && terminal_types[2].to_uppercase().starts_with("MTTS ") {
        term = Some(terminal_types[1].clone());
    }
    if let Some((_, value)) = environ.iter().find(|(name, _)| name == "TERM") {
        term = Some(value.clone());
    }
    Reported {
        environ,
        terminal_types,
        term,
        // telnetlib3's server starts `charset` at its own encoding (`utf8` unless told
        // otherwise) and replaces it with what CHARSET agrees.
        charset: writer
            .charset()
            .or_else(|| Some(SERVER_ENCODING.to_owned())),
    }
}

fn is_maybe_mud(writer: &TelnetWriter, reported: &Reported) -> bool {
    // telnetlib3's `MUD_TERMINALS`, the list the server's opening uses too.
    let is_mud = |t: &str| telnetlib3::proto::MUD_CLIENTS.contains(&t.to_lowercase().as_str());
    if reported.term.as_deref().is_some_and(is_mud)
        || reported.terminal_types.iter().take(3).any(|t| is_mud(t))
    {
        return true;
    }
    [201u8, 69, 91, 90, 200, 102]
        .into_iter()
        .any(|code| writer.remote_enabled(TelnetOption::from(code)))
}

fn is_maybe_ms_telnet(reported: &Reported) -> bool {
    let first = reported.terminal_types.first().map(|t| t.to_uppercase());
    let second = reported.terminal_types.get(1).map(|t| t.to_uppercase());
    first.as_deref() == Some("ANSI") && second.as_deref().is_none_or(|t| t == "VT100")
}

/// Ask for each of `options` with DO and wait for the answers.
async fn probe(writer: &TelnetWriter, options: &[u8]) -> Vec<(u8, Answer)> {
    let him = |code: u8| writer.with_session(|s| s.option_state(TelnetOption::from(code)).him);
    let mut results = Vec::new();
    let mut asked = Vec::new();
    for &code in options {
        if him(code) == QState::Yes {
            results.push((code, Answer::Will));
        } else if writer
            .with_session(|s| s.request_remote(TelnetOption::from(code), true))
            .is_ok()
        {
            asked.push(code);
        } else {
            results.push((code, Answer::Wont));
        }
    }
    let deadline = Instant::now() + PROBE_WAIT;
    while Instant::now() < deadline
        && asked
            .iter()
            .any(|&code| matches!(him(code), QState::WantYes(_)))
    {
        tokio::time::sleep(POLL).await;
    }
    for code in asked {
        let answer = match him(code) {
            QState::Yes => Answer::Will,
            QState::WantYes(_) => Answer::Timeout,
            _ => Answer::Wont,
        };
        results.push((code, answer));
    }
    results
}

/// What a probe of the client found: telnetlib3's record and where it goes.
#[derive(Debug)]
pub struct ClientFingerprint {
    /// `{"telnet-probe": {"fingerprint", "fingerprint-data", "session_data"}, "sessions"}`.
    pub record: Value,
    /// The hash of the session's identity (the file name telnetlib3 gives the record).
    pub session_hash: String,
}

/// What telnetlib3's fingerprint server shows the client once its record is stored: its
/// display (`fingerprinting_display`) prints the stored record as
/// `json.dumps(data, indent=2, sort_keys=True)` when its optional table packages are not
/// installed, through a pseudo-terminal whose output processing turns each line feed
/// into CR LF. Its tables, the counts from its database of fingerprints seen before and
/// its interactive prompts need those packages and that data, and are not shown.
#[must_use]
pub fn display_text(stored: &Value) -> Vec<u8> {
    let text = python_json(stored, Some(2)) + "\n";
    text.replace('\n', "\r\n").into_bytes()
}

/// Probe the client on `writer` once the opening negotiation is over; `timeout` is the
/// server's idle timeout, recorded as telnetlib3 records it.
pub async fn probe_client(writer: &TelnetWriter, timeout: Option<Duration>) -> ClientFingerprint {
    let started = Instant::now();
    let before = reported(writer);
    let mut options: Vec<u8> = CORE_AND_MUD_OPTIONS.to_vec();
    if is_maybe_ms_telnet(&before) {
        // Microsoft telnet crashes on NEW-ENVIRON and on the legacy options.
        options.retain(|&code| code != 39);
    } else {
        options.extend(LEGACY_OPTIONS);
    }
    let mut results = probe(writer, &options).await;
    if is_maybe_mud(writer, &before) {
        results.extend(probe(writer, &EXTENDED_OPTIONS).await);
    }
    // telnetlib3's server refuses, with DONT, a WILL it does not handle, even one it
    // asked for: such an option is refused and recorded as rejected.
    for (code, answer) in &mut results {
        if *answer == Answer::Will && !SERVER_ACCEPTS_WILL.contains(code) {
            let _ = writer.with_session(|s| s.request_remote(TelnetOption::from(*code), false));
            *answer = Answer::Wont;
        }
    }
    let probe_time = started.elapsed().as_secs_f64();
    let info = reported(writer);

    // telnetlib3 takes the session's detail before its loop detection, and the hashed
    // summary after it (so that answers to it count as offers too).
    let slc = slc_record(writer, &results);
    let session_data = session_data(writer, &info, &results, probe_time, timeout, &slc);
    let looped = loop_detection(writer).await;
    let fingerprint_data = protocol_fingerprint(&info, &results, &rejected(writer), &looped, &slc);
    let hash = fingerprint_hash(&fingerprint_data);
    let ip = writer
        .peer()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    let identity = session_identity(&info, &ip);
    let record = json!({
        "telnet-probe": {
            "fingerprint": hash,
            "fingerprint-data": fingerprint_data,
            "session_data": session_data,
        },
        "sessions": [{"ip": ip, "connected": iso_utc(SystemTime::now())}],
    });
    ClientFingerprint {
        record,
        session_hash: fingerprint_hash(&identity),
    }
}

fn environ_value<'a>(info: &'a Reported, name: &str) -> Option<&'a str> {
    info.environ
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, value)| value.as_str())
}

/// `fingerprint-data`: what is hashed (telnetlib3's `_create_protocol_fingerprint`).
fn protocol_fingerprint(
    info: &Reported,
    results: &[(u8, Answer)],
    rejected: &Rejected,
    looped: &[String],
    slc: &Map<String, Value>,
) -> Value {
    let mut data = Map::new();
    data.insert("probed-protocol".into(), "client".into());
    for key in ["HOME", "USER", "SHELL", "IPADDRESS"] {
        if environ_value(info, key).is_some() {
            data.insert(key.into(), "True".into());
        }
    }
    // The encoding named in LANG, after its '.' and before any '@'.
    let encoding = environ_value(info, "LANG")
        .and_then(|lang| lang.split_once('.'))
        .map(|(_, rest)| rest.split('@').next().unwrap_or(rest).to_owned())
        .filter(|e| !e.is_empty());
    data.insert(
        "encoding".into(),
        encoding.unwrap_or_else(|| "None".into()).into(),
    );
    let term = match info.term.as_deref().filter(|t| !t.is_empty()) {
        None => "None".to_owned(),
        Some(term) => {
            let lower = term.to_lowercase();
            if PROTOCOL_MATCHED_TERMINALS.contains(&lower.as_str()) {
                let mut chars = lower.chars();
                chars
                    .next()
                    .map(|first| first.to_uppercase().chain(chars).collect())
                    .unwrap_or_default()
            } else if lower.contains("ansi") {
                "Yes-ansi".to_owned()
            } else {
                "Yes".to_owned()
            }
        }
    };
    data.insert("TERM".into(), term.into());
    let charset = info.charset.clone().filter(|c| !c.is_empty());
    data.insert(
        "charset".into(),
        charset.unwrap_or_else(|| "None".into()).into(),
    );
    data.insert("ttype-count".into(), ttype_cycle(info).len().into());
    let names = |wanted: &[Answer]| -> Vec<String> {
        let mut names: Vec<String> = results
            .iter()
            .filter(|(_, answer)| wanted.contains(answer))
            .map(|(code, _)| option_name(*code))
            .collect();
        names.sort();
        names
    };
    data.insert("supported-options".into(), json!(names(&[Answer::Will])));
    data.insert(
        "refused-options".into(),
        json!(names(&[Answer::Wont, Answer::Timeout])),
    );
    for (key, names) in [
        ("rejected-will", &rejected.will),
        ("rejected-do", &rejected.do_),
        ("directional-refusals", &rejected.directional),
    ] {
        if !names.is_empty() {
            data.insert(key.into(), json!(names));
        }
    }
    if !looped.is_empty() {
        data.insert("looped-negotiation".into(), json!(looped));
    }
    if !slc.is_empty() {
        data.insert("slc".into(), Value::Object(slc.clone()));
    }
    Value::Object(data)
}

/// The terminal type cycle as telnetlib3 records it: up to the first empty answer.
fn ttype_cycle(info: &Reported) -> Vec<String> {
    info.terminal_types
        .iter()
        .take(19)
        .take_while(|t| !t.is_empty())
        .cloned()
        .collect()
}

/// `session_data`: the raw detail (telnetlib3's `_build_session_fingerprint`).
fn session_data(
    writer: &TelnetWriter,
    info: &Reported,
    results: &[(u8, Answer)],
    probe_time: f64,
    timeout: Option<Duration>,
    slc: &Map<String, Value>,
) -> Value {
    let mut extra = Map::new();
    for (name, value) in &info.environ {
        extra.insert(name.clone(), value.clone().into());
    }
    if let Some(term) = &info.term {
        extra.insert("TERM".into(), term.clone().into());
    }
    if let Some(charset) = &info.charset {
        extra.insert("charset".into(), charset.clone().into());
    }
    if let Some(speed) = writer.terminal_speed() {
        extra.insert(
            "tspeed".into(),
            format!("{},{}", speed.transmit, speed.receive).into(),
        );
    }
    if let Some(display) = writer.x_display() {
        extra.insert("xdisploc".into(), display.into());
    }
    if writer.remote_enabled(TelnetOption::Naws) {
        let (cols, rows) = writer.window_size();
        if !extra.contains_key("COLUMNS") {
            extra.insert("cols".into(), cols.into());
        }
        if !extra.contains_key("LINES") {
            extra.insert("rows".into(), rows.into());
        }
    }
    // Python keeps the number as given: 300, or 1.5.
    if let Some(timeout) = timeout {
        let value: Value = if timeout.subsec_nanos() == 0 {
            timeout.as_secs().into()
        } else {
            timeout.as_secs_f64().into()
        };
        extra.insert("timeout".into(), value);
    }
    let mut by_status: Map<String, Value> = Map::new();
    for (code, answer) in results {
        let entry = by_status
            .entry(answer.name())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(map) = entry.as_object_mut() {
            map.insert(option_name(*code), (*code).into());
        }
    }
    let remote: Map<String, Value> = (0..=255u8)
        .filter_map(|code| {
            let him = writer.with_session(|s| s.option_state(TelnetOption::from(code)).him);
            let probed = results.iter().any(|(c, _)| *c == code);
            match him {
                QState::Yes => Some((option_name(code), Value::Bool(true))),
                QState::No if probed => Some((option_name(code), Value::Bool(false))),
                _ => None,
            }
        })
        .collect();
    let local: Map<String, Value> = python_local_table(writer)
        .into_iter()
        .map(|(code, agreed)| (option_name(code), Value::Bool(agreed)))
        .collect();
    let mut option_states = Map::new();
    option_states.insert("remote".into(), Value::Object(remote));
    option_states.insert("local".into(), Value::Object(local));
    let mut data = json!({
        "extra": extra,
        "ttype_cycle": ttype_cycle(info),
        "option_states": option_states,
        "probe": by_status,
        "timing": {"probe": probe_time},
    });
    let found = rejected(writer);
    let mut rejected = Map::new();
    for (key, names) in [
        ("will", found.will),
        ("do", found.do_),
        ("directional", found.directional),
    ] {
        if !names.is_empty() {
            rejected.insert(key.into(), json!(names));
        }
    }
    if !rejected.is_empty() {
        data["rejected"] = Value::Object(rejected);
    }
    if !slc.is_empty() {
        data["slc_tab"] = Value::Object(slc.clone());
    }
    data
}

/// The client's SLC as telnetlib3 records it (see [`python_slc_record`]), only when the
/// probe found LINEMODE agreed and it still is.
fn slc_record(writer: &TelnetWriter, results: &[(u8, Answer)]) -> Map<String, Value> {
    let linemode = TelnetOption::Linemode;
    let probed = results
        .iter()
        .any(|&(code, answer)| code == linemode.code() && answer == Answer::Will);
    if !probed || !writer.remote_enabled(linemode) {
        return Map::new();
    }
    python_slc_record(&writer.with_session(|s| s.peer_slc_triplets().to_vec()))
}

/// The session's identity, whose hash names its file (telnetlib3's
/// `_create_session_fingerprint`).
fn session_identity(info: &Reported, ip: &str) -> Value {
    let mut identity = Map::new();
    identity.insert("client-ip".into(), ip.into());
    if let Some(term) = info.term.as_deref().filter(|t| !t.is_empty()) {
        identity.insert("TERM".into(), term.into());
    }
    for key in ["USER", "HOME", "SHELL", "LANG", "IPADDRESS"] {
        if let Some(value) = environ_value(info, key) {
            identity.insert(key.into(), value.into());
        }
    }
    if let Some(charset) = info.charset.as_deref().filter(|c| !c.is_empty()) {
        identity.insert("charset".into(), charset.into());
    }
    Value::Object(identity)
}
