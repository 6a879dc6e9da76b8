//! `careband serve`: the HTTP API.
//!
//! Settings: defaults, then the `--config` TOML file, then `CAREBAND_*` environment variables
//! and flags (a flag beats its variable). The dataset is loaded before the server listens; a
//! dataset that does not load stops the start with exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use anyhow::Context as _;
use clap::Args;

use careband::data::load::{DataSource, load};
use careband::geocoder::Geocoder;
use careband::server::config::{GeocoderConfig, GeocoderKind, LogFormat, ServeConfig, use_colour};
use careband::server::{self, AppState};

/// Flags of `careband serve`; each also reads a `CAREBAND_*` variable.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  careband serve\n  careband serve --listen 0.0.0.0:8080 --cors-origin https://council.example\n  CAREBAND_CONFIG=/etc/careband.toml careband serve\n\nThe HTTP API is described at GET /openapi.json."
)]
pub struct ServeArgs {
    /// TOML settings file (keys: `listen`, `data_dir`, `cors_origins`, `log_level`,
    /// `log_format`, `log_queries`, `admin_token`, `admin_listen`, `[limits]`, `[geocoder]`).
    #[arg(long, env = "CAREBAND_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "CAREBAND_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// Data directory laid out like geodata/ [default: the copy embedded in the binary].
    #[arg(long, env = "CAREBAND_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Origin allowed to call the API from a browser (repeat, or comma-separate); `*` allows
    /// any origin. Default: no cross-origin access.
    #[arg(
        long = "cors-origin",
        env = "CAREBAND_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    cors_origins: Vec<String>,
    /// Largest request body, bytes [default: 262144].
    #[arg(long, env = "CAREBAND_MAX_BODY_BYTES", value_name = "BYTES")]
    max_body_bytes: Option<usize>,
    /// Longest query string, bytes [default: 2048].
    #[arg(long, env = "CAREBAND_MAX_QUERY_BYTES", value_name = "BYTES")]
    max_query_bytes: Option<usize>,
    /// Time a client has to send its request headers, milliseconds [default: 5000].
    #[arg(long, env = "CAREBAND_CLIENT_REQUEST_TIMEOUT_MS", value_name = "MS")]
    client_request_timeout_ms: Option<u64>,
    /// Keep-alive of idle connections, seconds; 0 turns it off [default: 5].
    #[arg(long, env = "CAREBAND_KEEP_ALIVE_S", value_name = "SECONDS")]
    keep_alive_s: Option<u64>,
    /// Worker threads; 0 means one per CPU core [default: 0].
    #[arg(long, env = "CAREBAND_WORKERS", value_name = "N")]
    workers: Option<usize>,
    /// Longest pause between two pieces of a request body, milliseconds; then 408 and the
    /// connection is closed [default: 10000].
    #[arg(long, env = "CAREBAND_BODY_IDLE_TIMEOUT_MS", value_name = "MS")]
    body_idle_timeout_ms: Option<u64>,
    /// Time from the first read of a request's body by which all of it must have arrived,
    /// milliseconds; then 408 and the connection is closed [default: 120000].
    #[arg(long, env = "CAREBAND_REQUEST_DEADLINE_MS", value_name = "MS")]
    request_deadline_ms: Option<u64>,
    /// Open connections, all workers together (lowered to fit the open-file limit); more
    /// clients wait to be accepted [default: 4096].
    #[arg(long, env = "CAREBAND_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// Open connections from one client IP address; requests on more get 429. 0 turns the
    /// cap off (behind a reverse proxy) [default: 128].
    #[arg(long, env = "CAREBAND_MAX_CONNECTIONS_PER_IP", value_name = "N")]
    max_connections_per_ip: Option<usize>,
    /// Share of `max_connections`, percent, above which the server is under pressure: request
    /// bodies then get --pressure-body-timeout-ms and answers close their connections; 0 turns
    /// this off [default: 75].
    #[arg(long, env = "CAREBAND_PRESSURE_PERCENT", value_name = "PERCENT")]
    pressure_percent: Option<u64>,
    /// Under pressure, the time from a request body's first read by which all of it must have
    /// arrived, milliseconds; then 408 and the connection is closed [default: 1000].
    #[arg(long, env = "CAREBAND_PRESSURE_BODY_TIMEOUT_MS", value_name = "MS")]
    pressure_body_timeout_ms: Option<u64>,
    /// Slowest average rate of a request body once it has been read for
    /// --min-body-rate-grace-ms, bytes a second; slower: 408 and the connection is closed. 0
    /// turns the check off [default: 1024].
    #[arg(long, env = "CAREBAND_MIN_BODY_BYTES_PER_S", value_name = "BYTES")]
    min_body_bytes_per_s: Option<u64>,
    /// Time a request body is read before its average rate is checked, milliseconds
    /// [default: 10000].
    #[arg(long, env = "CAREBAND_MIN_BODY_RATE_GRACE_MS", value_name = "MS")]
    min_body_rate_grace_ms: Option<u64>,
    /// After SIGTERM, time requests in flight get to finish, seconds (SIGINT and Ctrl-C stop
    /// at once) [default: 30].
    #[arg(long, env = "CAREBAND_SHUTDOWN_TIMEOUT_S", value_name = "SECONDS")]
    shutdown_timeout_s: Option<u64>,
    /// Separate address for /admin/reload and /metrics (and the health routes); the public
    /// listener then answers 404 for them. Unset: they stay on the public listener,
    /// /admin/reload only when that is a loopback address.
    #[arg(long, env = "CAREBAND_ADMIN_LISTEN", value_name = "ADDR")]
    admin_listen: Option<String>,
    /// Threads of the pool for expensive work (batches, bulk lookups, area summaries, place
    /// searches, band drawings); 0 means one fewer than the CPU cores, at least 1 [default: 0].
    #[arg(long, env = "CAREBAND_POOL_THREADS", value_name = "N")]
    pool_threads: Option<usize>,
    /// Run the expensive-work threads at the lowest OS priority [default: true].
    #[arg(long, env = "CAREBAND_POOL_LOW_PRIORITY", value_name = "BOOL")]
    pool_low_priority: Option<bool>,
    /// Bulk, area-summary, place-search and band-drawing requests running or waiting at once;
    /// more get 503 [default: 16].
    #[arg(long, env = "CAREBAND_POOL_QUEUE", value_name = "N")]
    pool_queue: Option<usize>,
    /// Batch uploads answered at once [default: 2].
    #[arg(long, env = "CAREBAND_BATCH_CONCURRENCY", value_name = "N")]
    batch_concurrency: Option<usize>,
    /// Batch uploads waiting for a turn (bodies unread); more get 503 [default: 4].
    #[arg(long, env = "CAREBAND_BATCH_QUEUE", value_name = "N")]
    batch_queue: Option<usize>,
    /// Postcodes one request may resolve for area summaries and place searches [default:
    /// 50000].
    #[arg(long, env = "CAREBAND_WORK_BUDGET", value_name = "POSTCODES")]
    work_budget: Option<u64>,
    /// Retry-After of a 503 `queue_full`, seconds [default: 5].
    #[arg(long, env = "CAREBAND_RETRY_AFTER_S", value_name = "SECONDS")]
    retry_after_s: Option<u64>,
    /// Log filter, e.g. `info` or `careband=debug` [default: info].
    #[arg(long, env = "CAREBAND_LOG_LEVEL", value_name = "FILTER")]
    log_level: Option<String>,
    /// Log lines as `text` (key=value; coloured on a terminal unless `NO_COLOR` is set) or
    /// `json` (one object a line) [default: text].
    #[arg(long, env = "CAREBAND_LOG_FORMAT", value_name = "FORMAT")]
    log_format: Option<careband::server::config::LogFormat>,
    /// Log each lookup's postcode, address text or coordinates. For debugging only: a query is
    /// a person's address.
    #[arg(long, env = "CAREBAND_LOG_QUERIES")]
    log_queries: bool,
    /// Bearer token enabling POST /admin/reload (at least 16 characters). Prefer the
    /// environment variable or the config file over the flag, which other users can see.
    #[arg(
        long,
        env = "CAREBAND_ADMIN_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    #[command(flatten)]
    geocoder: GeocoderArgs,
}

