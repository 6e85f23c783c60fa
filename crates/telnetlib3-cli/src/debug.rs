//! What the debug shell's introspection commands print, in telnetlib3 5.0.1's exact
//! formats (`server_shell.py`: `writer`, `slc`, `linemode`, `toggle`).
//!
//! Pure functions over a protocol [`Session`], so that any driver can use them.

use telnetlib3::proto::options::linemode::{ModeMask, SlcEntry, SlcLevel, SlcTable};
use telnetlib3::proto::options::linemode::{SlcFlags, VDISABLE};
use telnetlib3::proto::options::msdp::MsdpValue;
use telnetlib3::proto::{Session, TelnetOption};

/// The `help` text (telnetlib3 leaves out `version`, which it accepts all the same);
/// `mud` is ours.
pub const HELP: &str = "quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud";

/// telnetlib3's `repr(writer)`, from the library.
pub use telnetlib3::repr::writer_repr;

/// [`writer_repr`], with what a TLS session agreed before its closing `>`:
/// ` tls:TLSv1.3 cipher:TLS_AES_256_GCM_SHA384`, and ` peer-cert:'CN=...'` for a client
/// certificate.
#[must_use]
pub fn writer_repr_with_tls(session: &Session, tls: Option<&telnetlib3::tls::TlsInfo>) -> String {
    let mut repr = writer_repr(session);
    if let Some(tls) = tls {
        repr.pop();
        repr.push_str(&format!(" tls:{} cipher:{}", tls.version, tls.cipher_suite));
        if let Some(subject) = &tls.peer_subject {
            repr.push_str(&format!(" peer-cert:'{subject}'"));
        }
        repr.push('>');
    }
    repr
}

/// A character as telnetlib3's `name_unicode` shows it: printable as is, `^X` for
/// controls, `^?` for DEL, `\xNN` above.
fn name_char(value: u8) -> String {
    match value {
        32..=126 => char::from(value).to_string(),
        127 => "^?".to_string(),
        0..=31 => format!("^{}", char::from(value | 0x40)),
        _ => format!("\\x{value:02x}"),
    }
}

/// One SLC entry as telnetlib3's `SLC.__str__`: `(^C, variable|flushin|flushout)`.
fn slc_entry(entry: SlcEntry) -> String {
    let mut flags = Vec::new();
    match entry.level {
        SlcLevel::NoSupport => flags.push("nosupport"),
        SlcLevel::Value => flags.push("variable"),
        SlcLevel::Default => flags.push("default"),
        SlcLevel::CantChange => {}
    }
    if entry.flags.contains(SlcFlags::FLUSHIN) {
        flags.push("flushin");
    }
    if entry.flags.contains(SlcFlags::FLUSHOUT) {
        flags.push("flushout");
    }
    if entry.level == SlcLevel::CantChange {
        flags.push("cantchange");
    }
    let value = if entry.value == VDISABLE {
        "(DISABLED:\\xff)".to_string()
    } else {
        name_char(entry.value)
    };
    format!("({value}, {})", flags.join("|"))
}

/// The `slc` command: the table in force, then the unset and unsupported functions.
#[must_use]
pub fn slc_report(table: &SlcTable) -> String {
    // telnetlib3 sorts the right-aligned lines as strings: shorter names first.
    let mut set: Vec<String> = table
        .iter()
        .filter(|(_, entry)| entry.level != SlcLevel::NoSupport && entry.value != 0)
        .map(|(function, entry)| format!("{:>15}: {}", function.name(), slc_entry(entry)))
        .collect();
    set.sort();
    let names = |keep: &dyn Fn(&SlcEntry) -> bool| {
        let mut names: Vec<&str> = table
            .iter()
            .filter(|(_, entry)| keep(entry))
            .map(|(function, _)| function.name())
            .collect();
        names.sort_unstable();
        names.join(", ")
    };
    format!(
        "Special Line Characters:\r\n{}\r\nUnset by client: {}\r\nNot supported by server: {}",
        set.join("\r\n"),
        names(&|entry| entry.value == 0),
        names(&|entry| entry.level == SlcLevel::NoSupport),
    )
}

