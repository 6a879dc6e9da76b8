//! Coordinate reprojection between British National Grid (EPSG:27700) and WGS84 (EPSG:4326).
//!
//! This is the only module that names the `proj` crate; everything else works in plain `f64`
//! pairs or `geo` geometries. It owns no data and does no I/O beyond what PROJ itself needs
//! (its `proj.db` database).
//!
//! # Accuracy
//!
//! Transformations are built with `Proj::new_known_crs`, which normalises the axis order to
//! lon/lat and easting/northing. PROJ picks the best operation it has. Without the OS OSTN15
//! grid installed (the default here: the network feature is off and no grid is bundled) that is
//! the seven-parameter Helmert transform "OSGB36 to WGS 84 (6)", accurate to a few metres,
//! which is well inside the size of a postcode unit.
//!
//! # Threads
//!
//! `proj::Proj` holds raw pointers and is neither `Send` nor `Sync`, so the transformer types
//! here are not either. Build one per thread (they are cheap) inside the function that uses it.

use std::fmt;
use std::sync::Arc;

use geo::{Coord, Geometry, MapCoordsInPlace};
use proj::Proj;

use crate::engine::coord::{Bng, GridTransform, LonLat, TransformError};

/// The CRS identifier of OSGB36 / British National Grid (metres).
pub const BNG: &str = "EPSG:27700";
/// The CRS identifier of WGS84 geographic coordinates (degrees, used as lon/lat).
pub const WGS84: &str = "EPSG:4326";

/// Why a coordinate could not be reprojected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReprojectError {
    /// PROJ could not build a transformation between the two CRSs.
    #[error("cannot set up the {from} -> {to} transformation")]
    Setup {
        /// Source CRS identifier.
        from: String,
        /// Target CRS identifier.
        to: String,
        /// The error PROJ reported.
        #[source]
        source: proj::ProjCreateError,
    },
    /// An input coordinate was NaN or infinite.
    #[error("coordinate ({x}, {y}) is not a finite number")]
    NonFinite {
        /// First input value (lon or easting).
        x: f64,
        /// Second input value (lat or northing).
        y: f64,
    },
    /// A lon/lat input lies outside -180..=180 / -90..=90.
    #[error("lon/lat ({lon}, {lat}) is out of range")]
    OutOfRange {
        /// Longitude in degrees.
        lon: f64,
        /// Latitude in degrees.
        lat: f64,
    },
    /// PROJ failed to transform the coordinate, or gave a non-finite answer.
    #[error("cannot transform ({x}, {y}) from {from} to {to}")]
    Transform {
        /// First input value.
        x: f64,
        /// Second input value.
        y: f64,
        /// Source CRS identifier.
        from: String,
        /// Target CRS identifier.
        to: String,
        /// The error PROJ reported, if it reported one (none when it returned a non-finite value).
        #[source]
        source: Option<proj::ProjError>,
    },
}

/// One PROJ transformation plus the CRS names it was built from (for error messages).
struct Transformer {
    proj: Proj,
    from: String,
    to: String,
}

