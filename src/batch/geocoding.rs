//! The external geocoder for batch runs: rows are answered on a thread pool, so each row that
//! needs the geocoder waits for it on its own thread, on a tokio runtime that someone else
//! drives (the server's worker, or the command line's runtime).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;

use super::TextRefiner;
use crate::engine::answer::Answer;
use crate::engine::dataset::Dataset;
use crate::engine::lookup::LookupError;
use crate::geocoder::{Geocoder, refine, wants_geocoder, with_note};

/// The geocoder for one batch run: asked only about the rows [`wants_geocoder`] picks, and
/// about at most [`Geocoder::batch_rows`] of them; later ones are answered offline with a note
/// that says why.
pub struct BlockingRefiner {
    geocoder: Arc<Geocoder>,
    runtime: tokio::runtime::Handle,
    asked: AtomicU64,
}

impl BlockingRefiner {
    /// A refiner for one run, whose requests run on `runtime`.
    ///
    /// `runtime` must be driven by another thread while the run lasts: a multi-threaded
    /// runtime, or a current-thread one whose `block_on` is running elsewhere (an actix
    /// worker). Its methods must not be called from inside that runtime.
    #[must_use]
    pub fn new(geocoder: Arc<Geocoder>, runtime: tokio::runtime::Handle) -> Self {
        Self {
            geocoder,
            runtime,
            asked: AtomicU64::new(0),
        }
    }

    /// Rows it has been asked about so far, those over the limit included.
    #[must_use]
    pub fn asked(&self) -> u64 {
        self.asked.load(Ordering::Relaxed)
    }
}

impl TextRefiner for BlockingRefiner {
    fn refine(
        &self,
        ds: &Dataset,
        text: &str,
        offline: Result<Answer, LookupError>,
        date: NaiveDate,
    ) -> Result<Answer, LookupError> {
        if !wants_geocoder(text, &offline) {
            return offline;
        }
        let limit = self.geocoder.batch_rows();
        if self.asked.fetch_add(1, Ordering::Relaxed) >= limit {
            let why = if limit == 0 {
                "geocoder.batch_rows is 0, so batch runs send it no addresses".to_string()
            } else {
                format!("this run had sent it {limit} rows, its limit (geocoder.batch_rows)")
            };
            return with_note(offline, format!("external geocoder not asked: {why}"));
        }
        self.runtime
            .block_on(refine(ds, &self.geocoder, text, offline, date))
    }
}
