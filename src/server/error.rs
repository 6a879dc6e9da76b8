//! The one error shape of the API, `{"error": {"code", "message", "field"}}`, and the handlers
//! that give actix's own failures (bad JSON, bad query or path, unknown route or method) that
//! same shape.
//!
//! Every client mistake is a 4xx naming the field and the reason; a 500 means careband broke,
//! is logged with its cause, and tells the client nothing more than that.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use std::error::Error as _;
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::coord::CoordError;
use crate::engine::lookup::LookupError;
use crate::engine::query::{MAX_TEXT_CHARS, QueryError};

/// Every machine-readable error code the API answers with. The error table of
/// `docs/http-api.md` is checked against this list (and its statuses) by a test, and the OpenAPI
/// document's error schema lists exactly these values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: not a UK postcode.
    BadPostcode,
    /// 400: free text that is empty or only spaces and punctuation.
    EmptyText,
    /// 400: a `limit` that is not a whole number in range.
    BadLimit,
    /// 400: a coordinate that is NaN, infinite or out of range.
    BadCoordinate,
    /// 400: a number that does not parse.
    BadNumber,
    /// 400: a date that is not a real `YYYY-MM-DD` date.
    BadDate,
    /// 400: no query given.
    MissingQuery,
    /// 400: more than one kind of query given.
    AmbiguousQuery,
    /// 400: half of a query (`lat` without `lon`) or a required parameter left out.
    MissingParameter,
    /// 400: a partial postcode where a full one is needed.
    PartialPostcode,
    /// 400: a postcode or free text over the length limit.
    TooLong,
    /// 400: too many partial postcodes or place names in one bulk request.
    TooManyAreaQueries,
    /// 400: a query string that does not parse.
    BadQuery,
    /// 400: a path that does not parse.
    BadPath,
    /// 400: a body that is not valid JSON.
    BadJson,
    /// 400: a body that could not be read.
    BadBody,
    /// 400: a bulk query that is not a valid query object.
    BadItem,
    /// 400: a parameter with an unusable value.
    BadParameter,
    /// 400: a parameter the route does not take.
    UnknownParameter,
    /// 400: a parameter given more than once.
    RepeatedParameter,
    /// 400: batch column parameters that do not match the header.
    BadColumns,
    /// 400: a batch body that is not readable CSV.
    BadCsv,
    /// 400: a cross-origin request that is not allowed.
    RequestRefused,
    /// 400: text a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first), not read.
    FormulaText,
    /// 400: a `Host` header that is not a host name or address with an optional port.
    BadHeader,
    /// 401: no valid admin bearer token.
    Unauthorized,
    /// 404: a well-formed postcode the dataset does not know.
    PostcodeNotFound,
    /// 404: a known postcode without a position.
    PostcodeWithoutPosition,
    /// 404: a partial postcode with no postcodes.
    AreaNotFound,
    /// 404: free text naming no known place or road.
    PlaceNotFound,
    /// 404: no such scheme.
    SchemeNotFound,
    /// 404: no such layer.
    LayerNotFound,
    /// 404: band areas of a scheme without bands.
    SchemeNotBanded,
    /// 404: no such route.
    NoRoute,
    /// 404: no such static file.
    NoSuchFile,
    /// 404: the map library was not built in.
    MapLibraryNotInstalled,
    /// 405: the route exists, not for this method.
    MethodNotAllowed,
    /// 409: a reload is already running.
    Conflict,
    /// 413: a body or a bulk request over its limit.
    TooLarge,
    /// 414: a query string over its limit.
    QueryTooLong,
    /// 415: a body of the wrong content type.
    UnsupportedMediaType,
    /// 422: valid JSON of the wrong shape.
    Unprocessable,
    /// 408: the request body did not arrive in time; the connection is closed.
    RequestTimeout,
    /// 429: too many open connections from the client's address; the connection is closed.
    TooManyConnections,
    /// 500: the new dataset was refused; the old one keeps serving.
    ReloadRefused,
    /// 500: careband broke; the cause is logged, not returned.
    Internal,
    /// 400: an area summary or place search that needs more postcodes resolved than one
    /// request may.
    OverBudget,
    /// 503: the queue for expensive work (batches, bulk requests, area summaries, place
    /// searches, band drawings) is full; `Retry-After` says when to try again.
    QueueFull,
}

