//! The `careband` command line: thin wiring over the library.
//!
//! Exit codes: 0 answered; 1 not found or outside coverage; 2 bad input or any other error.
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use careband::data::load::{DataSource, load};
use careband::engine::dataset::Dataset;
use careband::engine::query::Given;

mod batch;
mod cleanup;
mod healthcheck;
mod lookup;
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
enum Command {
    /// Band, rate and evidence for a postcode, a "lat,lon" point, a BNG point, or a place,
    /// road or address typed as free text.
    #[command(
        after_help = "Several queries: an argument that is a full postcode or a point is a query of its own, and so is an outward code followed by an inward code (NR1 1AA unquoted); the other arguments, between those, are joined into one free-text query. So `careband lookup NR1 1AA NR25 7PQ` answers two postcodes and `careband lookup Church Lane Reepham` one road. Quote an address to keep its postcode with it. `careband lookup -` reads one query a line from standard input (blank lines skipped; a line over 1024 bytes is refused on its own). Several answers are printed each under a `== query ==` heading, or with --json as JSON lines (one object a line).\n\nExamples:\n  careband lookup NR1 1AA\n  careband lookup nr257pq --date 2018-06-01\n  careband lookup 52.6309,1.2974 --json\n  careband lookup --easting 624073 --northing 308352\n  careband lookup NR1   (summary of a postcode district)\n  careband lookup Hethersett\n  careband lookup \"Ollands Road, Reepham\"\n  careband lookup NR1 1AA NR25 7PQ BS1 5TR   (three answers)\n  careband lookup - --json < postcodes.txt   (JSON lines)\n  careband lookup \"12 Mill Road, Aylsham\" --config careband.toml   (with a [geocoder])\n\nExit codes (the worst of the answers): 0 all answered; 1 some not found or outside coverage; 2 some bad input, or an error."
    )]
    Lookup {
        /// Postcodes (any case and spacing; a district `NR1` or sector `NR1 1` gives a
        /// summary), WGS84 points as "lat,lon", or free text: a place, "road, town" or an
        /// address (a postcode in it wins); `-` reads them from standard input, one a line.
        #[arg(num_args = 0.., value_name = "POSTCODE | LAT,LON | TEXT | -")]
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to standard output.
    #[command(
        after_help = "Example:\n  careband completions bash > /etc/bash_completion.d/careband"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output.
    #[command(after_help = "Example:\n  careband man > careband.1 && man ./careband.1")]
    Man,
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
    let mut command = Cli::command();
    // Only `--version` reads the dataset's versions (from the embedded manifest and scheme
    // files, without loading the data).
    if std::env::args_os().any(|a| a == "--version" || a == "-V") {
        command = command.version(long_version());
    }
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("careband: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `0.1.0 (dataset 2025.10-1, schemes bristol 2019.1-illustrative, norfolk 2019.2)`: the
/// binary's version and the embedded dataset's.
fn long_version() -> &'static str {
    let binary = env!("CARGO_PKG_VERSION");
    let text = match careband::data::load::versions(&DataSource::Embedded) {
        Ok(v) => {
            let schemes: Vec<String> = v
                .schemes
                .iter()
                .map(|(id, version)| format!("{id} {version}"))
                .collect();
            format!(
                "{binary} (dataset {}, schemes {})",
                v.dataset,
                schemes.join(", ")
            )
        }
        Err(e) => format!("{binary} (embedded dataset unreadable: {e})"),
    };
    // Printed once, just before the process exits.
    Box::leak(text.into_boxed_str())
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
            let settings = serve::geocoder_settings(config.as_deref(), geocoder)?;
            let geocoder = serve::build_geocoder(settings.as_ref())?;
            let date = date.unwrap_or_else(today);
            let out = &mut std::io::stdout().lock();
            if let (Some(easting), Some(northing)) = (easting, northing) {
                let mut session = lookup::Session::new(data, date, geocoder, json, false);
                let label = format!("E {easting} N {northing}");
                session.given(out, &label, Given::EastingNorthing { easting, northing })?;
                return Ok(session.exit_code());
            }
            if query.iter().any(|q| q == "-") {
                if query.len() > 1 {
                    anyhow::bail!(
                        "`-` reads the queries from standard input, one a line: give it alone"
                    );
                }
                let mut session = lookup::Session::new(data, date, geocoder, json, true);
                session.lines(&mut std::io::stdin().lock(), out)?;
                return Ok(session.exit_code());
            }
            let queries = lookup::split(&query);
            if queries.is_empty() {
                anyhow::bail!(
                    "give a postcode, a \"lat,lon\" point, a place or address, `-` to read \
                     them from standard input, or --easting and --northing"
                );
            }
            let mut session = lookup::Session::new(data, date, geocoder, json, queries.len() > 1);
            for q in &queries {
                session.text(out, q)?;
            }
            Ok(session.exit_code())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "careband",
                &mut std::io::stdout().lock(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout().lock())
                .context("cannot write the manual page")?;
            Ok(ExitCode::SUCCESS)
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
