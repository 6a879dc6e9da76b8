//! careband: home-care price bands, zones, Primary Care Networks and provider preference for
//! any postcode or point, with the evidence behind every answer.
//!
//! Data flows one way, and the folders are its layers, each using only those below it:
//!
//! 1. [`engine`]: the pure core (coordinates, postcodes, schemes, spatial indexes, the
//!    dataset, the gazetteer, resolve and the answer types). No I/O, no HTTP, no PROJ.
//! 2. [`data`]: the file edges. [`data::load`] reads geodata/ into a dataset,
//!    [`data::import`] builds geodata/ from the open data, [`data::reproject`] wraps PROJ.
//! 3. [`geocoder`] (the optional external geocoder client) and [`batch`] (files of rows in,
//!    answered rows out): both answer through the engine.
//! 4. [`server`]: the HTTP API and the web page (actix-web).
//! 5. The `careband` binary: the command line over all of the above.
#![forbid(unsafe_code)]

pub mod batch;
pub mod data;
pub mod engine;
pub mod geocoder;
#[cfg(feature = "server")]
pub mod server;

pub use data::load::{DataSource, LoadError, load};
pub use engine::answer::{Answer, Resolution};
pub use engine::coord::{Bng, CoordError, LonLat};
pub use engine::dataset::Dataset;
pub use engine::lookup::{LookupError, lookup};
pub use engine::postcode::{Postcode, PostcodeQuery};
pub use engine::query::Query;
pub use engine::resolve::resolve;
pub use engine::text::Text;
