//! The application's middleware, outermost first:
//!
//! 1. [`observe`]: records metrics and writes the access log for every request, including the
//!    ones no route matched and the ones refused below. The access log line has the request
//!    id, method (from the same closed set as the metrics), route pattern, status and
//!    latency; the query itself only when `log_queries` is on. The request id is the client's
//!    `X-Request-Id` when that is short and of safe characters ([`client_request_id`]), else
//!    a fresh one; it is sent back as `X-Request-Id` and is on every log line written while
//!    the request is handled (its span).
//! 2. [`answer_headers`]: HEAD wherever GET is (a HEAD request is routed as a GET and its
//!    body dropped), and the data's attribution on every answer.
//! 3. [`crate::server::peers::refuse_over_cap`]: refuses requests on a connection over its
//!    client address's cap (429).
//! 4. [`time_body`]: times the body's arrival; a body that pauses too long, is not all there
//!    by the deadline, comes too slowly, or is not all there within a second while the server
//!    is near its connection cap is answered 408 and its connection closed.
//! 5. [`require_host`]: refuses a request whose `Host` header is no host (400), as RFC 9112
//!    §3.2 requires of a server (the HTTP parser refuses an HTTP/1.1 request without one).
//! 6. [`limit_query`]: refuses an over-long query string (414) before anything parses it.
//! 7. [`api_errors`]: gives the errors other middleware (CORS) answers with the API's JSON
//!    error shape.
//!
//! [`observe`] is hand-written because neither maintained crate fits. `actix-web-prom` (0.10)
//! labels every series with the raw method, so each token a client invents becomes a series,
//! and with the raw path wherever no route matched unless a mask is set. `tracing-actix-web`
//! (0.7) records the path with its query (`http.target`) in every request's span, which would
//! put postcodes and addresses in the log whether or not `log_queries` is on.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::HttpMessage as _;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::{ConnectionType, header};
use actix_web::rt::time::{Sleep, sleep_until};
use futures_core::Stream;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::server::config::Limits;
use crate::server::error::{ApiError, BodyTimeout, ErrorCode};
use crate::server::peers::{Load, PeerSlot};
use crate::server::state::AppState;

/// Route label for requests no route matched (kept as one series, whatever the path).
const UNMATCHED: &str = "unmatched";

/// The request id header, read and answered.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest client request id kept, bytes.
pub const MAX_REQUEST_ID_BYTES: usize = 64;

/// The client's request id, if it may be logged as it is: 1 to [`MAX_REQUEST_ID_BYTES`]
/// ASCII letters, digits, `-`, `_`, `.` or `:` (a UUID, a trace id, a proxy's id). Anything
/// else is replaced by a fresh id, so that no text a client chose reaches the log unchecked.
#[must_use]
pub fn client_request_id(value: &[u8]) -> Option<&str> {
    let ok = !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_BYTES
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| std::str::from_utf8(value).ok()).flatten()
}

/// A fresh request id: 16 hex digits, from a counter hashed with a key chosen at random when
/// the process starts, so ids do not repeat within a run and do not follow from one another.
#[must_use]
pub fn fresh_request_id() -> String {
    use std::hash::BuildHasher as _;
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEY: LazyLock<std::collections::hash_map::RandomState> =
        LazyLock::new(std::collections::hash_map::RandomState::new);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", KEY.hash_one(n))
}

/// Middleware: records metrics and writes the access log for every request, under its
/// request id (see the module docs).
pub(crate) async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    use tracing::Instrument as _;
    let start = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let _in_flight = state.as_ref().map(|s| s.metrics().in_flight());
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| client_request_id(v.as_bytes()))
        .map_or_else(fresh_request_id, str::to_string);
    // The closed-set label, never the raw token: a client may send any token as a method.
    let method = crate::server::metrics::method_label(req.method().as_str());
    let query = state
        .as_ref()
        .filter(|s| s.config().log_queries)
        .map(|_| format!("{}?{}", req.path(), req.query_string()));
    let span = tracing::info_span!("request", request_id = request_id.as_str());
    let res = next.call(req).instrument(span).await;
    let (route, status) = match &res {
        Ok(res) => (
            res.request()
                .match_pattern()
                .unwrap_or_else(|| UNMATCHED.to_string()),
            res.status().as_u16(),
        ),
        Err(e) => (
            UNMATCHED.to_string(),
            e.as_response_error().status_code().as_u16(),
        ),
    };
    log_request(
        state.as_ref(),
        &request_id,
        method,
        &route,
        status,
        start,
        query,
    );
    let id = actix_web::http::header::HeaderValue::from_str(&request_id).ok();
    let name = actix_web::http::header::HeaderName::from_static(REQUEST_ID);
    match res {
        Ok(mut res) => {
            if let Some(id) = id {
                res.headers_mut().insert(name, id);
            }
            Ok(res)
        }
        // An error raised instead of an answer: its response, with the id too.
        Err(e) => {
            let mut answer = e.error_response();
            if let Some(id) = id {
                answer.headers_mut().insert(name, id);
            }
            Err(actix_web::error::InternalError::from_response(e, answer).into())
        }
    }
}

