//! The debug shell, after telnetlib3's `telnet_server_shell`: a `tel:sh> ` prompt
//! with its introspection commands ([`command`], formats in [`crate::debug`]).
//!
//! The line editing is sans-IO ([`LineEditor`], [`command`]); [`debug_shell`] drives it
//! over a [`TelnetReader`] and [`TelnetWriter`].

use telnetlib3::proto::{Session, TelnetOption};

use crate::debug::{self, Dump};
use telnetlib3::text::Encoding;
use telnetlib3::{negotiated_encoding, Error, TelnetReader, TelnetWriter};
use tracing::debug;

/// The shell's prompt.
pub const PROMPT: &[u8] = b"tel:sh> ";

/// What the shell says first, before its first prompt.
pub const BANNER: &[u8] = b"Ready.\r\n";

/// The longest line the editor keeps; further bytes of a line are dropped (not echoed).
pub const MAX_LINE: usize = 4096;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const NUL: u8 = 0;
const BS: u8 = 0x08;
const DEL: u8 = 0x7f;
/// ^C: abandon the line.
const ETX: u8 = 0x03;
/// ^U: erase the whole line.
const NAK: u8 = 0x15;

/// Collects typed bytes into lines, with echo and backspace.
///
/// A line ends with CR LF, CR NUL, a CR alone or a LF alone; the LF or NUL after a CR
/// belongs to the same end of line, even when it comes in the next input. Backspace
/// (0x08) and DEL (0x7f) erase the last character (a whole UTF-8 sequence), echoed as
/// `"\b \b"`; ^U erases the whole line; ^C abandons it (echoed `^C`, an empty line).
///
/// ```
/// use telnetlib3_cli::shell::LineEditor;
///
/// let mut editor = LineEditor::new();
/// let mut echo = Vec::new();
/// let (used, line) = editor.feed(b"hex\x7flp\r\nquit\r\n", true, &mut echo);
/// assert_eq!((used, line.as_deref()), (7, Some(&b"help"[..])));
/// assert_eq!(echo, b"hex\x08 \x08lp");
/// ```
#[derive(Clone, Debug, Default)]
pub struct LineEditor {
    line: Vec<u8>,
    after_cr: bool,
    single_byte: bool,
}

impl LineEditor {
    /// An empty editor.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            single_byte: false,
        }
    }

    /// Whether each byte is a character (a single-byte encoding such as US-ASCII or
    /// cp437, or no encoding at all), so that backspace erases one byte; otherwise
    /// (the default) the line is UTF-8 and backspace erases a whole sequence.
    pub fn set_single_byte(&mut self, single_byte: bool) {
        self.single_byte = single_byte;
    }

    /// The line typed so far.
    #[must_use]
    pub fn pending(&self) -> &[u8] {
        &self.line
    }

    /// Take `input` up to and including the first end of line. Returns how many bytes
    /// were taken and, if a line ended, the line (without its end). When `echo` is set,
    /// what the user should see is appended to `out`.
    pub fn feed(
        &mut self,
        input: &[u8],
        echo: bool,
        out: &mut Vec<u8>,
    ) -> (usize, Option<Vec<u8>>) {
        for (at, &byte) in input.iter().enumerate() {
            if std::mem::take(&mut self.after_cr) && (byte == LF || byte == NUL) {
                continue;
            }
            match byte {
                CR | LF => {
                    self.after_cr = byte == CR;
                    return (at + 1, Some(std::mem::take(&mut self.line)));
                }
                ETX => {
                    if echo {
                        out.extend_from_slice(b"^C");
                    }
                    self.line.clear();
                    return (at + 1, Some(Vec::new()));
                }
                NAK => {
                    while self.erase() {
                        if echo {
                            out.extend_from_slice(b"\x08 \x08");
                        }
                    }
                }
                BS | DEL => {
                    let erased = self.erase();
                    if erased && echo {
                        out.extend_from_slice(b"\x08 \x08");
                    }
                }
                NUL => {}
                _ if self.line.len() < MAX_LINE => {
                    self.line.push(byte);
                    if echo {
                        out.push(byte);
                    }
                }
                _ => {}
            }
        }
        (input.len(), None)
    }

    /// Remove the last character; false if the line was empty.
    fn erase(&mut self) -> bool {
        let Some(mut byte) = self.line.pop() else {
            return false;
        };
        // Continuation bytes of a UTF-8 sequence go with their lead byte.
        while !self.single_byte && byte & 0xc0 == 0x80 {
            match self.line.pop() {
                Some(previous) => byte = previous,
                None => break,
            }
        }
        true
    }
}