/// Flags of the optional external geocoder, shared by `serve` and `lookup`; each also reads a
/// `CAREBAND_GEOCODER*` variable and overrides the config file's `[geocoder]` table.
#[derive(Args, Clone, Default)]
pub struct GeocoderArgs {
    /// External geocoder for addresses the offline gazetteer cannot settle: `nominatim` or
    /// `os-places` (with --geocoder-url). Off unless set here or in the config file.
    #[arg(long = "geocoder", env = "CAREBAND_GEOCODER", value_name = "KIND")]
    kind: Option<GeocoderKind>,
    /// Base URL of the external geocoder.
    #[arg(long, env = "CAREBAND_GEOCODER_URL", value_name = "URL")]
    geocoder_url: Option<String>,
    /// Name of the environment variable that holds the geocoder's API key (the key itself is
    /// never given as a flag).
    #[arg(long, env = "CAREBAND_GEOCODER_KEY_ENV", value_name = "VAR")]
    geocoder_key_env: Option<String>,
    /// Time one geocoder request may take, milliseconds [default: 2000].
    #[arg(long, env = "CAREBAND_GEOCODER_TIMEOUT_MS", value_name = "MS")]
    geocoder_timeout_ms: Option<u64>,
    /// Answer offline only, even if the config file sets up a geocoder.
    #[arg(long, conflicts_with_all = ["kind", "geocoder_url"])]
    no_geocoder: bool,
}

