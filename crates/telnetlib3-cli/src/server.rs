//! One connection of `telnetlib3-server`: negotiate, then the debug shell.

use std::time::Duration;

use telnetlib3::proto::{Config, Policy, Role, ServerPlan, Session};
use telnetlib3::{Connection, Error};
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;

use crate::shell;

/// Serve one connection: run telnetlib3 5.0.1's opening negotiation
/// ([`Session::start_server_negotiation`]) until it settles or `connect_maxwait` passes,
/// then run [`shell::debug_shell`].
///
/// # Errors
///
/// [`Error::Io`] when the connection fails.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: &str,
    connect_maxwait: Duration,
) -> Result<(), Error> {
    let mut session = Session::new(Role::Server, Config::with_policy(Policy::server()));
    session.start_server_negotiation(ServerPlan::default());
    let mut conn = Connection::new(stream, session);
    let settled = conn
        .negotiate_until(connect_maxwait, Session::negotiation_settled)
        .await?;
    if !settled {
        debug!("negotiation not settled after {connect_maxwait:?}");
        conn.session_mut().finish_negotiation();
    }
    if conn.peer_closed() && conn.buffered().is_empty() {
        return Ok(());
    }
    shell::debug_shell(&mut conn, peer).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_client_that_answers_gets_the_prompt_without_waiting() {
        let (ours, mut client) = duplex(4096);
        // A maxwait this long would time the test out if negotiation were not tracked.
        let server =
            tokio::spawn(
                async move { serve(ours, "127.0.0.1 4000", Duration::from_secs(3600)).await },
            );
        let mut buf = [0; 3];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, *b"\xff\xfd\x18");
        // WONT TTYPE, and agreement to SGA and ECHO: the server advances (WILL BINARY,
        // DO NAWS, DO CHARSET, DO NEW_ENVIRON), all refused, then the commands.
        client
            .write_all(b"\xff\xfc\x18\xff\xfd\x03\xff\xfd\x01")
            .await
            .unwrap();
        let mut buf = [0; 18];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(
            buf,
            *b"\xff\xfb\x03\xff\xfb\x01\xff\xfb\x00\xff\xfd\x1f\xff\xfd\x2a\xff\xfd\x27"
        );
        client
            .write_all(b"\xff\xfe\x00\xff\xfc\x1f\xff\xfc\x2a\xff\xfc\x27help\r\nquit\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            got,
            [
                &b"Ready.\r\ntel:sh> help\r\n"[..],
                crate::debug::HELP.as_bytes(),
                b"\r\ntel:sh> quit\r\nGoodbye.\r\n"
            ]
            .concat()
        );
        server.await.unwrap().unwrap();
    }
}
