//! MCCP2 and MCCP3: the transport's queries and inputs on [`Session`], and the
//! session's own setting.

use crate::options::mccp::{self, CompressionSwitch};
use crate::session::Core;
use crate::{Session, Sink};

impl Session {
    /// Set this session's MCCP setting, over the configuration's
    /// [`mccp::Config::compression`], before the negotiation starts: the tokio layer
    /// refuses MCCP on a TLS connection this way (compressing before encrypting lets an
    /// observer learn secrets from the lengths, as CRIME and BREACH did; telnetlib3
    /// refuses it too), without a copy of a configuration the server shares.
    pub fn set_compression(&mut self, compression: Option<bool>) {
        self.core.families.mccp.setting = Some(compression);
    }

    /// The MCCP setting in force (see [`mccp::Config::compression`]).
    #[must_use]
    pub fn compression(&self) -> Option<bool> {
        self.core.families.mccp.compression(&self.core.config.mccp)
    }

    /// Whether the first byte the next [`Session::poll_transmit`] hands over is to be
    /// compressed, in the stream already running (the transport keeps one zlib stream
    /// from a [`CompressionSwitch`] that starts it to the one that ends it).
    #[must_use]
    pub fn output_compressed(&self) -> bool {
        self.core.families.mccp.output_at_start
    }

    /// Whether output queued now goes compressed (MCCP2 for a server, MCCP3 for a
    /// client): telnetlib3's `mccp2_active` / `mccp3_active` for our side.
    #[must_use]
    pub fn compressing(&self) -> bool {
        self.core.families.mccp.output
    }

    /// Where, among the bytes the next [`Session::poll_transmit`] hands over, our
    /// compressed stream starts (after our `IAC SB MCCP2 IAC SE`, or a client's
    /// `SB MCCP3`) or ends (after our answer to the peer's DONT MCCP2 or WONT MCCP3), in
    /// order. Empty when compression does not change; the transport compresses what lies
    /// between a start and an end (or the end of the bytes, flushing with
    /// `Z_SYNC_FLUSH` so the peer can decode all of it), and finishes the stream
    /// (`Z_FINISH`) at an end.
    ///
    /// ```
    /// use telnetlib3_proto::options::mccp::{self, CompressionSwitch};
    /// use telnetlib3_proto::{Event, Role, Session, SessionConfig, Sink};
    /// # struct Null; impl Sink for Null { fn data(&mut self, _: &[u8]) {} fn event(&mut self, _: Event<'_>) {} }
    /// let mut config = SessionConfig::default();
    /// config.mccp = mccp::Config::new(None); // passive: accept the client's DO
    /// let mut server = Session::new(Role::Server, config);
    /// server.receive(b"\xff\xfd\x56", &mut Null); // IAC DO MCCP2
    /// assert_eq!(server.output_len(), 8);           // IAC WILL MCCP2 IAC SB MCCP2 IAC SE
    /// let start = CompressionSwitch { offset: 8, compress: true };
    /// assert_eq!(server.compression_switches(), [start]);
    /// ```
    #[must_use]
    pub fn compression_switches(&self) -> &[CompressionSwitch] {
        &self.core.families.mccp.switches
    }

    /// Whether input from the peer is a zlib stream now: after a
    /// [`Session::receive_until_output`] that stopped right after the peer's
    /// `IAC SB MCCP2 IAC SE` (client) or `IAC SB MCCP3 IAC SE` (server), the rest of the
    /// input is compressed. The transport decompresses it and feeds the result, until
    /// the stream ends ([`Session::handle_input_compression_end`]).
    ///
    /// ```
    /// use telnetlib3_proto::options::mccp;
    /// use telnetlib3_proto::{Event, Policy, Role, Session, SessionConfig, Sink};
    /// # struct Null; impl Sink for Null { fn data(&mut self, _: &[u8]) {} fn event(&mut self, _: Event<'_>) {} }
    /// let mut config = SessionConfig::with_policy(Policy::client());
    /// config.mccp = mccp::Config::new(None);
    /// let mut client = Session::new(Role::Client, config);
    /// // WILL MCCP2, then the start of compression and two bytes of a zlib stream:
    /// let input = b"\xff\xfb\x56\xff\xfa\x56\xff\xf0\x78\xda";
    /// assert_eq!(client.receive_until_output(input, &mut Null, usize::MAX), 8);
    /// assert!(client.input_compressed());
    /// ```
    #[must_use]
    pub fn input_compressed(&self) -> bool {
        self.core.families.mccp.input
    }

    /// The transport found the orderly end of the peer's zlib stream: what follows it
    /// is plain Telnet again (MCCP2: "Following this, the connection continues as a
    /// normal telnet connection").
    pub fn handle_input_compression_end(&mut self) {
        mccp::input_ended(&mut self.core.families.mccp);
    }