/// What the shell does with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Nothing but a new prompt (an empty line).
    Prompt,
    /// Print this text on its own line, then a new prompt.
    Text(String),
    /// Write a character dump, then a new prompt (or hang up).
    Dump(Dump),
    /// Say goodbye and close the connection.
    Quit,
}

/// What the shell knows about its connection besides the session.
#[derive(Clone, Copy, Debug)]
pub struct Peer<'a> {
    /// The peer's address, `ip port` as telnetlib3 shows it.
    pub address: &'a str,
    /// Bytes read from the peer and not yet taken by the shell.
    pub buffered: usize,
    /// The name of the encoding the session's text is in, or `None` for a bytes shell
    /// (`--encoding false`).
    pub encoding: Option<&'a str>,
    /// What the connection's TLS session agreed, if it runs over TLS.
    pub tls: Option<&'a telnetlib3::tls::TlsInfo>,
}

/// Interpret one line (surrounding blanks ignored), with telnetlib3's commands: `quit`,
/// `help`, `writer`, `reader`, `proto`, `version`, `slc`, `linemode`, `toggle [option|all]`,
/// `dump [kb] [ms] [drain|nodrain] [close|noclose]`; anything else is "no such command.".
pub fn command(line: &[u8], session: &mut Session, peer: Peer<'_>) -> Reply {
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    let (word, args) = line.split_once(' ').unwrap_or((line, ""));
    let text = match word {
        "" => return Reply::Prompt,
        "quit" => return Reply::Quit,
        "dump" => return Reply::Dump(Dump::parse(args)),
        "help" => debug::HELP.to_string(),
        "writer" => debug::writer_repr_with_tls(session, peer.tls),
        "reader" => match peer.encoding {
            Some(encoding) => format!(
                "<TelnetReaderUnicode encoding='{encoding}' limit={READER_LIMIT} buflen={} \
                 eof=False>",
                peer.buffered
            ),
            None => format!(
                "<TelnetReader limit={READER_LIMIT} buflen={} eof=False>",
                peer.buffered
            ),
        },
        "proto" => format!("<Peer {}>", peer.address),
        "version" => env!("CARGO_PKG_VERSION").to_string(),
        "slc" => debug::slc_report(session.slc_table()),
        "linemode" => debug::linemode_report(session),
        "mud" => debug::mud_report(session),
        "toggle" => debug::toggle(session, Some(args.trim()).filter(|a| !a.is_empty())),
        _ => "no such command.".to_string(),
    };
    Reply::Text(text)
}

/// The reader limit shown by `reader` (telnetlib3's default).
const READER_LIMIT: usize = 65536;

/// Write the prompt, then `IAC GA` unless go-aheads are suppressed.
async fn prompt(writer: &mut TelnetWriter) -> Result<(), Error> {
    writer.write(PROMPT).await?;
    writer.send_go_ahead();
    writer.drain().await
}

/// The text settings of the debug shell (telnetlib3-server's `--encoding` and
/// `--force-binary`).
#[derive(Clone, Debug)]
pub struct ShellText {
    /// The encoding assumed once BINARY is agreed and the client named none, or `None`
    /// for a bytes shell (`--encoding false`).
    pub encoding: Option<Encoding>,
    /// Whether the session is 8-bit without BINARY both ways.
    pub force_binary: bool,
}

impl Default for ShellText {
    /// telnetlib3-server's defaults: UTF-8, BINARY not forced.
    fn default() -> Self {
        Self {
            encoding: Encoding::from_name("utf8").ok(),
            force_binary: false,
        }
    }
}

impl ShellText {
    /// The encoding in effect now, as telnetlib3's server chooses it (it may change as
    /// options change: US-ASCII until BINARY both ways).
    fn current(&self, session: &Session) -> Option<Encoding> {
        let default = self.encoding.as_ref()?;
        Some(negotiated_encoding(session, default, self.force_binary))
    }
}

/// Run the debug shell until the user quits or the peer closes: the banner and prompt,
/// then one reply per line. Typed characters are echoed while we perform ECHO. Text is
/// in telnetlib3-server's default encoding ([`ShellText::default`]).
///
/// # Errors
///
/// [`Error::Closed`] when the connection ends under it.
pub async fn debug_shell(reader: TelnetReader, writer: TelnetWriter) -> Result<(), Error> {
    debug_shell_with(reader, writer, &ShellText::default()).await
}

