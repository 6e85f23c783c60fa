//! The byte-level Telnet tokenizer: bytes in, callbacks out.
//!
//! The parser is incremental: it keeps the little state it needs between calls (an IAC,
//! a CR or a subnegotiation may be split across reads), so feeding a stream in any split
//! gives the same sequence of events, up to how data runs are cut.
//!
//! Plain data is located with `memchr` and handed to [`Handler::data`] as slices borrowed
//! from the input: there is no per-byte loop over data that holds no IAC (and, under the
//! NVT rules, no NUL). Only the bytes of commands go through the byte-wise state machine.
//! Data cut by escapes (IAC IAC, CR NUL) is joined in a small buffer and handed over as
//! one run per stretch between commands, so that dense escapes do not cost a handler
//! call each.

use std::ops::Range;

use memchr::{memchr, memchr2_iter, memchr_iter};

use crate::command::{Command, Verb, IAC, SB, SE};
use crate::option::TelnetOption;
use crate::scan::{extend_short, iac_dense, IacPositions};

/// Default cap on the payload of one subnegotiation, in bytes.
///
/// Generous for every option this crate speaks (a full NEW-ENVIRON IS or a CHARSET
/// TTABLE fits), small enough that a hostile peer cannot make a connection expensive.
pub const DEFAULT_MAX_SUBNEGOTIATION: usize = 8 * 1024;

/// A subnegotiation buffer grown beyond this is released after use, so that one large
/// subnegotiation does not pin memory for the life of an idle connection.
const RETAINED_SUBNEGOTIATION_CAPACITY: usize = 256;

/// The buffer that joins data cut by escapes is released after use beyond this, so that
/// an idle connection keeps no copy of its last burst.
const RETAINED_JOINED_CAPACITY: usize = 256;

const CR: u8 = b'\r';
const NUL: u8 = 0;

/// Receives what the [`Parser`] finds, in stream order.
///
/// Only [`Handler::data`] is required; every other method defaults to ignoring its event,
/// like vte's `Perform`.
pub trait Handler {
    /// A run of application data, with IAC IAC already reduced to one 0xFF and, under the
    /// NVT rules, the NUL of CR NUL removed.
    fn data(&mut self, data: &[u8]);

    /// A two-byte command (`IAC NOP`, `IAC AYT`, `IAC GA`, ...).
    fn command(&mut self, _command: Command) {}

    /// An option negotiation (`IAC WILL <option>` and the like).
    fn negotiation(&mut self, _verb: Verb, _option: TelnetOption) {}

    /// A complete subnegotiation `IAC SB <option> <payload> IAC SE`, with IAC IAC in the
    /// payload already reduced to one 0xFF.
    fn subnegotiation(&mut self, _option: TelnetOption, _payload: &[u8]) {}

    /// Malformed input that the parser recovered from.
    fn protocol_error(&mut self, _error: ProtocolError) {}

    /// Whether the NVT input rules apply to the data that follows (RFC 854, RFC 1123
    /// 3.3.1): CR NUL stands for a bare CR, so the NUL is removed. It is asked again after
    /// every command, so a handler can switch it when BINARY is negotiated mid-stream.
    fn nvt_input(&self) -> bool {
        false
    }

    /// Whether [`Parser::advance`] should stop after the command just handled and
    /// return, leaving the rest of its input to a later call. Asked only at command
    /// boundaries (never inside data, a command or a subnegotiation), so a caller can
    /// stop taking input once the replies it queued reach a bound.
    fn paused(&self) -> bool {
        false
    }
}

