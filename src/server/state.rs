//! What every request shares: the dataset (swapped whole on reload), the settings, the
//! metrics, the cache of drawn band areas, the optional external geocoder and the pool that
//! runs expensive work.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use geo::MultiPolygon;

use crate::data::load::{DataSource, LoadError, load};
use crate::engine::attribution::{self, Attribution};
use crate::engine::dataset::Dataset;
use crate::geocoder::Geocoder;
use crate::server::config::ServeConfig;

use super::metrics::Metrics;
use super::pool::WorkPool;

/// Drawn band areas kept at once; beyond this the cache starts afresh (each entry is one
/// scheme's bands for one set of open centres, a few hundred kilobytes).
const BANDS_CACHE_ENTRIES: usize = 32;

/// Cache key: dataset generation, scheme id, and the open centres (build-order indexes), so
/// dates on which the same centres were open share one drawing.
type BandsKey = (u64, String, Vec<usize>);

/// Shared application state, cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    dataset: ArcSwap<Dataset>,
    /// Bumped on every successful reload; keys caches to the dataset they were built from.
    generation: AtomicU64,
    loaded_at: ArcSwap<DateTime<Utc>>,
    source: DataSource,
    config: ServeConfig,
    metrics: Metrics,
    bands: Mutex<HashMap<BandsKey, Arc<Vec<MultiPolygon<f64>>>>>,
    reloading: AtomicBool,
    geocoder: Option<Arc<Geocoder>>,
    work: WorkPool,
    /// The attribution of the dataset of a generation, worked out once per generation.
    attribution: Mutex<Option<(u64, Arc<Attributed>)>>,
}

/// The data's attribution lines and the two headers that carry them on every answer.
#[derive(Debug)]
pub struct Attributed {
    /// One line per source, from the dataset's manifest.
    pub lines: Vec<Attribution>,
    /// `Attribution`: the lines in ASCII, joined by `; `.
    pub header: String,
    /// `Link`: each licence as `<url>; rel="license"`.
    pub link: String,
}

impl Attributed {
    fn of(ds: &Dataset) -> Self {
        let lines = attribution::lines(&ds.files);
        let header = attribution::header_value(&lines);
        let link = attribution::licence_urls(&lines)
            .iter()
            .map(|u| format!("<{u}>; rel=\"license\""))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            lines,
            header,
            link,
        }
    }
}

/// What a successful reload did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReloadReport {
    /// Always `reloaded`.
    pub status: &'static str,
    /// The version served before.
    pub previous_version: String,
    /// The version served now.
    pub dataset_version: String,
}

/// Why a reload did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// Another reload is running.
    #[error("a reload is already running")]
    Busy,
    /// The new data failed to load; the old dataset keeps serving.
    #[error(transparent)]
    Refused(#[from] LoadError),
    /// The loading thread was lost.
    #[error("the loading task did not finish")]
    Lost,
}

/// Clears the "reload running" flag however the reload ends.
struct ReloadGuard<'a>(&'a AtomicBool);

impl Drop for ReloadGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl AppState {
    /// State serving `dataset`, reloading from `source`, answering offline only.
    #[must_use]
    pub fn new(dataset: Arc<Dataset>, source: DataSource, config: ServeConfig) -> Self {
        Self::with_geocoder(dataset, source, config, None)
    }

    /// State serving `dataset`, reloading from `source`, asking `geocoder` (when given) about
    /// addresses the offline gazetteer cannot settle.
    #[must_use]
    pub fn with_geocoder(
        dataset: Arc<Dataset>,
        source: DataSource,
        config: ServeConfig,
        geocoder: Option<Arc<Geocoder>>,
    ) -> Self {
        if let Some(g) = &geocoder {
            g.set_coverage(&dataset);
        }
        let metrics = Metrics::new();
        let loaded_at = Utc::now();
        metrics.set_dataset(&dataset.version, loaded_at);
        let work = WorkPool::new(&config.limits);
        Self {
            inner: Arc::new(Shared {
                dataset: ArcSwap::new(dataset),
                generation: AtomicU64::new(0),
                loaded_at: ArcSwap::from_pointee(loaded_at),
                source,
                config,
                metrics,
                bands: Mutex::new(HashMap::new()),
                reloading: AtomicBool::new(false),
                geocoder,
                work,
                attribution: Mutex::new(None),
            }),
        }
    }

    /// The dataset being served now. Hold the returned `Arc` for the whole request so that a
    /// reload in between cannot mix two datasets in one answer.
    #[must_use]
    pub fn dataset(&self) -> Arc<Dataset> {
        self.inner.dataset.load_full()
    }