/// The `linemode` command.
#[must_use]
pub fn linemode_report(session: &Session) -> String {
    let mode = match session.linemode_mode() {
        Some(mode) if session.remote_enabled(TelnetOption::Linemode) => mode,
        _ => return "LINEMODE not negotiated.".to_string(),
    };
    let on = |bit: ModeMask| if mode.contains(bit) { "on" } else { "off" };
    format!(
        "LINEMODE active. Mode: {}\r\nEDIT={} TRAPSIG={} SOFT_TAB={} LIT_ECHO={} ACK={}",
        session.mode(),
        on(ModeMask::EDIT),
        on(ModeMask::TRAPSIG),
        on(ModeMask::SOFT_TAB),
        on(ModeMask::LIT_ECHO),
        on(ModeMask::MODE_ACK),
    )
}

/// The MUD options, in the order the `mud` command lists them.
const MUD_OPTIONS: [TelnetOption; 8] = [
    TelnetOption::Gmcp,
    TelnetOption::Msdp,
    TelnetOption::Mssp,
    TelnetOption::Zmp,
    TelnetOption::Atcp,
    TelnetOption::Aardwolf,
    TelnetOption::Mxp,
    TelnetOption::Msp,
];

/// The MNES variables (MUD New-Environ Standard) a MUD client sends with NEW-ENVIRON.
const MNES: [&str; 7] = [
    "CLIENT_NAME",
    "CLIENT_VERSION",
    "CHARSET",
    "MTTS",
    "TERMINAL_TYPE",
    "IPADDRESS",
    "ANSI",
];

/// The `mud` command (ours, not telnetlib3's): the MUD options agreed, then what arrived,
/// one line each: GMCP packages with their JSON, MSDP and MSSP variables, ZMP commands
/// with their arguments, ATCP packages, Aardwolf channels with their data bytes, the
/// client's MTTS flags and MNES variables. Categories with nothing are left out.
#[must_use]
pub fn mud_report(session: &Session) -> String {
    let agreed: Vec<String> = MUD_OPTIONS
        .iter()
        .filter(|&&option| session.local_enabled(option) || session.remote_enabled(option))
        .map(ToString::to_string)
        .collect();
    let mut lines = vec![match agreed.is_empty() {
        true => "MUD options: none".to_string(),
        false => format!("MUD options: {}", agreed.join(" ")),
    }];
    for (package, value) in session.gmcp_data().iter() {
        lines.push(format!("GMCP {package} {value}"));
    }
    for (name, value) in session.msdp_data() {
        lines.push(format!("MSDP {name} {}", msdp_text(value)));
    }
    for (name, values) in session.mssp_data() {
        lines.push(format!("MSSP {name} {}", values.join(", ")));
    }
    for (command, args) in session.zmp_data() {
        lines.push(
            format!("ZMP {command} {}", args.join(", "))
                .trim_end()
                .to_owned(),
        );
    }
    for (package, value) in session.atcp_data() {
        lines.push(format!("ATCP {package} {value}").trim_end().to_owned());
    }
    for (channel, data) in session.aardwolf_data() {
        let bytes: Vec<String> = data.iter().map(u8::to_string).collect();
        lines.push(
            format!("AARDWOLF {channel} {}", bytes.join(" "))
                .trim_end()
                .to_owned(),
        );
    }
    if let Some(flags) = session.mtts() {
        let names: Vec<&str> = flags.iter_names().map(|(name, _)| name).collect();
        lines.push(format!("MTTS {} {}", flags.bits(), names.join("|")));
    }
    let mnes: Vec<String> = MNES
        .iter()
        .filter_map(|&name| {
            let value = session.environ_var(name)?.value.as_ref()?;
            Some(format!("{name}={}", String::from_utf8_lossy(value)))
        })
        .collect();
    if !mnes.is_empty() {
        lines.push(format!("MNES {}", mnes.join(" ")));
    }
    lines.join("\r\n")
}