impl ErrorCode {
    /// Every code, in the order of the docs' table.
    pub const ALL: &[ErrorCode] = &[
        Self::BadPostcode,
        Self::EmptyText,
        Self::BadLimit,
        Self::BadCoordinate,
        Self::BadNumber,
        Self::BadDate,
        Self::MissingQuery,
        Self::AmbiguousQuery,
        Self::MissingParameter,
        Self::PartialPostcode,
        Self::TooLong,
        Self::TooManyAreaQueries,
        Self::BadQuery,
        Self::BadPath,
        Self::BadJson,
        Self::BadBody,
        Self::BadItem,
        Self::BadParameter,
        Self::UnknownParameter,
        Self::RepeatedParameter,
        Self::BadColumns,
        Self::BadCsv,
        Self::RequestRefused,
        Self::FormulaText,
        Self::BadHeader,
        Self::Unauthorized,
        Self::PostcodeNotFound,
        Self::PostcodeWithoutPosition,
        Self::AreaNotFound,
        Self::PlaceNotFound,
        Self::SchemeNotFound,
        Self::LayerNotFound,
        Self::SchemeNotBanded,
        Self::NoRoute,
        Self::NoSuchFile,
        Self::MapLibraryNotInstalled,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::TooLarge,
        Self::QueryTooLong,
        Self::UnsupportedMediaType,
        Self::Unprocessable,
        Self::RequestTimeout,
        Self::TooManyConnections,
        Self::ReloadRefused,
        Self::Internal,
        Self::OverBudget,
        Self::QueueFull,
    ];