impl GeocoderArgs {
    /// The file's `[geocoder]` table (if any) with these flags laid over it.
    pub fn merge(self, file: Option<GeocoderConfig>) -> anyhow::Result<Option<GeocoderConfig>> {
        if self.no_geocoder {
            return Ok(None);
        }
        let mut g = match (file, self.kind, self.geocoder_url) {
            (Some(mut g), kind, url) => {
                if let Some(k) = kind {
                    g.kind = k;
                }
                if let Some(u) = url {
                    g.url = u;
                }
                g
            }
            (None, Some(kind), Some(url)) => GeocoderConfig::new(kind, url),
            (None, Some(_), None) => anyhow::bail!("--geocoder needs --geocoder-url"),
            (None, None, Some(_)) => anyhow::bail!("--geocoder-url needs --geocoder KIND"),
            (None, None, None) => {
                if self.geocoder_key_env.is_some() || self.geocoder_timeout_ms.is_some() {
                    anyhow::bail!(
                        "geocoder settings were given without --geocoder and --geocoder-url"
                    );
                }
                return Ok(None);
            }
        };
        if let Some(v) = self.geocoder_key_env {
            g.key_env = Some(v);
        }
        if let Some(v) = self.geocoder_timeout_ms {
            g.timeout_ms = v;
        }
        Ok(Some(g))
    }
}

/// The geocoder settings of `lookup` and `batch`: the config file's `[geocoder]` table (if a
/// file is named) with the flags laid over it.
pub fn geocoder_settings(
    config: Option<&std::path::Path>,
    args: GeocoderArgs,
) -> anyhow::Result<Option<GeocoderConfig>> {
    let file = match config {
        Some(path) => ServeConfig::from_file(path)?.geocoder,
        None => None,
    };
    args.merge(file)
}

/// The geocoder the settings describe, if any.
pub fn build_geocoder(config: Option<&GeocoderConfig>) -> anyhow::Result<Option<Arc<Geocoder>>> {
    config
        .map(|g| {
            Geocoder::from_config(g)
                .map(Arc::new)
                .context("cannot set up the external geocoder")
        })
        .transpose()
}

