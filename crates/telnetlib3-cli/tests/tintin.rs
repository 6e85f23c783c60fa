//! TinTin++ (package `tintin++`, which `scripts/test.sh` installs), a MUD client, against
//! our server: in a real terminal (tmux), through a recording proxy for the bytes on the
//! wire. A missing program fails the test with the command that installs it.
//!
//! TinTin++ 2.02.20 answers `DONT BINARY`, says `WILL CHARSET` but never answers our
//! `WILL CHARSET`, accepts our REQUEST, and takes `WILL ECHO` as password mode. Offered
//! MCCP2 and MCCP3, it agrees to both and compresses its own output (MCCP3).

mod common;

use common::proxy::Proxy;
use common::{contains, require, show, start_server, Tmux};

const TINTIN: &str = "/usr/games/tt++";

const WILL_ECHO: &[u8] = b"\xff\xfb\x01";
const WILL_CHARSET_REQUEST: &[u8] = b"\xff\xfb\x2a\xff\xfa\x2a\x01 UTF-8 ";
const ACCEPTED_UTF8: &[u8] = b"\xff\xfa\x2a\x02UTF-8\xff\xf0";

/// Connected through the proxy, TinTin++ gets the prompt as soon as it has answered
/// (not after connect-maxwait), agrees to UTF-8, and what the user types stays visible.
#[test]
fn tintin_gets_the_prompt_at_once_with_charset_and_no_echo() {
    require(TINTIN, "tintin++");
    // A wait long enough that running it out could not go unnoticed.
    let (mut server, port) = start_server(&["--connect-maxwait", "30", "--loglevel", "debug"]);
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!(
        "{TINTIN} -G -e '#session s 127.0.0.1 {}'",
        proxy.port()
    ));
    tmux.wait_for("tel:sh> ");
    // The shell started because negotiation settled, not because the wait ran out.
    let log = server.stderr_so_far().join("\n");
    assert!(!log.contains("negotiation not settled"), "{log}");

    let to_client = proxy.to_client();
    assert!(!contains(&to_client, WILL_ECHO), "{}", show(&to_client));
    // Our REQUEST right behind our WILL CHARSET, and TinTin++ accepts it.
    assert!(
        contains(&to_client, WILL_CHARSET_REQUEST),
        "{}",
        show(&to_client)
    );
    let to_server = proxy.wait_to_server(ACCEPTED_UTF8);
    assert!(
        contains(&to_server, b"\xff\xfe\x00"),
        "DONT BINARY: {}",
        show(&to_server)
    );

    // TinTin++ shows what the user types (a WILL ECHO would hide it), and the shell answers.
    tmux.send_line("writer");
    let screen = tmux.wait_for("<TelnetWriter server mode:");
    assert!(screen.contains("tel:sh> writer"), "{screen}");
    let screen = screen.replace('\n', "");
    assert!(
        screen.contains("client-will:CHARSET,NAWS,NEW_ENVIRON,TTYPE"),
        "{screen}"
    );
    // Whatever the server performs, ECHO is not among it.
    let server_will = screen
        .split("server-will:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default();
    assert!(server_will.contains("SGA"), "{screen}");
    assert!(!server_will.contains("ECHO"), "{screen}");
}

/// `--mud-clients ''`: no client is taken for a MUD client, TinTin++ is offered ECHO
/// like any other.
#[test]
fn an_empty_mud_client_list_offers_tintin_echo() {
    require(TINTIN, "tintin++");
    let (_server, port) = start_server(&["--mud-clients", ""]);
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!(
        "{TINTIN} -G -e '#session s 127.0.0.1 {}'",
        proxy.port()
    ));
    tmux.wait_for("tel:sh> ");
    proxy.wait_to_client(WILL_ECHO);
    proxy.wait_to_server(b"\xff\xfd\x01"); // DO ECHO: TinTin++ takes it
}

/// `--compression`: TinTin++ agrees to MCCP2 and MCCP3; the prompt and a command's
/// output reach its screen through our zlib stream (they are not on the wire in plain),
/// and what it types reaches the shell through its own.
#[test]
fn tintin_negotiates_mccp_and_reads_the_compressed_shell() {
    require(TINTIN, "tintin++");
    let (_server, port) = start_server(&["--compression"]);
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!(
        "{TINTIN} -G -e '#session s 127.0.0.1 {}'",
        proxy.port()
    ));
    tmux.wait_for("tel:sh> ");
    proxy.wait_to_server(b"\xff\xfd\x56"); // DO MCCP2
    let to_client = proxy.wait_to_client(b"\xff\xfa\x56\xff\xf0"); // SB MCCP2 SE
    assert!(
        contains(&to_client, b"\xff\xfb\x56\xff\xfb\x57"),
        "WILL MCCP2, WILL MCCP3: {}",
        show(&to_client)
    );
    tmux.send_line("writer");
    let screen = tmux.wait_for("<TelnetWriter server mode:");
    let screen = screen.replace('\n', "");
    assert!(screen.contains("tel:sh> writer"), "{screen}");
    assert!(screen.contains("MCCP2_COMPRESS"), "{screen}");
    let to_client = proxy.to_client();
    assert!(
        !contains(&to_client, b"tel:sh> "),
        "plain: {}",
        show(&to_client)
    );
    assert!(
        !contains(&to_client, b"TelnetWriter"),
        "plain: {}",
        show(&to_client)
    );
    // TinTin++ 2.02 does MCCP3: DO MCCP3, then its SB MCCP3 and zlib from there on; the
    // command it sent is not on the wire in plain.
    let to_server = proxy.to_server();
    assert!(
        contains(&to_server, b"\xff\xfd\x57\xff\xfa\x57\xff\xf0\x78"),
        "DO MCCP3, SB MCCP3 SE, a zlib header: {}",
        show(&to_server)
    );
    assert!(
        !contains(&to_server, b"writer"),
        "plain: {}",
        show(&to_server)
    );
}