/// Middleware: HEAD wherever GET is, and the attribution on every answer.
///
/// A HEAD request is routed as a GET, so every GET route answers HEAD without a route of its
/// own, with GET's status and headers; the HTTP layer then sends no body, and the
/// `Content-Length` GET's body has (RFC 9110 9.3.2). A method GET does not take
/// (`POST /v1/batch`) is a 405 either way.
///
/// Every answer, errors included, carries the attribution the data's licences require, once:
/// `Attribution` (one line per source, `; ` between them, `(c)` for the copyright sign) and a
/// `Link` to each licence with `rel="license"`. The lines come from the dataset's manifest
/// (see [`crate::engine::attribution`]). An error raised instead of an answer (only the CORS
/// middleware's, made JSON by [`api_errors`]) becomes a response after this middleware, without
/// them.
pub(crate) async fn answer_headers(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if req.method() == actix_web::http::Method::HEAD {
        // The HTTP layer knows the request was a HEAD from the request line it parsed, and
        // drops the body; only the routing sees a GET.
        req.head_mut().method = actix_web::http::Method::GET;
    }
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let mut res = next.call(req).await?;
    if let Some(state) = state {
        let a = state.attribution();
        let headers = res.headers_mut();
        for (name, value) in [("attribution", &a.header), ("link", &a.link)] {
            if let Ok(v) = header::HeaderValue::from_str(value) {
                headers.insert(header::HeaderName::from_static(name), v);
            }
        }
    }
    Ok(res)
}

/// Middleware: times the request body from its first read. It fails, and whatever the
/// handler made of that failure is replaced by a 408 (`request_timeout`) that closes the
/// connection, when the body
/// - pauses longer than `limits.body_idle_timeout_ms` between two pieces;
/// - is not all there `limits.request_deadline_ms` after its first read;
/// - has come slower on average than `limits.min_body_bytes_per_s` once it has been read for
///   `limits.min_body_rate_grace_ms`;
/// - is not all there `limits.pressure_body_timeout_ms` after its first read while the server
///   is under pressure (more than `limits.pressure_percent` of its connection cap open, as
///   counted by [`crate::server::peers`]).
///
/// While the server is under pressure every answer also closes its connection, so that idle
/// keep-alive connections give their slots back too.
pub(crate) async fn time_body(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let limits = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config().limits)
        .unwrap_or_default();
    let load = req.conn_data::<PeerSlot>().map(|slot| slot.load().clone());
    let missed = Rc::new(Cell::new(None));
    let body = TimedBody {
        inner: req.take_payload(),
        rules: BodyRules::new(&limits, load.clone()),
        clock: None,
        missed: Rc::clone(&missed),
        done: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let res = next.call(req).await;
    if let Some(why) = missed.get() {
        let e = ApiError::RequestTimeout(why);
        return match res {
            Ok(res) => {
                let (http_req, _) = res.into_parts();
                Ok(ServiceResponse::new(http_req, e.error_response()).map_into_right_body())
            }
            // The handler raised an error instead of answering: raise the 408 instead.
            Err(_) => Err(e.into()),
        };
    }
    let mut res = res?;
    if load.as_ref().is_some_and(Load::under_pressure) {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res.map_into_left_body())
}

/// How often the rate and pressure rules are checked once they apply.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The rules a body is held to, from the limits.
struct BodyRules {
    idle: Duration,
    deadline: Duration,
    /// Bytes a second, 0: no minimum.
    min_rate: u64,
    grace: Duration,
    /// The connection count, if the connection was counted.
    load: Option<Load>,
    pressure_timeout: Duration,
}

impl BodyRules {
    fn new(limits: &Limits, load: Option<Load>) -> Self {
        Self {
            idle: Duration::from_millis(limits.body_idle_timeout_ms),
            deadline: Duration::from_millis(limits.request_deadline_ms),
            min_rate: limits.min_body_bytes_per_s,
            grace: Duration::from_millis(limits.min_body_rate_grace_ms),
            load: load.filter(|_| limits.pressure_percent > 0),
            pressure_timeout: Duration::from_millis(limits.pressure_body_timeout_ms),
        }
    }

    /// The first time after the first read at which the rate or pressure rule may apply.
    fn first_check(&self) -> Option<Duration> {
        let rate = (self.min_rate > 0).then_some(self.grace);
        let pressure = self.load.as_ref().map(|_| self.pressure_timeout);
        rate.into_iter().chain(pressure).min()
    }