impl Transformer {
    fn new(from: &str, to: &str) -> Result<Self, ReprojectError> {
        let proj = Proj::new_known_crs(from, to, None).map_err(|source| ReprojectError::Setup {
            from: from.to_owned(),
            to: to.to_owned(),
            source,
        })?;
        Ok(Self {
            proj,
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }

    /// Transforms `(x, y)` in the source axis order (lon/lat or easting/northing).
    fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), ReprojectError> {
        if !x.is_finite() || !y.is_finite() {
            return Err(ReprojectError::NonFinite { x, y });
        }
        let transform_error = |source| ReprojectError::Transform {
            x,
            y,
            from: self.from.clone(),
            to: self.to.clone(),
            source,
        };
        let (ox, oy) = self
            .proj
            .convert((x, y))
            .map_err(|e| transform_error(Some(e)))?;
        // PROJ signals some failures with HUGE_VAL instead of an error code.
        if ox.is_finite() && oy.is_finite() {
            Ok((ox, oy))
        } else {
            Err(transform_error(None))
        }
    }
}

impl fmt::Debug for Transformer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transformer")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// Rejects lon/lat pairs that are not finite or not on the globe.
fn check_lon_lat(lon: f64, lat: f64) -> Result<(), ReprojectError> {
    if !lon.is_finite() || !lat.is_finite() {
        return Err(ReprojectError::NonFinite { x: lon, y: lat });
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(ReprojectError::OutOfRange { lon, lat });
    }
    Ok(())
}

/// Converts British National Grid easting/northing (metres) to WGS84 lon/lat (degrees).
#[derive(Debug)]
pub struct BngToWgs84 {
    inner: Transformer,
}

impl BngToWgs84 {
    /// Builds the transformation.
    ///
    /// # Errors
    ///
    /// [`ReprojectError::Setup`] if PROJ cannot find its database or the CRSs.
    pub fn new() -> Result<Self, ReprojectError> {
        Ok(Self {
            inner: Transformer::new(BNG, WGS84)?,
        })
    }

    /// Returns `(lon, lat)` in degrees for an easting/northing in metres.
    ///
    /// # Errors
    ///
    /// [`ReprojectError::NonFinite`] for NaN or infinite input, [`ReprojectError::Transform`]
    /// if PROJ fails.
    pub fn convert(&self, easting: f64, northing: f64) -> Result<(f64, f64), ReprojectError> {
        self.inner.convert(easting, northing)
    }
}

thread_local! {
    // PROJ transformers are not Send and cost a little to build: one per thread, built lazily.
    static BNG_TO_WGS84: Result<BngToWgs84, Arc<ReprojectError>> = BngToWgs84::new().map_err(Arc::new);
}

/// The engine's [`GridTransform`] backed by PROJ: one [`BngToWgs84`] per thread, since
/// `proj::Proj` is not `Send`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjGrid;

impl GridTransform for ProjGrid {
    fn to_lon_lat(&self, bng: Bng) -> Result<LonLat, TransformError> {
        let (lon, lat) = BNG_TO_WGS84.with(|t| match t {
            Ok(t) => t
                .convert(bng.easting(), bng.northing())
                .map_err(|e| TransformError(Arc::new(e))),
            Err(setup) => Err(TransformError(setup.clone())),
        })?;
        LonLat::new(lon, lat).map_err(|e| TransformError(Arc::new(e)))
    }
}

/// Converts WGS84 lon/lat (degrees) to British National Grid easting/northing (metres).
#[derive(Debug)]
pub struct Wgs84ToBng {
    inner: Transformer,
}

impl Wgs84ToBng {
    /// Builds the transformation.
    ///
    /// # Errors
    ///
    /// [`ReprojectError::Setup`] if PROJ cannot find its database or the CRSs.
    pub fn new() -> Result<Self, ReprojectError> {
        Ok(Self {
            inner: Transformer::new(WGS84, BNG)?,
        })
    }

