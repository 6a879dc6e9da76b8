//! `careband batch`: a CSV or Excel file in, every row answered, CSV or Excel out.
//!
//! The output is written to a temporary file beside the final one and renamed into place only
//! when the run succeeds, so a failed run never leaves a half-written file under the final
//! name. An existing output file is kept unless `--force` is given.

use std::fs::File;
use std::io::{BufWriter, IsTerminal as _, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use careband::batch::{
    self, BatchOptions, BlockingRefiner, ColumnNames, InputFormat, OutputFormat, Progress, Summary,
    XlsxLimits,
};

use crate::DataArgs;
use crate::cleanup::{self, Cleanup};
use crate::serve::{self, GeocoderArgs};

/// Output buffer size. The library writes rows in blocks larger than this, which then go
/// straight to the file without a copy; the buffer only gathers the header.
const OUTPUT_BUF: usize = 64 * 1024;

/// Input format choice on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// By file name: `.xlsx`/`.xlsm` are workbooks, anything else CSV.
    Auto,
    /// Delimited text.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// Arguments of `careband batch`.
#[derive(Args)]
#[command(
    after_help = "Lookup columns are found by header name (any case): postcode; lat + lon (or \
latitude + longitude); easting + northing; address (any column whose name starts with \
\"address\"; the postcode inside the text is used, and an address without one is looked up \
as a place or road, answered when one stands out and its answer is the same across its \
postcodes). A row uses the first of these that is filled in. Name them yourself with the \
--*-col options. The header is the first of the first 20 rows that has lookup columns (title \
rows above it are skipped), or the row --header-row names.\n\n\
Every input row gives one output row, in order: the input columns unchanged (but a cell a \
spreadsheet would run as a formula, starting with = + - @ tab or CR and not a number, gets a ' \
in front, in every column), then status, \
query_used, precision, band, rate, rate_kind, rate_currency, distance_miles, nearest_surgery_code, nearest_surgery_name, \
near_threshold, zone, pcn, locality, providers_main, providers_secondary, providers_framework, \
night_providers, illustrative, scheme, dataset_version, error.\n\n\
With -o NAME.xlsx the output is an Excel workbook (header row frozen, numbers as numbers, \
dates as dates); .csv, .tsv, .txt or no extension give CSV; other extensions are refused.\n\n\
Examples:\n  careband batch packages.csv -o answered.csv\n  careband batch packages.xlsx \
-o answered.xlsx --date 2019-04-08\n  careband batch referrals.xlsx --header-row 3 \
--date-column \"Referral date\" -o answered.xlsx\n  careband batch - --postcode-col \"Post code\" -o out.csv < in.csv\n\n\
Exit codes: 0 the run finished (bad rows are reported in the output, not by the exit code); \
2 the run failed (unreadable input, malformed file, unwritable output, standard output \
redirected to a file: use -o).\n\n\
With -o the output appears whole or not at all: a run stopped by Ctrl-C, SIGTERM or SIGHUP \
removes its temporary file, and one killed outright leaves a hidden .careband-batch-*.tmp \
file that the next run for the same output removes. A run stopped by a signal exits with \
128 + the signal's number (130 for Ctrl-C)."
)]
pub struct BatchArgs {
    /// Input file: CSV (comma, semicolon or tab, sniffed from the header line; UTF-8 with or
    /// without a byte order mark) or .xlsx; `-` reads CSV from standard input.
    input: PathBuf,
    /// Output file: `.xlsx` for an Excel workbook, else CSV [default: CSV on standard
    /// output].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Replace the output file (and the --summary-json file) if it exists.
    #[arg(long)]
    force: bool,
    /// Write for Excel: a UTF-8 byte order mark and CRLF line ends.
    #[arg(long)]
    excel: bool,
    /// Date every row is answered for (rates and open surgeries on that day) [default: today].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = crate::parse_date_arg)]
    date: Option<NaiveDate>,
    /// Input format.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    format: FormatArg,
    /// Worksheet of an .xlsx input [default: the first].
    #[arg(long)]
    sheet: Option<String>,
    /// Line (CSV) or sheet row (workbook) of the header, counting from 1 [default: the
    /// first of the first 20 rows that has lookup columns].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    header_row: Option<u64>,
    /// Column holding each row's own date (a referral or start date: YYYY-MM-DD,
    /// DD/MM/YYYY or a workbook date); rows with it empty use --date.
    #[arg(long, value_name = "NAME")]
    date_column: Option<String>,
    /// CSV delimiter: `,`, `;`, `tab` (or `\t`) or `|` [default: sniffed].
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Column holding the postcode.
    #[arg(long, value_name = "NAME")]
    postcode_col: Option<String>,
    /// Column holding the WGS84 latitude (with --lon-col).
    #[arg(long, value_name = "NAME")]
    lat_col: Option<String>,
    /// Column holding the WGS84 longitude (with --lat-col).
    #[arg(long, value_name = "NAME")]
    lon_col: Option<String>,
    /// Column holding the BNG easting in metres (with --northing-col).
    #[arg(long, value_name = "NAME")]
    easting_col: Option<String>,
    /// Column holding the BNG northing in metres (with --easting-col).
    #[arg(long, value_name = "NAME")]
    northing_col: Option<String>,
    /// Address column searched for a full postcode (repeat for several, joined in order).
    #[arg(long, value_name = "NAME")]
    address_col: Vec<String>,
    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,
    /// Largest an .xlsx input may be once expanded, in bytes: the sum of its parts' sizes,
    /// checked before it is read.
    #[arg(
        long,
        value_name = "BYTES",
        env = "CAREBAND_XLSX_MAX_BYTES",
        default_value_t = batch::XLSX_MAX_UNCOMPRESSED_BYTES
    )]
    xlsx_max_bytes: u64,
    /// Most shared strings (distinct texts) an .xlsx input may hold, checked before it is read.
    #[arg(
        long,
        value_name = "N",
        env = "CAREBAND_XLSX_MAX_SHARED_STRINGS",
        default_value_t = batch::XLSX_MAX_SHARED_STRINGS
    )]
    xlsx_max_shared_strings: u64,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    summary_json: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// TOML settings file as for `serve`; batch reads only its [geocoder] table.
    #[arg(long, env = "CAREBAND_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    geocoder: GeocoderArgs,
    /// Rows of this run sent to the external geocoder at most (addresses without a postcode
    /// that the offline gazetteer cannot settle); later ones are answered offline with a note
    /// [default: the config file's `geocoder.batch_rows`, else 0: none].
    #[arg(long, env = "CAREBAND_GEOCODER_BATCH_ROWS", value_name = "N")]
    geocoder_batch_rows: Option<u64>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    batch::delimiter_from_name(s).ok_or_else(|| format!("give one of {}", batch::DELIMITER_NAMES))
}

