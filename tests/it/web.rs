//! The web page at `/` and its files under `/static/`, through the production application
//! (`careband::server::app`).

use actix_web::http::StatusCode;

use careband::server;

use crate::common::http::get;

#[actix_web::test]
async fn the_page_is_served_at_the_root_with_its_labels_and_limits() {
    let r = get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
    assert!(
        r.header("content-security-policy")
            .contains("default-src 'self'")
    );
    let html = r.text();
    for needle in [
        "<label for=\"q\">",
        "<label for=\"date\">",
        "aria-live=\"polite\"",
        "id=\"map\"",
        "<label for=\"batch-file\">",
        "100,000 rows",
        "Open Government Licence",
    ] {
        assert!(html.contains(needle), "the page lacks {needle}");
    }
    assert!(!html.contains("{{"), "a placeholder is left");
    assert_eq!(
        html.contains("static/vendor/leaflet.js"),
        server::routes::page::has_map_library()
    );
}

#[actix_web::test]
async fn the_page_files_are_served_and_others_are_a_json_404() {
    let r = get("/static/app.js").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/javascript"));
    assert!(r.text().contains("v1/lookup"));
    let r = get("/static/app.css").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/css"));
    get("/static/nope.js")
        .await
        .error(StatusCode::NOT_FOUND, "no_such_file");
    let r = get("/static/vendor/leaflet.js").await;
    if server::routes::page::has_map_library() {
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.len() > 10_000);
    } else {
        r.error(StatusCode::NOT_FOUND, "map_library_not_installed");
    }
}