    /// The code as it appears in the JSON body.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadPostcode => "bad_postcode",
            Self::EmptyText => "empty_text",
            Self::BadLimit => "bad_limit",
            Self::BadCoordinate => "bad_coordinate",
            Self::BadNumber => "bad_number",
            Self::BadDate => "bad_date",
            Self::MissingQuery => "missing_query",
            Self::AmbiguousQuery => "ambiguous_query",
            Self::MissingParameter => "missing_parameter",
            Self::PartialPostcode => "partial_postcode",
            Self::TooLong => "too_long",
            Self::TooManyAreaQueries => "too_many_area_queries",
            Self::BadQuery => "bad_query",
            Self::BadPath => "bad_path",
            Self::BadJson => "bad_json",
            Self::BadBody => "bad_body",
            Self::BadItem => "bad_item",
            Self::BadParameter => "bad_parameter",
            Self::UnknownParameter => "unknown_parameter",
            Self::RepeatedParameter => "repeated_parameter",
            Self::BadColumns => "bad_columns",
            Self::BadCsv => "bad_csv",
            Self::RequestRefused => "request_refused",
            Self::FormulaText => "formula_text",
            Self::BadHeader => "bad_header",
            Self::Unauthorized => "unauthorized",
            Self::PostcodeNotFound => "postcode_not_found",
            Self::PostcodeWithoutPosition => "postcode_without_position",
            Self::AreaNotFound => "area_not_found",
            Self::PlaceNotFound => "place_not_found",
            Self::SchemeNotFound => "scheme_not_found",
            Self::LayerNotFound => "layer_not_found",
            Self::SchemeNotBanded => "scheme_not_banded",
            Self::NoRoute => "no_route",
            Self::NoSuchFile => "no_such_file",
            Self::MapLibraryNotInstalled => "map_library_not_installed",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::TooLarge => "too_large",
            Self::QueryTooLong => "query_too_long",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Unprocessable => "unprocessable",
            Self::RequestTimeout => "request_timeout",
            Self::TooManyConnections => "too_many_connections",
            Self::ReloadRefused => "reload_refused",
            Self::Internal => "internal",
            Self::OverBudget => "over_budget",
            Self::QueueFull => "queue_full",
        }
    }

    /// The HTTP status an error with this code is answered with.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadPostcode
            | Self::EmptyText
            | Self::BadLimit
            | Self::BadCoordinate
            | Self::BadNumber
            | Self::BadDate
            | Self::MissingQuery
            | Self::AmbiguousQuery
            | Self::MissingParameter
            | Self::PartialPostcode
            | Self::TooLong
            | Self::TooManyAreaQueries
            | Self::BadQuery
            | Self::BadPath
            | Self::BadJson
            | Self::BadBody
            | Self::BadItem
            | Self::BadParameter
            | Self::UnknownParameter
            | Self::RepeatedParameter
            | Self::BadColumns
            | Self::BadCsv
            | Self::RequestRefused
            | Self::FormulaText
            | Self::BadHeader
            | Self::OverBudget => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::PostcodeNotFound
            | Self::PostcodeWithoutPosition
            | Self::AreaNotFound
            | Self::PlaceNotFound
            | Self::SchemeNotFound
            | Self::LayerNotFound
            | Self::SchemeNotBanded
            | Self::NoRoute
            | Self::NoSuchFile
            | Self::MapLibraryNotInstalled => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::QueryTooLong => StatusCode::URI_TOO_LONG,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
            Self::ReloadRefused | Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::QueueFull => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Which rule a request body missed (408 `request_timeout`); the message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyTimeout {
    /// It paused longer than `limits.body_idle_timeout_ms` between two pieces.
    #[error("the request body paused for longer than {ms} ms")]
    Idle {
        /// The longest pause allowed, milliseconds.
        ms: u64,
    },
    /// It was not all there `limits.request_deadline_ms` after its first read.
    #[error("the request body was not all there within {ms} ms")]
    Deadline {
        /// The time allowed for the whole body, milliseconds.
        ms: u64,
    },
    /// Its average rate was under `limits.min_body_bytes_per_s` once it had been read for
    /// `limits.min_body_rate_grace_ms`.
    #[error(
        "the request body arrived slower than {bytes_per_s} bytes a second (measured after \
         {grace_ms} ms)"
    )]
    TooSlow {
        /// The slowest average rate allowed, bytes a second.
        bytes_per_s: u64,
        /// The time before the rate is checked, milliseconds.
        grace_ms: u64,
    },
    /// The server was near its connection cap and the body was not all there within
    /// `limits.pressure_body_timeout_ms`.
    #[error(
        "the server is near its connection limit and the request body was not all there \
         within {ms} ms: send it at once, or retry later"
    )]
    UnderPressure {
        /// The time allowed for the whole body under pressure, milliseconds.
        ms: u64,
    },
}

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A parameter is missing, malformed or out of range (400).
    #[error("{message}")]
    BadInput {
        /// Machine-readable reason.
        code: ErrorCode,
        /// What is wrong and how to fix it.
        message: String,
        /// The parameter at fault, when one is.
        field: Option<String>,
        /// The input corrected (`NR1 1AA` for `NR11 AA`), when it can be.
        suggestions: Option<Vec<String>>,
    },
    /// Understood, but there is no such thing (404).
    #[error("{message}")]
    NotFound {
        /// Machine-readable reason.
        code: ErrorCode,
        /// What was not found.
        message: String,
        /// Near misses that do exist ("did you mean").
        suggestions: Option<Vec<String>>,
    },
    /// The route exists but not for this method (405).
    #[error("method {method} is not allowed here (allowed: {allowed})")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The methods the route answers, comma separated.
        allowed: &'static str,
    },
    /// The body or the number of bulk queries is over a limit (413).
    #[error("{message}")]
    TooLarge {
        /// What is too large.
        message: String,
        /// The limit (bytes or queries).
        limit: usize,
    },
    /// The query string is longer than allowed (414).
    #[error("the query string is longer than {limit} bytes")]
    UriTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed JSON of the wrong shape (422).
    #[error("{message}")]
    Unprocessable {
        /// What is wrong.
        message: String,
    },
    /// The request body did not arrive in time (408; the connection is closed).
    #[error("{0}")]
    RequestTimeout(BodyTimeout),
    /// Too many connections open from the client's address (429; the connection is closed).
    #[error(
        "too many connections from your address are open (at most {limit}): close some and retry"
    )]
    TooManyConnections {
        /// The cap.
        limit: usize,
    },
    /// Missing or wrong bearer token (401).
    #[error("a valid admin bearer token is required")]
    Unauthorized,
    /// The request conflicts with work in progress (409).
    #[error("{0}")]
    Conflict(String),
    /// A reload was refused; the previous dataset keeps serving (500, message included: the
    /// caller is an administrator).
    #[error("the new dataset was refused and the previous one keeps serving: {0}")]
    ReloadRefused(String),
    /// Expensive work is refused because its queue is full (503 with `Retry-After`).
    #[error("{message}")]
    Busy {
        /// What is busy and what to do.
        message: String,
        /// Seconds after which a retry may find room.
        retry_after_s: u64,
    },
    /// Something broke inside careband (500; the cause is logged with its chain, not
    /// returned).
    #[error("internal error: {context}")]
    Internal {
        /// What careband was doing.
        context: &'static str,
        /// The cause.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
}

