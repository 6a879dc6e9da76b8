//! The pure core: coordinates, postcodes, shared texts, schemes, spatial indexes, the dataset,
//! the gazetteer, resolve and the answers.
//!
//! Nothing here reads a file, opens a socket or calls PROJ: the layers above build a
//! [`dataset::Dataset`] (see [`crate::data`]) and ask it questions. A test (tests/it/layers.rs)
//! fails if a module here names a layer above it or an I/O crate.

pub mod answer;
pub mod attribution;
pub mod bands_map;
pub mod budget;
pub mod coord;
pub mod currency;
pub mod dataset;
pub mod date;
pub mod gazetteer;
pub mod geo_index;
pub mod lookup;
pub mod polygon_check;
pub mod postcode;
pub mod query;
pub mod resolve;
pub mod scheme;
pub mod text;
pub mod validate;
