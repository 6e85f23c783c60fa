//! Opening TCP sockets by host name, with errors that name the address: the helpers the
//! command-line tools use, and the TCP front ends of this crate
//! ([`create_server`](crate::create_server), [`open_connection`](crate::open_connection)).
//! A program with its own sockets (TLS, a Unix socket, ...) runs Telnet over them with
//! [`serve_stream`](crate::serve_stream) and [`connect_stream`](crate::connect_stream)
//! instead.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{lookup_host, TcpListener, TcpStream};
use tracing::debug;

use crate::Error;

/// Keep TCP urgent data in the stream (SO_OOBINLINE). A Synch (RFC 854) is `IAC DM`
/// with the DM sent as urgent data (BSD telnet's `send synch`); without this the kernel
/// takes the DM out of the stream and the byte after it would be read as a command.
pub(crate) fn keep_urgent_inline(stream: &TcpStream) {
    if let Err(error) = socket2::SockRef::from(stream).set_out_of_band_inline(true) {
        debug!("cannot keep urgent data inline: {error}");
    }
}

/// `host:port`, with brackets around an IPv6 literal (`[::1]:23`).
#[must_use]
pub fn display_addr(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    // An IPv6 literal may come bracketed, as in a URL (`[::1]`).
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    let addrs: Vec<SocketAddr> = lookup_host((host, port))
        .await
        .map_err(|source| Error::Resolve {
            host: host.to_owned(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::NoAddress {
            host: host.to_owned(),
        });
    }
    Ok(addrs)
}

/// Open a TCP connection to `host` (a name or an address literal) and `port`, trying each
/// resolved address in turn, within `timeout` for resolution and connection together.
///
/// # Errors
///
/// [`Error::Resolve`] or [`Error::NoAddress`] when the name does not resolve,
/// [`Error::Connect`] with the last address's error when none accepts, and
/// [`Error::ConnectTimeout`] when `timeout` passes first.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
    let addr = display_addr(host, port);
    let attempt = async {
        let mut last = None;
        for target in resolve(host, port).await? {
            debug!("connecting to {target}");
            match TcpStream::connect(target).await {
                Ok(stream) => {
                    keep_urgent_inline(&stream);
                    return Ok(stream);
                }
                Err(error) => {
                    debug!("cannot connect to {target}: {error}");
                    last = Some(error);
                }
            }
        }
        Err(Error::Connect {
            addr: addr.clone(),
            source: last.unwrap_or_else(|| io::Error::from(io::ErrorKind::NotFound)),
        })
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Error::ConnectTimeout { addr, timeout }),
    }
}

/// Listen on every address `host` resolves to (`localhost` is often both `127.0.0.1` and
/// `::1`), on `port`.
///
/// With port 0 the system picks a free port for the first address, and the others use the
/// same one; [`TcpListener::local_addr`] tells which. An address that this machine cannot
/// bind at all (an IPv6 name where IPv6 is off) is skipped, as long as one remains.
///
/// # Errors
///
/// [`Error::Resolve`] or [`Error::NoAddress`] when the name does not resolve, and
/// [`Error::Listen`] when an address cannot be bound (already in use, permission denied).
pub async fn listen(host: &str, port: u16) -> Result<Vec<TcpListener>, Error> {
    listen_with(host, port, false).await
}

/// [`listen`], and with `reuse_port`, SO_REUSEPORT on each socket: several processes
/// (or servers in one) listening this way share the port, and the kernel spreads new
/// connections among them. SO_REUSEADDR is set either way, as [`TcpListener::bind`] does
/// on Unix, so a restarted server binds while old connections linger in TIME_WAIT.
///
/// # Errors
///
/// As [`listen`]; [`Error::Listen`] also when SO_REUSEPORT is not supported.
pub async fn listen_with(
    host: &str,
    port: u16,
    reuse_port: bool,
) -> Result<Vec<TcpListener>, Error> {
    let addr = display_addr(host, port);
    let mut listeners: Vec<TcpListener> = Vec::new();
    let mut unavailable = None;
    let mut port = port;
    for mut target in resolve(host, port).await? {
        target.set_port(port);
        let bound = if reuse_port {
            bind_reusing_port(target)
        } else {
            TcpListener::bind(target).await
        };
        match bound {
            Ok(listener) => {
                if port == 0 {
                    port = listener
                        .local_addr()
                        .map_err(|source| Error::Listen {
                            addr: addr.clone(),
                            source,
                        })?
                        .port();
                }
                debug!("listening on {target}");
                listeners.push(listener);
            }
            Err(error) if error.kind() == io::ErrorKind::AddrNotAvailable => {
                debug!("skipping {target}: {error}");
                unavailable = Some(error);
            }
            Err(source) => return Err(Error::Listen { addr, source }),
        }
    }
    if listeners.is_empty() {
        return Err(Error::Listen {
            addr,
            source: unavailable.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable)),
        });
    }
    Ok(listeners)
}

/// A listening socket with SO_REUSEADDR and SO_REUSEPORT.
fn bind_reusing_port(target: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(target), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    set_reuse_port(&socket)?;
    if target.is_ipv6() {
        // As the standard library binds: an IPv6 socket takes only IPv6.
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&target.into())?;
    // The standard library's backlog.
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn set_reuse_port(socket: &socket2::Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn set_reuse_port(_: &socket2::Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_REUSEPORT is not supported on this system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_literals_get_brackets() {
        assert_eq!(display_addr("::1", 23), "[::1]:23");
        assert_eq!(display_addr("[::1]", 23), "[::1]:23");
        assert_eq!(display_addr("localhost", 6023), "localhost:6023");
    }

    #[tokio::test]
    async fn listen_on_port_zero_then_connect() {
        let listeners = listen("127.0.0.1", 0).await.unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        let stream = connect("127.0.0.1", port, Duration::from_secs(5)).await;
        assert!(stream.is_ok());
    }

    #[tokio::test]
    async fn two_listeners_share_a_port_only_with_reuse_port() {
        let first = listen_with("127.0.0.1", 0, true).await.unwrap();
        let port = first[0].local_addr().unwrap().port();
        let second = listen_with("127.0.0.1", port, true).await.unwrap();
        assert_eq!(second[0].local_addr().unwrap().port(), port);
        let error = listen("127.0.0.1", port).await.unwrap_err();
        assert_eq!(error.io_kind(), Some(io::ErrorKind::AddrInUse));
    }

    #[tokio::test]
    async fn listening_twice_names_the_address() {
        let listeners = listen("127.0.0.1", 0).await.unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        let error = listen("127.0.0.1", port).await.unwrap_err();
        assert_eq!(error.io_kind(), Some(io::ErrorKind::AddrInUse));
        assert!(error
            .to_string()
            .starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")));
    }

    #[tokio::test]
    async fn refused_connection_names_the_address() {
        // A privileged port that refuses: a freed ephemeral port could be picked as the
        // source port too, and the connection would connect to itself.
        let port = [1, 7, 9, 13, 37, 79]
            .into_iter()
            .find(|&port| {
                let addr = SocketAddr::from(([127, 0, 0, 1], port));
                matches!(
                    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)),
                    Err(error) if error.kind() == io::ErrorKind::ConnectionRefused
                )
            })
            .expect("no closed privileged port on 127.0.0.1");
        let error = connect("127.0.0.1", port, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(error.io_kind(), Some(io::ErrorKind::ConnectionRefused));
        assert!(error
            .to_string()
            .starts_with(&format!("cannot connect to 127.0.0.1:{port}: ")));
    }
}