    /// The rule a body `received` bytes long, read for `elapsed`, misses now, if any.
    fn missed(&self, elapsed: Duration, received: u64) -> Option<BodyTimeout> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if elapsed >= self.pressure_timeout && self.load.as_ref().is_some_and(Load::under_pressure)
        {
            return Some(BodyTimeout::UnderPressure {
                ms: ms(self.pressure_timeout),
            });
        }
        // received / elapsed < min_rate, in whole numbers: received * 1000 < min_rate * ms.
        if self.min_rate > 0
            && elapsed >= self.grace
            && u128::from(received) * 1000 < u128::from(self.min_rate) * elapsed.as_millis()
        {
            return Some(BodyTimeout::TooSlow {
                bytes_per_s: self.min_rate,
                grace_ms: ms(self.grace),
            });
        }
        None
    }
}

/// The timers of a body, started at its first read.
struct Clock {
    started: tokio::time::Instant,
    received: u64,
    idle: Pin<Box<Sleep>>,
    deadline: Pin<Box<Sleep>>,
    /// When the rate and pressure rules are next checked (`None`: neither applies).
    check: Option<Pin<Box<Sleep>>>,
}

/// A request body that fails with a timed-out read error once it misses one of its
/// [`BodyRules`], and says which in `missed`. The clock starts at the first read, so a body
/// whose handler is waiting for its turn (a queued batch) is not timed while it waits.
struct TimedBody {
    inner: Payload,
    rules: BodyRules,
    clock: Option<Clock>,
    missed: Rc<Cell<Option<BodyTimeout>>>,
    done: bool,
}

impl TimedBody {
    fn fail(&mut self, why: BodyTimeout) -> Poll<Option<Result<web::Bytes, PayloadError>>> {
        self.done = true;
        self.missed.set(Some(why));
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        )))))
    }
}

impl Stream for TimedBody {
    type Item = Result<web::Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let rules = &this.rules;
        let clock = this.clock.get_or_insert_with(|| {
            let now = tokio::time::Instant::now();
            Clock {
                started: now,
                received: 0,
                idle: Box::pin(sleep_until(now + rules.idle)),
                deadline: Box::pin(sleep_until(now + rules.deadline)),
                check: rules
                    .first_check()
                    .map(|after| Box::pin(sleep_until(now + after))),
            }
        });
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(piece))) => {
                clock.received = clock.received.saturating_add(piece.len() as u64);
                clock
                    .idle
                    .as_mut()
                    .reset(tokio::time::Instant::now() + rules.idle);
                Poll::Ready(Some(Ok(piece)))
            }
            Poll::Ready(end) => {
                this.done = true;
                Poll::Ready(end)
            }
            Poll::Pending => {
                if clock.idle.as_mut().poll(cx).is_ready() {
                    let ms = u64::try_from(rules.idle.as_millis()).unwrap_or(u64::MAX);
                    return this.fail(BodyTimeout::Idle { ms });
                }
                if clock.deadline.as_mut().poll(cx).is_ready() {
                    let ms = u64::try_from(rules.deadline.as_millis()).unwrap_or(u64::MAX);
                    return this.fail(BodyTimeout::Deadline { ms });
                }
                if let Some(check) = clock.check.as_mut()
                    && check.as_mut().poll(cx).is_ready()
                {
                    let now = tokio::time::Instant::now();
                    let read_for = now.saturating_duration_since(clock.started);
                    if let Some(why) = rules.missed(read_for, clock.received) {
                        return this.fail(why);
                    }
                    check.as_mut().reset(now + CHECK_EVERY);
                    // Registers the waker for the next check.
                    let _ = check.as_mut().poll(cx);
                }
                Poll::Pending
            }
        }
    }
}

/// Middleware: refuses a request whose `Host` header is not a host (RFC 9112 §3.2: a server
/// MUST answer a request with an invalid `Host` 400). The HTTP parser already refuses an
/// HTTP/1.1 request with none or with two; an empty one is valid (a target without an
/// authority).
pub(crate) async fn require_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let bad = req
        .headers()
        .get(actix_web::http::header::HOST)
        .is_some_and(|host| !is_host(host.as_bytes()));
    if bad {
        let (http_req, _) = req.into_parts();
        let e = ApiError::bad(
            ErrorCode::BadHeader,
            Some("host"),
            "the Host header is not a host name or address, with an optional port",
        );
        return Ok(ServiceResponse::new(http_req, e.error_response()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): a registered name (letters,
/// digits, `-._~`, sub-delimiters, percent escapes), or an IP literal in brackets, then
/// optionally `:` and digits. No user information, path, space or control character.
fn is_host(value: &[u8]) -> bool {
    let (host, port) = match value.iter().rposition(|&b| b == b':') {
        // A colon inside brackets belongs to an IPv6 literal.
        Some(i) if !value[i..].contains(&b']') => (&value[..i], &value[i + 1..]),
        _ => (value, &[][..]),
    };
    if !port.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if let Some(literal) = host.strip_prefix(b"[") {
        return literal.strip_suffix(b"]").is_some_and(|inner| {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b":.".contains(&b))
        });
    }
    host.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b))
}

