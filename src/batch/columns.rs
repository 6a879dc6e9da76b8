//! The result columns a batch appends to every row.
//!
//! Fixed columns first (status, the query used, how precise its point is, band, rate,
//! whether the papers confirm the rate on the date, distance, surgery), then one column
//! for each area role and each provider column that the loaded schemes declare, then the fixed
//! tail (illustrative, scheme, dataset version, error). So a role, service or tier a scheme
//! declares is never dropped from the output, and a dataset without one gets no empty column
//! for it.
//!
//! Provider columns: the day service has one column per tier (`providers_main`,
//! `providers_secondary`, `providers_framework`); any other service one column with all its
//! tiers in preference order (`night_providers`, `rapid_response_providers`).

use crate::engine::dataset::Dataset;
use crate::engine::scheme::{AreaRole, Service, Tier};

/// The fixed columns before the declared ones.
pub const HEAD: [&str; 11] = [
    "status",
    "query_used",
    "precision",
    "band",
    "rate",
    "rate_kind",
    "rate_currency",
    "distance_miles",
    "nearest_surgery_code",
    "nearest_surgery_name",
    "near_threshold",
];

/// The fixed columns after the declared ones.
pub const TAIL: [&str; 4] = ["illustrative", "scheme", "dataset_version", "error"];

/// A column that exists because a loaded scheme declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Declared {
    /// The names of the areas of this role that hold the point.
    Area(AreaRole),
    /// The providers of a service, of one tier or (`None`) of every tier in order.
    Providers(Service, Option<Tier>),
}

impl Declared {
    fn name(self) -> String {
        match self {
            Self::Area(role) => role.as_str().to_string(),
            Self::Providers(Service::Day, Some(tier)) => format!("providers_{}", tier.as_str()),
            Self::Providers(service, _) => format!("{}_providers", service.as_str()),
        }
    }
}

/// The result columns for one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// The declared columns, in output order.
    pub declared: Vec<Declared>,
}

impl Layout {
    /// The columns the dataset's schemes declare: roles in [`AreaRole::ALL`] order, then
    /// services in [`Service::ALL`] order (the day service split by tier).
    pub fn new(ds: &Dataset) -> Self {
        let schemes = || ds.schemes.iter().map(|ls| &ls.scheme);
        let mut declared: Vec<Declared> = AreaRole::ALL
            .into_iter()
            .filter(|role| schemes().any(|s| s.layers.iter().any(|l| l.role == Some(*role))))
            .map(Declared::Area)
            .collect();
        for service in Service::ALL {
            let lists = || {
                schemes()
                    .flat_map(|s| &s.provider_lists)
                    .filter(move |l| l.service == service)
            };
            if service == Service::Day {
                declared.extend(
                    Tier::ALL
                        .into_iter()
                        .filter(|tier| lists().any(|l| l.tiers.iter().any(|t| t.tier == *tier)))
                        .map(|tier| Declared::Providers(service, Some(tier))),
                );
            } else if lists().next().is_some() {
                declared.push(Declared::Providers(service, None));
            }
        }
        Self { declared }
    }

    /// Every result column's name, in output order.
    pub fn names(&self) -> Vec<String> {
        HEAD.iter()
            .map(|s| (*s).to_string())
            .chain(self.declared.iter().map(|d| d.name()))
            .chain(TAIL.iter().map(|s| (*s).to_string()))
            .collect()
    }
}

/// The names of the result columns a batch over `ds` appends to every row, in order.
#[must_use]
pub fn result_columns(ds: &Dataset) -> Vec<String> {
    Layout::new(ds).names()
}