    /// The dataset with its generation (bumped by each reload), for keying caches.
    pub(crate) fn snapshot(&self) -> (u64, Arc<Dataset>) {
        // Generation first: a reload stores the dataset before bumping it, so a pair read
        // across a reload can only pair an old generation with the new data, never the
        // other way round.
        let generation = self.inner.generation.load(Ordering::Acquire);
        (generation, self.dataset())
    }

    /// The attribution of the dataset being served now (worked out once per reload).
    #[must_use]
    pub fn attribution(&self) -> Arc<Attributed> {
        let (generation, ds) = self.snapshot();
        let mut cached = self
            .inner
            .attribution
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*cached {
            Some((g, a)) if *g == generation => Arc::clone(a),
            _ => {
                let a = Arc::new(Attributed::of(&ds));
                *cached = Some((generation, Arc::clone(&a)));
                a
            }
        }
    }

    /// When the current dataset was loaded.
    #[must_use]
    pub fn loaded_at(&self) -> DateTime<Utc> {
        **self.inner.loaded_at.load()
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ServeConfig {
        &self.inner.config
    }

    /// The metrics.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The bounded pool that runs expensive work (batches, bulk requests, area summaries,
    /// place searches, band drawings).
    #[must_use]
    pub fn work(&self) -> &WorkPool {
        &self.inner.work
    }

    /// The external geocoder, when one is configured.
    #[must_use]
    pub fn geocoder(&self) -> Option<&Geocoder> {
        self.inner.geocoder.as_deref()
    }

    /// The external geocoder, shared, for work that outlives the request (a batch run).
    #[must_use]
    pub fn geocoder_shared(&self) -> Option<Arc<Geocoder>> {
        self.inner.geocoder.clone()
    }

    /// Loads the data source again and, if it loads, serves it from the next request on.
    /// A dataset that fails to load is refused and the current one keeps serving.
    ///
    /// # Errors
    /// [`ReloadError`]; a refusal is also logged.
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        if self.inner.reloading.swap(true, Ordering::AcqRel) {
            return Err(ReloadError::Busy);
        }
        let _guard = ReloadGuard(&self.inner.reloading);
        let source = self.inner.source.clone();
        let started = std::time::Instant::now();
        let loaded = actix_web::web::block(move || load(&source))
            .await
            .map_err(|_| ReloadError::Lost)?;
        let load_seconds = started.elapsed().as_secs_f64();
        let previous_version = self.dataset().version.to_string();
        match loaded {
            Ok(ds) => {
                let dataset_version = ds.version.to_string();
                if let Some(g) = &self.inner.geocoder {
                    g.set_coverage(&ds);
                }
                self.inner.dataset.store(Arc::new(ds));
                self.inner.generation.fetch_add(1, Ordering::AcqRel);
                let loaded_at = Utc::now();
                self.inner.loaded_at.store(Arc::new(loaded_at));
                self.bands_cache().clear();
                self.inner.metrics.set_dataset(&dataset_version, loaded_at);
                self.inner.metrics.set_load_seconds(load_seconds);
                self.inner.metrics.count_reload("ok");
                tracing::info!(previous_version, dataset_version, "dataset reloaded");
                Ok(ReloadReport {
                    status: "reloaded",
                    previous_version,
                    dataset_version,
                })
            }
            Err(e) => {
                self.inner.metrics.count_reload("refused");
                tracing::error!(error = %e, serving = previous_version, "reload refused; the previous dataset keeps serving");
                Err(ReloadError::Refused(e))
            }
        }
    }

    /// The drawn band areas of `scheme` for the given open centres of the dataset of
    /// `generation`, computing them with `draw` (on the expensive-work pool) on a cache miss.
    pub(crate) async fn bands<F>(
        &self,
        generation: u64,
        scheme: &str,
        open_centres: Vec<usize>,
        draw: F,
    ) -> Result<Arc<Vec<MultiPolygon<f64>>>, super::ApiError>
    where
        F: FnOnce() -> Vec<MultiPolygon<f64>> + Send + 'static,
    {
        let key = (generation, scheme.to_string(), open_centres);
        if let Some(hit) = self.bands_cache().get(&key) {
            return Ok(Arc::clone(hit));
        }
        let drawn = Arc::new(self.inner.work.run(draw).await?);
        let mut cache = self.bands_cache();
        if cache.len() >= BANDS_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&drawn));
        Ok(drawn)
    }

    fn bands_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<BandsKey, Arc<Vec<MultiPolygon<f64>>>>> {
        // The cache holds finished values only, so a panic elsewhere cannot leave it torn.
        self.inner
            .bands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