/// An MSDP value on one line: text as is, `[a, b]` for arrays, `{K: v}` for tables.
fn msdp_text(value: &MsdpValue) -> String {
    match value {
        MsdpValue::Text(text) => text.clone(),
        MsdpValue::Array(items) => {
            let items: Vec<String> = items.iter().map(msdp_text).collect();
            format!("[{}]", items.join(", "))
        }
        MsdpValue::Table(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(name, value)| format!("{name}: {}", msdp_text(value)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// The `toggle [option|all]` command: with no option, the table of toggles; otherwise
/// flip them and say what was sent, one line each.
pub fn toggle(session: &mut Session, option: Option<&str>) -> String {
    let linemode = session.remote_enabled(TelnetOption::Linemode);
    let linemode_bit = |bit| linemode && session.linemode_mode().is_some_and(|m| m.contains(bit));
    let echo = session.local_enabled(TelnetOption::Echo);
    let goahead = !session.local_enabled(TelnetOption::Sga);
    let outbinary = session.local_enabled(TelnetOption::Binary);
    let inbinary = session.remote_enabled(TelnetOption::Binary);
    let table = [
        ("binary", outbinary && inbinary),
        ("echo", echo),
        ("goahead", goahead),
        ("inbinary", inbinary),
        ("lflow", session.lineflow()),
        ("linemode", linemode),
        ("linemode-edit", linemode_bit(ModeMask::EDIT)),
        ("linemode-trapsig", linemode_bit(ModeMask::TRAPSIG)),
        ("outbinary", outbinary),
        ("xon-any", session.xon_any()),
    ];
    let Some(option) = option else {
        return table
            .iter()
            .map(|(name, on)| format!("{name} {}", if *on { "ON" } else { "off" }))
            .collect::<Vec<_>>()
            .join("\r\n");
    };
    let picked = |names: &[&str]| names.contains(&option);
    let mut lines: Vec<String> = Vec::new();
    // Requests that RFC 1143 calls errors (already asked) send nothing; the line still
    // says what was meant, as telnetlib3's does.
    if picked(&["echo", "all"]) {
        let _ = session.request_local(TelnetOption::Echo, !echo);
        lines.push(format!("{} echo.", if echo { "wont" } else { "will" }));
    }
    if picked(&["goahead", "all"]) {
        let _ = session.request_local(TelnetOption::Sga, goahead);
        lines.push(format!(
            "{} suppress go-ahead.",
            if goahead { "will" } else { "wont" }
        ));
    }
    if picked(&["outbinary", "binary", "all"]) {
        let _ = session.request_local(TelnetOption::Binary, !outbinary);
        lines.push(format!(
            "{} outbinary.",
            if outbinary { "wont" } else { "will" }
        ));
    }
    if picked(&["inbinary", "binary", "all"]) {
        let _ = session.request_remote(TelnetOption::Binary, !inbinary);
        lines.push(format!(
            "{} inbinary.",
            if inbinary { "dont" } else { "do" }
        ));
    }
    if picked(&["xon-any", "all"]) {
        let any = !session.xon_any();
        session.set_xon_any(any);
        lines.push(format!("xon-any {}abled.", if any { "en" } else { "dis" }));
    }
    if picked(&["lflow", "all"]) {
        let on = !session.lineflow();
        session.set_lineflow(on);
        lines.push(format!("lineflow {}abled.", if on { "en" } else { "dis" }));
    }
    if picked(&["linemode"]) {
        let _ = session.request_remote(TelnetOption::Linemode, !linemode);
        lines.push(format!(
            "{} linemode.",
            if linemode { "dont" } else { "do" }
        ));
    }
    for (name, bit) in [
        ("linemode-edit", ModeMask::EDIT),
        ("linemode-trapsig", ModeMask::TRAPSIG),
    ] {
        if option != name {
            continue;
        }
        match session.linemode_mode().filter(|_| linemode) {
            None => lines.push("linemode not active.".to_string()),
            Some(mode) => {
                let was_on = mode.contains(bit);
                let wanted = if was_on {
                    mode.difference(bit)
                } else {
                    mode.union(bit)
                };
                session.set_linemode_mode(wanted);
                lines.push(format!(
                    "{name} {}abled.",
                    if was_on { "dis" } else { "en" }
                ));
            }
        }
    }
    if option != "all" && !table.iter().any(|(name, _)| *name == option) {
        lines.push("toggle: not an option.".to_string());
    }
    lines.join("\r\n")
}

/// The `dump [kb] [ms] [drain|nodrain] [close|noclose]` arguments, with telnetlib3's
/// defaults (1000 KiB, no delay, drain, no close), and without its two bugs: `nodrain`
/// means no drain, and a delay below one second is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dump {
    /// How many KiB to write.
    pub kb: usize,
    /// Delay between lines, in milliseconds.
    pub delay_ms: u64,
    /// Wait for the peer to take each line before writing the next.
    pub drain: bool,
    /// Hang up afterwards.
    pub close: bool,
}

impl Dump {
    /// Parse the words after `dump`; malformed numbers fall back to the defaults, as in
    /// telnetlib3.
    #[must_use]
    pub fn parse(args: &str) -> Self {
        let mut words = args.split_whitespace();
        let kb = words.next().and_then(|w| w.parse().ok()).unwrap_or(1000);
        let delay_ms = words
            .next()
            .and_then(|w| w.parse::<f64>().ok())
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map_or(0, |ms| ms as u64);
        let drain = words
            .next()
            .is_none_or(|w| !w.eq_ignore_ascii_case("nodrain"));
        let close = words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("close"));
        Self {
            kb,
            delay_ms,
            drain,
            close,
        }
    }

    /// The header line, in telnetlib3's words.
    #[must_use]
    pub fn header(&self) -> String {
        format!(
            "kb_limit={}, delay={}, drain={}, do_close={}:\r\n",
            self.kb,
            self.delay_ms as f64 / 1000.0,
            if self.drain { "True" } else { "False" },
            if self.close { "True" } else { "False" }
        )
    }

    /// The lines to write: 80 slashes or backslashes, each ending with `ESC [1G`, until
    /// the limit, then the byte count.
    pub fn lines(&self) -> impl Iterator<Item = String> {
        let limit = self.kb.saturating_mul(1024);
        let mut written = 0usize;
        let mut index = 0usize;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            // telnetlib3 writes both characters of a pair before checking the limit.
            if written >= limit && index.is_multiple_of(2) {
                done = true;
                return Some(format!("\x1b[1Gwrote {written} bytes"));
            }
            // One copy of a line built at compile time: the dump runs at hundreds of MB/s,
            // where formatting each line cost a tenth of the time.
            let line = DUMP_LINES[index % 2];
            index += 1;
            written += line.len();
            Some(line.to_owned())
        })
    }
}

