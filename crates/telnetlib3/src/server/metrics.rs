//! A server's counters for Prometheus ([`ServerMetrics`]), fed by the accept loop, each
//! connection's driver and its event stream, and read only when someone scrapes.
//!
//! The cost when nobody scrapes: an atomic add per socket read and per socket write (not
//! per byte), a few per connection (open, close, shell start and end), and one per
//! option agreed or protocol error. Nothing is formatted until [`ServerMetrics::encode`].

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use telnetlib3_proto::{Event, Side};

/// One label, `name="value"`.
type Label = [(&'static str, Cow<'static, str>); 1];
/// Two labels.
type Labels2 = [(&'static str, Cow<'static, str>); 2];

/// Why a connection was turned away before its session ran, the `reason` label of
/// `telnetlib3_connections_refused_total`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// A TLS ClientHello on a connection without TLS (the server has no certificate, or
    /// `tls_auto` took it for plain Telnet): `tls_without_tls`.
    TlsWithoutTls,
    /// The TLS handshake failed or timed out: `tls_handshake`.
    TlsHandshake,
    /// Over `--max-connections`: `max_connections`.
    MaxConnections,
    /// Over `--max-per-ip`: `max_per_ip`.
    MaxPerIp,
    /// A missing or malformed PROXY protocol header: `proxy_header`.
    ProxyHeader,
    /// A PROXY protocol header from a peer not in the trusted networks: `untrusted_proxy`.
    UntrustedProxy,
    /// Refused by the robot check: `robot`.
    Robot,
    /// The server is draining: `draining`.
    Draining,
    /// Any other reason, as the label's value (keep the set small: each value is a
    /// series of its own).
    Other(Cow<'static, str>),
}

impl RefusalReason {
    /// The label's value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::TlsWithoutTls => "tls_without_tls",
            Self::TlsHandshake => "tls_handshake",
            Self::MaxConnections => "max_connections",
            Self::MaxPerIp => "max_per_ip",
            Self::ProxyHeader => "proxy_header",
            Self::UntrustedProxy => "untrusted_proxy",
            Self::Robot => "robot",
            Self::Draining => "draining",
            Self::Other(reason) => reason,
        }
    }

    fn label(&self) -> Cow<'static, str> {
        match self {
            Self::Other(reason) => reason.clone(),
            known => Cow::Owned(known.as_str().to_owned()),
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The upper bounds of the negotiation-time histogram's buckets, in seconds: from a
/// client that answers at once on the loopback (about a millisecond) to one that never
/// answers (the connect maxwait, 4 s in the library, 1.5 s in the tools).
const NEGOTIATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A server's metrics, in the Prometheus (OpenMetrics) text format at [`encode`]: give
/// one to [`ServerConfig::metrics`](crate::ServerConfig::metrics) and serve
/// [`encode`]'s text at `/metrics` with [`CONTENT_TYPE`](ServerMetrics::CONTENT_TYPE).
///
/// Every name starts with `telnetlib3_`:
///
/// | metric | type | labels |
/// |---|---|---|
/// | `connections_open` | gauge | |
/// | `connections_total` | counter | |
/// | `connections_refused_total` | counter | `reason` ([`RefusalReason`]) |
/// | `tls_connections_total` | counter | |
/// | `compressed_connections_total` | counter | `direction`: `out` (MCCP2), `in` (MCCP3) |
/// | `received_bytes_total`, `sent_bytes_total` | counter | (Telnet's bytes: under TLS, before encryption) |
/// | `negotiation_seconds` | histogram | |
/// | `shells_started_total`, `shells_ended_total` | counter | |
/// | `options_enabled_total` | counter | `option` (its RFC name), `side` (`local`, `remote`) |
/// | `errors_total` | counter | `kind` |
///
/// ```
/// use std::sync::Arc;
/// use telnetlib3::{ServerConfig, ServerMetrics};
///
/// let metrics = Arc::new(ServerMetrics::new());
/// let mut config = ServerConfig::default();
/// config.metrics = Some(Arc::clone(&metrics));
/// // ... create_server(config, shell), and an HTTP endpoint that answers with:
/// let text = metrics.encode();
/// assert!(text.contains("# TYPE telnetlib3_connections_open gauge"));
/// assert!(text.ends_with("# EOF\n"));
/// ```
///
/// [`encode`]: ServerMetrics::encode
pub struct ServerMetrics {
    registry: Registry,
    connections_open: Gauge,
    connections_total: Counter,
    refused: Family<Label, Counter>,
    // Registered either way (a scraper sees 0 without TLS), counted only with it.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    tls_connections: Counter,
    compressed: Family<Label, Counter>,
    bytes_in: Counter,
    bytes_out: Counter,
    negotiation: Histogram,
    shells_started: Counter,
    shells_ended: Counter,
    options_enabled: Family<Labels2, Counter>,
    errors: Family<Label, Counter>,
}

impl fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerMetrics")
            .field("connections_open", &self.connections_open.get())
            .field("connections_total", &self.connections_total.get())
            .finish_non_exhaustive()
    }
}

