//! telnetlib3's fingerprint JSON: its option names, its stable hash, and its file format.
//!
//! telnetlib3 5.0.1 hashes a fingerprint as the first 16 hex digits of the SHA-256 of
//! `json.dumps(data, sort_keys=True, separators=(",", ":"))`, and writes files with
//! `json.dump(data, indent=2, sort_keys=True)`. Both escape every non-ASCII character as
//! `\uXXXX` (Python's default `ensure_ascii`), so the bytes hashed here are Python's,
//! character for character, and fingerprints taken by either tool compare.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The options telnetlib3's fingerprinting knows by name (`_ALL_KNOWN_OPTIONS`); any other
/// option is named by its code as `0x..`.
const KNOWN_OPTIONS: [(u8, &str); 57] = [
    (0, "BINARY"),
    (3, "SGA"),
    (1, "ECHO"),
    (5, "STATUS"),
    (24, "TTYPE"),
    (32, "TSPEED"),
    (33, "LFLOW"),
    (35, "XDISPLOC"),
    (31, "NAWS"),
    (39, "NEW_ENVIRON"),
    (42, "CHARSET"),
    (34, "LINEMODE"),
    (25, "EOR"),
    (23, "SNDLOC"),
    (44, "COM_PORT"),
    (37, "AUTHENTICATION"),
    (38, "ENCRYPT"),
    (40, "TN3270E"),
    (41, "XAUTH"),
    (43, "RSP"),
    (45, "SUPPRESS_LOCAL_ECHO"),
    (46, "TLS"),
    (47, "KERMIT"),
    (48, "SEND_URL"),
    (49, "FORWARD_X"),
    (138, "PRAGMA_LOGON"),
    (139, "SSPI_LOGON"),
    (140, "PRAGMA_HEARTBEAT"),
    (30, "X3PAD"),
    (29, "VT3270REGIME"),
    (28, "TTYLOC"),
    (21, "SUPDUP"),
    (22, "SUPDUPOUTPUT"),
    (20, "DET"),
    (19, "BM"),
    (2, "RCP"),
    (4, "NAMS"),
    (7, "RCTE"),
    (8, "NAOL"),
    (9, "NAOP"),
    (10, "NAOCRD"),
    (11, "NAOHTS"),
    (12, "NAOHTD"),
    (13, "NAOFFD"),
    (14, "NAOVTS"),
    (15, "NAOVTD"),
    (16, "NAOLFD"),
    (86, "MCCP2"),
    (87, "MCCP3"),
    (201, "GMCP"),
    (69, "MSDP"),
    (70, "MSSP"),
    (90, "MSP"),
    (91, "MXP"),
    (93, "ZMP"),
    (102, "AARDWOLF"),
    (200, "ATCP"),
];

/// The options the server probe asks for with DO (telnetlib3's `CORE_OPTIONS`,
/// `MUD_OPTIONS`), in its order; the legacy ones follow in a full scan.
pub const CORE_AND_MUD_OPTIONS: [u8; 15] = [0, 3, 1, 5, 24, 32, 33, 35, 31, 39, 42, 34, 25, 23, 44];

/// telnetlib3's `LEGACY_OPTIONS`, probed only by a full scan.
pub const LEGACY_OPTIONS: [u8; 32] = [
    37, 38, 40, 41, 43, 45, 46, 47, 48, 49, 138, 139, 140, 30, 29, 28, 21, 22, 20, 19, 2, 4, 7, 8,
    9, 10, 11, 12, 13, 14, 15, 16,
];

/// telnetlib3's `EXTENDED_OPTIONS`: the MUD protocols (MCCP2, MCCP3, GMCP, MSDP, MSSP, MSP,
/// MXP, ZMP, AARDWOLF, ATCP).
pub const EXTENDED_OPTIONS: [u8; 10] = [86, 87, 201, 69, 70, 90, 91, 93, 102, 200];

