//! `careband serve` as the built binary: slow clients under a small open-file limit, and the
//! shutdown drain (issue 18 items 1 and 8). Each test starts its own server on a free port of
//! 127.0.0.1 and stops it.
//!
//! Slow clients connect from 127.0.0.2 (Linux answers for all of 127.0.0.0/8 on the loopback
//! interface), so that their per-address cap is not the probe's, which connects from
//! 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::common::server::Server;

/// A connection to `to` from the loopback address `from`.
async fn connect_from(from: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().unwrap())?;
    socket.connect(to).await
}

/// The status code of the first response line read from `stream`, `None` if the connection
/// closed (or failed) first.
async fn status_of(stream: &mut tokio::net::tcp::OwnedReadHalf) -> Option<u16> {
    let mut buf = Vec::new();
    let mut piece = [0u8; 1024];
    loop {
        match stream.read(&mut piece).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&piece[..n]),
        }
        if let Some(line) = buf
            .split(|&b| b == b'\r')
            .next()
            .filter(|_| buf.len() >= 12)
        {
            return std::str::from_utf8(line).ok()?.get(9..12)?.parse().ok();
        }
    }
}

/// A client that sends its headers at once and then one byte of its body every 100 ms;
/// returns the status it was answered with (`None`: closed without an answer), giving up
/// after `patience`.
async fn slow_client(from: &'static str, to: SocketAddr, patience: Duration) -> Option<u16> {
    let stream = connect_from(from, to).await.ok()?;
    let (mut rd, mut wr) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let head = "POST /v1/lookup HTTP/1.1\r\nHost: careband\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[";
        if wr.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if wr.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let status = tokio::time::timeout(patience, status_of(&mut rd))
        .await
        .ok()
        .flatten();
    trickle.abort();
    status
}

/// One `GET /healthz` on a new connection from 127.0.0.1: its status and how long it took.
async fn probe(to: SocketAddr) -> (Option<u16>, Duration) {
    let start = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let stream = connect_from("127.0.0.1", to).await.ok()?;
        let (mut rd, mut wr) = stream.into_split();
        wr.write_all(b"GET /healthz HTTP/1.1\r\nHost: careband\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        status_of(&mut rd).await
    })
    .await
    .ok()
    .flatten();
    (answer, start.elapsed())
}

// Issue 18: 1,100 clients trickling their bodies into a server with 1,024 open files stopped
// it answering anyone. Here, in a bounded form: 300 slow clients, 256 open files.
#[actix_web::test]
async fn slow_bodies_get_408_or_429_and_a_probe_keeps_being_answered() {
    let server = Server::start_with_open_files(
        256,
        &[
            "--workers",
            "2",
            "--body-idle-timeout-ms",
            "300",
            "--request-deadline-ms",
            "1500",
            "--max-connections-per-ip",
            "16",
        ],
    );
    let addr = server.addr;
    let slow: Vec<_> = (0..300)
        .map(|_| tokio::spawn(slow_client("127.0.0.2", addr, Duration::from_secs(8))))
        .collect();
    let mut probes = Vec::new();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        probes.push(probe(addr).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut statuses = Vec::new();
    for s in slow {
        statuses.push(s.await.unwrap());
    }

    let failed: Vec<_> = probes.iter().filter(|(s, _)| *s != Some(200)).collect();
    assert!(failed.is_empty(), "probes not answered 200: {failed:?}");
    let mut times: Vec<Duration> = probes.iter().map(|(_, t)| *t).collect();
    times.sort();
    let p99 = times[(times.len() * 99).div_ceil(100) - 1];
    assert!(
        p99 < Duration::from_secs(1),
        "probe p99 {p99:?} over {} probes",
        times.len()
    );
    let timed_out = statuses.iter().filter(|s| **s == Some(408)).count();
    let refused = statuses.iter().filter(|s| **s == Some(429)).count();
    assert_eq!(
        timed_out + refused,
        statuses.len(),
        "every slow client is answered 408 (admitted) or 429 (over its address's cap): {statuses:?}"
    );
    assert!(
        timed_out >= 16,
        "the admitted slow clients are timed out: {timed_out} of 300 got 408"
    );
}

/// Sends the headers of a lookup whose body is `body`, and the body's first half; returns
/// the connection and the other half.
async fn half_sent_lookup(to: SocketAddr) -> (TcpStream, &'static [u8]) {
    let body: &'static [u8] = br#"[{"postcode": "NR1 1AA"}]"#;
    let mut stream = connect_from("127.0.0.1", to).await.unwrap();
    let head = format!(
        "POST /v1/lookup HTTP/1.1\r\nHost: careband\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    (stream, &body[10..])
}

// Issue 18 item 8: the shutdown drain is a setting; a request in flight when the stop signal
// comes is answered if it finishes within the drain, and cut (no answer) if not.
#[actix_web::test]
async fn a_request_in_flight_at_sigterm_finishes_within_the_drain_or_is_cut() {
    let slow_body = [
        "--body-idle-timeout-ms",
        "20000",
        "--request-deadline-ms",
        "20000",
    ];
    for (drain_s, finish_after, answered) in [("4", 500, true), ("1", 2500, false)] {
        let mut args = vec!["--shutdown-timeout-s", drain_s];
        args.extend_from_slice(&slow_body);
        let server = Server::start_with_open_files(1024, &args);
        let (stream, rest) = half_sent_lookup(server.addr).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.signal("-TERM");
        tokio::time::sleep(Duration::from_millis(finish_after)).await;
        let (mut rd, mut wr) = stream.into_split();
        let _ = wr.write_all(rest).await;
        let status = tokio::time::timeout(Duration::from_secs(5), status_of(&mut rd))
            .await
            .expect("the connection is answered or closed");
        if answered {
            assert_eq!(
                status,
                Some(200),
                "drain {drain_s} s, body done after {finish_after} ms"
            );
        } else {
            assert_eq!(
                status, None,
                "drain {drain_s} s, body done after {finish_after} ms"
            );
        }
    }
}
