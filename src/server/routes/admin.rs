//! `POST /admin/reload`: load the data source again, and serve it only if it loads.
//!
//! The route exists only when an admin token is configured, and then needs
//! `Authorization: Bearer <token>`. Without a token it answers 404 like any unknown route.

use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::server::error::{ApiError, ErrorBody};
use crate::server::state::{AppState, ReloadError, ReloadReport};

/// Compares without stopping at the first differing byte, so response timing does not leak
/// how much of a guessed token was right.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Reload the dataset.
///
/// Reads the data source again (the embedded data or the data directory). A dataset that
/// fails to load is refused: the one already loaded keeps serving, and the error is logged and
/// returned. SIGHUP does the same.
#[utoipa::path(
    post,
    path = "/admin/reload",
    tag = "operations",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Reloaded", body = ReloadReport),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No admin token configured: the route is off", body = ErrorBody),
        (status = 409, description = "A reload is already running", body = ErrorBody),
        (status = 500, description = "The new dataset was refused; the previous one keeps serving", body = ErrorBody),
    )
)]
pub async fn reload(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<ReloadReport>, ApiError> {
    let Some(expected) = state.config().admin_token.as_deref() else {
        return Err(crate::server::error::no_route().await);
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !given.is_some_and(|g| same_token(g.as_bytes(), expected.as_bytes())) {
        return Err(ApiError::Unauthorized);
    }
    match state.reload().await {
        Ok(report) => Ok(web::Json(report)),
        Err(ReloadError::Busy) => Err(ApiError::Conflict("a reload is already running".into())),
        Err(ReloadError::Refused(e)) => Err(ApiError::ReloadRefused(error_chain(&e))),
        Err(e) => Err(ApiError::internal("reloading", e)),
    }
}

/// An error and its causes, `: `-separated.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::same_token;

    #[test]
    fn tokens_must_match_exactly() {
        assert!(same_token(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!same_token(b"0123456789abcdeF", b"0123456789abcdef"));
        assert!(!same_token(b"0123456789abcde", b"0123456789abcdef"));
        assert!(!same_token(b"", b"0123456789abcdef"));
    }
}
