//! `careband healthcheck`: asks a running server's `/healthz` (or `/readyz`) over HTTP and exits
//! 0 when it answers 200, for a container's health check where no HTTP client is installed.
//!
//! The address is the one `serve` would listen on, read the same way: `--listen` or
//! `CAREBAND_LISTEN`, else the `--config` file's `listen`, else 127.0.0.1:8080. An unspecified
//! address (`0.0.0.0`, `::`) is asked on the loopback address of its family.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use careband::server::config::{DEFAULT_LISTEN, ServeConfig};

/// Longest status line read, bytes (`HTTP/1.1 200 OK\r\n` is 17).
const STATUS_LINE_MAX: u64 = 256;

/// Flags of `careband healthcheck`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  careband healthcheck\n  careband healthcheck --listen 127.0.0.1:8080 --ready\n  CAREBAND_CONFIG=/etc/careband/careband.toml careband healthcheck\n\nExit codes: 0 healthy (200); 1 no answer, or not 200; 2 bad input."
)]
pub struct HealthcheckArgs {
    /// Address the server listens on [default: the config file's listen, else 127.0.0.1:8080].
    #[arg(long, env = "CAREBAND_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// TOML settings file as for `serve`; only its `listen` is read.
    #[arg(long, env = "CAREBAND_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Ask `/readyz` (a dataset is served) instead of `/healthz` (the process answers).
    #[arg(long)]
    ready: bool,
    /// Time to connect and to get the answer, milliseconds [default: 2000].
    #[arg(long, value_name = "MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    timeout_ms: u64,
}

/// Runs the check: exit 0 on 200, 1 on anything else, an error (exit 2) on bad settings.
pub fn run(args: HealthcheckArgs) -> anyhow::Result<ExitCode> {
    let listen = match (args.listen, &args.config) {
        (Some(l), _) => l,
        (None, Some(path)) => ServeConfig::from_file(path)?.listen,
        (None, None) => DEFAULT_LISTEN.to_string(),
    };
    let addr = target(&listen)?;
    let path = if args.ready { "/readyz" } else { "/healthz" };
    match status(addr, path, Duration::from_millis(args.timeout_ms)) {
        Ok(200) => {
            eprintln!("careband: {path} on {addr}: 200");
            Ok(ExitCode::SUCCESS)
        }
        Ok(code) => {
            eprintln!("careband: {path} on {addr}: {code}");
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("careband: {path} on {addr}: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// The address to connect to for a server listening on `listen`.
fn target(listen: &str) -> anyhow::Result<SocketAddr> {
    let mut addr: SocketAddr = listen
        .parse()
        .ok()
        .with_context(|| format!("{listen:?} is not an address like 127.0.0.1:8080"))?;
    if addr.port() == 0 {
        anyhow::bail!("{listen:?} has port 0: give the port the server listens on");
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

/// The status code of `GET path` on `addr`.
fn status(addr: SocketAddr, path: &str, timeout: Duration) -> std::io::Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: careband-healthcheck\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    s.take(STATUS_LINE_MAX).read_to_end(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next().and_then(|c| c.parse().ok())) {
        (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the answer is not HTTP",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn an_unspecified_address_is_asked_on_loopback() {
        assert_eq!(
            target("0.0.0.0:8080").unwrap().to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(target("[::]:9000").unwrap().to_string(), "[::1]:9000");
        assert_eq!(target("10.1.2.3:80").unwrap().to_string(), "10.1.2.3:80");
    }

    #[test]
    fn port_zero_and_names_are_refused() {
        assert!(target("127.0.0.1:0").is_err());
        assert!(target("localhost:8080").is_err());
    }
}