/// [`debug_shell`] with the given text settings: the encoding shown by `reader`, and
/// whether backspace erases a byte or a UTF-8 sequence.
///
/// # Errors
///
/// [`Error::Closed`] when the connection ends under it.
pub async fn debug_shell_with(
    mut reader: TelnetReader,
    mut writer: TelnetWriter,
    text: &ShellText,
) -> Result<(), Error> {
    match writer.tls() {
        // telnetlib3's greeting over TLS.
        Some(tls) => {
            let banner = format!("Ready (secure: {}).\r\n", tls.version);
            writer.write(banner.as_bytes()).await?;
        }
        None => writer.write(BANNER).await?,
    }
    prompt(&mut writer).await?;
    let mut editor = LineEditor::new();
    let mut echo = Vec::new();
    loop {
        let input = reader.read(1024).await?;
        if input.is_empty() {
            debug!("peer closed the shell");
            return Ok(());
        }
        let mut rest = &input[..];
        while !rest.is_empty() {
            let (echoing, encoding) =
                writer.with_session(|s| (s.local_enabled(TelnetOption::Echo), text.current(s)));
            editor.set_single_byte(
                encoding
                    .as_ref()
                    .is_none_or(|e| e.canonical_name() != "UTF-8"),
            );
            let (used, line) = editor.feed(rest, echoing, &mut echo);
            rest = &rest[used..];
            writer.write(&echo).await?;
            echo.clear();
            let Some(line) = line else { continue };
            debug!("command {:?}", String::from_utf8_lossy(&line));
            writer.write(b"\r\n").await?;
            let peer = Peer {
                address: writer.peer(),
                buffered: rest.len() + reader.buffered(),
                encoding: encoding.as_ref().map(Encoding::name),
                tls: writer.tls(),
            };
            let reply = writer.with_session(|session| command(&line, session, peer));
            match reply {
                Reply::Quit => {
                    writer.write(b"Goodbye.\r\n").await?;
                    writer.close().await;
                    return Ok(());
                }
                Reply::Text(text) => {
                    writer.write(text.as_bytes()).await?;
                    writer.write(b"\r\n").await?;
                }
                Reply::Dump(dump) => {
                    writer.write(dump.header().as_bytes()).await?;
                    for line in dump.lines() {
                        writer.write(line.as_bytes()).await?;
                        if dump.drain {
                            writer.drain().await?;
                        }
                        if dump.delay_ms > 0 {
                            tokio::time::sleep(std::time::Duration::from_millis(dump.delay_ms))
                                .await;
                        }
                    }
                    writer
                        .write(format!("\r\n{} OK\r\n", dump.kb).as_bytes())
                        .await?;
                    if dump.close {
                        writer.close().await;
                        return Ok(());
                    }
                }
                Reply::Prompt => {}
            }
            prompt(&mut writer).await?;
        }
    }
}

/// Send back every byte received, until the peer closes.
///
/// # Errors
///
/// [`Error::Closed`] when the connection ends while writing.
pub async fn echo_shell(mut reader: TelnetReader, mut writer: TelnetWriter) -> Result<(), Error> {
    loop {
        // One writer step at a time: a bigger read only makes the shell hold more while
        // the writer waits for a slow peer.
        let data = reader.read(16 * 1024).await?;
        if data.is_empty() {
            return Ok(());
        }
        writer.write(&data).await?;
    }
}

