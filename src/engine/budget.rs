//! A request's work budget: how many postcodes one request may resolve.
//!
//! A full postcode or a point resolves one position, but a partial postcode (`NR`) resolves
//! every live postcode of its area and a place name resolves a sample of the postcodes around
//! each candidate. The HTTP API gives each request a [`Budget`]; the lookup spends from it
//! before each piece of such work and stops with [`OverBudget`] once the next piece would not
//! fit, so a request cannot make the server resolve more than its budget however it is built
//! (one area, or ten in a bulk request). Counting resolutions rather than timing them keeps the
//! refusal the same on a busy machine and an idle one.

use std::sync::atomic::{AtomicU64, Ordering};

/// The postcodes one request may still resolve. Shared by reference across the queries of a
/// bulk request, so they draw on one budget.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    left: AtomicU64,
}

/// A piece of work did not fit in what was left of the budget; nothing of it was done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this needs {needed} postcodes resolved but only {left} of the request's {limit} are left")]
pub struct OverBudget {
    /// The request's whole budget, postcodes.
    pub limit: u64,
    /// What the refused piece of work needed.
    pub needed: u64,
    /// What was left when it was refused.
    pub left: u64,
}

impl Budget {
    /// A budget of `limit` postcode resolutions.
    #[must_use]
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            left: AtomicU64::new(limit),
        }
    }

    /// No limit (the command line and batch mode, whose user runs the work themselves).
    #[must_use]
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    /// The whole budget.
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// What is left.
    #[must_use]
    pub fn left(&self) -> u64 {
        self.left.load(Ordering::Acquire)
    }

    /// Takes `units` from the budget, or takes nothing and refuses when fewer are left.
    ///
    /// # Errors
    /// [`OverBudget`] when `units` is more than what is left.
    pub fn spend(&self, units: u64) -> Result<(), OverBudget> {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(units)
            })
            .map(|_| ())
            .map_err(|left| OverBudget {
                limit: self.limit,
                needed: units,
                left,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_stops_at_the_limit_and_a_refusal_takes_nothing() {
        let b = Budget::new(10);
        assert!(b.spend(4).is_ok());
        assert!(b.spend(6).is_ok(), "exactly what is left fits");
        assert_eq!(b.left(), 0);
        let e = b.spend(1).unwrap_err();
        assert_eq!(
            e,
            OverBudget {
                limit: 10,
                needed: 1,
                left: 0
            }
        );
        let b = Budget::new(10);
        assert!(b.spend(11).is_err());
        assert_eq!(b.left(), 10, "a refused piece takes nothing");
        assert!(b.spend(0).is_ok());
    }

    #[test]
    fn an_unlimited_budget_takes_anything() {
        let b = Budget::unlimited();
        assert!(b.spend(1_000_000_000).is_ok());
        assert!(b.spend(1_000_000_000).is_ok());
    }
}