/// Runs `careband batch`.
#[expect(
    clippy::too_many_lines,
    reason = "the command's steps in order: check the paths, open, run, move the output into \
              place, summarise"
)]
pub fn run(args: BatchArgs) -> anyhow::Result<ExitCode> {
    let stdin_input = args.input.as_os_str() == "-";
    if args.output.is_none() && stdout_is_a_file() {
        bail!(
            "standard output is a file: a run stopped part way would leave rows there that \
             look complete; give -o FILE instead (written whole, or not at all)"
        );
    }
    for out in [&args.output, &args.summary_json].into_iter().flatten() {
        if out.exists() && !args.force {
            bail!(
                "{} exists: give --force to replace it, or choose another name",
                out.display()
            );
        }
    }
    if let Some(out) = &args.output
        && !stdin_input
        && same_file(&args.input, out)
    {
        bail!(
            "the output {} is the input: write the answers to another file",
            out.display()
        );
    }
    let output_format = match &args.output {
        Some(path) => OutputFormat::from_path(path)?,
        None => OutputFormat::Csv,
    };
    if output_format == OutputFormat::Xlsx && args.excel {
        bail!("--excel is for CSV output read by Excel; an .xlsx output needs no option");
    }
    let format = match args.format {
        FormatArg::Csv => InputFormat::Csv,
        FormatArg::Xlsx => InputFormat::Xlsx,
        FormatArg::Auto if stdin_input => InputFormat::Csv,
        FormatArg::Auto => InputFormat::from_path(&args.input),
    };
    let mut geocoding = serve::geocoder_settings(args.config.as_deref(), args.geocoder)?;
    if let (Some(g), Some(n)) = (&mut geocoding, args.geocoder_batch_rows) {
        g.batch_rows = n;
    } else if args.geocoder_batch_rows.is_some() {
        bail!("--geocoder-batch-rows was given without a geocoder (--geocoder and --geocoder-url)");
    }
    let geocoder = serve::build_geocoder(geocoding.as_ref())?;
    let mut opts = BatchOptions {
        columns: ColumnNames {
            postcode: args.postcode_col,
            lat: args.lat_col,
            lon: args.lon_col,
            easting: args.easting_col,
            northing: args.northing_col,
            address: args.address_col,
        },
        delimiter: args.delimiter,
        excel: args.excel,
        threads: args.threads,
        sheet: args.sheet,
        output: output_format,
        header_row: args.header_row,
        date_column: args.date_column,
        xlsx_limits: XlsxLimits {
            max_uncompressed_bytes: args.xlsx_max_bytes,
            max_shared_strings: args.xlsx_max_shared_strings,
        },
        ..BatchOptions::new(args.date.unwrap_or_else(crate::today))
    };

    // Before anything is read: what killed runs for these files left, and the files that
    // the output and the summary are written to, so an unwritable --summary-json fails the
    // run before it starts rather than after the output is in place.
    let cleanup = Cleanup::install()?;
    for path in [&args.output, &args.summary_json].into_iter().flatten() {
        cleanup::remove_stale(path);
    }
    let summary_tmp = args
        .summary_json
        .as_deref()
        .map(|p| cleanup::temp_for(p, &cleanup))
        .transpose()?;

    let (input_file, input_len) = if stdin_input {
        (None, None)
    } else {
        let f = File::open(&args.input)
            .with_context(|| format!("cannot open {}", args.input.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Some(f), len)
    };
    let ds = args.data.load()?;
    // The geocoder's requests run on a runtime of their own, driven by its one thread, while
    // the pool's threads wait for their rows' answers.
    let runtime = match &geocoder {
        Some(g) => {
            g.set_coverage(&ds);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .context("cannot start the runtime for the external geocoder")?;
            opts.refiner = Some(Arc::new(BlockingRefiner::new(
                Arc::clone(g),
                rt.handle().clone(),
            )));
            Some(rt)
        }
        None => None,
    };

    let bar = progress_bar(match format {
        InputFormat::Csv => input_len,
        InputFormat::Xlsx => None,
    });
    let started = Instant::now();
    let report = |p: Progress| {
        if let Some(bar) = &bar {
            #[expect(
                clippy::cast_precision_loss,
                reason = "a rate for display; row counts far below 2^52"
            )]
            let rate = p.rows as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{} rows, {:.0} rows/s", p.rows, rate));
            if input_len.is_some() && format == InputFormat::Csv {
                bar.set_position(p.input_bytes);
            } else {
                bar.set_position(p.rows);
            }
        }
    };

    let what = if stdin_input {
        "standard input".to_string()
    } else {
        args.input.display().to_string()
    };
    let summary = if let Some(path) = &args.output {
        let tmp = cleanup::temp_for(path, &cleanup)?;
        let mut out = BufWriter::with_capacity(OUTPUT_BUF, tmp.as_file());
        let summary = answer_rows(input_file, format, &mut out, &opts, &ds, &report)
            .with_context(|| format!("batch of {what} failed"))?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        drop(out);
        finish_output(tmp, path, args.force, &cleanup)?;
        summary
    } else {
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(OUTPUT_BUF, stdout.lock());
        let summary = answer_rows(input_file, format, &mut out, &opts, &ds, &report)
            .with_context(|| format!("batch of {what} failed"))?;
        out.flush().context("cannot write standard output")?;
        summary
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    drop(runtime);
    let elapsed = started.elapsed();
    print_summary(&summary, elapsed);
    if let (Some(path), Some(mut tmp)) = (&args.summary_json, summary_tmp) {
        let json = serde_json::to_vec_pretty(&summary)?;
        tmp.write_all(&[json.as_slice(), b"\n"].concat())
            .with_context(|| format!("cannot write {}", path.display()))?;
        finish_output(tmp, path, args.force, &cleanup)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the library on a file (workbooks seek, so they take the file) or standard input.
fn answer_rows(
    input: Option<File>,
    format: InputFormat,
    out: &mut impl Write,
    opts: &BatchOptions,
    ds: &careband::engine::dataset::Dataset,
    report: &dyn Fn(Progress),
) -> Result<Summary, batch::BatchError> {
    match (input, format) {
        (Some(f), InputFormat::Xlsx) => {
            batch::run_xlsx(std::io::BufReader::new(f), out, opts, ds, report)
        }
        (Some(f), InputFormat::Csv) => batch::run(f, format, out, opts, ds, report),
        (None, _) => batch::run(std::io::stdin().lock(), format, out, opts, ds, report),
    }
}

/// Renames the finished temporary file to its final name, with ordinary file permissions.
fn finish_output(
    tmp: tempfile::NamedTempFile,
    path: &Path,
    force: bool,
    cleanup: &Cleanup,
) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Temporary files are created private (0600); the answers are an ordinary file.
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o777);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the permissions of {}", path.display()))?;
    }
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    let tmp_path = tmp.path().to_path_buf();
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    if persisted.is_ok() {
        cleanup.forget(&tmp_path);
    }
    persisted
        .map(drop)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Whether standard output is a regular file (`> out.csv`), where a run stopped part way