/// The length of a dump line: 80 glyphs and `ESC [1G`.
const DUMP_LINE: usize = 84;

/// A dump line of `glyph`.
const fn dump_line(glyph: u8) -> [u8; DUMP_LINE] {
    let mut line = [glyph; DUMP_LINE];
    line[80] = 0x1B;
    line[81] = b'[';
    line[82] = b'1';
    line[83] = b'G';
    line
}

const SLASH_LINE: [u8; DUMP_LINE] = dump_line(b'/');
const BACKSLASH_LINE: [u8; DUMP_LINE] = dump_line(b'\\');

/// The two dump lines, alternating.
const DUMP_LINES: [&str; 2] = [ascii(&SLASH_LINE), ascii(&BACKSLASH_LINE)];

/// `bytes` as a `str`, at compile time.
const fn ascii(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("a dump line is ASCII"),
    }
}

#[cfg(test)]
mod tests {
    use telnetlib3::proto::{Event, Policy, Role, SessionConfig, Sink};

    use super::*;

    struct Null;
    impl Sink for Null {
        fn data(&mut self, _: &[u8]) {}
        fn event(&mut self, _: Event<'_>) {}
    }

    #[test]
    fn mud_shows_the_options_and_what_arrived() {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        assert_eq!(mud_report(&server), "MUD options: none");
        server.start_server_negotiation(telnetlib3::proto::ServerPlan::default());
        server.receive(
            b"\xff\xfb\x18\xff\xfa\x18\x00TINTIN++\xff\xf0\xff\xfa\x18\x00xterm\xff\xf0\
              \xff\xfa\x18\x00MTTS 137\xff\xf0\
              \xff\xfd\xc9\xff\xfd\x45\xff\xfb\x27\
              \xff\xfa\x27\x00\x00CLIENT_NAME\x01TinTin++\x00CLIENT_VERSION\x012.02\xff\xf0\
              \xff\xfa\xc9Core.Hello {\"client\":\"TinTin++\"}\xff\xf0\
              \xff\xfa\x45\x01CLIENT_ID\x02TinTin++\x01LIST\x02\x05\x02A\x02B\x06\xff\xf0\
              \xff\xfd\x5d\xff\xfa\x5dzmp.ident\0Mudlet\x004.17\0\xff\xf0\xff\xfa\x5dzmp.input\0\xff\xf0\
              \xff\xfb\xc8\xff\xfa\xc8hello Mudlet 4.17\xff\xf0\
              \xff\xfb\x66\xff\xfa\x66\x64\x03\xff\xf0\xff\xfa\x66\x65\xff\xf0",
            &mut Null,
        );
        assert_eq!(
            mud_report(&server),
            "MUD options: GMCP MSDP ZMP ATCP AARDWOLF\r\n\
             GMCP Core.Hello {\"client\":\"TinTin++\"}\r\n\
             MSDP CLIENT_ID TinTin++\r\n\
             MSDP LIST [A, B]\r\n\
             ZMP zmp.ident Mudlet, 4.17\r\n\
             ZMP zmp.input\r\n\
             ATCP hello Mudlet 4.17\r\n\
             AARDWOLF status 3\r\n\
             AARDWOLF tick\r\n\
             MTTS 137 ANSI|COLORS_256|PROXY\r\n\
             MNES CLIENT_NAME=TinTin++ CLIENT_VERSION=2.02"
        );
    }