/// The name telnetlib3's fingerprints give option `code`: `"NAWS"`, or `"0x06"` for one
/// it does not list.
///
/// ```
/// use telnetlib3_cli::fingerprint::record::option_name;
/// assert_eq!(option_name(31), "NAWS");
/// assert_eq!(option_name(6), "0x06");
/// ```
#[must_use]
pub fn option_name(code: u8) -> String {
    KNOWN_OPTIONS
        .iter()
        .find(|(known, _)| *known == code)
        .map_or_else(|| format!("0x{code:02x}"), |(_, name)| (*name).to_owned())
}

/// Banner text keeps the bytes its encoding cannot decode as Python's `surrogateescape`
/// does (byte `0xB1` as `U+DCB1`). A Rust string cannot hold a lone surrogate, so each
/// such byte is carried as the private-use character `U+10FF00 + byte` and written out
/// as `\udcXX`, exactly as Python writes it.
pub const ESCAPED_BYTE_BASE: u32 = 0x0010_FF00;

/// The character that stands for the undecodable byte `byte` in banner text.
#[must_use]
pub fn escaped_byte(byte: u8) -> char {
    char::from_u32(ESCAPED_BYTE_BASE + u32::from(byte)).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// `value` as Python's `json.dumps(value, sort_keys=True, ...)` writes it: compact
/// (`indent` `None`, separators `,` and `:`) or indented by `indent` spaces (separators
/// `,` and `: `).
#[must_use]
pub fn python_json(value: &Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, 0);
    out
}

/// telnetlib3's stable fingerprint hash: the first 16 hex digits of the SHA-256 of
/// the canonical JSON.
///
/// ```
/// use telnetlib3_cli::fingerprint::record::fingerprint_hash;
/// let data = serde_json::json!({"probed-protocol": "server", "scan-type": "quick"});
/// assert_eq!(fingerprint_hash(&data).len(), 16);
/// ```
#[must_use]
pub fn fingerprint_hash(value: &Value) -> String {
    let canonical = python_json(value, None);
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .fold(String::with_capacity(16), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Write `value` to `path` as telnetlib3 does: indented JSON, keys sorted, first to
/// `<stem>.json.new` and then renamed over `path`, so a reader never sees half a file.
///
/// # Errors
/// Any error creating the directory, writing or renaming.
pub fn write_atomic(path: &Path, value: &Value) -> io::Result<PathBuf> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("json.new");
    std::fs::write(&temporary, python_json(value, Some(2)))?;
    std::fs::rename(&temporary, path)?;
    Ok(path.to_path_buf())
}

fn write_value(out: &mut String, value: &Value, indent: Option<usize>, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                separator(out, index, indent, depth + 1);
                write_value(out, item, indent, depth + 1);
            }
            closing(out, indent, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            // Python's sort_keys orders by code point, as str comparison does; UTF-8
            // byte order is the same order.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                separator(out, index, indent, depth + 1);
                write_string(out, key);
                out.push_str(if indent.is_some() { ": " } else { ":" });
                write_value(out, item, indent, depth + 1);
            }
            closing(out, indent, depth);
            out.push('}');
        }
    }
}

fn separator(out: &mut String, index: usize, indent: Option<usize>, depth: usize) {
    if index > 0 {
        out.push(',');
    }
    if let Some(width) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * depth));
    }
}

fn closing(out: &mut String, indent: Option<usize>, depth: usize) {
    if let Some(width) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * depth));
    }
}

/// Python writes floats with `repr` (shortest round-trip digits, as ryu does) and
/// integers in full; an integral float keeps its `.0`.
fn write_number(out: &mut String, number: &serde_json::Number) {
    if let Some(float) = number.as_f64().filter(|_| number.is_f64()) {
        if float.is_finite() && float.fract() == 0.0 && float.abs() < 1e16 {
            let _ = write!(out, "{float:.1}");
        } else {
            let _ = write!(out, "{number}");
        }
    } else {
        let _ = write!(out, "{number}");
    }
}

