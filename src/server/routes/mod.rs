//! One module per route group; each handler parses its parameters, calls the engine and maps
//! its errors to [`crate::server::ApiError`].

pub mod admin;
pub mod batch;
pub mod health;
pub mod lookup;
pub mod page;
pub(crate) mod params;
pub mod places;
pub mod postcodes;
pub mod schemes;
