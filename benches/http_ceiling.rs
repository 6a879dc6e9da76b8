//! The HTTP ceiling that `scripts/bench-http.sh` measures careband against: a minimal
//! actix-web server with the same number of workers that reads every request's query string
//! into pairs (as careband's handlers do) and answers with a JSON document of the same size as
//! careband's answer, serialised again for every request. Whatever careband costs above this is
//! the cost of its lookup, its middleware and its answer's shape.
//!
//! ```text
//! http_ceiling --listen 127.0.0.1:0 --body answer.json [--workers 2]
//! ```
//!
//! It prints `listening on http://ADDR` once bound. Without `--listen` (as `cargo bench` runs
//! every bench) it prints what it is for and exits.

use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;

/// What the flags ask for.
struct Flags {
    listen: SocketAddr,
    body: PathBuf,
    workers: usize,
}

fn flags() -> Result<Option<Flags>, String> {
    let mut listen = None;
    let mut body = None;
    let mut workers = 2;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--listen" => {
                let v = value()?;
                listen = Some(
                    v.parse()
                        .map_err(|_| format!("--listen {v:?} is not an address"))?,
                );
            }
            "--body" => body = Some(PathBuf::from(value()?)),
            "--workers" => {
                let v = value()?;
                workers = v
                    .parse()
                    .map_err(|_| format!("--workers {v:?} is not a number"))?;
            }
            // `cargo bench` passes `--bench` (and perhaps a filter) to every bench.
            _ => {}
        }
    }
    match (listen, body) {
        (Some(listen), Some(body)) => Ok(Some(Flags {
            listen,
            body,
            workers,
        })),
        (None, _) => Ok(None),
        (Some(_), None) => Err("--listen needs --body FILE".into()),
    }
}

/// Every request: its query read into pairs, then the document serialised.
async fn answer(query: web::Query<Vec<(String, String)>>, body: web::Data<Value>) -> HttpResponse {
    std::hint::black_box(query.into_inner());
    HttpResponse::Ok().json(body.get_ref())
}

fn main() -> std::io::Result<()> {
    let flags = match flags() {
        Ok(Some(f)) => f,
        Ok(None) => {
            eprintln!(
                "http_ceiling: the reference server of scripts/bench-http.sh; give --listen ADDR --body FILE"
            );
            return Ok(());
        }
        Err(e) => {
            eprintln!("http_ceiling: {e}");
            std::process::exit(2);
        }
    };
    let text = std::fs::read(&flags.body)?;
    let doc: Value = serde_json::from_slice(&text).map_err(std::io::Error::other)?;
    let doc = web::Data::new(doc);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(doc.clone())
                .default_service(web::to(answer))
        })
        .workers(flags.workers)
        .bind(flags.listen)?;
        for addr in server.addrs() {
            eprintln!("listening on http://{addr}");
        }
        server.run().await
    })
}
