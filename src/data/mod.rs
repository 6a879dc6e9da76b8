//! The file edges: [`load`] reads a geodata folder (or the embedded copy) into a
//! [`crate::engine::dataset::Dataset`], [`import`] builds a geodata folder from the open data,
//! and [`reproject`] is the only module that calls PROJ.

pub mod import;
pub mod load;
pub mod reproject;