    /// The peer's zlib stream is corrupt: input is taken as plain from now on, and the
    /// peer is asked to stop compressing, as the specifications suggest: a client sends
    /// `IAC DONT MCCP2`, a server `IAC WONT MCCP3` (the tokio layer's server then
    /// closes the connection).
    pub fn handle_input_compression_error(&mut self) {
        let families = &mut self.core.families;
        if let Some((option, side)) = mccp::input_failed(&mut families.mccp, &self.core.link) {
            let _ = self.core.link.request(side, option, false);
        }
    }

    /// End our compressed stream after what is queued now, without renegotiating: an
    /// orderly stream end, after which our output is plain again (MCCP2: "The server may
    /// terminate compression at any point by sending an orderly stream end"). Returns
    /// whether a stream was running.
    pub fn end_output_compression(&mut self) -> bool {
        mccp::finish(&mut self.core.families.mccp, &mut self.core.link)
    }

    /// End our compressed stream after what is queued now, as
    /// [`Session::end_output_compression`] does, but start a new one before the next
    /// output ([`Session::resume_output_compression`]): the transport can then free its
    /// compressor while the connection is idle. MCCP2 allows both: "The server may
    /// terminate compression at any point by sending an orderly stream end", and a new
    /// `IAC SB MCCP2 IAC SE` starts a new stream while the option is agreed. Returns
    /// whether a stream was running (and the option is on).
    ///
    /// ```
    /// use telnetlib3_proto::options::mccp::{self, CompressionSwitch};
    /// use telnetlib3_proto::{Event, Role, Session, SessionConfig, Sink};
    /// # struct Null; impl Sink for Null { fn data(&mut self, _: &[u8]) {} fn event(&mut self, _: Event<'_>) {} }
    /// let mut config = SessionConfig::default();
    /// config.mccp = mccp::Config::new(None);
    /// let mut server = Session::new(Role::Server, config);
    /// server.receive(b"\xff\xfd\x56", &mut Null); // IAC DO MCCP2: compressing
    /// server.poll_transmit(&mut Vec::new());
    /// assert!(server.suspend_output_compression()); // idle: the stream ends here
    /// let end = CompressionSwitch { offset: 0, compress: false };
    /// assert_eq!(server.compression_switches(), [end]);
    /// server.poll_transmit(&mut Vec::new()); // the transport finishes its stream
    /// server.send_data(b"hi");
    /// assert!(server.resume_output_compression()); // IAC SB MCCP2 IAC SE goes first
    /// let start = CompressionSwitch { offset: 5, compress: true };
    /// assert_eq!(server.compression_switches(), [start]);
    /// let mut out = Vec::new();
    /// server.poll_transmit(&mut out);
    /// assert_eq!(out, b"\xff\xfa\x56\xff\xf0hi");
    /// ```
    pub fn suspend_output_compression(&mut self) -> bool {
        mccp::suspend(&mut self.core.families.mccp, &mut self.core.link)
    }

    /// After [`Session::suspend_output_compression`], with output queued: put our
    /// `IAC SB MCCP2 IAC SE` (a client's `SB MCCP3`) in front of it and record the start
    /// of a new stream right after it, so that all of it goes compressed. Call it before
    /// reading [`Session::compression_switches`] and [`Session::poll_transmit`]. Does
    /// nothing (returns `false`) when nothing is queued, when the stream was not
    /// suspended, or when the option went off meanwhile.
    pub fn resume_output_compression(&mut self) -> bool {
        let link = &mut self.core.link;
        let logged = link.logged;
        let at = mccp::resume(&mut self.core.families.mccp, &self.core.config.mccp, link);
        match at {
            Some(at) if logged > at => {
                // What follows it was logged already: log the start on its own.
                if crate::session::wire_log::enabled() {
                    crate::session::wire_log::sent(&link.output[at..at + mccp::START_LEN]);
                }
                link.logged = logged + mccp::START_LEN;
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Whether a client agreed to MCCP3 and its stream has not started: output goes
    /// plain until the transport starts it ([`Session::start_deferred_output_compression`]),
    /// which it does a moment after the agreement (the tokio layer: 250 ms), so that a
    /// server that refuses right after offering (telnetlib3 5.0.1's) is never sent a
    /// stream. The specification lets the client send its SB any time after its DO.
    #[must_use]
    pub fn output_compression_deferred(&self) -> bool {
        self.core.families.mccp.start_deferred
    }

    /// Start the stream [`Session::output_compression_deferred`] tells of, if the option
    /// is still on: `IAC SB MCCP3 IAC SE` goes at the end of the queue, everything queued
    /// after it is compressed, and `sink` gets [`mccp::Event::Started`]. Returns whether
    /// it started.
    pub fn start_deferred_output_compression<S: Sink>(&mut self, sink: &mut S) -> bool {
        let Core {
            link,
            config,
            families,
        } = &mut self.core;
        mccp::start_deferred(&mut families.mccp, &config.mccp, link, sink)
    }

    /// Whether our stream was suspended ([`Session::suspend_output_compression`]) and
    /// starts again with the next output.
    #[must_use]
    pub fn output_compression_suspended(&self) -> bool {
        self.core.families.mccp.suspended
    }
}