/// The seed README's war game: one question, one answer, then hang up.
///
/// # Errors
///
/// [`Error::Closed`] when the connection ends under it.
pub async fn wargame_shell(
    mut reader: TelnetReader,
    mut writer: TelnetWriter,
) -> Result<(), Error> {
    writer.write(b"\r\nWould you like to play a game? ").await?;
    let answer = reader.read(1).await?;
    if !answer.is_empty() {
        writer
            .write(b"\r\nThey say the only way to win is to not play at all.\r\n")
            .await?;
    }
    writer.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(editor: &mut LineEditor, mut input: &[u8]) -> Vec<Vec<u8>> {
        let mut found = Vec::new();
        let mut echo = Vec::new();
        while !input.is_empty() {
            let (used, line) = editor.feed(input, false, &mut echo);
            input = &input[used..];
            found.extend(line);
        }
        found
    }

    #[test]
    fn every_end_of_line_ends_one_line() {
        let mut editor = LineEditor::new();
        let found = lines(&mut editor, b"a\r\nb\r\0c\rd\ne\r");
        assert_eq!(found, [&b"a"[..], b"b", b"c", b"d", b"e"]);
        // The LF of a CR LF split across inputs is not a second, empty line.
        assert!(lines(&mut editor, b"\nf").is_empty());
        assert_eq!(editor.pending(), b"f");
    }

    #[test]
    fn backspace_erases_a_whole_character_and_echoes_only_real_erasures() {
        let mut editor = LineEditor::new();
        let mut echo = Vec::new();
        let (_, line) = editor.feed("\x08é\x7fok".as_bytes(), true, &mut echo);
        assert_eq!(line, None);
        assert_eq!(editor.pending(), b"ok");
        assert_eq!(echo, "é\x08 \x08ok".as_bytes());
    }

    #[test]
    fn control_u_kills_the_line_and_control_c_abandons_it() {
        let mut editor = LineEditor::new();
        let mut echo = Vec::new();
        let (_, line) = editor.feed(b"ab\x15c", true, &mut echo);
        assert_eq!(line, None);
        assert_eq!(editor.pending(), b"c");
        assert_eq!(echo, b"ab\x08 \x08\x08 \x08c");
        echo.clear();
        let (used, line) = editor.feed(b"d\x03rest", true, &mut echo);
        assert_eq!((used, line), (2, Some(Vec::new())));
        assert_eq!(echo, b"d^C");
        assert_eq!(editor.pending(), b"");
    }

    #[test]
    fn no_echo_unless_asked() {
        let mut editor = LineEditor::new();
        let mut echo = Vec::new();
        let (used, line) = editor.feed(b"help\r\n", false, &mut echo);
        assert_eq!((used, line.as_deref()), (5, Some(&b"help"[..])));
        assert!(echo.is_empty());
    }

    #[test]
    fn long_lines_are_capped() {
        let mut editor = LineEditor::new();
        let mut echo = Vec::new();
        let input = vec![b'x'; MAX_LINE + 100];
        let (used, line) = editor.feed(&input, true, &mut echo);
        assert_eq!((used, line), (input.len(), None));
        assert_eq!(editor.pending().len(), MAX_LINE);
        assert_eq!(echo.len(), MAX_LINE);
    }

    #[test]
    fn commands() {
        use telnetlib3::proto::{Policy, Role, SessionConfig};
        let mut session = Session::new(Role::Server, SessionConfig::with_policy(Policy::server()));
        let peer = Peer {
            address: "127.0.0.1 4000",
            buffered: 3,
            encoding: None,
            tls: None,
        };
        let mut run = |line: &[u8]| command(line, &mut session, peer);
        assert_eq!(run(b""), Reply::Prompt);
        assert_eq!(run(b"  "), Reply::Prompt);
        assert_eq!(run(b"quit"), Reply::Quit);
        assert_eq!(run(b" help "), Reply::Text(debug::HELP.into()));
        assert_eq!(run(b"\xffx"), Reply::Text("no such command.".into()));
        assert_eq!(run(b"proto"), Reply::Text("<Peer 127.0.0.1 4000>".into()));
        assert_eq!(
            run(b"reader"),
            Reply::Text("<TelnetReader limit=65536 buflen=3 eof=False>".into())
        );
        assert_eq!(
            run(b"writer"),
            Reply::Text("<TelnetWriter server mode:local +lineflow -xon_any +slc_sim>".into())
        );
        assert_eq!(
            run(b"toggle nope"),
            Reply::Text("toggle: not an option.".into())
        );
        assert!(matches!(run(b"dump 2"), Reply::Dump(Dump { kb: 2, .. })));
        let peer = Peer {
            encoding: Some("US-ASCII"),
            ..peer
        };
        assert_eq!(
            command(b"reader", &mut session, peer),
            Reply::Text(
                "<TelnetReaderUnicode encoding='US-ASCII' limit=65536 buflen=3 eof=False>".into()
            )
        );
    }

    #[test]
    fn in_a_single_byte_encoding_backspace_erases_one_byte() {
        let mut editor = LineEditor::new();
        editor.set_single_byte(true);
        let mut echo = Vec::new();
        // cp437's box corner and shade are two characters, not one UTF-8 sequence.
        editor.feed(b"a\xc9\xb0\x7f", true, &mut echo);
        assert_eq!(editor.pending(), b"a\xc9");
        assert_eq!(echo, b"a\xc9\xb0\x08 \x08");
    }
}