impl Default for ServerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerMetrics {
    /// The HTTP `Content-Type` of [`ServerMetrics::encode`]'s text.
    pub const CONTENT_TYPE: &'static str =
        "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// Every metric at zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("telnetlib3");
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Connections open now",
            connections_open.clone(),
        );
        let connections_total = Counter::default();
        registry.register(
            "connections",
            "Connections accepted",
            connections_total.clone(),
        );
        let refused = Family::default();
        registry.register(
            "connections_refused",
            "Connections turned away before their session, by reason",
            refused.clone(),
        );
        let tls_connections = Counter::default();
        registry.register(
            "tls_connections",
            "Connections that completed a TLS handshake",
            tls_connections.clone(),
        );
        let compressed = Family::default();
        registry.register(
            "compressed_connections",
            "Connections that used MCCP compression, by direction (out: MCCP2, in: MCCP3)",
            compressed.clone(),
        );
        let bytes_in = Counter::default();
        registry.register(
            "received_bytes",
            "Bytes received from clients",
            bytes_in.clone(),
        );
        let bytes_out = Counter::default();
        registry.register("sent_bytes", "Bytes sent to clients", bytes_out.clone());
        let negotiation = Histogram::new(NEGOTIATION_BUCKETS);
        registry.register(
            "negotiation_seconds",
            "Time from a connection's start to its shell's start",
            negotiation.clone(),
        );
        let shells_started = Counter::default();
        registry.register("shells_started", "Shells started", shells_started.clone());
        let shells_ended = Counter::default();
        registry.register("shells_ended", "Shells ended", shells_ended.clone());
        let options_enabled = Family::default();
        registry.register(
            "options_enabled",
            "Telnet options that became enabled, by option and side",
            options_enabled.clone(),
        );
        let errors = Family::default();
        registry.register("errors", "Errors, by kind", errors.clone());
        Self {
            registry,
            connections_open,
            connections_total,
            refused,
            tls_connections,
            compressed,
            bytes_in,
            bytes_out,
            negotiation,
            shells_started,
            shells_ended,
            options_enabled,
            errors,
        }
    }

    /// Count a connection turned away for `reason`: what a guard in front of the server
    /// (a connection limit, a PROXY protocol check) calls when it refuses one.
    pub fn refused(&self, reason: &RefusalReason) {
        self.refused
            .get_or_create(&[("reason", reason.label())])
            .inc();
    }

    /// Count an error of `kind` (a short `snake_case` name, one series per name).
    pub fn error(&self, kind: &'static str) {
        self.errors
            .get_or_create(&[("kind", Cow::Borrowed(kind))])
            .inc();
    }

    /// The metrics in the OpenMetrics text format (which Prometheus reads), ending with
    /// `# EOF`.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// A connection was accepted: counted open until the returned guard drops.
    pub(crate) fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections_total.inc();
        self.connections_open.inc();
        OpenConnection(self)
    }

    #[cfg(feature = "tls")]
    pub(crate) fn tls_connection(&self) {
        self.tls_connections.inc();
    }

    pub(crate) fn compressed(&self, direction: &'static str) {
        self.compressed
            .get_or_create(&[("direction", Cow::Borrowed(direction))])
            .inc();
    }

    pub(crate) fn received(&self, bytes: usize) {
        self.bytes_in.inc_by(bytes as u64);
    }

    pub(crate) fn sent(&self, bytes: usize) {
        self.bytes_out.inc_by(bytes as u64);
    }

    pub(crate) fn shell_started(&self, negotiation: Duration) {
        self.negotiation.observe(negotiation.as_secs_f64());
        self.shells_started.inc();
    }

    pub(crate) fn shell_ended(&self) {
        self.shells_ended.inc();
    }

    /// Count what a protocol event tells: an option enabled, a protocol error.
    pub(crate) fn event(&self, event: &Event<'_>) {
        match event {
            Event::OptionChanged {
                option,
                side,
                enabled: true,
            } => {
                let side = match side {
                    Side::Local => "local",
                    Side::Remote => "remote",
                };
                self.options_enabled
                    .get_or_create(&[
                        ("option", Cow::Owned(option.to_string())),
                        ("side", Cow::Borrowed(side)),
                    ])
                    .inc();
            }
            Event::ProtocolError(_) => self.error("protocol"),
            Event::NegotiationViolation { .. } => self.error("negotiation_violation"),
            Event::BadSubnegotiation { .. } => self.error("bad_subnegotiation"),
            _ => {}
        }
    }

    /// A connection failed with `error` (reset, timed out, ...).
    pub(crate) fn connection_failed(&self, error: &io::Error) {
        self.error(match error.kind() {
            io::ErrorKind::ConnectionReset => "connection_reset",
            io::ErrorKind::BrokenPipe => "broken_pipe",
            io::ErrorKind::TimedOut => "timed_out",
            io::ErrorKind::ConnectionAborted => "connection_aborted",
            _ => "io",
        });
    }
}

