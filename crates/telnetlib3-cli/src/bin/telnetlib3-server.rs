//! `telnetlib3-server [host] [port]`: a Telnet server running the debug shell on every
//! connection, after Python telnetlib3's command of the same name.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use telnetlib3_cli::{cli, server};
use tokio::net::TcpListener;
use tracing::{info, warn};
use tracing_subscriber::filter::LevelFilter;

const PROGRAM: &str = "telnetlib3-server";

/// Telnet protocol server
#[derive(Debug, Parser)]
#[command(name = PROGRAM, version)]
struct Args {
    /// bind address
    #[arg(default_value = "localhost")]
    host: String,
    /// bind port (0: any free port, shown in the "Server ready" log line)
    #[arg(default_value_t = 6023)]
    port: u16,
    /// timeout for pending negotiation, in seconds
    #[arg(long, default_value = "1.5", value_parser = cli::parse_seconds, allow_negative_numbers = true)]
    connect_maxwait: Duration,
    /// level name (debug, info, warning, error, ...)
    #[arg(long, default_value = "info", value_parser = cli::parse_loglevel)]
    loglevel: LevelFilter,
}

fn main() -> ExitCode {
    let args: Args = match cli::parse_args(PROGRAM) {
        Ok(args) => args,
        Err(status) => return status,
    };
    cli::init_logging(args.loglevel);
    cli::run_main(PROGRAM, cli::Runtime::MultiThread, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listeners = telnetlib3::listen(&args.host, args.port).await?;
    let port = listeners[0].local_addr()?.port();
    info!(
        "Server ready on {}",
        telnetlib3::display_addr(&args.host, port)
    );
    for listener in listeners {
        tokio::spawn(accept_loop(listener, args.connect_maxwait));
    }
    shutdown_signal().await;
    info!("Server stop.");
    Ok(())
}

/// Accept connections forever, one task each: a failing connection ends only its task.
async fn accept_loop(listener: TcpListener, connect_maxwait: Duration) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(async move {
                    info!("Connection from {peer}");
                    if let Err(error) = stream.set_nodelay(true) {
                        warn!("Cannot set TCP_NODELAY for {peer}: {error}");
                    }
                    let address = format!("{} {}", peer.ip(), peer.port());
                    if let Err(error) = server::serve(stream, &address, connect_maxwait).await {
                        warn!("Connection error for {peer}: {error}");
                    }
                    info!("Connection closed for {peer}");
                });
            }
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                warn!("Cannot accept a connection: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => info!("Interrupt received, closing server."),
        () = terminate => info!("SIGTERM received, closing server."),
    }
}
