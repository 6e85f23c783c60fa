//! The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer in front of the
//! server begins each connection with a header that names the client it relays, and
//! the server uses that address as the peer's everywhere.
//!
//! The header is taken from the socket with `peek` and then read exactly, so that the
//! client's first Telnet bytes, often in the same segment, stay in the socket for the
//! session. Headers are parsed by the `ppp` crate.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use ppp::v2;
use ppp::{HeaderResult, PartialResult};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The signature that begins a version 2 header.
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// What begins a version 1 header.
const V1_PREFIX: &[u8] = b"PROXY ";
/// The longest version 1 header, CRLF included (the specification, section 2.1).
const V1_MAX_LENGTH: usize = 107;
/// The longest header taken: a version 1 header is at most 107 bytes; a version 2
/// header is 16 bytes and up to 64 KiB of addresses and TLVs, of which load balancers
/// send a few dozen bytes (HAProxy's unique ID and TLS fields included).
pub const MAX_PROXY_HEADER: usize = 4096;
/// How long a trusted proxy may take to send its header by default. HAProxy writes it
/// with the connection's first bytes.
pub const DEFAULT_PROXY_HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// Take each connection's client address from a PROXY protocol header (HAProxy's
/// `send-proxy` and `send-proxy-v2`, nginx's `proxy_protocol on`, AWS NLB's v2), only
/// from the load balancers listed in `trusted`.
///
/// ```
/// use telnetlib3::{ProxyProtocol, ServerConfig};
///
/// let mut config = ServerConfig::default();
/// config.proxy_protocol = Some(ProxyProtocol::new(["10.0.0.0/8".parse().unwrap()]));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProxyProtocol {
    /// The networks a connection may come from; one from anywhere else is closed at
    /// once, since any client could send a header naming whatever address it likes.
    pub trusted: Vec<IpNet>,
    /// How long the header may take ([`DEFAULT_PROXY_HEADER_TIMEOUT`]).
    pub header_timeout: Duration,
}

impl ProxyProtocol {
    /// Trust the networks `trusted`, with the default header timeout.
    pub fn new(trusted: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            trusted: trusted.into_iter().collect(),
            header_timeout: DEFAULT_PROXY_HEADER_TIMEOUT,
        }
    }

    /// Whether a connection from `ip` may send a header. An IPv4 client of a dual-stack
    /// socket shows as `::ffff:a.b.c.d` and is matched as `a.b.c.d`.
    #[must_use]
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// Why a connection was closed before its header was read.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    /// The connection does not come from a trusted proxy.
    #[error("not from a trusted proxy")]
    Untrusted,
    /// No complete header came in time.
    #[error("no PROXY header within {0:?}")]
    Timeout(Duration),
    /// The connection closed before its header was complete.
    #[error("closed before its PROXY header was complete")]
    Closed,
    /// What came is not a PROXY header (a client that connected directly, say).
    #[error("malformed PROXY header: {0}")]
    Malformed(String),
    /// The header is longer than [`MAX_PROXY_HEADER`].
    #[error("PROXY header longer than {MAX_PROXY_HEADER} bytes")]
    TooLong,
    /// Reading the socket failed.
    #[error("reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

impl ProxyHeaderError {
    /// A short name for logs and metrics labels.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Untrusted => "untrusted",
            Self::Timeout(_) => "timeout",
            Self::Closed => "closed",
            Self::Malformed(_) => "malformed",
            Self::TooLong => "too_long",
            Self::Io(_) => "io",
        }
    }
}

/// Check that `socket` comes from a trusted proxy, read its PROXY header, and return the
/// client's address: the header's source, or `peer` (the proxy's own address) for a
/// header that names no client (v2 `LOCAL`, a proxy's health check; v1 `UNKNOWN`; a
/// UNIX or unspecified address family), as the specification says.
pub(crate) async fn accept(
    socket: &mut TcpStream,
    peer: SocketAddr,
    config: &ProxyProtocol,
) -> Result<SocketAddr, ProxyHeaderError> {
    if !config.trusts(peer.ip()) {
        return Err(ProxyHeaderError::Untrusted);
    }
    let timeout = config.header_timeout;
    let length_and_source = tokio::time::timeout(timeout, peek_header(socket))
        .await
        .map_err(|_| ProxyHeaderError::Timeout(timeout))??;
    let (length, source) = length_and_source;
    let mut header = vec![0; length];
    socket.read_exact(&mut header).await?;
    Ok(source.unwrap_or(peer))
}