/// A cause known only by its message (an error that is not `Send`, such as actix's own).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Cause(pub String);

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable reason, e.g. `bad_postcode`, `postcode_not_found`, `too_large`.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The request parameter at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Known values close to the one asked for (unknown postcodes), or the input corrected
    /// (a postcode with a space in the wrong place, a hyphen, or O for 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<String>>,
    /// The limit that was exceeded (413, 414).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl ApiError {
    /// A 500 for `source`, raised while doing `context`.
    pub fn internal(
        context: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context,
            source: Arc::new(source),
        }
    }

    /// A 400 with a code, a message and the field at fault.
    pub fn bad(code: ErrorCode, field: Option<&str>, message: impl Into<String>) -> Self {
        Self::BadInput {
            code,
            message: message.into(),
            field: field.map(str::to_string),
            suggestions: None,
        }
    }

    /// Maps an input that cannot be read as a query; `text_field` is the parameter the text
    /// came from (`postcode` or `q`). A correctable postcode carries its correction in
    /// `suggestions`.
    #[must_use]
    pub fn from_query(e: &QueryError, text_field: &str) -> Self {
        let code = match e {
            QueryError::Empty => ErrorCode::EmptyText,
            QueryError::TooLong { .. } => ErrorCode::TooLong,
            QueryError::Formula { .. } => ErrorCode::FormulaText,
            QueryError::BadCoordinate(c) => return Self::from_coord(c),
            _ => ErrorCode::BadPostcode,
        };
        let suggestions = e.suggestions();
        Self::BadInput {
            code,
            message: match e {
                QueryError::TooLong { .. } => {
                    format!("{text_field} is longer than {MAX_TEXT_CHARS} characters")
                }
                _ => e.to_string(),
            },
            field: Some(text_field.to_string()),
            suggestions: (!suggestions.is_empty()).then_some(suggestions),
        }
    }

    /// A 404 without suggestions.
    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
            suggestions: None,
        }
    }

    /// The machine-readable code.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadInput { code, .. } | Self::NotFound { code, .. } => *code,
            Self::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::UriTooLong { .. } => ErrorCode::QueryTooLong,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::Unprocessable { .. } => ErrorCode::Unprocessable,
            Self::RequestTimeout(_) => ErrorCode::RequestTimeout,
            Self::TooManyConnections { .. } => ErrorCode::TooManyConnections,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::ReloadRefused(_) => ErrorCode::ReloadRefused,
            Self::Busy { .. } => ErrorCode::QueueFull,
            Self::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// The error as the JSON detail clients receive.
    #[must_use]
    pub fn detail(&self) -> ErrorDetail {
        let mut d = ErrorDetail {
            code: self.code(),
            message: self.to_string(),
            field: None,
            suggestions: None,
            limit: None,
        };
        match self {
            Self::BadInput {
                field, suggestions, ..
            } => {
                d.field.clone_from(field);
                d.suggestions.clone_from(suggestions);
            }
            Self::NotFound { suggestions, .. } => d.suggestions.clone_from(suggestions),
            Self::TooLarge { limit, .. }
            | Self::UriTooLong { limit }
            | Self::TooManyConnections { limit } => d.limit = Some(*limit),
            Self::Internal { .. } => d.message = "internal error: the cause has been logged".into(),
            _ => {}
        }
        d
    }

    /// Maps a lookup failure; `text_field` is the parameter the postcode text came from
    /// (`postcode` or `q`).
    #[must_use]
    pub fn from_lookup(e: LookupError, text_field: &str) -> Self {
        match e {
            LookupError::BadPostcode(p) => {
                Self::bad(ErrorCode::BadPostcode, Some(text_field), p.to_string())
            }
            LookupError::UnknownPostcode {
                ref suggestions, ..
            } => Self::NotFound {
                code: ErrorCode::PostcodeNotFound,
                message: e.to_string(),
                suggestions: Some(suggestions.clone()),
            },
            LookupError::NoPosition { .. } => {
                Self::not_found(ErrorCode::PostcodeWithoutPosition, e.to_string())
            }
            LookupError::UnknownArea(_) => Self::not_found(ErrorCode::AreaNotFound, e.to_string()),
            LookupError::NoPlace {
                ref suggestions, ..
            } => Self::NotFound {
                code: ErrorCode::PlaceNotFound,
                message: e.to_string(),
                suggestions: Some(suggestions.clone()),
            },
            LookupError::EmptyText => {
                Self::bad(ErrorCode::EmptyText, Some(text_field), e.to_string())
            }
            LookupError::BadCoordinate(c) => Self::from_coord(&c),
            LookupError::OverBudget(b) => Self::bad(
                ErrorCode::OverBudget,
                Some(text_field),
                format!(
                    "too much work for one request: {b} (one postcode resolved is one unit); ask for a smaller area (a sector such as NR1 1 rather than NR), a full postcode, or spread the queries over several requests"
                ),
            ),
            other => Self::internal("looking up", other),
        }
    }

    /// Maps a refused coordinate to a 400 naming its axis.
    #[must_use]
    pub fn from_coord(e: &CoordError) -> Self {
        let (CoordError::NotFinite { axis, .. } | CoordError::OutOfRange { axis, .. }) = e;
        Self::bad(ErrorCode::BadCoordinate, Some(*axis), e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal { context, source } = self {
            let mut cause = source.to_string();
            let mut next = source.source();
            while let Some(e) = next {
                cause.push_str(": ");
                cause.push_str(&e.to_string());
                next = e.source();
            }
            tracing::error!(context, cause = %cause, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allowed, .. } => {
                res.insert_header((header::ALLOW, HeaderValue::from_static(allowed)));
            }
            Self::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            // The connection is the problem (a body that stalls, one client holding too many),
            // so it is not kept for another request.
            Self::RequestTimeout(_) | Self::TooManyConnections { .. } => {
                res.force_close();
            }
            Self::Busy { retry_after_s, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
            }
            _ => {}
        }
        res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .json(ErrorBody {
                error: self.detail(),
            })
    }
}