/// A JSON string with Python's `ensure_ascii` escapes.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let code = u32::from(ch);
                if (ESCAPED_BYTE_BASE..ESCAPED_BYTE_BASE + 0x100).contains(&code) {
                    let _ = write!(out, "\\udc{:02x}", code - ESCAPED_BYTE_BASE);
                    continue;
                }
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_form_is_pythons() {
        let value =
            json!({"b": [1, "é", true, null], "a": {"z": 1.5, "y": 2.0}, "c": "\u{1F600}\r"});
        assert_eq!(
            python_json(&value, None),
            r#"{"a":{"y":2.0,"z":1.5},"b":[1,"\u00e9",true,null],"c":"\ud83d\ude00\r"}"#
        );
    }

    #[test]
    fn indented_form_is_pythons() {
        let value = json!({"k": [], "m": {}, "l": ["x"]});
        assert_eq!(
            python_json(&value, Some(2)),
            "{\n  \"k\": [],\n  \"l\": [\n    \"x\"\n  ],\n  \"m\": {}\n}"
        );
    }

    #[test]
    fn escaped_bytes_are_written_as_surrogates() {
        let text: String = ['A', escaped_byte(0xB1)].into_iter().collect();
        assert_eq!(python_json(&Value::String(text), None), r#""A\udcb1""#);
    }

    #[test]
    fn unknown_options_are_named_by_code() {
        assert_eq!(option_name(0), "BINARY");
        assert_eq!(option_name(201), "GMCP");
        assert_eq!(option_name(18), "0x12");
    }
}

/// The directory fingerprints go to when no `--data-dir` is given: `$TELNETLIB3_DATA_DIR`,
/// else `data` in the current directory, as telnetlib3's.
#[must_use]
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("TELNETLIB3_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

/// Limits on a data directory, from telnetlib3's environment variables
/// `TELNETLIB3_FINGERPRINT_MAX_FINGERPRINTS` and `TELNETLIB3_FINGERPRINT_MAX_FILES`
/// (1000 each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// How many fingerprint folders one side (`client`, `server`) may hold.
    pub max_fingerprints: usize,
    /// How many files one fingerprint folder may hold.
    pub max_files: usize,
}

impl StoreLimits {
    /// The limits the environment sets, or telnetlib3's defaults.
    #[must_use]
    pub fn from_env() -> Self {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .unwrap_or(1000)
        };
        Self {
            max_fingerprints: read("TELNETLIB3_FINGERPRINT_MAX_FINGERPRINTS"),
            max_files: read("TELNETLIB3_FINGERPRINT_MAX_FILES"),
        }
    }
}

/// Store a server record as telnetlib3 does:
/// `DATA_DIR/server/<fingerprint>/<session hash>.json`, the session hash being the hash
/// of `{"host", "port", "ip"}`. A file already there for the same session keeps its
/// history: its `session_data` is replaced and the new session appended. Returns the
/// path written, or `None` when a limit stopped it (logged).
///
/// # Errors
/// Any error creating directories, reading or writing files.
pub fn store_server_record(
    data_dir: &Path,
    record: &Value,
    limits: StoreLimits,
) -> io::Result<Option<PathBuf>> {
    let probe = &record["server-probe"];
    let hash = probe["fingerprint"].as_str().unwrap_or_default();
    let session = &record["sessions"][0];
    let session_hash = fingerprint_hash(&serde_json::json!({
        "host": session["host"],
        "port": session["port"],
        "ip": session["ip"],
    }));
    let side_dir = data_dir.join("server");
    let target = side_dir.join(hash);
    store_record(
        &side_dir,
        &target,
        "server-probe",
        record,
        &session_hash,
        limits,
    )
}

/// Name fingerprint `hash` in `DATA_DIR/fingerprint_names.json`, keeping the other names.
///
/// # Errors
/// Any error reading or writing the file, or a names file that is not a JSON object.
pub fn store_name(data_dir: &Path, hash: &str, name: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("fingerprint_names.json");
    let mut names = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Value>(&text)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?,
        Err(error) if error.kind() == io::ErrorKind::NotFound => Value::Object(Default::default()),
        Err(error) => return Err(error),
    };
    let Some(map) = names.as_object_mut() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a JSON object",
        ));
    };
    map.insert(hash.to_owned(), Value::String(name.to_owned()));
    write_atomic(&path, &names)
}

