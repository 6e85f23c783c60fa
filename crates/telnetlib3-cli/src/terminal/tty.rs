//! The Unix terminal: termios modes, the window size, and putting it back as it was.

use std::io;
use std::sync::Mutex;

use rustix::termios::{
    self, ControlModes, InputModes, LocalModes, OptionalActions, SpecialCodeIndex, Termios,
};

use super::{TerminalMode, EOT, ESCAPE};

/// The terminal settings found at start, for the panic hook: it may run on any thread,
/// after the [`Terminal`] that owns them is out of reach.
static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

/// Standard input's terminal, put back as it was found when dropped (the normal ends, an
/// error, a signal handled by the caller, and a panic that unwinds) and by a panic hook
/// (a panic on another thread, or one that does not unwind).
#[derive(Debug)]
pub struct Terminal {
    saved: Termios,
    current: Option<TerminalMode>,
    escape: Option<u8>,
}

impl Terminal {
    /// Standard input's terminal, or `None` when standard input is not a terminal.
    ///
    /// # Errors
    ///
    /// The terminal's settings could not be read.
    pub fn from_stdin() -> io::Result<Option<Self>> {
        let stdin = io::stdin();
        if !termios::isatty(&stdin) {
            return Ok(None);
        }
        let saved = termios::tcgetattr(&stdin)?;
        if let Ok(mut slot) = SAVED.lock() {
            *slot = Some(saved.clone());
        }
        install_panic_hook();
        Ok(Some(Self {
            saved,
            current: None,
            escape: Some(ESCAPE),
        }))
    }

    /// The mode last set, if any.
    #[must_use]
    pub fn mode(&self) -> Option<TerminalMode> {
        self.current
    }

    /// Set `mode`, derived from the settings found at start (so the user's erase and kill
    /// characters, speeds and output processing are kept). Nothing happens when it is
    /// already set.
    ///
    /// # Errors
    ///
    /// The terminal refused the settings.
    pub fn set(&mut self, mode: TerminalMode) -> io::Result<()> {
        if self.current == Some(mode) {
            return Ok(());
        }
        let settings = settings_for(&self.saved, mode, self.escape);
        termios::tcsetattr(io::stdin(), OptionalActions::Drain, &settings)?;
        self.current = Some(mode);
        Ok(())
    }

    /// The escape character the cooked modes end a read at (`None`: none), so that it
    /// works without Enter; set again at once if a mode is set.
    ///
    /// # Errors
    ///
    /// The terminal refused the settings.
    pub fn set_escape(&mut self, escape: Option<u8>) -> io::Result<()> {
        if self.escape == escape {
            return Ok(());
        }
        self.escape = escape;
        match self.current.take() {
            Some(mode) => self.set(mode),
            None => Ok(()),
        }
    }