/// Peek at the socket until a whole header is there; its length and the client address
/// it names. A header split over segments (rare: proxies write it at once) is peeked
/// again after a short pause, since a peek leaves the socket readable.
async fn peek_header(socket: &TcpStream) -> Result<(usize, Option<SocketAddr>), ProxyHeaderError> {
    let mut buffer = vec![0; MAX_PROXY_HEADER];
    let mut pause = Duration::from_millis(1);
    let mut seen = 0;
    loop {
        let peeked = socket.peek(&mut buffer).await?;
        if peeked == 0 {
            return Err(ProxyHeaderError::Closed);
        }
        if peeked > seen {
            seen = peeked;
            if let Some(parsed) = parse(&buffer[..peeked])? {
                return Ok(parsed);
            }
            if peeked == buffer.len() {
                return Err(ProxyHeaderError::TooLong);
            }
            pause = Duration::from_millis(1);
        } else {
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        tokio::time::sleep(pause).await;
    }
}

/// Parse the start of a connection: `Ok(None)` while it may still become a header,
/// else the header's length and the client address it names.
pub(crate) fn parse(input: &[u8]) -> Result<Option<(usize, Option<SocketAddr>)>, ProxyHeaderError> {
    // Either signature, as far as it has come; anything else is no header at all (a
    // Telnet client's IAC, a scanner's GET), refused without waiting for more.
    let could_be = |signature: &[u8]| {
        let common = input.len().min(signature.len());
        input[..common] == signature[..common]
    };
    if !could_be(V1_PREFIX) && !could_be(V2_SIGNATURE) {
        return Err(ProxyHeaderError::Malformed(
            "the connection does not begin with a PROXY signature".into(),
        ));
    }
    if input.len() >= V2_SIGNATURE.len() + 4 && input.starts_with(V2_SIGNATURE) {
        let announced = u16::from_be_bytes([input[14], input[15]]);
        if V2_SIGNATURE.len() + 4 + usize::from(announced) > MAX_PROXY_HEADER {
            return Err(ProxyHeaderError::TooLong);
        }
    }
    let input = if could_be(V1_PREFIX) {
        // Version 1 is one line: parsed once its CRLF has come (the parser would take a
        // port cut short, `6` of `6023`, for the whole of it).
        match memchr::memmem::find(input, b"\r\n") {
            Some(end) => &input[..end + 2],
            None if input.len() < V1_MAX_LENGTH => return Ok(None),
            None => {
                return Err(ProxyHeaderError::Malformed(format!(
                    "no CRLF in the first {V1_MAX_LENGTH} bytes"
                )))
            }
        }
    } else {
        input
    };
    let result = HeaderResult::parse(input);
    if result.is_incomplete() {
        return Ok(None);
    }
    match result {
        HeaderResult::V1(Ok(header)) => {
            let source = match header.addresses {
                ppp::v1::Addresses::Tcp4(ip) => {
                    Some(SocketAddr::from((ip.source_address, ip.source_port)))
                }
                ppp::v1::Addresses::Tcp6(ip) => {
                    Some(SocketAddr::from((ip.source_address, ip.source_port)))
                }
                ppp::v1::Addresses::Unknown => None,
            };
            Ok(Some((header.header.len(), source)))
        }
        HeaderResult::V2(Ok(header)) => {
            let source = match (header.command, header.addresses) {
                (v2::Command::Proxy, v2::Addresses::IPv4(ip)) => {
                    Some(SocketAddr::from((ip.source_address, ip.source_port)))
                }
                (v2::Command::Proxy, v2::Addresses::IPv6(ip)) => {
                    Some(SocketAddr::from((ip.source_address, ip.source_port)))
                }
                _ => None,
            };
            Ok(Some((header.len(), source)))
        }
        HeaderResult::V1(Err(error)) => Err(ProxyHeaderError::Malformed(error.to_string())),
        HeaderResult::V2(Err(error)) => Err(ProxyHeaderError::Malformed(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &[u8]) -> (usize, Option<SocketAddr>) {
        parse(input).unwrap().unwrap()
    }

    #[test]
    fn a_v1_header_names_the_client_and_ends_at_its_crlf() {
        let input = b"PROXY TCP4 127.0.0.5 127.0.0.1 40000 6023\r\n\xff\xfd\x18";
        assert_eq!(
            parsed(input),
            (43, Some("127.0.0.5:40000".parse().unwrap()))
        );
        let input = b"PROXY TCP6 ::5 ::1 40000 6023\r\n";
        assert_eq!(
            parsed(input),
            (input.len(), Some("[::5]:40000".parse().unwrap()))
        );
        assert_eq!(parsed(b"PROXY UNKNOWN\r\n"), (15, None));
    }

    #[test]
    fn a_v1_header_in_pieces_waits_for_the_rest() {
        let whole = b"PROXY TCP4 127.0.0.5 127.0.0.1 40000 6023\r\n";
        for end in 1..whole.len() {
            assert!(parse(&whole[..end]).unwrap().is_none(), "{end} bytes");
        }
    }

    /// A v2 header as HAProxy's `send-proxy-v2` writes it (RFC-less: the PROXY protocol
    /// specification, section 2.2): signature, version 2 + PROXY, TCP over IPv4, 12
    /// address bytes.
    fn v2_header(command: u8) -> Vec<u8> {
        let mut header = V2_SIGNATURE.to_vec();
        header.extend_from_slice(&[0x20 | command, 0x11, 0, 12]);
        header.extend_from_slice(&[127, 0, 0, 5, 127, 0, 0, 1]);
        header.extend_from_slice(&40000u16.to_be_bytes());
        header.extend_from_slice(&6023u16.to_be_bytes());
        header
    }

    #[test]
    fn a_v2_header_names_the_client_unless_it_is_local() {
        let mut input = v2_header(1);
        input.extend_from_slice(b"\xff\xfb\x01");
        assert_eq!(
            parsed(&input),
            (28, Some("127.0.0.5:40000".parse().unwrap()))
        );
        assert_eq!(parsed(&v2_header(0)), (28, None));
        let whole = v2_header(1);
        for end in 1..whole.len() {
            assert!(parse(&whole[..end]).unwrap().is_none(), "{end} bytes");
        }
        let mut huge = v2_header(1);
        huge[14..16].copy_from_slice(&u16::MAX.to_be_bytes());
        assert!(matches!(parse(&huge), Err(ProxyHeaderError::TooLong)));
    }

    #[test]
    fn anything_else_is_refused_at_its_first_byte() {
        for input in [
            &b"\xff\xfd\x18"[..],
            b"GET / HTTP/1.1\r\n",
            b"P\r",
            b"\r\n\r\nX",
        ] {
            assert!(
                matches!(parse(input), Err(ProxyHeaderError::Malformed(_))),
                "{input:?}"
            );
        }
        assert!(matches!(
            parse(b"PROXY TCP4 300.0.0.1 127.0.0.1 1 2\r\n"),
            Err(ProxyHeaderError::Malformed(_))
        ));
    }

    /// Every truncation and every one-byte change of real headers gives a defined
    /// answer, and a header never claims more bytes than came.
    #[test]
    fn any_damaged_header_gives_a_defined_answer() {
        let mut v2_with_tlv = v2_header(1);
        v2_with_tlv[15] += 7;
        v2_with_tlv.extend_from_slice(&[0x05, 0, 4, b'u', b'i', b'd', b'1']);
        let headers = [
            b"PROXY TCP4 127.0.0.5 127.0.0.1 40000 6023\r\n".to_vec(),
            b"PROXY TCP6 ::5 ::1 40000 6023\r\n".to_vec(),
            b"PROXY UNKNOWN\r\n".to_vec(),
            v2_header(1),
            v2_with_tlv,
        ];
        for header in headers {
            for end in 0..=header.len() {
                check(&header[..end]);
            }
            for at in 0..header.len() {
                for byte in 0..=255 {
                    let mut damaged = header.clone();
                    damaged[at] = byte;
                    check(&damaged);
                }
            }
        }
        fn check(input: &[u8]) {
            if let Ok(Some((length, _))) = parse(input) {
                assert!(length <= input.len(), "{input:?}");
            }
        }
    }

    #[test]
    fn only_trusted_networks_may_send_a_header() {
        let config =
            ProxyProtocol::new(["127.0.0.1/32".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert!(config.trusts("127.0.0.1".parse().unwrap()));
        assert!(config.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(config.trusts("fd12::1".parse().unwrap()));
        assert!(!config.trusts("127.0.0.5".parse().unwrap()));
        assert!(!config.trusts("::1".parse().unwrap()));
    }
}