fn count_entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> io::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        if keep(&entry?.path()) {
            count += 1;
        }
    }
    Ok(count)
}

/// A record as telnetlib3 prints it: without `false`, empty strings, empty lists and
/// empty objects (its `_cull_display`).
#[must_use]
pub fn culled_for_display(value: &Value) -> Value {
    let worthy = |v: &Value| match v {
        Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    };
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| worthy(v))
                .map(|(k, v)| (k.clone(), culled_for_display(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(culled_for_display).collect()),
        other => other.clone(),
    }
}

/// The probe folder telnetlib3 uses while a client's terminal is not yet probed.
const UNKNOWN_TERMINAL_HASH: &str = "0000000000000000";

/// Store a client record as telnetlib3 does:
/// `DATA_DIR/client/<fingerprint>/<probe folder>/<session hash>.json`, the probe folder
/// being the first one already there other than `0000000000000000` (a terminal probe's),
/// else that one. A file already there for the same session keeps its history, as with
/// [`store_server_record`].
///
/// # Errors
/// Any error creating directories, reading or writing files.
pub fn store_client_record(
    data_dir: &Path,
    record: &Value,
    session_hash: &str,
    limits: StoreLimits,
) -> io::Result<Option<PathBuf>> {
    let hash = record["telnet-probe"]["fingerprint"]
        .as_str()
        .unwrap_or_default();
    let side_dir = data_dir.join("client");
    let telnet_dir = side_dir.join(hash);
    let mut probe_dir = None;
    if telnet_dir.is_dir() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&telnet_dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_dir() && !path.ends_with(UNKNOWN_TERMINAL_HASH))
            .collect();
        names.sort();
        probe_dir = names.into_iter().next();
    }
    let target = probe_dir.unwrap_or_else(|| telnet_dir.join(UNKNOWN_TERMINAL_HASH));
    store_record(
        &side_dir,
        &target,
        "telnet-probe",
        record,
        session_hash,
        limits,
    )
}

/// [`store_server_record`] and [`store_client_record`]'s common part: the limits, the
/// folder, and a session's history kept.
fn store_record(
    side_dir: &Path,
    target: &Path,
    probe_key: &str,
    record: &Value,
    session_hash: &str,
    limits: StoreLimits,
) -> io::Result<Option<PathBuf>> {
    let hash = record[probe_key]["fingerprint"]
        .as_str()
        .unwrap_or_default();
    if target.exists() {
        if count_entries(target, |p| p.extension().is_some_and(|e| e == "json"))?
            >= limits.max_files
        {
            tracing::warn!(
                "fingerprint {hash} at file limit ({}), not saving",
                limits.max_files
            );
            return Ok(None);
        }
    } else {
        if side_dir.exists() && count_entries(side_dir, Path::is_dir)? >= limits.max_fingerprints {
            tracing::warn!(
                "max fingerprints ({}) exceeded, not saving {hash}",
                limits.max_fingerprints
            );
            return Ok(None);
        }
        std::fs::create_dir_all(target)?;
        tracing::info!("new fingerprint {hash}");
    }
    let path = target.join(format!("{session_hash}.json"));
    let mut to_write = record.clone();
    if let Ok(text) = std::fs::read_to_string(&path) {
        match serde_json::from_str::<Value>(&text) {
            Ok(mut existing) if existing["sessions"].is_array() => {
                existing[probe_key]["session_data"] = record[probe_key]["session_data"].clone();
                if let Some(sessions) = existing["sessions"].as_array_mut() {
                    sessions.push(record["sessions"][0].clone());
                }
                to_write = existing;
            }
            _ => tracing::warn!("failed to read existing {}", path.display()),
        }
    }
    write_atomic(&path, &to_write).map(Some)
}