    /// A server session in the state of the seed transcript: kludge mode with BINARY,
    /// CHARSET, ECHO and SGA ours and BINARY, CHARSET, NAWS, NEW_ENVIRON, TTYPE the
    /// client's.
    fn kludge_server() -> Session {
        let mut server = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        server.receive(
            b"\xff\xfd\x00\xff\xfd\x2a\xff\xfd\x01\xff\xfd\x03\
              \xff\xfb\x00\xff\xfb\x2a\xff\xfb\x1f\xff\xfb\x27\xff\xfb\x18",
            &mut Null,
        );
        let mut out = Vec::new();
        let _ = server.poll_transmit(&mut out);
        server
    }

    #[test]
    fn writer_repr_matches_the_seed_transcript() {
        assert_eq!(
            writer_repr(&kludge_server()),
            "<TelnetWriter server mode:kludge +lineflow -xon_any +slc_sim \
             server-will:BINARY,CHARSET,ECHO,SGA client-will:BINARY,CHARSET,NAWS,NEW_ENVIRON,TTYPE>"
        );
    }

    #[test]
    fn toggle_all_matches_the_seed_transcript() {
        let mut server = kludge_server();
        assert_eq!(
            toggle(&mut server, Some("all")),
            "wont echo.\r\nwont suppress go-ahead.\r\nwont outbinary.\r\ndont inbinary.\r\n\
             xon-any enabled.\r\nlineflow disabled."
        );
        let mut out = Vec::new();
        let _ = server.poll_transmit(&mut out);
        // WONT ECHO, WONT SGA, WONT BINARY, DONT BINARY on the wire.
        assert_eq!(out, b"\xff\xfc\x01\xff\xfc\x03\xff\xfc\x00\xff\xfe\x00");
        assert_eq!(
            writer_repr(&server),
            "<TelnetWriter server mode:local -lineflow +xon_any +slc_sim \
             server-will:CHARSET client-will:CHARSET,NAWS,NEW_ENVIRON,TTYPE>"
        );
        assert_eq!(toggle(&mut server, Some("bogus")), "toggle: not an option.");
    }