/// Malformed Telnet input, reported through [`Handler::protocol_error`].
///
/// None of these stops the parser: each says how it resynchronised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A subnegotiation grew past the cap; it is discarded up to its IAC SE.
    #[error("subnegotiation of {option} longer than {limit} bytes, discarded")]
    SubnegotiationTooLong {
        /// The option being subnegotiated.
        option: TelnetOption,
        /// The cap in force.
        limit: usize,
        /// The payload's first byte: for most options the subnegotiation's command
        /// (CHARSET `REQUEST`, TTYPE `IS`, ...), so that it can still be answered.
        first_byte: Option<u8>,
    },
    /// `IAC <command>` other than IAC IAC or IAC SE arrived inside a subnegotiation.
    ///
    /// The partial subnegotiation is dropped and the command is processed as if it had
    /// arrived outside (so a lost SE costs one subnegotiation, not the command after it).
    #[error("subnegotiation of {option} interrupted by IAC {command:#04x}, discarded")]
    SubnegotiationInterrupted {
        /// The option being subnegotiated.
        option: TelnetOption,
        /// The byte that followed IAC.
        command: u8,
    },
    /// `IAC SE` arrived with no subnegotiation open; it is ignored.
    #[error("IAC SE without IAC SB, ignored")]
    UnexpectedSe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Plain data. `after_cr` remembers a CR at the end of the previous input, whose NUL
    /// may arrive in the next call.
    Data { after_cr: bool },
    /// Just after IAC.
    Iac,
    /// After `IAC WILL|WONT|DO|DONT`, waiting for the option byte.
    Negotiation(Verb),
    /// After `IAC SB`, waiting for the option byte.
    SubnegotiationOption,
    /// Inside a subnegotiation's payload.
    Subnegotiation(TelnetOption),
    /// After IAC inside a subnegotiation.
    SubnegotiationIac(TelnetOption),
}

/// The incremental Telnet tokenizer.
///
/// ```
/// use telnetlib3_proto::{Command, Handler, Parser, TelnetOption, Verb};
///
/// #[derive(Default)]
/// struct Log(Vec<String>);
/// impl Handler for Log {
///     fn data(&mut self, data: &[u8]) {
///         self.0.push(format!("data {:?}", String::from_utf8_lossy(data)));
///     }
///     fn negotiation(&mut self, verb: Verb, option: TelnetOption) {
///         self.0.push(format!("{verb} {option}"));
///     }
///     fn command(&mut self, command: Command) {
///         self.0.push(format!("{command}"));
///     }
/// }
///
/// let mut parser = Parser::new();
/// let mut log = Log::default();
/// parser.advance(&mut log, b"hi\xff\xfd");   // IAC DO split from its option ...
/// parser.advance(&mut log, b"\x18\xff\xf9"); // ... TTYPE, then IAC GA
/// assert_eq!(log.0, ["data \"hi\"", "DO TTYPE", "GA"]);
/// ```
#[derive(Clone, Debug)]
pub struct Parser {
    state: State,
    subnegotiation: Vec<u8>,
    /// Data pieces of one stretch between commands, joined (see [`Runs`]).
    joined: Vec<u8>,
    /// Set once the open subnegotiation overflowed: its bytes are dropped up to IAC SE.
    overflowed: bool,
    /// A command (or subnegotiation) was just completed: [`Handler::paused`] is asked
    /// before the next byte.
    at_command_end: bool,
    max_subnegotiation: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with the default subnegotiation cap.
    #[must_use]
    pub const fn new() -> Self {
        Self::with_max_subnegotiation(DEFAULT_MAX_SUBNEGOTIATION)
    }

    /// A parser whose subnegotiations may hold at most `limit` payload bytes.
    #[must_use]
    pub const fn with_max_subnegotiation(limit: usize) -> Self {
        Self {
            state: State::Data { after_cr: false },
            subnegotiation: Vec::new(),
            joined: Vec::new(),
            overflowed: false,
            at_command_end: false,
            max_subnegotiation: limit,
        }
    }

    /// The subnegotiation cap in force.
    #[must_use]
    pub const fn max_subnegotiation(&self) -> usize {
        self.max_subnegotiation
    }

