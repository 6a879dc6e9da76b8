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

/// Nominatim's answer for 14 Mill Road, Aylsham: the position of NR11 6DU.
fn nominatim_house() -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!([{
        "lat": "52.793314", "lon": "1.249363", "place_rank": 30, "addresstype": "building",
        "display_name": "14, Mill Road, Aylsham, Broadland, Norfolk, England, NR11 6DU, United Kingdom",
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright"
    }]))
}

#[tokio::test(flavor = "multi_thread")]
async fn lookup_answers_from_a_configured_geocoder_and_labels_it() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/search"))
        .and(query_param("q", "14 Mill Road"))
        .respond_with(nominatim_house())
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

#[tokio::test(flavor = "multi_thread")]
async fn batch_sends_addresses_to_a_configured_geocoder_up_to_the_row_limit() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(nominatim_house())
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "address\n14 Mill Road\n12 Mill Road\n").unwrap();
    let output = dir.path().join("out.csv");
    let uri = server.uri();
    let (args_in, args_out) = (input.display().to_string(), output.display().to_string());
    let (_, err, code) = tokio::task::spawn_blocking(move || {
        text(careband(&[
            "batch",
            &args_in,
            "-o",
            &args_out,
            "--threads",
            "1",
            "--geocoder",
            "nominatim",
            "--geocoder-url",
            &uri,
            "--geocoder-batch-rows",
            "1",
            "--date",
            "2019-06-01",
        ]))
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("external geocoder: 1 row answered at the point it gave"),
        "{err}"
    );
    let out = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with("14 Mill Road,answered,") && lines[1].contains("(geocoder:nominatim)"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("12 Mill Road,bad_input,")
            && lines[2].contains("external geocoder not asked"),
        "{out}"
    );
    // A row limit with no geocoder is a mistake, said so.
    let (_, err, code) = text(careband(&[
        "batch",
        &input.display().to_string(),
        "--geocoder-batch-rows",
        "5",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--geocoder-batch-rows was given without a geocoder"),
        "{err}"
    );
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

/// `careband lookup` with `input` on its standard input.
fn careband_stdin(args: &[&str], input: &[u8]) -> (String, String, i32) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_careband"))
        .args(args)
        .env_remove("CAREBAND_DATA")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread, so that a large input cannot block on a full output pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// The `query` of each JSON line.
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn two_postcodes_typed_unquoted_are_two_answers_each_headed() {
    // NR1 1AA is Band 1 and NR25 7PQ Band 2 on 2019-06-01 (the single-query tests above).
    let (out, err, code) = text(careband(&[
        "lookup",
        "NR1",
        "1AA",
        "NR25",
        "7PQ",
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0, "{err}");
    let first = out.find("== NR1 1AA ==").expect(&out);
    let second = out.find("== NR25 7PQ ==").expect(&out);
    assert!(first < second, "{out}");
    assert!(out[first..second].contains("Band 1"), "{out}");
    assert!(out[second..].contains("Band 2"), "{out}");
    let (out, err, code) = text(careband(&[
        "lookup",
        "NR1 1AA",
        "nr257pq",
        "--json",
        "--date",
        "2019-06-01",
    ]));
    assert_eq!(code, 0, "{err}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["query"], "NR1 1AA");
    assert_eq!(lines[1]["query"], "NR25 7PQ");
    assert_eq!(
        lines[1]["resolution"]["schemes"][0]["banding"]["band"]["number"],
        2
    );
}

#[test]
fn words_that_are_no_postcode_stay_one_query() {
    for args in [
        &["Church", "Lane", "Reepham"][..],
        &["Ollands Road, Reepham"][..],
    ] {
        let mut all = vec!["lookup"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--json", "--date", "2019-06-01"]);
        let (out, err, code) = text(careband(&all));
        assert_eq!(code, 0, "{args:?}: {err}");
        // One pretty-printed answer: the whole output is one JSON value.
        let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
        assert_eq!(v["kind"], "places", "{args:?}");
        assert!(!out.contains("=="), "{out}");
    }
}

#[test]
fn the_exit_code_of_several_queries_is_the_worst_answer() {
    // Answered and not found: 1.
    let (out, err, code) = text(careband(&["lookup", "NR1 1AA", "NR1 1XX"]));
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("== NR1 1XX ==\nnot answered: "), "{out}");
    assert!(err.contains("careband: NR1 1XX: "), "{err}");
    // And bad input: 2, each refused with its message, the others still answered.
    let (out, err, code) = text(careband(&[
        "lookup", "NR1 1XX", "NR1 1AA", "NR1-1AA", "--json",
    ]));
    assert_eq!(code, 2, "{err}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0]["error"]["code"], "postcode_not_found");
    assert_eq!(lines[0]["query"], "NR1 1XX");
    assert_eq!(lines[1]["kind"], "point");
    assert_eq!(lines[2]["query"], "NR1-1AA");
    assert!(err.contains("did you mean NR1 1AA?"), "{err}");
    // All answered: 0 (the first answer of a point outside coverage would make it 1).
    let (_, err, code) = text(careband(&["lookup", "NR1 1AA", "BS1 5TR"]));
    assert_eq!(code, 0, "{err}");
    let (_, _, code) = text(careband(&["lookup", "NR1 1AA", "51.5072,-0.1276"]));
    assert_eq!(code, 1);
}

#[test]
fn lookup_dash_answers_each_line_of_standard_input() {
    let long = "x".repeat(1025);
    let input = format!("NR1 1AA\n\n{long}\r\nHethersett\r\nNR1 1XX\n");
    let mut bytes = input.into_bytes();
    // A byte that is not UTF-8 on the last line.
    bytes.extend_from_slice(b"\xff\xfe\n");
    let (out, err, code) =
        careband_stdin(&["lookup", "-", "--json", "--date", "2019-06-01"], &bytes);
    assert_eq!(code, 2, "{err}");
    let lines = json_lines(&out);
    // The blank line is skipped; every other line has its answer or refusal, in order.
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0]["query"], "NR1 1AA");
    assert_eq!(lines[1]["query"], "line 3");
    assert_eq!(lines[1]["error"]["code"], "too_long");
    assert_eq!(lines[2]["kind"], "places");
    assert_eq!(lines[3]["error"]["code"], "postcode_not_found");
    assert_eq!(lines[4]["query"], "line 6");
    assert_eq!(lines[4]["error"]["code"], "bad_input");
    assert!(
        err.contains("line 3: the line is longer than 1024 bytes"),
        "{err}"
    );
    // Text output: each answer under its heading; `-` must be the only query.
    let (out, _, code) = careband_stdin(&["lookup", "-"], b"NR1 1AA\nBS1 5TR\n");
    assert_eq!(code, 0);
    assert!(
        out.contains("== NR1 1AA ==") && out.contains("== BS1 5TR =="),
        "{out}"
    );
    let (_, err, code) = careband_stdin(&["lookup", "-", "NR1 1AA"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("give it alone"), "{err}");
}

#[test]
fn a_long_standard_input_streams_line_by_line() {
    // 20,000 lines (160 kB), more than a pipe holds: the answers come out as the lines go in.
    let input = "NR1 1AA\n".repeat(20_000);
    let (out, err, code) = careband_stdin(
        &["lookup", "-", "--json", "--date", "2019-06-01"],
        input.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 20_000);
}

#[test]
fn completions_and_the_manual_page_name_the_subcommands() {
    let (out, _, code) = text(careband(&["completions", "bash"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("lookup") && out.contains("complete -F"),
        "{out}"
    );
    let (out, _, code) = text(careband(&["completions", "tcsh"]));
    assert_eq!(code, 2, "{out}");
    let (man, _, code) = text(careband(&["man"]));
    assert_eq!(code, 0);
    // roff: a title request for section 1, then sections; each subcommand named.
    assert!(man.contains(".TH careband 1"), "{man}");
    assert!(
        man.contains("\n.SH NAME\n") && man.contains("\n.SH SUBCOMMANDS\n"),
        "{man}"
    );
    for sub in [
        "lookup",
        "schemes",
        "validate",
        "serve",
        "batch",
        "completions",
        "man",
    ] {
        assert!(
            man.contains(&format!("careband\\-{sub}(1)")),
            "{sub} in\n{man}"
        );
    }
    // Every line is text or a request or macro starting with `.` or `'`: no stray bytes.
    assert!(man.lines().all(|l| !l.contains('\u{0}')), "{man}");
    if let Ok(o) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().unwrap().write_all(man.as_bytes())?;
            c.wait_with_output()
        })
    {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            o.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn version_names_the_binary_and_the_embedded_dataset() {
    // The versions read here from the files themselves, not through careband's loader.
    let geodata = crate::common::fixtures::geodata();
    let value = |text: &str, key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string()
    };
    let manifest = std::fs::read_to_string(geodata.join("manifest.toml")).unwrap();
    let bristol = std::fs::read_to_string(geodata.join("schemes/bristol.toml")).unwrap();
    let norfolk = std::fs::read_to_string(geodata.join("schemes/norfolk.toml")).unwrap();
    let expected = format!(
        "careband {} (dataset {}, schemes bristol {}, norfolk {})\n",
        env!("CARGO_PKG_VERSION"),
        value(&manifest, "version"),
        value(&bristol, "version"),
        value(&norfolk, "version"),
    );
    let (out, _, code) = text(careband(&["--version"]));
    assert_eq!(code, 0);
    assert_eq!(out, expected);
}
