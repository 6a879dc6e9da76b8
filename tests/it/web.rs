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

/// Runs the served `app.js`'s link-parameter helpers (between its `page-params` markers) in
/// Node on `cases`, a JavaScript array of `[function name, argument]`; returns their results.
fn page_params(js: &str, cases: &str) -> Vec<serde_json::Value> {
    let start = js
        .find("// page-params:begin")
        .expect("app.js marks its link-parameter helpers");
    let end = js.find("// page-params:end").expect("and their end");
    let program = format!(
        "{}\nconst fns = {{ tileTemplate, attributionText }};\n\
         console.log(JSON.stringify({cases}.map(([f, arg]) => fns[f](arg))));\n",
        &js[start..end]
    );
    let out = std::process::Command::new("node")
        .args(["-e", &program])
        .output()
        .expect("node runs (the page's tests need it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

// Issue 18 item 5: a link could put markup (a "log in" link) into the map's attribution.
#[actix_web::test]
async fn the_tiles_attribution_of_a_link_is_text_and_the_tile_url_an_https_template() {
    let js = get("/static/app.js").await.text();
    let results = page_params(
        &js,
        r#"[
          ["attributionText", "<a href=\"https://evil.example/\">Log in</a> & 'more'"],
          ["attributionText", null],
          ["attributionText", "x".repeat(500)],
          ["tileTemplate", "https://tile.example/{z}/{x}/{y}.png"],
          ["tileTemplate", "https://{s}.tile.example/{z}/{x}/{y}{r}.png"],
          ["tileTemplate", "http://tile.example/{z}/{x}/{y}.png"],
          ["tileTemplate", "javascript:alert(1)//{z}/{x}/{y}"],
          ["tileTemplate", "https://tile.example/{z}/{x}.png"],
          ["tileTemplate", "https://tile.example/{z}/{x}/{y}.png\"><img src=x>"],
          ["tileTemplate", "https://tile.example/{z}/{x}/{y}.png?k={attribution}"],
          ["tileTemplate", "https://user:pw@tile.example/{z}/{x}/{y}.png"],
          ["tileTemplate", null]
        ]"#,
    );
    assert_eq!(
        results[0],
        "&lt;a href=&quot;https://evil.example/&quot;&gt;Log in&lt;/a&gt; &amp; &#39;more&#39;"
    );
    assert_eq!(results[1], "");
    assert_eq!(results[2].as_str().unwrap().len(), 200, "the credit is cut");
    assert_eq!(results[3], "https://tile.example/{z}/{x}/{y}.png");
    assert_eq!(results[4], "https://{s}.tile.example/{z}/{x}/{y}{r}.png");
    for (i, r) in results.iter().enumerate().skip(5) {
        assert!(r.is_null(), "case {i} was accepted: {r}");
    }
}
