//! careband: home-care price bands, zones, Primary Care Networks and provider preference for
//! any postcode or point, with the evidence behind every answer.
//!
//! Data flows one way: files -> [`load`] -> indexes ([`geo_index`]) -> [`resolve`] ->
//! (HTTP | CLI | batch). The pure modules ([`coord`], [`postcode`], [`geo_index`], [`scheme`],
//! [`resolve`]) do no I/O; [`load`] and [`import`] are the file edges and [`reproject`] is the
//! only module that uses PROJ.
#![forbid(unsafe_code)]

pub mod api;
pub mod bands_map;
pub mod batch;
pub mod config;
pub mod coord;
pub mod dataset;
pub mod geo_index;
pub mod geocoder;
pub mod import;
pub mod load;
pub mod lookup;
pub mod places;
pub mod postcode;
pub mod reproject;
pub mod resolve;
pub mod scheme;
pub mod text;
pub mod validate;

pub use text::Text;