/// Turns actix's JSON body failures into [`ApiError`]: wrong content type 415, too large 413,
/// invalid JSON 400, valid JSON of the wrong shape 422.
#[expect(
    clippy::needless_pass_by_value,
    reason = "actix's error handler signature passes the error by value"
)]
pub(crate) fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::TooLarge {
            message: format!("the body is larger than {limit} bytes"),
            limit: *limit,
        },
        JsonPayloadError::Deserialize(de) if de.is_data() => ApiError::Unprocessable {
            message: format!("the JSON does not have the expected shape: {de}"),
        },
        JsonPayloadError::Deserialize(de) => ApiError::bad(
            ErrorCode::BadJson,
            Some("body"),
            format!("the body is not valid JSON: {de}"),
        ),
        JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => ApiError::TooLarge {
            message: "the body is too large".into(),
            limit: 0,
        },
        other => ApiError::bad(
            ErrorCode::BadBody,
            Some("body"),
            format!("the body could not be read: {other}"),
        ),
    };
    e.into()
}

/// Turns actix's query-string failures into a 400.
#[expect(
    clippy::needless_pass_by_value,
    reason = "actix's error handler signature passes the error by value"
)]
pub(crate) fn query_error(err: QueryPayloadError, req: &HttpRequest) -> actix_web::Error {
    // A name given twice is the one way a query string fails to fit a route's parameters
    // (the others are ignored by the parser and refused by name by the handler).
    if let Some(name) = crate::server::routes::params::repeated(req.query_string()) {
        return ApiError::bad(
            ErrorCode::RepeatedParameter,
            Some(&name),
            format!("{name} is given more than once"),
        )
        .into();
    }
    ApiError::bad(
        ErrorCode::BadQuery,
        None,
        format!("the query string is not valid: {err}"),
    )
    .into()
}

/// Turns actix's path failures into a 400.
#[expect(
    clippy::needless_pass_by_value,
    reason = "actix's error handler signature passes the error by value"
)]
pub(crate) fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad(
        ErrorCode::BadPath,
        None,
        format!("the path is not valid: {err}"),
    )
    .into()
}

/// The answer for a path no route serves.
pub(crate) async fn no_route() -> ApiError {
    ApiError::not_found(
        ErrorCode::NoRoute,
        "no such route; the routes are listed in /openapi.json",
    )
}

/// A resource's default service: the path exists but not for this method.
pub(crate) fn method_not_allowed(
    allowed: &'static str,
) -> impl Fn(HttpRequest) -> std::future::Ready<ApiError> + Clone {
    move |req: HttpRequest| {
        std::future::ready(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allowed,
        })
    }
}

impl actix_web::Responder for ApiError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