impl ServeArgs {
    /// The file's settings (or the defaults) with the flags and variables laid over them.
    fn settings(self) -> anyhow::Result<ServeConfig> {
        let mut c = match &self.config {
            Some(path) => ServeConfig::from_file(path)?,
            None => ServeConfig::default(),
        };
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = self.data {
            c.data_dir = Some(v);
        }
        if !self.cors_origins.is_empty() {
            c.cors_origins = self.cors_origins;
        }
        let l = &mut c.limits;
        l.max_body_bytes = self.max_body_bytes.unwrap_or(l.max_body_bytes);
        l.max_query_bytes = self.max_query_bytes.unwrap_or(l.max_query_bytes);
        l.client_request_timeout_ms = self
            .client_request_timeout_ms
            .unwrap_or(l.client_request_timeout_ms);
        l.keep_alive_s = self.keep_alive_s.unwrap_or(l.keep_alive_s);
        l.workers = self.workers.unwrap_or(l.workers);
        l.body_idle_timeout_ms = self.body_idle_timeout_ms.unwrap_or(l.body_idle_timeout_ms);
        l.request_deadline_ms = self.request_deadline_ms.unwrap_or(l.request_deadline_ms);
        l.max_connections = self.max_connections.unwrap_or(l.max_connections);
        l.max_connections_per_ip = self
            .max_connections_per_ip
            .unwrap_or(l.max_connections_per_ip);
        l.pressure_percent = self.pressure_percent.unwrap_or(l.pressure_percent);
        l.pressure_body_timeout_ms = self
            .pressure_body_timeout_ms
            .unwrap_or(l.pressure_body_timeout_ms);
        l.min_body_bytes_per_s = self.min_body_bytes_per_s.unwrap_or(l.min_body_bytes_per_s);
        l.min_body_rate_grace_ms = self
            .min_body_rate_grace_ms
            .unwrap_or(l.min_body_rate_grace_ms);
        l.shutdown_timeout_s = self.shutdown_timeout_s.unwrap_or(l.shutdown_timeout_s);
        if self.admin_listen.is_some() {
            c.admin_listen = self.admin_listen;
        }
        l.pool_threads = self.pool_threads.unwrap_or(l.pool_threads);
        l.pool_low_priority = self.pool_low_priority.unwrap_or(l.pool_low_priority);
        l.pool_queue = self.pool_queue.unwrap_or(l.pool_queue);
        l.batch_concurrency = self.batch_concurrency.unwrap_or(l.batch_concurrency);
        l.batch_queue = self.batch_queue.unwrap_or(l.batch_queue);
        l.work_budget = self.work_budget.unwrap_or(l.work_budget);
        l.retry_after_s = self.retry_after_s.unwrap_or(l.retry_after_s);
        if let Some(v) = self.log_level {
            c.log_level = v;
        }
        if let Some(v) = self.log_format {
            c.log_format = v;
        }
        c.log_queries |= self.log_queries;
        if self.admin_token.is_some() {
            c.admin_token = self.admin_token;
        }
        c.geocoder = self.geocoder.merge(c.geocoder.take())?;
        Ok(c)
    }
}

/// Runs the server until it is stopped (Ctrl-C or SIGTERM).
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.settings()?;
    let addr = config.check()?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log_level).with_context(|| {
                format!("log_level {:?} is not a valid filter", config.log_level)
            })?,
        )
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs
            .with_ansi(use_colour(
                std::env::var_os("NO_COLOR").as_deref(),
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
            ))
            .try_init(),
        LogFormat::Json => logs.json().with_ansi(false).try_init(),
    }
    .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    if config.log_queries {
        tracing::warn!("log_queries is on: postcodes, addresses and coordinates will be logged");
    }
    if config.admin_token.is_some() && config.admin_listen.is_none() && !config.admin_on_public() {
        tracing::warn!(
            "POST /admin/reload is off: the public listener is not on a loopback address; \
             set admin_listen to serve it on another address, or reload with SIGHUP"
        );
    }
    let open_files = raise_open_file_limit();
    let source = config
        .data_dir
        .clone()
        .map_or(DataSource::Embedded, DataSource::Dir);
    let started = std::time::Instant::now();
    let dataset = load(&source).with_context(|| format!("cannot load the dataset ({source:?})"))?;
    tracing::info!(
        version = dataset.version.as_str(),
        schemes = dataset.schemes.len(),
        postcodes = dataset.postcodes.len(),
        ms = started.elapsed().as_millis(),
        "dataset loaded"
    );
    let geocoder = build_geocoder(config.geocoder.as_ref())?;
    if let Some(g) = &geocoder {
        // The service, never the key or any query.
        tracing::info!(
            kind = g.kind().as_str(),
            "external geocoder on for addresses the gazetteer cannot settle"
        );
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let state = AppState::with_geocoder(Arc::new(dataset), source, config.clone(), geocoder);
    state.metrics().set_load_seconds(load_seconds);
    state.work().check()?;
    tracing::info!(
        threads = state.work().threads(),
        low_priority = config.limits.pool_low_priority,
        queue = config.limits.pool_queue,
        batches = config.limits.batch_concurrency,
        batch_queue = config.limits.batch_queue,
        "expensive work runs on its own pool"
    );
    actix_web::rt::System::new().block_on(serve(state, addr, &config, open_files))?;
    Ok(ExitCode::SUCCESS)
}

/// File descriptors kept out of the connection budget: the listeners, the runtime's own
/// (epoll, event fds per worker), logging, and the data files a reload opens.
const RESERVED_FDS: u64 = 64;

