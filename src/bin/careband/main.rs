//! The `careband` command line: thin wiring over the library.
//!
//! Exit codes: 0 answered; 1 not found or outside coverage; 2 bad input or any other error.
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use careband::data::load::{DataSource, load};
use careband::engine::answer::Answer;
use careband::engine::dataset::Dataset;
use careband::engine::lookup::lookup;
use careband::engine::query::{Given, Query, QueryError, read};

mod batch;
mod cleanup;
mod healthcheck;
mod render;
mod serve;

/// Home-care price bands, zones and providers for any postcode or point, with the evidence.
#[derive(Parser)]
#[command(
    name = "careband",
    version,
    about,
    after_help = "Exit codes:\n  0  answered\n  1  not found, or outside every scheme's coverage\n  2  bad input, or any other error"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DataArgs {
    /// Data directory laid out like geodata/ [default: the copy embedded in the binary].
    #[arg(long, env = "CAREBAND_DATA", global = true)]
    data: Option<PathBuf>,
}

impl DataArgs {
    fn source(&self) -> DataSource {
        self.data
            .clone()
            .map_or(DataSource::Embedded, DataSource::Dir)
    }

    fn load(&self) -> anyhow::Result<Dataset> {
        let source = self.source();
        load(&source).with_context(|| format!("cannot load the dataset ({source:?})"))
    }
}

