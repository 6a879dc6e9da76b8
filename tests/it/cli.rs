//! The built `careband` binary: output, JSON and exit codes (0 answered, 1 not found or
//! outside coverage, 2 bad input or error).

use crate::common::cli::{Run, careband};
use crate::common::fixtures::geodata_copy;

/// What a run printed and its exit code, to take apart in one `let`.
fn text(o: Run) -> (String, String, i32) {
    (o.stdout, o.stderr, o.code)
}

#[test]
fn a_norfolk_postcode_gets_band_rate_surgery_distance_and_margin() {
    let (out, err, code) = text(careband(&["lookup", "NR1", "1AA", "--date", "2019-06-01"]));
    assert_eq!(code, 0, "{err}");
    for needle in [
        "NR1 1AA",
        "Band 1",
        "GBP 18.24/hour",
        "Y02751",
        "0.45 miles",
        "margin",
        "2025.10-1",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn the_2018_date_gives_the_2018_19_rate() {
    let (out, _, code) = text(careband(&["lookup", "nr11aa", "--date", "2018-06-01"]));
    assert_eq!(code, 0);
    assert!(out.contains("GBP 17.40/hour"), "{out}");
}

#[test]
fn json_output_is_the_full_answer() {
    let (out, _, code) = text(careband(&[
        "lookup",
        "NR25 7PQ",
        "--json",
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "point");
    let s = &v["resolution"]["schemes"][0];
    assert_eq!(s["scheme"], "norfolk");
    assert_eq!(s["banding"]["band"]["number"], 2);
    assert_eq!(s["banding"]["nearest_centre"]["code"], "D82001");
    assert_eq!(s["rate"]["hourly"], 19.68);
    assert_eq!(v["resolution"]["dataset_version"], "2025.10-1");
}

#[test]
fn a_lat_lon_point_and_a_bng_point_are_answered() {
    let (out, _, code) = text(careband(&[
        "lookup",
        "52.6266,1.3093",
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Band 1"));
    let (out, _, code) = text(careband(&[
        "lookup",
        "--easting",
        "624073",
        "--northing",
        "308352",
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Y02751"), "{out}");
}

#[test]
fn garbage_is_bad_input_with_exit_code_2() {
    let (out, err, code) = text(careband(&["lookup", "NR1!1AA"]));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("cannot appear in a UK postcode"), "{err}");
    // A hyphen where the space belongs is refused with the postcode suggested (issue 12).
    let (_, err, code) = text(careband(&["lookup", "NR1-1AA"]));
    assert_eq!(code, 2);
    assert!(err.contains("did you mean NR1 1AA?"), "{err}");
    let (_, err, code) = text(careband(&["lookup", "91,1"]));
    assert_eq!(code, 2);
    assert!(err.contains("lat"), "{err}");
}

#[test]
fn an_unknown_postcode_is_not_found_with_suggestions_and_exit_code_1() {
    let (_, err, code) = text(careband(&["lookup", "NR1 1XX"]));
    assert_eq!(code, 1);
    assert!(err.contains("not found; did you mean NR1 1"), "{err}");
    let (out, _, code) = text(careband(&["lookup", "NR1 1XX", "--json"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["code"], "postcode_not_found");
    assert!(
        v["error"]["suggestions"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

#[test]
fn a_place_or_road_typed_as_text_gets_its_band_and_precision() {
    let (out, err, code) = text(careband(&["lookup", "Hethersett", "--date", "2019-06-01"]));
    assert_eq!(code, 0, "{err}");
    for needle in [
        "Hethersett (village, South Norfolk)",
        "Band 1",
        "OS Open Names point",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    let (out, err, code) = text(careband(&[
        "lookup",
        "Ollands Road, Reepham",
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1. Ollands Road, Reepham (road, Broadland)"),
        "{out}"
    );
    assert!(!out.contains("2. "), "one candidate only:\n{out}");
    let (out, _, code) = text(careband(&["lookup", "The Street, Ashwellthorpe", "--json"]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "places");
    assert_eq!(v["candidates"][0]["extent"]["spans_more_than_one"], true);
}

#[test]
fn unknown_text_is_not_found_with_exit_code_1() {
    let (out, err, code) = text(careband(&["lookup", "Qwxyzzy", "Zzkq"]));
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("no place or road called"), "{err}");
}

#[test]
fn a_point_outside_every_scheme_exits_1() {
    let (out, _, code) = text(careband(&["lookup", "51.5072,-0.1276"]));
    assert_eq!(code, 1);
    assert!(out.contains("OUTSIDE COVERAGE"), "{out}");
}

#[test]
fn a_district_gives_an_honest_summary() {
    let (out, _, code) = text(careband(&["lookup", "NR25", "--date", "2019-06-01"]));
    assert_eq!(code, 0);
    assert!(out.contains("postcode district"), "{out}");
    assert!(
        out.contains("give the full postcode") || out.contains("all "),
        "{out}"
    );
}

#[test]
fn a_corrupt_data_directory_is_refused_with_exit_code_2() {
    let (_dir, data) = geodata_copy();
    std::fs::write(data.join("centres/gp_practices.csv"), "code\n").unwrap();
    let (_, err, code) = text(careband(&[
        "lookup",
        "NR1 1AA",
        "--data",
        data.to_str().unwrap(),
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("checksum mismatch") && err.contains("gp_practices.csv"),
        "{err}"
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let (out, _, code) = text(careband(&["lookup", "--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"), "{out}");
}

#[test]
fn validate_passes_the_shipped_schemes() {
    let (out, err, code) = text(careband(&["validate"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("norfolk (schemes/norfolk.toml): OK"), "{out}");
    assert!(out.contains("bristol (schemes/bristol.toml)"), "{out}");
    assert!(!out.contains("error:"), "{out}");
}

#[test]
fn a_broken_scheme_fails_validate_and_is_refused_by_lookup() {
    let (_dir, data) = geodata_copy();
    let scheme = data.join("schemes/bristol.toml");
    let text_before = std::fs::read_to_string(&scheme).unwrap();
    std::fs::write(
        &scheme,
        text_before.replacen(
            r#"providers = ["network_care"]"#,
            r#"providers = ["nobody"]"#,
            1,
        ),
    )
    .unwrap();
    let data_arg = data.to_str().unwrap();
    let (out, _, code) = text(careband(&["validate", "bristol", "--data", data_arg]));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("schemes/bristol.toml") && out.contains("unknown provider \"nobody\""),
        "{out}"
    );
    let (_, err, code) = text(careband(&["lookup", "BS1 5TR", "--data", data_arg]));
    assert_eq!(code, 2);
    assert!(err.contains("unknown provider \"nobody\""), "{err}");
}

#[test]
fn lookup_shows_zone_pcn_and_providers_in_order() {
    let (out, err, code) = text(careband(&["lookup", "BS1 5TR", "--date", "2019-06-01"]));
    assert_eq!(code, 0, "{err}");
    let main = out.find("1. main       HSG").expect(&out);
    let secondary = out.find("2. secondary  Mears").expect(&out);
    let framework = out.find("3. framework").expect(&out);
    assert!(main < secondary && secondary < framework, "{out}");
    for needle in [
        "zone           Zone 7 (7)",
        "ILLUSTRATIVE",
        "night_zone",
        "pcn",
        "GBP 18.20/hour",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

/// A config file with a `[geocoder]` table, in its own temporary directory.
fn geocoder_config(table: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("careband.toml");
    std::fs::write(&path, format!("[geocoder]\n{table}")).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

#[test]
fn lookup_falls_back_to_the_gazetteer_with_a_note_when_the_geocoder_is_down() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (_dir, config) = geocoder_config(&format!(
        "kind = \"nominatim\"\nurl = \"http://127.0.0.1:{port}/\"\ntimeout_ms = 500\nretries = 0\n"
    ));
    let (out, err, code) = text(careband(&[
        "lookup",
        "14 Mill Road",
        "--config",
        &config,
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("note: external geocoder unavailable (cannot connect to the service): answered from the offline gazetteer"),
        "{out}"
    );
    // --no-geocoder turns the file's geocoder off.
    let (out, _, _) = text(careband(&[
        "lookup",
        "14 Mill Road",
        "--config",
        &config,
        "--no-geocoder",
    ]));
    assert!(!out.contains("geocoder"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_answers_from_a_configured_geocoder_and_labels_it() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search"))
        .and(query_param("q", "14 Mill Road"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([{
            "lat": "52.793314", "lon": "1.249363", "place_rank": 30, "addresstype": "building",
            "display_name": "14, Mill Road, Aylsham, Broadland, Norfolk, England, NR11 6DU, United Kingdom",
            "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    let (out, err, code) = tokio::task::spawn_blocking(move || {
        text(careband(&[
            "lookup",
            "14 Mill Road",
            "--geocoder",
            "nominatim",
            "--geocoder-url",
            &uri,
            "--date",
            "2019-06-01",
        ]))
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    for needle in [
        "answered by geocoder:nominatim: 14, Mill Road, Aylsham",
        "attribution: Data © OpenStreetMap contributors",
        "Band 1",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
}

#[test]
fn a_geocoder_key_variable_that_is_not_set_is_named() {
    let (_dir, config) = geocoder_config(
        "kind = \"os-places\"\nurl = \"https://places.example/\"\nkey_env = \"CAREBAND_TEST_KEY_NOT_SET\"\n",
    );
    let (_, err, code) = text(careband(&["lookup", "14 Mill Road", "--config", &config]));
    assert_eq!(code, 2);
    assert!(
        err.contains("environment variable CAREBAND_TEST_KEY_NOT_SET is not set"),
        "{err}"
    );
}

/// A reader that stops early (`careband lookup ... --json | head -2`) is not an error: the
/// run ends quietly with 0, as for the text output. The JSON answer for a 2026 date is longer
/// than a pipe's buffer, so the write fails with a broken pipe once the reader has gone.
#[test]
fn a_reader_that_stops_early_ends_the_run_quietly() {
    for extra in [&["--json"][..], &[][..]] {
        let mut args = vec!["lookup", "NR1 1AA", "--date", "2026-12-01"];
        args.extend_from_slice(extra);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_careband"))
            .args(&args)
            .env_remove("CAREBAND_DATA")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before anything is written
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}
