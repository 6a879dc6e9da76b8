//! Build script.
//!
//! - geodata/ is embedded into the binary (`include_dir!`); rebuild when any file in it changes.
//! - The web page's map library (Leaflet, installed by `npm ci` in web/) is embedded when it is
//!   there: this writes `web_vendor.rs` to `OUT_DIR` with the library's files, or with `None`
//!   when `web/node_modules` has not been installed, in which case the page works without its
//!   map and says so.
//! - The API docs UI (Swagger UI, from the same `npm ci`) is embedded the same way:
//!   `docs_vendor.rs` holds its script and style sheet, or `None`, in which case `/docs` says
//!   how to install it.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=geodata");
    // The page's own files are include_str!'d, which rustc tracks. Here: the library's files
    // when installed, else the web folder, which changes when `npm ci` creates node_modules.
    let dist = Path::new("web/node_modules/leaflet/dist");
    if dist.is_dir() {
        println!("cargo:rerun-if-changed=web/node_modules/leaflet/dist");
        println!("cargo:rerun-if-changed=web/node_modules/leaflet/package.json");
    } else {
        println!("cargo:rerun-if-changed=web");
    }
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let js = dist.join("leaflet.js");
    let css = dist.join("leaflet.css");
    // Paths are spelled from CARGO_MANIFEST_DIR when the crate compiles, not written out here,
    // so a build directory shared between two checkouts never points into the other one.
    let code = match (js.is_file(), css.is_file()) {
        (true, true) => {
            let version = std::fs::read_to_string("web/node_modules/leaflet/package.json")
                .ok()
                .and_then(|text| version_of(&text))
                .unwrap_or_else(|| "unknown".into());
            format!(
                "/// Leaflet, as installed from npm into `web/node_modules`.\n\
                 pub(crate) static LEAFLET: Option<Vendor> = Some(Vendor {{\n    \
                 version: {version:?},\n    \
                 js: include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/web/node_modules/leaflet/dist/leaflet.js\")),\n    \
                 css: include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/web/node_modules/leaflet/dist/leaflet.css\")),\n}});\n"
            )
        }
        _ => "/// Leaflet was not installed (run `npm ci` in web/): the page has no map.\n\
              pub(crate) static LEAFLET: Option<Vendor> = None;\n"
            .to_string(),
    };
    write(&Path::new(&out_dir).join("web_vendor.rs"), &code);
    write(&Path::new(&out_dir).join("docs_vendor.rs"), &docs_ui());
}

/// The Swagger UI files, when `npm ci` installed them in `web/node_modules`.
fn docs_ui() -> String {
    let dist = Path::new("web/node_modules/swagger-ui-dist");
    let files = ["swagger-ui-bundle.js", "swagger-ui.css", "package.json"];
    if files.iter().all(|f| dist.join(f).is_file()) {
        for f in files {
            println!("cargo:rerun-if-changed=web/node_modules/swagger-ui-dist/{f}");
        }
    } else {
        println!("cargo:rerun-if-changed=web");
        return "/// Swagger UI was not installed (run `npm ci` in web/): `/docs` says so.\n\
                pub(crate) static SWAGGER_UI: Option<Vendor> = None;\n"
            .to_string();
    }
    let version = std::fs::read_to_string(dist.join("package.json"))
        .ok()
        .and_then(|text| version_of(&text))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "/// Swagger UI, as installed from npm into `web/node_modules`.\n\
         pub(crate) static SWAGGER_UI: Option<Vendor> = Some(Vendor {{\n    \
         version: {version:?},\n    \
         js: include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/web/node_modules/swagger-ui-dist/swagger-ui-bundle.js\")),\n    \
         css: include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/web/node_modules/swagger-ui-dist/swagger-ui.css\")),\n}});\n"
    )
}

fn write(target: &Path, code: &str) {
    if let Err(e) = std::fs::write(target, code) {
        // A build script reports failure by panicking; the message names the file.
        #[expect(clippy::panic, reason = "a build script fails by panicking")]
        {
            panic!("cannot write {}: {e}", target.display());
        }
    }
}

/// The `"version"` of a package.json, read without a JSON parser (build scripts here have no
/// dependencies).
fn version_of(package_json: &str) -> Option<String> {
    let at = package_json.find("\"version\"")?;
    let rest = &package_json[at + "\"version\"".len()..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_string())
}