#[derive(Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "the flags of `serve`, parsed once at start-up; boxing them buys nothing"
)]
enum Command {
    /// Band, rate and evidence for a postcode, a "lat,lon" point, a BNG point, or a place,
    /// road or address typed as free text.
    #[command(
        after_help = "Examples:\n  careband lookup NR1 1AA\n  careband lookup nr257pq --date 2018-06-01\n  careband lookup 52.6309,1.2974 --json\n  careband lookup --easting 624073 --northing 308352\n  careband lookup NR1   (summary of a postcode district)\n  careband lookup Hethersett\n  careband lookup \"Ollands Road, Reepham\"\n  careband lookup \"12 Mill Road, Aylsham\" --config careband.toml   (with a [geocoder])\n\nExit codes: 0 answered; 1 not found or outside coverage; 2 bad input or error."
    )]
    Lookup {
        /// A postcode (any case and spacing; a district `NR1` or sector `NR1 1` gives a
        /// summary), a WGS84 point as "lat,lon", or free text: a place, "road, town" or an
        /// address (a postcode in it wins).
        #[arg(num_args = 0.., value_name = "POSTCODE | LAT,LON | TEXT")]
        query: Vec<String>,
        /// BNG easting in metres (with --northing) instead of a query.
        #[arg(long, requires = "northing", conflicts_with = "query")]
        easting: Option<f64>,
        /// BNG northing in metres (with --easting).
        #[arg(long, requires = "easting")]
        northing: Option<f64>,
        /// Date the answer is for (rates and open surgeries on that day) [default: today].
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_date_arg)]
        date: Option<NaiveDate>,
        /// Print the full answer as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
        /// TOML settings file as for `serve`; lookup reads only its [geocoder] table.
        #[arg(long, env = "CAREBAND_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        geocoder: serve::GeocoderArgs,
    },
    /// List the loaded schemes with their layers, versions and rate periods.
    Schemes {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Check schemes before use: rules, provider references, date ranges, rates, every
    /// geometry, and gaps or overlaps of zone / PCN / locality layers inside the region.
    #[command(
        after_help = "Examples:\n  careband validate                  (every scheme of the data)\n  careband validate bristol          (one scheme by id)\n  careband validate draft.toml --data mydata   (a draft file against a data folder)\n\nExit codes: 0 no errors (warnings allowed); 2 at least one error."
    )]
    Validate {
        /// A scheme id, or a path to a scheme `.toml` file [default: every scheme].
        scheme: Option<String>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Serve the HTTP API (JSON) on 127.0.0.1:8080; see GET /openapi.json.
    Serve(serve::ServeArgs),
    /// Ask a running server's /healthz (or /readyz) and exit 0 when it answers 200: a
    /// container's health check without an HTTP client.
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Answer every row of a CSV or .xlsx file of postcodes, points or addresses (CSV out).
    Batch(batch::BatchArgs),
    /// Build geodata/ from the open data files (for maintainers; see geodata/README.md).
    Import {
        /// Folder holding the NHS / ONS / OS open data files.
        #[arg(long, default_value = "../shared/opendata")]
        opendata: PathBuf,
        /// Folder to write the compact dataset into.
        #[arg(long, default_value = "geodata")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("careband: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    // serde_json keeps the I/O error inside and reports only its kind.
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// `--date`, read by the library's one date reader (exactly `YYYY-MM-DD`, in its range).
fn parse_date_arg(text: &str) -> Result<NaiveDate, String> {
    careband::engine::date::parse_date(text).map_err(|e| e.to_string())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lookup {
            query,
            easting,
            northing,
            date,
            json,
            data,
            config,
            geocoder,
        } => {
            let file = match &config {
                Some(path) => careband::server::config::ServeConfig::from_file(path)?.geocoder,
                None => None,
            };
            let geocoder = serve::build_geocoder(geocoder.merge(file)?.as_ref())?;
            let text = query.join(" ");
            let given = match (easting, northing) {
                (Some(easting), Some(northing)) => Given::EastingNorthing { easting, northing },
                _ if query.is_empty() => {
                    anyhow::bail!(
                        "give a postcode, a \"lat,lon\" point, or --easting and --northing"
                    )
                }
                _ => Given::Text(&text),
            };
            let q = match read(given) {
                Ok(reading) => reading.query,
                Err(e) => return refuse(&e, json),
            };
            let ds = data.load()?;
            let date = date.unwrap_or_else(today);
            let mut result = lookup(&ds, &q, date);
            if let (Some(g), Query::Text(text)) = (&geocoder, &q) {
                g.set_coverage(&ds);
                // One lookup: a single-threaded runtime for the one request (and its retries).
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start the runtime for the external geocoder")?;
                result = rt.block_on(careband::geocoder::refine(&ds, g, text, result, date));
            }
            let out = &mut std::io::stdout().lock();
            match result {
                Ok(answer) => {
                    let covered = match &answer {
                        Answer::Point(p) => p.resolution.covered,
                        Answer::Area(a) => a.outside_coverage < a.postcodes,
                        Answer::Places(p) => p.candidates.iter().any(|c| c.resolution.covered),
                    };
                    if json {
                        serde_json::to_writer_pretty(&mut *out, &answer)?;
                        writeln!(out)?;
                    } else {
                        render::answer(out, &answer)?;
                    }
                    Ok(if covered {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    })
                }
                Err(e) => {
                    if json {
                        serde_json::to_writer_pretty(&mut *out, &render::error_json(&e))?;
                        writeln!(out)?;
                    }
                    eprintln!("careband: {e}");
                    Ok(ExitCode::from(if e.is_not_found() { 1 } else { 2 }))
                }
            }
        }
        Command::Schemes { json, data } => {
            let ds = data.load()?;
            let out = &mut std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut *out, &render::schemes_json(&ds))?;
                writeln!(out)?;
            } else {
                render::schemes(out, &ds)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { scheme, json, data } => validate(scheme, json, &data),
        Command::Serve(args) => serve::run(args),
        Command::Batch(args) => batch::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Import { opendata, out } => {
            let report = careband::data::import::run(&careband::data::import::ImportOptions {
                opendata,
                out,
            })
            .context("import failed")?;
            for line in report.lines {
                eprintln!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(scheme: Option<String>, json: bool, data: &DataArgs) -> anyhow::Result<ExitCode> {
    use careband::data::load::ValidateTarget;
    let target = match scheme {
        None => ValidateTarget::All,
        Some(s)
            if std::path::Path::new(&s)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
                || s.contains('/') =>
        {
            ValidateTarget::File {
                text: std::fs::read(&s).with_context(|| format!("cannot read {s}"))?,
                label: s,
            }
        }
        Some(id) => ValidateTarget::Id(id),
    };
    let reports = careband::data::load::validate(&data.source(), &target)?;
    let out = &mut std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut *out, &reports)?;
        writeln!(out)?;
    } else {
        for r in &reports {
            let errors = r
                .findings
                .iter()
                .filter(|f| f.severity == careband::engine::validate::Severity::Error)
                .count();
            let warnings = r.findings.len() - errors;
            writeln!(
                out,
                "{} ({}): {}",
                r.scheme,
                r.file,
                if r.findings.is_empty() {
                    "OK".to_string()
                } else {
                    format!("{errors} error(s), {warnings} warning(s)")
                }
            )?;
            for f in &r.findings {
                writeln!(out, "  {f}")?;
            }
        }
    }
    Ok(
        if reports
            .iter()
            .any(careband::engine::validate::Report::has_errors)
        {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// An input that cannot be read as a query: the message (with the correction, if any) on
/// stderr, the API's error body on stdout with `--json`, and exit 2.
fn refuse(e: &QueryError, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let detail = careband::server::ApiError::from_query(e, "query").detail();
        let out = &mut std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "error": detail }))?;
        writeln!(out)?;
    }
    eprintln!("careband: {e}");
    Ok(ExitCode::from(2))
}