/// Raises the soft open-file limit to the hard limit, logs the figure and returns it (`None`
/// when it cannot be read).
fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(n) => {
                tracing::info!(open_files = n, "open-file limit");
                Some(n)
            }
            Err(e) => {
                let soft = rlimit::getrlimit(rlimit::Resource::NOFILE)
                    .ok()
                    .map(|(soft, _)| soft);
                tracing::warn!(error = %e, open_files = soft, "cannot raise the open-file limit");
                soft
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// The per-worker connection cap for a total of `total` over `workers` workers, with the
/// total first lowered to fit under the open-file limit.
fn per_worker_connections(total: usize, workers: usize, open_files: Option<u64>) -> usize {
    let fit = open_files
        .map(|n| usize::try_from(n.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX))
        .map_or(total, |room| total.min(room.max(workers)));
    if fit < total {
        tracing::warn!(
            max_connections = fit,
            configured = total,
            "max_connections lowered to fit the open-file limit"
        );
    }
    fit.div_ceil(workers.max(1)).max(1)
}

fn keep_alive(seconds: u64) -> actix_web::http::KeepAlive {
    if seconds == 0 {
        actix_web::http::KeepAlive::Disabled
    } else {
        actix_web::http::KeepAlive::Timeout(Duration::from_secs(seconds))
    }
}

async fn serve(
    state: AppState,
    addr: std::net::SocketAddr,
    config: &ServeConfig,
    open_files: Option<u64>,
) -> anyhow::Result<()> {
    let limits = config.limits;
    let workers = if limits.workers > 0 {
        limits.workers
    } else {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    };
    let per_worker = per_worker_connections(limits.max_connections, workers, open_files);
    tracing::info!(
        workers,
        max_connections = per_worker * workers,
        max_connections_per_ip = limits.max_connections_per_ip,
        pressure_percent = limits.pressure_percent,
        "connection caps"
    );
    // Pressure is a share of what actix will really hold open: the per-worker cap times the
    // workers (the configured cap rounded up, or lowered to fit the open-file limit).
    let peers = server::peers::PeerCounter::new(limits.max_connections_per_ip).with_pressure(
        per_worker * workers,
        limits.pressure_percent,
        // Held for two body timeouts: the bodies that filled the slots, checked one
        // timeout after their first read, are all still under pressure then.
        Duration::from_millis(limits.pressure_body_timeout_ms.saturating_mul(2)),
    );
    let app_state = state.clone();
    let server = HttpServer::new(move || server::app(app_state.clone()))
        .client_request_timeout(Duration::from_millis(limits.client_request_timeout_ms))
        .keep_alive(keep_alive(limits.keep_alive_s))
        .shutdown_timeout(limits.shutdown_timeout_s)
        .workers(workers)
        .max_connections(per_worker)
        .on_connect(
            move |conn: &dyn std::any::Any, data: &mut actix_web::dev::Extensions| {
                peers.on_connect(conn, data);
            },
        )
        .bind(addr)
        .with_context(|| format!("cannot listen on {addr}"))?;
    for a in server.addrs() {
        tracing::info!(address = %a, "listening on http://{a}");
    }
    let admin = match config.admin_addr()? {
        Some(admin_addr) => {
            let admin_state = state.clone();
            let admin = HttpServer::new(move || server::admin_app(admin_state.clone()))
                .client_request_timeout(Duration::from_millis(limits.client_request_timeout_ms))
                .keep_alive(keep_alive(limits.keep_alive_s))
                .shutdown_timeout(limits.shutdown_timeout_s)
                .workers(1)
                .bind(admin_addr)
                .with_context(|| format!("cannot listen on {admin_addr} (admin_listen)"))?;
            for a in admin.addrs() {
                tracing::info!(address = %a, "admin routes on http://{a}");
            }
            Some(admin.run())
        }
        None => None,
    };
    #[cfg(unix)]
    actix_web::rt::spawn(reload_on_sighup(state));
    let public = server.run();
    match admin {
        Some(admin) => {
            let (public, admin) = tokio::join!(public, admin);
            public.context("the server stopped with an error")?;
            admin.context("the admin listener stopped with an error")
        }
        None => public.await.context("the server stopped with an error"),
    }
}

/// Reloads the dataset on every SIGHUP (a refused dataset is logged and the old one kept).
#[cfg(unix)]
async fn reload_on_sighup(state: AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with POST /admin/reload");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the dataset");
        // The outcome is logged by `reload` itself.
        let _ = state.reload().await;
    }
}