    #[test]
    fn toggle_table() {
        let mut server = kludge_server();
        assert_eq!(
            toggle(&mut server, None),
            "binary ON\r\necho ON\r\ngoahead off\r\ninbinary ON\r\nlflow ON\r\nlinemode off\r\n\
             linemode-edit off\r\nlinemode-trapsig off\r\noutbinary ON\r\nxon-any off"
        );
        assert_eq!(
            toggle(&mut server, Some("linemode-edit")),
            "linemode not active."
        );
    }

    #[test]
    fn slc_report_matches_the_seed_transcript() {
        let expected = "Special Line Characters:\r\n\
        \x20        SLC_AO: (^O, variable|flushout)\r\n\
        \x20        SLC_EC: (^?, variable)\r\n\
        \x20        SLC_EL: (^U, variable)\r\n\
        \x20        SLC_EW: (^W, variable)\r\n\
        \x20        SLC_IP: (^C, variable|flushin|flushout)\r\n\
        \x20        SLC_RP: (^R, variable)\r\n\
        \x20       SLC_AYT: (^T, variable)\r\n\
        \x20       SLC_EOF: (^D, variable)\r\n\
        \x20       SLC_XON: (^Q, variable)\r\n\
        \x20      SLC_SUSP: (^Z, variable|flushin)\r\n\
        \x20      SLC_XOFF: (^S, variable)\r\n\
        \x20     SLC_ABORT: (^\\, variable|flushin|flushout)\r\n\
        \x20     SLC_LNEXT: (^V, variable)\r\n\
        Unset by client: SLC_BRK, SLC_EOR, SLC_SYNCH\r\n\
        Not supported by server: SLC_EBOL, SLC_ECR, SLC_EEOL, SLC_EWR, SLC_FORW1, SLC_FORW2, \
        SLC_INSRT, SLC_MCBOL, SLC_MCEOL, SLC_MCL, SLC_MCR, SLC_MCWL, SLC_MCWR, SLC_OVER";
        assert_eq!(slc_report(&SlcTable::bsd()), expected);
    }

    #[test]
    fn linemode_not_negotiated() {
        assert_eq!(
            linemode_report(&kludge_server()),
            "LINEMODE not negotiated."
        );
    }

    #[test]
    fn dump_arguments_and_lines() {
        let dump = Dump::parse("1 250 nodrain close");
        assert_eq!(
            dump,
            Dump {
                kb: 1,
                delay_ms: 250,
                drain: false,
                close: true
            }
        );
        assert_eq!(
            dump.header(),
            "kb_limit=1, delay=0.25, drain=False, do_close=True:\r\n"
        );
        let lines: Vec<String> = dump.lines().collect();
        // 84 bytes a line, written in pairs until 1024 bytes are passed: 14 lines, then the count.
        assert_eq!(lines.len(), 15);
        assert_eq!(lines[0], format!("{}\x1b[1G", "/".repeat(80)));
        assert_eq!(lines[1], format!("{}\x1b[1G", "\\".repeat(80)));
        assert_eq!(lines.last().unwrap(), "\x1b[1Gwrote 1176 bytes");
        assert_eq!(
            Dump::parse("x"),
            Dump {
                kb: 1000,
                delay_ms: 0,
                drain: true,
                close: false
            }
        );
    }
}