    /// Returns `(easting, northing)` in metres for a lon/lat in degrees.
    ///
    /// # Errors
    ///
    /// [`ReprojectError::NonFinite`] for NaN or infinite input, [`ReprojectError::OutOfRange`]
    /// for a lon/lat off the globe, [`ReprojectError::Transform`] if PROJ fails.
    pub fn convert(&self, lon: f64, lat: f64) -> Result<(f64, f64), ReprojectError> {
        check_lon_lat(lon, lat)?;
        self.inner.convert(lon, lat)
    }
}

/// Reprojects every coordinate of `g` in place from `from_crs` to `to_crs`.
///
/// Coordinates use the normalised axis order of each CRS: lon/lat for geographic CRSs,
/// easting/northing for projected ones. If an error is returned, `g` may be partly reprojected.
///
/// # Errors
///
/// [`ReprojectError::Setup`] for an unknown CRS, [`ReprojectError::NonFinite`] for a NaN or
/// infinite coordinate, [`ReprojectError::Transform`] if PROJ fails on a coordinate.
pub fn geometry_between(
    g: &mut Geometry<f64>,
    from_crs: &str,
    to_crs: &str,
) -> Result<(), ReprojectError> {
    let transformer = Transformer::new(from_crs, to_crs)?;
    map_geometry(g, &|c: Coord<f64>| {
        let (x, y) = transformer.convert(c.x, c.y)?;
        Ok(Coord { x, y })
    })
}

/// Maps every coordinate, one concrete geometry type at a time. (Calling
/// `try_map_coords_in_place` on a whole `Geometry` makes the compiler instantiate it for
/// `&&..&F` without end through the `GeometryCollection` case; recursing here with one
/// `&dyn Fn` type avoids that.)
fn map_geometry(
    g: &mut Geometry<f64>,
    f: &dyn Fn(Coord<f64>) -> Result<Coord<f64>, ReprojectError>,
) -> Result<(), ReprojectError> {
    match g {
        Geometry::Point(x) => x.try_map_coords_in_place(f),
        Geometry::Line(x) => x.try_map_coords_in_place(f),
        Geometry::LineString(x) => x.try_map_coords_in_place(f),
        Geometry::Polygon(x) => x.try_map_coords_in_place(f),
        Geometry::MultiPoint(x) => x.try_map_coords_in_place(f),
        Geometry::MultiLineString(x) => x.try_map_coords_in_place(f),
        Geometry::MultiPolygon(x) => x.try_map_coords_in_place(f),
        Geometry::Rect(x) => x.try_map_coords_in_place(f),
        Geometry::Triangle(x) => x.try_map_coords_in_place(f),
        Geometry::GeometryCollection(gc) => {
            gc.0.iter_mut().try_for_each(|inner| map_geometry(inner, f))
        }
    }
}

/// Reprojects every coordinate of `g` in place from `from_crs` (e.g. `"EPSG:27700"`) to WGS84
/// lon/lat.
///
/// # Errors
///
/// As [`geometry_between`].
pub fn geometry_to_wgs84(g: &mut Geometry<f64>, from_crs: &str) -> Result<(), ReprojectError> {
    geometry_between(g, from_crs, WGS84)
}

/// Reprojects every coordinate of `g` in place from WGS84 lon/lat to `to_crs` (e.g.
/// `"EPSG:27700"`).
///
/// # Errors
///
/// As [`geometry_between`].
pub fn geometry_from_wgs84(g: &mut Geometry<f64>, to_crs: &str) -> Result<(), ReprojectError> {
    geometry_between(g, WGS84, to_crs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Polygon, polygon};

    /// Ground distance in metres between two nearby lon/lat points (equirectangular; fine for
    /// the few-metre comparisons made here).
    fn metres_apart(a: (f64, f64), b: (f64, f64)) -> f64 {
        let lat = a.1.to_radians();
        let dx = (a.0 - b.0) * 111_320.0 * lat.cos();
        let dy = (a.1 - b.1) * 111_320.0;
        dx.hypot(dy)
    }

    // Code-Point Open 2025 easting/northing and the NSPL May 2025 lat/long (5 dp, computed by
    // ONS with OSTN15) for two GP practice postcodes.
    const BLAKENEY_NR25_7PQ: ((f64, f64), (f64, f64)) =
        ((602_400.0, 343_673.0), (1.01146, 52.95226));
    const BRISTOL_BS2_8HW: ((f64, f64), (f64, f64)) =
        ((358_679.0, 173_525.0), (-2.59614, 51.45918));

    #[test]
    fn bng_to_wgs84_agrees_with_nspl_within_ten_metres() {
        let to_wgs84 = BngToWgs84::new().unwrap();
        for ((e, n), expected) in [BLAKENEY_NR25_7PQ, BRISTOL_BS2_8HW] {
            let got = to_wgs84.convert(e, n).unwrap();
            let apart = metres_apart(got, expected);
            assert!(apart < 10.0, "{got:?} is {apart:.1} m from {expected:?}");
        }
    }

    #[test]
    fn wgs84_to_bng_agrees_with_code_point_within_ten_metres() {
        let to_bng = Wgs84ToBng::new().unwrap();
        for ((e, n), (lon, lat)) in [BLAKENEY_NR25_7PQ, BRISTOL_BS2_8HW] {
            let (ge, gn) = to_bng.convert(lon, lat).unwrap();
            let apart = (ge - e).hypot(gn - n);
            assert!(apart < 10.0, "({ge}, {gn}) is {apart:.1} m from ({e}, {n})");
        }
    }

    #[test]
    fn a_round_trip_returns_to_within_a_centimetre() {
        let to_wgs84 = BngToWgs84::new().unwrap();
        let to_bng = Wgs84ToBng::new().unwrap();
        for (e, n) in [
            (602_400.0, 343_673.0),
            (358_679.0, 173_525.0),
            (530_000.0, 180_000.0),
        ] {
            let (lon, lat) = to_wgs84.convert(e, n).unwrap();
            let (e2, n2) = to_bng.convert(lon, lat).unwrap();
            assert!(
                (e2 - e).hypot(n2 - n) < 0.01,
                "({e}, {n}) came back as ({e2}, {n2})"
            );
        }
    }

    #[test]
    fn nan_and_infinite_input_is_rejected() {
        let to_wgs84 = BngToWgs84::new().unwrap();
        let to_bng = Wgs84ToBng::new().unwrap();
        assert!(matches!(
            to_wgs84.convert(f64::NAN, 300_000.0),
            Err(ReprojectError::NonFinite { .. })
        ));
        assert!(matches!(
            to_wgs84.convert(600_000.0, f64::INFINITY),
            Err(ReprojectError::NonFinite { .. })
        ));
        assert!(matches!(
            to_bng.convert(1.0, f64::NAN),
            Err(ReprojectError::NonFinite { .. })
        ));
    }

    #[test]
    fn lon_lat_off_the_globe_is_rejected() {
        let to_bng = Wgs84ToBng::new().unwrap();
        assert!(matches!(
            to_bng.convert(1.0, 91.0),
            Err(ReprojectError::OutOfRange { .. })
        ));
    }

    #[test]
    fn an_unknown_crs_is_a_setup_error() {
        let mut g = Geometry::Point(geo::point!(x: 1.0, y: 52.0));
        assert!(matches!(
            geometry_to_wgs84(&mut g, "EPSG:NOPE"),
            Err(ReprojectError::Setup { .. })
        ));
    }

    #[test]
    fn a_polygon_survives_a_round_trip_through_wgs84() {
        let square: Polygon<f64> = polygon![
            (x: 600_000.0, y: 300_000.0),
            (x: 601_000.0, y: 300_000.0),
            (x: 601_000.0, y: 301_000.0),
            (x: 600_000.0, y: 301_000.0),
            (x: 600_000.0, y: 300_000.0),
        ];
        let mut g = Geometry::Polygon(square.clone());
        geometry_to_wgs84(&mut g, BNG).unwrap();
        let Geometry::Polygon(in_wgs84) = &g else {
            panic!("geometry type changed");
        };
        let first = in_wgs84.exterior().0[0];
        assert!((0.0..2.0).contains(&first.x) && (52.0..53.0).contains(&first.y));

        geometry_from_wgs84(&mut g, BNG).unwrap();
        let Geometry::Polygon(back) = g else {
            panic!("geometry type changed");
        };
        for (a, b) in back.exterior().0.iter().zip(&square.exterior().0) {
            assert!((a.x - b.x).hypot(a.y - b.y) < 0.01);
        }
    }

    #[test]
    fn a_nan_vertex_fails_the_geometry() {
        let mut g = Geometry::Point(geo::point!(x: f64::NAN, y: 300_000.0));
        assert!(matches!(
            geometry_to_wgs84(&mut g, BNG),
            Err(ReprojectError::NonFinite { .. })
        ));
    }
}
