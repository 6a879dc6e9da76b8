//! Validated coordinates and the distance rules used everywhere else.
//!
//! Pure: no I/O, no projection library. A [`LonLat`] can only be built through
//! [`LonLat::new`], which rejects NaN, infinities and out-of-range values, so every later stage
//! can trust its input.

use geo::{Distance, Geodesic, Point, VincentyDistance};

/// Metres in one international mile (exact by definition).
pub const METRES_PER_MILE: f64 = 1609.344;

/// How distances are measured, as reported in every answer.
pub const DISTANCE_METHOD: &str = "geodesic on the WGS84 ellipsoid (Vincenty inverse, Karney 2013 where it does not converge), straight line";

/// A WGS84 position, longitude first (`x = lon`, `y = lat`), in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

/// Why a coordinate was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CoordError {
    /// The value is NaN or infinite.
    #[error("{axis} must be a finite number, got {value}")]
    NotFinite {
        /// `lat`, `lon`, `easting` or `northing`.
        axis: &'static str,
        /// The offending value.
        value: f64,
    },
    /// The value is outside the valid range for its axis.
    #[error("{axis} {value} is out of range ({min} to {max})")]
    OutOfRange {
        /// `lat`, `lon`, `easting` or `northing`.
        axis: &'static str,
        /// The offending value.
        value: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
}

fn check(axis: &'static str, value: f64, min: f64, max: f64) -> Result<f64, CoordError> {
    if !value.is_finite() {
        return Err(CoordError::NotFinite { axis, value });
    }
    if !(min..=max).contains(&value) {
        return Err(CoordError::OutOfRange {
            axis,
            value,
            min,
            max,
        });
    }
    Ok(value)
}

impl LonLat {
    /// A checked WGS84 position.
    ///
    /// # Errors
    /// [`CoordError`] when either value is not finite or is outside -180..=180 (lon) or
    /// -90..=90 (lat).
    ///
    /// ```
    /// # use careband::engine::coord::LonLat;
    /// assert!(LonLat::new(1.2931, 52.6309).is_ok());
    /// assert!(LonLat::new(f64::NAN, 52.0).is_err());
    /// assert!(LonLat::new(1.0, 91.0).is_err());
    /// ```
    pub fn new(lon: f64, lat: f64) -> Result<Self, CoordError> {
        Ok(Self {
            lon: check("lon", lon, -180.0, 180.0)?,
            lat: check("lat", lat, -90.0, 90.0)?,
        })
    }

    /// Longitude in degrees.
    #[must_use]
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Latitude in degrees.
    #[must_use]
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// As a `geo` point (`x = lon`, `y = lat`).
    #[must_use]
    pub fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    /// Geodesic distance to `other` on the WGS84 ellipsoid, in metres.
    ///
    /// Vincenty's iterative inverse solution, which agrees with Karney's algorithm to well
    /// under a millimetre for any pair it converges on and costs a fraction of it; for nearly
    /// antipodal pairs, where it does not converge, Karney's.
    #[must_use]
    pub fn distance_m(self, other: LonLat) -> f64 {
        self.point()
            .vincenty_distance(&other.point())
            .unwrap_or_else(|_| Geodesic.distance(self.point(), other.point()))
    }

    /// The point as a unit vector on the sphere, for chord-distance indexing.
    #[must_use]
    pub(crate) fn unit_vector(self) -> [f64; 3] {
        let (lat, lon) = (self.lat.to_radians(), self.lon.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    }
}

/// A British National Grid (EPSG:27700) position in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bng {
    easting: f64,
    northing: f64,
}

impl Bng {
    /// A checked BNG position: easting 0..=800 000 m, northing 0..=1 400 000 m (the grid's
    /// extent around Great Britain).
    ///
    /// # Errors
    /// [`CoordError`] for non-finite or out-of-grid values.
    pub fn new(easting: f64, northing: f64) -> Result<Self, CoordError> {
        Ok(Self {
            easting: check("easting", easting, 0.0, 800_000.0)?,
            northing: check("northing", northing, 0.0, 1_400_000.0)?,
        })
    }

    /// Easting in metres.
    #[must_use]
    pub fn easting(self) -> f64 {
        self.easting
    }

    /// Northing in metres.
    #[must_use]
    pub fn northing(self) -> f64 {
        self.northing
    }
}

/// Metres to miles.
#[must_use]
pub fn metres_to_miles(m: f64) -> f64 {
    m / METRES_PER_MILE
}

/// A conversion from British National Grid to WGS84, which the engine needs for BNG queries
/// but does not do itself: projection needs PROJ, so the data layer gives every dataset one
/// ([`crate::data::reproject::ProjGrid`]) and the core stays pure.
pub trait GridTransform: Send + Sync + std::fmt::Debug {
    /// The WGS84 position of a BNG point.
    ///
    /// # Errors
    /// [`TransformError`] when the conversion cannot be done (no transformation available,
    /// or the point is outside its domain).
    fn to_lon_lat(&self, bng: Bng) -> Result<LonLat, TransformError>;
}