/// leaves rows that look like a whole output.
#[cfg(unix)]
fn stdout_is_a_file() -> bool {
    use std::os::fd::AsFd as _;
    std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .and_then(|f| f.metadata())
        .is_ok_and(|m| m.file_type().is_file())
}

#[cfg(not(unix))]
fn stdout_is_a_file() -> bool {
    false
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A progress bar on standard error when it is a terminal: by bytes when the input size is
/// known (with an ETA), else a spinner counting rows.
fn progress_bar(input_len: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = if let Some(len) = input_len {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {percent:>3}% {msg}, ETA {eta}") {
            bar.set_style(style);
        }
        bar
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        bar
    };
    bar.set_message("0 rows");
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

fn print_summary(s: &Summary, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    #[expect(
        clippy::cast_precision_loss,
        reason = "a rate for display; row counts far below 2^52"
    )]
    let rate = s.rows as f64 / secs.max(1e-3);
    let mut lines = vec![
        format!(
            "careband batch: {} rows read in {secs:.2} s ({rate:.0} rows/s), answered for {} with dataset {}",
            s.rows, s.date, s.dataset_version
        ),
        format!("  {}", s.counts_line()),
        format!("  answered          {:>10}", s.answered),
        format!("  not found         {:>10}", s.not_found),
        format!("  outside coverage  {:>10}", s.outside_coverage),
        format!("  bad input         {:>10}", s.bad_input),
        format!("  blank             {:>10}", s.blank),
    ];
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !s.by_band.is_empty() {
        lines.push(format!("  by band: {}", list(&s.by_band)));
    }
    if !s.by_scheme.is_empty() {
        lines.push(format!("  by scheme: {}", list(&s.by_scheme)));
    }
    lines.push(format!("  columns used: {}", s.columns_used.join("; ")));
    if s.header_line > 1 {
        lines.push(format!(
            "  header at row {}: the {} row{} above it (titles, notes) {} not copied",
            s.header_line,
            s.header_line - 1,
            if s.header_line == 2 { "" } else { "s" },
            if s.header_line == 2 { "is" } else { "are" },
        ));
    }
    if s.geocoded > 0 {
        lines.push(format!(
            "  external geocoder: {} row{} answered at the point it gave",
            batch::thousands(s.geocoded),
            if s.geocoded == 1 { "" } else { "s" }
        ));
    }
    if let Some(line) = s.first_invalid_utf8_line {
        lines.push(format!(
            "  warning: {} rows are not valid UTF-8 (the first at line {line}); their bad bytes \
             are written as U+FFFD: save the file as CSV UTF-8",
            s.invalid_utf8_rows
        ));
    }
    eprintln!("{}", lines.join("\n"));
}
