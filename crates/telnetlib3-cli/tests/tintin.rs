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

/// TinTin++'s script for a MUD server: it refuses GMCP and MSDP (and leaves MSSP
/// unanswered) unless the user handles them with `#event`, as its documentation shows.
/// A trailing `\` keeps `#send` from adding a line end; JSON braces are escaped for
/// TinTin++'s own brace syntax.
const MUD_SCRIPT: &str = r#"#event {IAC WILL GMCP} {#send {\xFF\xFD\xC9\}; #send {\xFF\xFA\xC9Core.Hello \x7B"client":"TinTin++","version":"2.02.20"\x7D\xFF\xF0\}}
#event {IAC WILL MSDP} {#send {\xFF\xFD\x45\}; #send {\xFF\xFA\x45\x01CLIENT_ID\x02TinTin++\xFF\xF0\}}
#event {IAC WILL MSSP} {#send {\xFF\xFD\x46\}}
#event {IAC SB MSSP} {#showme {mssp-var %0=%1}}
"#;

/// A MUD server's offers: `--always-will GMCP,MSDP` and `--mssp`. TinTin++, told to
/// agree, agrees to each: it reads our MSSP variables, and the debug shell's `mud`
/// command shows what it sent.
#[test]
fn tintin_speaks_gmcp_msdp_and_mssp_with_our_server() {
    require(TINTIN, "tintin++");
    let (_server, port) = start_server(&[
        "--always-will",
        "GMCP,MSDP",
        "--mssp",
        "NAME=telnetlib3 test",
        "--mssp",
        "PORT=23",
        "--mssp",
        "PORT=6023",
    ]);
    let proxy = Proxy::start(port);
    let script = std::env::temp_dir().join(format!("tintin-mud-{}.tin", std::process::id()));
    std::fs::write(
        &script,
        format!("{MUD_SCRIPT}#session s 127.0.0.1 {}\n", proxy.port()),
    )
    .unwrap();
    let tmux = Tmux::start(&format!("{TINTIN} -G {}", script.display()));
    tmux.wait_for("tel:sh> ");
    // Our offers go out after telnetlib3's step 2 (DO CHARSET): WILL MSSP, GMCP, MSDP.
    let to_client = proxy.wait_to_client(b"\xff\xfb\x46\xff\xfb\xc9\xff\xfb\x45");
    // TinTin++ agrees, and our variables follow its DO MSSP.
    let to_server = proxy.wait_to_server(b"\xff\xfd\x46");
    for agreed in [&b"\xff\xfd\xc9"[..], b"\xff\xfd\x45"] {
        assert!(contains(&to_server, agreed), "{}", show(&to_server));
    }
    let mssp = b"\xff\xfa\x46\x01NAME\x02telnetlib3 test\x01PORT\x0223\x026023\xff\xf0";
    proxy.wait_to_client(mssp);
    assert!(!contains(&to_client, WILL_ECHO), "{}", show(&to_client));
    tmux.wait_for("mssp-var NAME=telnetlib3 test");
    tmux.send_line("mud");
    let screen = tmux.wait_for("MNES CLIENT_NAME=TinTin++");
    for line in [
        "MUD options: GMCP MSDP MSSP",
        r#"GMCP Core.Hello {"client":"TinTin++","version":"2.02.20"}"#,
        "MSDP CLIENT_ID TinTin++",
        "MTTS ",
    ] {
        assert!(screen.contains(line), "{line:?} missing: {screen}");
    }
    let _ = std::fs::remove_file(script);
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

/// `--compression` and an idle connection: after 5 s without output (the library's
/// `MCCP_IDLE_RELEASE`) our server ends its MCCP2 stream, and its next output starts a
/// new one with a second `IAC SB MCCP2 IAC SE`; TinTin++ reads across the restart.
#[test]
fn tintin_reads_across_a_restarted_mccp2_stream() {
    require(TINTIN, "tintin++");
    let (_server, port) = start_server(&["--compression"]);
    let proxy = Proxy::start(port);
    let tmux = Tmux::start(&format!(
        "{TINTIN} -G -e '#session s 127.0.0.1 {}'",
        proxy.port()
    ));
    tmux.wait_for("tel:sh> ");
    proxy.wait_to_client(b"\xff\xfa\x56\xff\xf0"); // SB MCCP2 SE
    std::thread::sleep(telnetlib3::MCCP_IDLE_RELEASE + std::time::Duration::from_secs(1));
    tmux.send_line("help");
    tmux.wait_for("quit, writer, slc, linemode, toggle [option|all], reader, proto, dump, mud");
    let to_client = proxy.to_client();
    let starts = to_client
        .windows(5)
        .filter(|w| *w == b"\xff\xfa\x56\xff\xf0")
        .count();
    assert_eq!(starts, 2, "two MCCP2 starts: {}", show(&to_client));
    assert!(
        !contains(&to_client, b"linemode"),
        "plain: {}",
        show(&to_client)
    );
}

/// The whole of TinTin++'s pane, scrollback included, one line per screen line.
fn history(tmux: &Tmux) -> Vec<String> {
    let out = tmux
        .command()
        .args(["capture-pane", "-t", "t", "-p", "-J", "-S", "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect()
}

/// Where each of `lines` is in `history`, each after the one before; panics naming the
/// first one missing.
fn in_order(history: &[String], lines: &[&str]) -> Vec<usize> {
    let mut from = 0;
    lines
        .iter()
        .map(|line| {
            let at = history[from..]
                .iter()
                .position(|seen| seen == line)
                .unwrap_or_else(|| {
                    panic!(
                        "{line:?} missing after line {from}:\n{}",
                        history.join("\n")
                    )
                });
            from += at + 1;
            from - 1
        })
        .collect()
}

/// TinTin++'s own trace of the negotiation (`#config {debug telnet} on`) with our MUD
/// server: it hears our WILL GMCP (and, told to by an `#event`, agrees), agrees to MCCP2
/// and MCCP3 and starts both streams, and the shell's text after compression started is
/// readable. With `--compression-idle-release 1`, a quiet second ends our stream
/// (TinTin++ says `#COMPRESSION END`), and TinTin++ reports the new one that carries the
/// next answer.
#[test]
fn tintin_traces_gmcp_and_mccp2_and_reads_across_an_idle_release() {
    require(TINTIN, "tintin++");
    let (_server, port) = start_server(&[
        "--compression",
        "--always-will",
        "GMCP",
        "--compression-idle-release",
        "1",
    ]);
    let script = std::env::temp_dir().join(format!("tintin-debug-{}.tin", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "#config {{debug telnet}} on\n\
             #event {{IAC WILL GMCP}} {{#send {{\\xFF\\xFD\\xC9\\}}}}\n\
             #session s 127.0.0.1 {port}\n"
        ),
    )
    .unwrap();
    let tmux = Tmux::start(&format!("{TINTIN} -G {}", script.display()));
    tmux.wait_for("tel:sh> ");
    // The lines TinTin++ 2.02.20 prints, in the order it prints them (others between).
    in_order(
        &history(&tmux),
        &[
            "RCVD IAC WILL GMCP",
            "RCVD IAC WILL MCCP2",
            "SENT IAC DO MCCP2",
            "RCVD IAC WILL MCCP3",
            "SENT IAC DO MCCP3",
            "SENT IAC SB MCCP3 IAC SE",
            "INFO MCCP3 INITIALIZED",
            "RCVD IAC SB MCCP2",
            "INFO MCCP2 INITIALIZED",
            "Ready.",
        ],
    );
    // Well past the idle release: the answer comes in a second stream, readable.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    tmux.send_line("mud");
    tmux.wait_for("MNES CLIENT_NAME=TinTin++");
    let history = history(&tmux);
    let starts = history
        .iter()
        .filter(|line| *line == "INFO MCCP2 INITIALIZED")
        .count();
    assert_eq!(starts, 2, "{}", history.join("\n"));
    // TinTin++ reports the end of our first stream after the prompt it carried, then
    // the second stream, which carries the answer.
    let at = in_order(
        &history,
        &[
            "INFO MCCP2 INITIALIZED",
            "Ready.",
            "tel:sh> #COMPRESSION END, DISABLING MCCP2.",
            "mud",
            "RCVD IAC SB MCCP2",
            "INFO MCCP2 INITIALIZED",
            "MUD options: GMCP",
        ],
    );
    assert!(
        history[at[6] + 1].starts_with("MTTS "),
        "{}",
        history.join("\n")
    );
    let _ = std::fs::remove_file(script);
}
