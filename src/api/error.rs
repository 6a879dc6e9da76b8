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
use serde::Serialize;
use utoipa::ToSchema;

use crate::coord::CoordError;
use crate::lookup::LookupError;

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A parameter is missing, malformed or out of range (400).
    #[error("{message}")]
    BadInput {
        /// Machine-readable reason.
        code: &'static str,
        /// What is wrong and how to fix it.
        message: String,
        /// The parameter at fault, when one is.
        field: Option<String>,
    },
    /// Understood, but there is no such thing (404).
    #[error("{message}")]
    NotFound {
        /// Machine-readable reason.
        code: &'static str,
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
    /// Something broke inside careband (500; the detail is logged, not returned).
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable reason, e.g. `bad_postcode`, `postcode_not_found`, `too_many_queries`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request parameter at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Known values close to the one asked for (unknown postcodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<String>>,
    /// The limit that was exceeded (413, 414).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl ApiError {
    /// A 400 with a code, a message and the field at fault.
    pub fn bad(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        Self::BadInput {
            code,
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    /// A 404 without suggestions.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
            suggestions: None,
        }
    }

    /// The machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput { code, .. } | Self::NotFound { code, .. } => code,
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::TooLarge { .. } => "too_large",
            Self::UriTooLong { .. } => "query_too_long",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unprocessable { .. } => "unprocessable",
            Self::Unauthorized => "unauthorized",
            Self::Conflict(_) => "conflict",
            Self::ReloadRefused(_) => "reload_refused",
            Self::Internal(_) => "internal",
        }
    }

    /// The error as the JSON detail clients receive.
    #[must_use]
    pub fn detail(&self) -> ErrorDetail {
        let mut d = ErrorDetail {
            code: self.code().into(),
            message: self.to_string(),
            field: None,
            suggestions: None,
            limit: None,
        };
        match self {
            Self::BadInput { field, .. } => d.field.clone_from(field),
            Self::NotFound { suggestions, .. } => d.suggestions.clone_from(suggestions),
            Self::TooLarge { limit, .. } | Self::UriTooLong { limit } => d.limit = Some(*limit),
            Self::Internal(_) => d.message = "internal error: the cause has been logged".into(),
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
                Self::bad("bad_postcode", Some(text_field), p.to_string())
            }
            LookupError::UnknownPostcode {
                ref suggestions, ..
            } => Self::NotFound {
                code: "postcode_not_found",
                message: e.to_string(),
                suggestions: Some(suggestions.clone()),
            },
            LookupError::NoPosition { .. } => {
                Self::not_found("postcode_without_position", e.to_string())
            }
            LookupError::UnknownArea(_) => Self::not_found("area_not_found", e.to_string()),
            LookupError::NoPlace {
                ref suggestions, ..
            } => Self::NotFound {
                code: "place_not_found",
                message: e.to_string(),
                suggestions: Some(suggestions.clone()),
            },
            LookupError::EmptyText => Self::bad("empty_text", Some(text_field), e.to_string()),
            LookupError::BadCoordinate(c) => Self::from_coord(&c),
            other => Self::Internal(other.to_string()),
        }
    }

    /// Maps a refused coordinate to a 400 naming its axis.
    #[must_use]
    pub fn from_coord(e: &CoordError) -> Self {
        let (CoordError::NotFinite { axis, .. } | CoordError::OutOfRange { axis, .. }) = e;
        Self::bad("bad_coordinate", Some(*axis), e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadInput { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::ReloadRefused(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        match self {
            Self::MethodNotAllowed { allowed, .. } => {
                res.insert_header((header::ALLOW, HeaderValue::from_static(allowed)));
            }
            Self::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
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
            "bad_json",
            Some("body"),
            format!("the body is not valid JSON: {de}"),
        ),
        JsonPayloadError::Payload(actix_web::error::PayloadError::Overflow) => ApiError::TooLarge {
            message: "the body is too large".into(),
            limit: 0,
        },
        other => ApiError::bad(
            "bad_body",
            Some("body"),
            format!("the body could not be read: {other}"),
        ),
    };
    e.into()
}

/// Turns actix's query-string failures into a 400.
pub(crate) fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad(
        "bad_query",
        None,
        format!("the query string is not valid: {err}"),
    )
    .into()
}

/// Turns actix's path failures into a 400.
pub(crate) fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad("bad_path", None, format!("the path is not valid: {err}")).into()
}

/// The answer for a path no route serves.
pub(crate) async fn no_route() -> ApiError {
    ApiError::not_found(
        "no_route",
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