/// Middleware: refuses a query string longer than the configured limit with a 414.
pub(crate) async fn limit_query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let max_query = req
        .app_data::<web::Data<AppState>>()
        .map_or(crate::server::config::DEFAULT_MAX_QUERY_BYTES, |s| {
            s.config().limits.max_query_bytes
        });
    if req.query_string().len() > max_query {
        let (http_req, _) = req.into_parts();
        let e = ApiError::UriTooLong { limit: max_query };
        return Ok(ServiceResponse::new(http_req, e.error_response()).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Middleware: answers what CORS refused in the API's error shape, keeping the status.
pub(crate) async fn api_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    match next.call(req).await {
        Ok(res) => match cors_refusal(&res) {
            // A preflight CORS refused (origin, method or header not allowed) is answered by
            // the CORS middleware in plain text: give it the API's error shape.
            Some(api) => {
                let status = res.status();
                let mut refused = api.error_response();
                *refused.status_mut() = status;
                let (http_req, _) = res.into_parts();
                Ok(ServiceResponse::new(http_req, refused).map_into_right_body())
            }
            None => Ok(res.map_into_left_body()),
        },
        Err(e) => {
            // An error a middleware (CORS) raised instead of answering.
            let status = e.as_response_error().status_code();
            let api = if status.is_client_error() {
                ApiError::bad(ErrorCode::RequestRefused, None, e.to_string())
            } else {
                ApiError::internal("answering", crate::server::error::Cause(e.to_string()))
            };
            Err(with_status(api, status))
        }
    }
}

/// The API error for a response the CORS middleware made to refuse a preflight request.
fn cors_refusal<B>(res: &ServiceResponse<B>) -> Option<ApiError> {
    let refused = res
        .response()
        .error()?
        .as_error::<actix_cors::CorsError>()?;
    Some(ApiError::bad(
        ErrorCode::RequestRefused,
        None,
        format!("this cross-origin request is not allowed: {refused}"),
    ))
}

fn log_request(
    state: Option<&web::Data<AppState>>,
    request_id: &str,
    method: &str,
    route: &str,
    status: u16,
    start: Instant,
    query: Option<String>,
) {
    let seconds = start.elapsed().as_secs_f64();
    if let Some(state) = state {
        state.metrics().observe(method, route, status, seconds);
    }
    // Two decimals are plenty for a log line.
    let ms = (seconds * 1e5).round() / 100.0;
    if let Some(query) = query {
        tracing::info!(request_id, method, route, status, ms, query, "request");
    } else {
        tracing::info!(request_id, method, route, status, ms, "request");
    }
}

/// An [`ApiError`] answered with another status (for errors raised by middleware).
fn with_status(e: ApiError, status: actix_web::http::StatusCode) -> actix_web::Error {
    let mut res = e.error_response();
    *res.status_mut() = status;
    actix_web::error::InternalError::from_response(e, res).into()
}

#[cfg(test)]
mod tests {
    use super::{client_request_id, fresh_request_id, is_host};

    #[test]
    fn a_client_request_id_is_kept_only_when_short_and_safe() {
        for ok in [
            "a",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "trace:1.2_3",
            &"x".repeat(64),
        ] {
            assert_eq!(client_request_id(ok.as_bytes()), Some(ok), "{ok:?}");
        }
        for bad in [
            "",
            "a b",
            "a\nrequest status=200",
            "id\"",
            "caf\u{e9}",
            &"x".repeat(65),
        ] {
            assert_eq!(client_request_id(bad.as_bytes()), None, "{bad:?}");
        }
        let (a, b) = (fresh_request_id(), fresh_request_id());
        assert_ne!(a, b);
        assert!(
            a.len() == 16 && a.bytes().all(|c| c.is_ascii_hexdigit()),
            "{a}"
        );
    }

    #[test]
    fn hosts_are_names_or_addresses_with_an_optional_port() {
        for ok in [
            "careband.test",
            "careband.test:8080",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:8080",
            "",
            "a-b_c~d",
            "xn--bcher-kva.example",
        ] {
            assert!(is_host(ok.as_bytes()), "{ok:?}");
        }
        for bad in [
            "a b",
            "a@b",
            "[::1",
            "::1]",
            "a/b",
            "a?b",
            "a#b",
            "a:b",
            "a:8080x",
            "[]",
            "a\tb",
            "caf\u{e9}",
        ] {
            assert!(!is_host(bad.as_bytes()), "{bad:?}");
        }
    }
}
