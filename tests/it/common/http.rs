//! Requests to the production application (`careband::server::app`) in an actix test service,
//! read back whether the service answered or raised an error.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::test;
use actix_web::web::Bytes;
use serde_json::Value;

use careband::data::load::DataSource;
use careband::server::config::ServeConfig;
use careband::server::{self, AppState};

use super::DATASET;

/// Application state over the embedded dataset with `config`, reloading from `source`.
pub fn state_with(config: ServeConfig, source: DataSource) -> AppState {
    AppState::new(Arc::clone(&DATASET), source, config)
}

/// Application state over the embedded dataset with the default settings.
pub fn state() -> AppState {
    state_with(ServeConfig::default(), DataSource::Embedded)
}

/// A status, headers and body, whether the service answered or raised an error.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON; a body that is not JSON fails the test, showing it.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of a header that must be there.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// Asserts the one error shape (status, `code`, a message, JSON) and returns the `error`
    /// object.
    pub fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        let body = self.json();
        let e = &body["error"];
        assert_eq!(e["code"], code, "{body}");
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_eq!(
            self.header(header::CONTENT_TYPE.as_str()),
            "application/json"
        );
        e.clone()
    }
}

/// Sends `req` to `app`. An error raised by the service is turned into its response, as the
/// server would send it.
pub async fn send<S, R, B>(app: &S, req: R) -> Reply
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    match app.call(req).await {
        Ok(res) => {
            let status = res.status();
            let headers = res.headers().clone();
            let body = test::read_body(res).await;
            Reply {
                status,
                headers,
                body,
            }
        }
        Err(e) => {
            let res = e.error_response();
            let status = res.status();
            let headers = res.headers().clone();
            let body = actix_web::body::to_bytes(res.into_body())
                .await
                .unwrap_or_default();
            Reply {
                status,
                headers,
                body,
            }
        }
    }
}

/// `GET uri` from a fresh application with `state`.
pub async fn get_with(state: AppState, uri: &str) -> Reply {
    let app = test::init_service(server::app(state)).await;
    send(&app, test::TestRequest::get().uri(uri).to_request()).await
}

/// `GET uri` from a fresh application with the default settings.
pub async fn get(uri: &str) -> Reply {
    get_with(state(), uri).await
}

/// A real server with `state` on a free port of 127.0.0.1, running on the current actix
/// runtime until the handle stops it; returns its base URL (`http://127.0.0.1:PORT`).
pub fn serve(state: AppState) -> (String, actix_web::dev::ServerHandle) {
    let server = actix_web::HttpServer::new(move || server::app(state.clone()))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    // The HTTP client the tests call it with needs a TLS provider, even for plain HTTP.
    careband::geocoder::install_tls_provider();
    (format!("http://{addr}"), handle)
}
