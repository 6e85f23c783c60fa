//! Case 17 (issue 17): the connection rate through HAProxy, relaying with the PROXY
//! protocol v2 to one server process or to three sharing the port with SO_REUSEPORT
//! (case 4's minimal row is the same server reached directly). A scaling figure to
//! print: on two cores, HAProxy, the servers and the clients share them.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use telnetlib3::{create_server, ProxyProtocol};
use tokio::process::Command;
use tokio::time::Instant;

use super::{
    connection_batch, greeting_shell, local_server_config, port_of, quantile, ChildServer, Client,
    Sizes, HOST, IN_FLIGHT,
};

/// The child server of this case: the greeting server of cases 4 and 5 on `port` (0:
/// any), with SO_REUSEPORT, taking each client's address from a PROXY header sent by
/// 127.0.0.1.
pub(crate) async fn proxied_server(port: u16) -> Result<()> {
    let mut config = local_server_config();
    config.port = port;
    config.connect_maxwait = Duration::from_secs(2);
    config.reuse_port = true;
    config.proxy_protocol = Some(ProxyProtocol::new(["127.0.0.1/32".parse()?]));
    let server = create_server(config, greeting_shell).await?;
    println!("port={}", port_of(&server));
    std::future::pending::<()>().await;
    Ok(())
}

/// `processes` child servers sharing one port.
async fn start_servers(processes: usize) -> Result<Vec<ChildServer>> {
    let mut servers: Vec<ChildServer> = Vec::with_capacity(processes);
    for _ in 0..processes {
        let port = servers.first().map_or(0, |first| first.port);
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("proxied-server")
            .arg("--port")
            .arg(port.to_string());
        servers.push(ChildServer::start(command).await?);
    }
    Ok(servers)
}

/// A port below 32768 that nothing listened on a moment ago (the ephemeral range above
/// is busy with this machine's outgoing connections).
fn free_port() -> Result<u16> {
    let seed = u32::from(std::process::id() as u16).wrapping_mul(7919);
    (0..12_000u32)
        .map(|step| 20_000 + ((seed + step * 13) % 12_000) as u16)
        .find(|&port| std::net::TcpListener::bind((HOST, port)).is_ok())
        .context("no free port below 32768")
}

/// HAProxy relaying a free port to `backend` with `send-proxy-v2`, as a [`ChildServer`]
/// (its port is HAProxy's; its CPU time HAProxy's).
async fn start_haproxy(backend: u16, config_dir: &std::path::Path) -> Result<ChildServer> {
    let port = free_port()?;
    let config = config_dir.join(format!("haproxy-{port}.cfg"));
    std::fs::write(
        &config,
        format!(
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  \
             timeout server 30s\n  maxconn 10000\n\
             frontend telnet\n  bind {HOST}:{port}\n  default_backend servers\n\
             backend servers\n  server s1 {HOST}:{backend} send-proxy-v2\n"
        ),
    )?;
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting haproxy (Debian package haproxy)")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect((HOST, port)).await.is_err() {
        if Instant::now() > deadline {
            bail!("haproxy does not listen on {port}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(ChildServer { child, port })
}

/// Per run: connections per second, and the p99 connect-to-greeting latency, through
/// HAProxy to `processes` servers sharing its backend port.
pub(crate) async fn rate_through_haproxy(
    processes: usize,
    sizes: Sizes,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let servers = start_servers(processes).await?;
    let directory = std::env::temp_dir();
    let haproxy = start_haproxy(servers[0].port, &directory).await?;
    // One batch to warm up, not counted, as case 4 does.
    connection_batch(
        &haproxy,
        Client::Refusing,
        sizes.connections.min(200),
        IN_FLIGHT,
    )
    .await?;
    let (mut rates, mut p99s) = (Vec::new(), Vec::new());
    for _ in 0..sizes.runs {
        let mut batch =
            connection_batch(&haproxy, Client::Refusing, sizes.connections, IN_FLIGHT).await?;
        rates.push(batch.rate);
        p99s.push(quantile(&mut batch.latencies_ms, 0.99));
    }
    let _ = std::fs::remove_file(directory.join(format!("haproxy-{}.cfg", haproxy.port)));
    haproxy.stop().await;
    for server in servers {
        server.stop().await;
    }
    Ok((rates, p99s))
}
