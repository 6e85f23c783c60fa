//! Interoperability with Debian's telnet client (`inetutils-telnet`, which
//! `scripts/test.sh` installs) against our server, in a real terminal (tmux). A missing
//! program fails the test with the command that installs it.

mod common;

use common::{require, start_server, Tmux};

#[test]
fn inetutils_telnet_against_our_server() {
    require("/usr/bin/telnet", "inetutils-telnet");
    let (_server, port) = start_server(&["--connect-maxwait", "2"]);
    let tmux = Tmux::start(&format!("telnet 127.0.0.1 {port}"));
    tmux.wait_for("tel:sh> ");
    tmux.send_line("help");
    tmux.wait_for("quit, writer, slc, linemode, toggle [option|all], reader, proto, dump");
    tmux.send_line("writer");
    // BSD telnet agrees to kludge mode, and reports its window, type and environment.
    let screen = tmux.wait_for("<TelnetWriter server mode:kludge");
    let screen = screen.replace('\n', "");
    assert!(
        screen.contains("server-will:BINARY,ECHO,SGA client-will:BINARY,NAWS,NEW_ENVIRON,TTYPE>"),
        "{screen}"
    );
    tmux.send_line("quit");
    let screen = tmux.wait_for("Connection closed by foreign host.");
    assert!(screen.contains("Goodbye."), "{screen}");
}