/// A BNG point could not be converted to WGS84; the cause is kept as the source.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot convert the BNG point to WGS84")]
pub struct TransformError(#[source] pub std::sync::Arc<dyn std::error::Error + Send + Sync>);

/// A [`GridTransform`] that refuses every point: for datasets built without PROJ (tests of the
/// pure core).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGridTransform;

/// Why [`NoGridTransform`] refused.
#[derive(Debug, thiserror::Error)]
#[error("this dataset has no BNG transformation")]
struct NoTransform;

impl GridTransform for NoGridTransform {
    fn to_lon_lat(&self, _bng: Bng) -> Result<LonLat, TransformError> {
        Err(TransformError(std::sync::Arc::new(NoTransform)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn distances_agree_with_karney_to_a_tenth_of_a_millimetre() {
        let ll = |lon, lat| LonLat::new(lon, lat).unwrap();
        let pairs = [
            (ll(1.2985, 52.6309), ll(1.2985, 52.6309)), // the same point
            (ll(1.2985, 52.6309), ll(1.2986, 52.6309)), // 7 m
            (ll(1.2985, 52.6309), ll(1.1064, 52.5707)), // Norwich - Wymondham
            (ll(1.2985, 52.6309), ll(0.3978, 52.7517)), // Norwich - King's Lynn
            (ll(-2.5879, 51.4545), ll(1.2985, 52.6309)), // Bristol - Norwich
            (ll(-0.1276, 51.5072), ll(151.2093, -33.8688)), // London - Sydney
            (ll(0.0, 0.0), ll(90.0, 0.0)),              // along the equator
            (ll(0.0, 89.9), ll(180.0, 89.9)),           // over the pole
        ];
        for (a, b) in pairs {
            let karney = Geodesic.distance(a.point(), b.point());
            let d = a.distance_m(b);
            assert!((d - karney).abs() < 1e-4, "{a:?} {b:?}: {d} vs {karney}");
            assert!((b.distance_m(a) - d).abs() < 1e-4, "symmetric");
        }
    }

    #[test]
    fn nearly_antipodal_points_fall_back_to_karney() {
        // Nearly antipodal pairs for which Vincenty's method does not converge, with their
        // WGS84 distances as published in GeographicLib's test suite (cases GeodSolve9, 76 -
        // Wellington to Salamanca - and 78): (lon1, lat1, lon2, lat2, metres, within). The
        // margin is half a unit of the last published digit plus as much again for ours.
        let published = [
            (
                0.0,
                56.320_923_501_171,
                179.664_747_671_772_9,
                -56.320_923_501_171,
                19_993_558.287,
                1e-3,
            ),
            (
                174.0 + 49.0 / 60.0,
                -(41.0 + 19.0 / 60.0),
                -(5.0 + 30.0 / 60.0),
                40.0 + 58.0 / 60.0,
                19_960_543.857_179,
                1e-6,
            ),
            (0.0, 27.2, 179.5, -27.1, 19_974_354.765_767, 1e-6),
        ];
        for (lon1, lat1, lon2, lat2, metres, within) in published {
            let a = LonLat::new(lon1, lat1).unwrap();
            let b = LonLat::new(lon2, lat2).unwrap();
            assert!(
                a.point().vincenty_distance(&b.point()).is_err(),
                "{a:?} {b:?}: Vincenty converges, so the fallback is not tested"
            );
            let d = a.distance_m(b);
            assert!((d - metres).abs() < within, "{a:?} {b:?}: {d} vs {metres}");
        }
    }

    #[test]
    fn nan_and_infinite_coordinates_are_refused() {
        assert!(matches!(
            LonLat::new(f64::NAN, 52.0),
            Err(CoordError::NotFinite { axis: "lon", .. })
        ));
        assert!(matches!(
            LonLat::new(1.0, f64::INFINITY),
            Err(CoordError::NotFinite { axis: "lat", .. })
        ));
    }

    #[test]
    fn out_of_range_coordinates_are_refused() {
        assert!(LonLat::new(180.5, 0.0).is_err());
        assert!(LonLat::new(0.0, -90.01).is_err());
        assert!(LonLat::new(-180.0, 90.0).is_ok());
        assert!(Bng::new(-1.0, 0.0).is_err());
        assert!(Bng::new(624_073.0, 308_352.0).is_ok());
    }

    #[test]
    fn one_degree_of_latitude_near_norwich_is_about_111_3_km() {
        // Independent figure: the WGS84 meridian arc length per degree at 52.5 N is 111.26 km.
        let a = LonLat::new(1.3, 52.0).unwrap();
        let b = LonLat::new(1.3, 53.0).unwrap();
        assert_relative_eq!(a.distance_m(b), 111_263.0, max_relative = 1e-3);
    }

    #[test]
    fn three_miles_is_4828_metres() {
        // From the units' legal definitions, not from METRES_PER_MILE: the international yard
        // is exactly 0.9144 m (1959 agreement; Weights and Measures Act 1985 in the UK), and a
        // mile is 1760 yards.
        let three_miles_m = 3.0 * 1760.0 * 0.9144;
        assert_relative_eq!(three_miles_m, 4828.032);
        assert_relative_eq!(metres_to_miles(three_miles_m), 3.0);
        assert_relative_eq!(metres_to_miles(0.9144), 1.0 / 1760.0);
    }
}
