//! The response cache: at most `entries` answers (least recently used dropped first), each
//! kept for `ttl`. Keyed by the normalised query text ([`key`]), so "12 Mill Rd, Aylsham" and
//! "12 mill rd  aylsham" share an entry. Empty answers are cached too; failures are not.
//!
//! Why the `lru` crate with a stored instant, and not a TTL cache such as `moka` or
//! `mini-moka` (both evaluated, at 0.12.16 and 0.10.3):
//! - Expiry must follow the geocoder's [`Clock`](super::Clock), so that tests move a
//!   `ManualClock` past the TTL. Both crates read time themselves (their clock is private), so
//!   those tests would sleep for real, at least a second since the TTL is set in seconds.
//! - Their eviction is `TinyLFU` with deferred upkeep: when full, a new key can be refused
//!   outright (with capacity 2 holding `a` and `b`, inserting `c` kept `a` and `b`), and the
//!   count settles only after pending tasks run. The repeat of a just-asked address, which is
//!   what this cache is for, would then miss, and the least-recently-used order the tests pin
//!   would not hold.
//! - Speed does not decide it: measured on 2 cores with 1,000 entries, a hit costs about 60-85 ns here against
//!   150-340 ns (`moka`) and 230-340 ns (`mini-moka`), an insert 95-135 ns against 590-720 ns
//!   and 370-510 ns; any of these is nothing next to the network round trip a miss costs.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;

use super::wire::GeocodedPlace;

/// The cache key of a query: lower case, punctuation folded to spaces, spaces collapsed.
#[must_use]
pub fn key(text: &str) -> String {
    crate::engine::gazetteer::plain(text)
}

/// Stored answers: key -> (when stored, answer).
type Entries = LruCache<String, (Instant, Arc<Vec<GeocodedPlace>>)>;

/// A bounded, expiring map from query keys to answers.
#[derive(Debug)]
pub struct ResponseCache {
    ttl: Duration,
    map: Option<Mutex<Entries>>,
}

impl ResponseCache {
    /// A cache of `entries` answers (0 turns caching off) kept for `ttl`.
    #[must_use]
    pub fn new(entries: usize, ttl: Duration) -> Self {
        Self {
            ttl,
            map: NonZeroUsize::new(entries).map(|n| Mutex::new(LruCache::new(n))),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Entries) -> T) -> Option<T> {
        // Entries are whole values, so a poisoned lock still holds a consistent map.
        self.map
            .as_ref()
            .map(|m| f(&mut m.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// The answer stored for `key`, if it is younger than the TTL (an expired one is dropped).
    pub fn get(&self, key: &str, now: Instant) -> Option<Arc<Vec<GeocodedPlace>>> {
        let ttl = self.ttl;
        self.with(|m| {
            let fresh = match m.get(key) {
                Some((at, v)) if now.saturating_duration_since(*at) < ttl => Some(Arc::clone(v)),
                Some(_) => None,
                None => return None,
            };
            if fresh.is_none() {
                m.pop(key);
            }
            fresh
        })
        .flatten()
    }

    /// Stores an answer.
    pub fn put(&self, key: String, value: Arc<Vec<GeocodedPlace>>, now: Instant) {
        self.with(|m| m.put(key, (now, value)));
    }

    /// Entries held (expired ones included until they are next asked for).
    #[must_use]
    pub fn len(&self) -> usize {
        self.with(|m| m.len()).unwrap_or(0)
    }

    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Arc<Vec<GeocodedPlace>> {
        Arc::new(Vec::new())
    }

    #[test]
    fn equal_texts_share_a_key() {
        assert_eq!(key("12 Mill Rd,  AYLSHAM"), key("12 mill rd aylsham"));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let t0 = Instant::now();
        let c = ResponseCache::new(10, Duration::from_secs(60));
        c.put("a".into(), v(), t0);
        assert!(c.get("a", t0 + Duration::from_secs(59)).is_some());
        assert!(c.get("a", t0 + Duration::from_secs(60)).is_none());
        assert!(c.is_empty(), "an expired entry is dropped when asked for");
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let t0 = Instant::now();
        let c = ResponseCache::new(2, Duration::from_secs(60));
        c.put("a".into(), v(), t0);
        c.put("b".into(), v(), t0);
        assert!(c.get("a", t0).is_some());
        c.put("c".into(), v(), t0);
        assert!(c.get("b", t0).is_none());
        assert!(c.get("a", t0).is_some());
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn zero_entries_turns_it_off() {
        let c = ResponseCache::new(0, Duration::from_secs(60));
        c.put("a".into(), v(), Instant::now());
        assert!(c.get("a", Instant::now()).is_none());
    }
}