    /// Whether the parser sits between tokens, with nothing partial buffered.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Data { .. })
    }

    /// Parse `input`, calling `handler` for everything found, in order. Returns how
    /// many bytes were consumed: all of `input` (an incomplete command is kept for the
    /// next call), unless [`Handler::paused`] said to stop after a command; the caller
    /// then passes the rest again later.
    pub fn advance<H: Handler>(&mut self, handler: &mut H, input: &[u8]) -> usize {
        let mut rest = input;
        while let Some((&byte, tail)) = rest.split_first() {
            if self.at_command_end && handler.paused() {
                break;
            }
            self.at_command_end = false;
            match self.state {
                State::Data { after_cr } => {
                    let used = self.advance_data(handler, rest, after_cr);
                    rest = &rest[used..];
                }
                State::Subnegotiation(option) => {
                    let used = self.advance_subnegotiation(handler, option, rest);
                    rest = &rest[used..];
                }
                State::Iac => {
                    self.after_iac(handler, byte);
                    self.at_command_end = self.is_idle();
                    rest = tail;
                }
                State::Negotiation(verb) => {
                    handler.negotiation(verb, TelnetOption::from(byte));
                    self.state = State::Data { after_cr: false };
                    self.at_command_end = true;
                    rest = tail;
                }
                State::SubnegotiationOption => {
                    self.subnegotiation.clear();
                    self.overflowed = false;
                    self.state = State::Subnegotiation(TelnetOption::from(byte));
                    rest = tail;
                }
                State::SubnegotiationIac(option) => {
                    self.after_subnegotiation_iac(handler, option, byte);
                    self.at_command_end = self.is_idle();
                    rest = tail;
                }
            }
        }
        input.len() - rest.len()
    }

    /// The fast path: hand out the data up to the next IAC that starts a command.
    /// Returns the number of bytes consumed.
    #[inline]
    fn advance_data<H: Handler>(&mut self, handler: &mut H, input: &[u8], after_cr: bool) -> usize {
        // Outside NVT rules only IAC is special; under them NUL is too (for CR NUL). One
        // iterator over the input: its SIMD set-up is paid once, not per escape.
        if handler.nvt_input() {
            self.data_runs(
                handler,
                input,
                after_cr,
                true,
                memchr2_iter(IAC, NUL, input),
            )
        } else if iac_dense(input) {
            self.dense_data(handler, input)
        } else {
            self.data_runs(handler, input, false, false, memchr_iter(IAC, input))
        }
    }

    fn data_runs<H: Handler>(
        &mut self,
        handler: &mut H,
        input: &[u8],
        after_cr: bool,
        nvt: bool,
        hits: impl Iterator<Item = usize>,
    ) -> usize {
        let mut runs = Runs::new(input, &mut self.joined);
        let mut run_start = 0;
        for at in hits {
            if at < run_start {
                // The second IAC of an IAC IAC already taken.
                continue;
            }
            if input[at] == NUL {
                let follows_cr = if at == 0 {
                    after_cr
                } else {
                    input[at - 1] == CR
                };
                if follows_cr {
                    // RFC 854: CR NUL is a carriage return alone; drop the NUL.
                    runs.push(run_start..at);
                    run_start = at + 1;
                }
                continue;
            }
            if input.get(at + 1) == Some(&IAC) {
                // IAC IAC is one data byte 0xFF: keep the first, skip the second.
                runs.push(run_start..at + 1);
                run_start = at + 2;
            } else {
                runs.push(run_start..at);
                runs.finish(handler);
                self.state = State::Iac;
                return at + 1;
            }
        }
        runs.push(run_start..input.len());
        runs.finish(handler);
        self.state = State::Data {
            after_cr: nvt && input.last() == Some(&CR),
        };
        input.len()
    }

    /// [`Parser::data_runs`] outside the NVT rules where IAC is dense (binary data): the
    /// stretch up to the next command is copied into `joined` with each IAC IAC made one
    /// 0xFF, run by run into a buffer reserved once (a short run as one fixed 16-byte
    /// move), instead of a growing append per run. Reserved, not resized: a large buffer
    /// is released after each read, so resizing zero-filled a whole read's worth every
    /// time (about 6% of the end-to-end work). The handler sees the same single call.
    fn dense_data<H: Handler>(&mut self, handler: &mut H, input: &[u8]) -> usize {
        /// Room past the end for a fixed-size move of the last short run.
        const SLACK: usize = 16;
        let out = &mut self.joined;
        out.clear();
        // `out.len() <= read` throughout (unescaping only shrinks), so no move below
        // grows the buffer again.
        out.reserve(input.len() + SLACK);
        let mut read = 0;
        let mut command = None;
        for at in IacPositions::new(input) {
            if at < read {
                // The second IAC of an IAC IAC already taken.
                continue;
            }
            if input.get(at + 1) == Some(&IAC) {
                // The run and the first IAC of IAC IAC (one data byte 0xFF).
                extend_short(out, input, read, at + 1);
                read = at + 2;
            } else {
                extend_short(out, input, read, at);
                command = Some(at);
                break;
            }
        }
        let used = match command {
            Some(at) => {
                self.state = State::Iac;
                at + 1
            }
            None => {
                out.extend_from_slice(&input[read..]);
                self.state = State::Data { after_cr: false };
                input.len()
            }
        };
        if !out.is_empty() {
            handler.data(out);
        }
        out.clear();
        if out.capacity() > RETAINED_JOINED_CAPACITY {
            *out = Vec::new();
        }
        used
    }

    fn after_iac<H: Handler>(&mut self, handler: &mut H, byte: u8) {
        self.state = State::Data { after_cr: false };
        match byte {
            IAC => handler.data(&[IAC]),
            SB => self.state = State::SubnegotiationOption,
            SE => handler.protocol_error(ProtocolError::UnexpectedSe),
            _ => match Verb::from_code(byte) {
                Some(verb) => self.state = State::Negotiation(verb),
                None => handler.command(Command::from_code(byte)),
            },
        }
    }

    /// Collect payload bytes up to the next IAC. Returns the number of bytes consumed.
    fn advance_subnegotiation<H: Handler>(
        &mut self,
        handler: &mut H,
        option: TelnetOption,
        input: &[u8],
    ) -> usize {
        let (run, used) = match memchr(IAC, input) {
            Some(at) => {
                self.state = State::SubnegotiationIac(option);
                (&input[..at], at + 1)
            }
            None => (input, input.len()),
        };
        self.push_payload(handler, option, run);
        used
    }

    fn push_payload<H: Handler>(&mut self, handler: &mut H, option: TelnetOption, bytes: &[u8]) {
        if self.overflowed || bytes.is_empty() {
            return;
        }
        if self.subnegotiation.len() + bytes.len() > self.max_subnegotiation {
            self.overflowed = true;
            let first_byte = self.subnegotiation.first().or(bytes.first()).copied();
            self.release_subnegotiation();
            handler.protocol_error(ProtocolError::SubnegotiationTooLong {
                option,
                limit: self.max_subnegotiation,
                first_byte,
            });
            return;
        }
        self.subnegotiation.extend_from_slice(bytes);
    }

    fn after_subnegotiation_iac<H: Handler>(
        &mut self,
        handler: &mut H,
        option: TelnetOption,
        byte: u8,
    ) {
        match byte {
            IAC => {
                self.state = State::Subnegotiation(option);
                self.push_payload(handler, option, &[IAC]);
            }
            SE => {
                self.state = State::Data { after_cr: false };
                if !self.overflowed {
                    handler.subnegotiation(option, &self.subnegotiation);
                }
                self.release_subnegotiation();
            }
            command => {
                // RFC 854 allows only IAC IAC and IAC SE inside a subnegotiation. Like
                // telnetlib3 we report it and drop the partial subnegotiation; unlike
                // telnetlib3 (which also drops the interrupting byte, so an `IAC DO x`
                // would leave `x` in the data) we then process the command itself.
                handler
                    .protocol_error(ProtocolError::SubnegotiationInterrupted { option, command });
                self.release_subnegotiation();
                self.after_iac(handler, command);
            }
        }
    }

    fn release_subnegotiation(&mut self) {
        if self.subnegotiation.capacity() > RETAINED_SUBNEGOTIATION_CAPACITY {
            self.subnegotiation = Vec::new();
        } else {
            self.subnegotiation.clear();
        }
    }
}