/// Counts a connection as open while it lives.
pub(crate) struct OpenConnection<'a>(&'a ServerMetrics);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telnetlib3_proto::TelnetOption;

    #[test]
    fn counters_appear_in_the_text_with_their_labels() {
        let metrics = ServerMetrics::new();
        let open = metrics.connection_opened();
        let _second = metrics.connection_opened();
        drop(open);
        metrics.refused(&RefusalReason::MaxPerIp);
        metrics.refused(&RefusalReason::Other("custom".into()));
        metrics.received(10);
        metrics.sent(7);
        metrics.sent(5);
        metrics.event(&Event::OptionChanged {
            option: TelnetOption::Naws,
            side: Side::Remote,
            enabled: true,
        });
        // Disabled: not counted.
        metrics.event(&Event::OptionChanged {
            option: TelnetOption::Echo,
            side: Side::Local,
            enabled: false,
        });
        metrics.shell_started(Duration::from_millis(3));
        let text = metrics.encode();
        for line in [
            "telnetlib3_connections_open 1",
            "telnetlib3_connections_total 2",
            "telnetlib3_connections_refused_total{reason=\"max_per_ip\"} 1",
            "telnetlib3_connections_refused_total{reason=\"custom\"} 1",
            "telnetlib3_received_bytes_total 10",
            "telnetlib3_sent_bytes_total 12",
            "telnetlib3_options_enabled_total{option=\"NAWS\",side=\"remote\"} 1",
            "telnetlib3_shells_started_total 1",
            "telnetlib3_negotiation_seconds_count 1",
            "telnetlib3_negotiation_seconds_bucket{le=\"0.0025\"} 0",
            "telnetlib3_negotiation_seconds_bucket{le=\"0.005\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert!(!text.contains("ECHO"), "{text}");
    }
}