    /// Put the settings found at start back.
    pub fn restore(&mut self) {
        if self.current.take().is_some() {
            let _ = termios::tcsetattr(io::stdin(), OptionalActions::Drain, &self.saved);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.restore();
    }
}

/// The termios settings for `mode`, from the user's own `saved` ones.
fn settings_for(saved: &Termios, mode: TerminalMode, escape: Option<u8>) -> Termios {
    let mut settings = saved.clone();
    match mode {
        TerminalMode::Cooked { echo } => {
            settings.local_modes |= LocalModes::ICANON | LocalModes::ISIG;
            settings.local_modes.set(LocalModes::ECHO, echo);
            // BSD telnet's trick: ^] as an extra end-of-line character makes the read
            // return as soon as it is typed, so the escape works without Enter.
            settings.special_codes[SpecialCodeIndex::VEOL] = escape.unwrap_or(0);
            // No end-of-file character: ^D is data for the server, and standard input
            // never ends while the terminal is there (nothing could be typed after it).
            settings.special_codes[SpecialCodeIndex::VEOF] = 0;
        }
        TerminalMode::Raw => {
            // telnetlib3's _make_raw, except that output processing (OPOST, ONLCR) is left
            // as the user had it: servers send CR LF, and a bare LF still starts a line.
            settings.input_modes &= !(InputModes::BRKINT
                | InputModes::ICRNL
                | InputModes::INPCK
                | InputModes::ISTRIP
                | InputModes::IXON);
            settings.control_modes &= !(ControlModes::CSIZE | ControlModes::PARENB);
            settings.control_modes |= ControlModes::CS8;
            settings.local_modes &=
                !(LocalModes::ICANON | LocalModes::IEXTEN | LocalModes::ISIG | LocalModes::ECHO);
            settings.special_codes[SpecialCodeIndex::VMIN] = 1;
            settings.special_codes[SpecialCodeIndex::VTIME] = 0;
        }
        TerminalMode::Edit(chars) => {
            settings.local_modes |= LocalModes::ICANON | LocalModes::ECHO;
            settings.local_modes.set(LocalModes::ISIG, chars.trapsig);
            let code = |key: Option<u8>| key.unwrap_or(0);
            let codes = &mut settings.special_codes;
            codes[SpecialCodeIndex::VERASE] = code(chars.erase);
            codes[SpecialCodeIndex::VKILL] = code(chars.kill);
            codes[SpecialCodeIndex::VWERASE] = code(chars.word_erase);
            codes[SpecialCodeIndex::VREPRINT] = code(chars.reprint);
            codes[SpecialCodeIndex::VLNEXT] = code(chars.literal_next);
            codes[SpecialCodeIndex::VSTART] = code(chars.start);
            codes[SpecialCodeIndex::VSTOP] = code(chars.stop);
            codes[SpecialCodeIndex::VINTR] = code(chars.interrupt);
            codes[SpecialCodeIndex::VQUIT] = code(chars.quit);
            codes[SpecialCodeIndex::VSUSP] = code(chars.suspend);
            // The escape and EOF keys end a read where they are typed: as in the cooked
            // mode, ^] works without Enter; EOF is data here, sent as `IAC EOF` (a
            // terminal's VEOF would end standard input for good).
            codes[SpecialCodeIndex::VEOL] = escape.unwrap_or(0);
            codes[SpecialCodeIndex::VEOL2] = code(chars.eof);
            codes[SpecialCodeIndex::VEOF] = 0;
        }
        TerminalMode::Prompt => {
            // The user's settings as found, but surely cooked with echo: the prompt reads
            // a line. ^D is an end of line (delivered as a byte) rather than VEOF: a read
            // begun in raw mode (VMIN 1) does not return for an end of file, even once
            // the mode is canonical, and the reading thread's read began before the
            // prompt. The prompt takes a lone ^D as end of file.
            settings.local_modes |= LocalModes::ICANON | LocalModes::ISIG | LocalModes::ECHO;
            settings.special_codes[SpecialCodeIndex::VEOF] = 0;
            settings.special_codes[SpecialCodeIndex::VEOL] = EOT;
        }
    }
    settings
}

/// Restore the terminal before the default panic message, so that the message is
/// readable and the shell usable afterwards.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(saved) = SAVED.lock() {
                if let Some(saved) = saved.as_ref() {
                    let _ = termios::tcsetattr(io::stdin(), OptionalActions::Now, saved);
                }
            }
            previous(info);
        }));
    });
}

/// The window size as (columns, rows): the terminal's (TIOCGWINSZ on standard input,
/// then standard output), else `COLUMNS` and `LINES` from the environment, else 80 x 25,
/// telnetlib3's default.
#[must_use]
pub fn window_size() -> (u16, u16) {
    let from_terminal = termios::tcgetwinsize(io::stdin())
        .ok()
        .filter(|size| size.ws_col > 0 && size.ws_row > 0)
        .or_else(|| {
            termios::tcgetwinsize(io::stdout())
                .ok()
                .filter(|size| size.ws_col > 0 && size.ws_row > 0)
        });
    if let Some(size) = from_terminal {
        return (size.ws_col, size.ws_row);
    }
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.trim().parse::<u16>().ok())
            .filter(|&value| value > 0)
    };
    (env("COLUMNS").unwrap_or(80), env("LINES").unwrap_or(25))
}