/// The data pieces of one stretch of input between commands: the first is kept as a range
/// of the input (no copy when it is the only one), the rest are joined to it in `joined`.
struct Runs<'a> {
    input: &'a [u8],
    joined: &'a mut Vec<u8>,
    first: Option<Range<usize>>,
    joining: bool,
}

impl<'a> Runs<'a> {
    fn new(input: &'a [u8], joined: &'a mut Vec<u8>) -> Self {
        Self {
            input,
            joined,
            first: None,
            joining: false,
        }
    }

    #[inline]
    fn push(&mut self, piece: Range<usize>) {
        if piece.is_empty() {
            return;
        }
        if self.joining {
            extend_short(self.joined, self.input, piece.start, piece.end);
        } else if let Some(first) = self.first.take() {
            self.joined.clear();
            self.joined.reserve(self.input.len() - first.start);
            self.joined.extend_from_slice(&self.input[first]);
            self.joined.extend_from_slice(&self.input[piece]);
            self.joining = true;
        } else {
            self.first = Some(piece);
        }
    }

    /// Hand the stretch to `handler` as one run.
    fn finish<H: Handler>(self, handler: &mut H) {
        if self.joining {
            handler.data(self.joined);
            self.joined.clear();
            if self.joined.capacity() > RETAINED_JOINED_CAPACITY {
                *self.joined = Vec::new();
            }
        } else if let Some(first) = self.first {
            handler.data(&self.input[first]);
        }
    }
}

#[cfg(test)]
mod tests;
