//! Band areas drawn for maps: which parts of a banded region are within each distance band of
//! the nearest centre.
//!
//! Pure geometry (WGS84 lon/lat, `geo` only): no I/O, no HTTP. [`BandPlan`] reads what to draw
//! from a loaded scheme (its banded region and the centres open on a date); the drawing
//! itself knows no dataset types. The shapes are
//! for display only. A circle here is a polygon through [`CIRCLE_SEGMENTS`] points at the exact
//! geodesic radius, so its edge lies up to a few metres inside the true circle between those
//! points; the band of an address always comes from the exact geodesic distance in
//! [`crate::engine::resolve`], never from these polygons.
//!
//! For thresholds `t1 < t2 < ... < tn` (metres) and `U(t)` the union of the circles of radius
//! `t` around every centre:
//! 1. band 1 is `U(t1) ∩ region`;
//! 2. band `k` (1 < k <= n) is `(U(tk) − U(tk−1)) ∩ region`;
//! 3. the last band is `region − U(tn)`.

use geo::{BooleanOps, Destination, Geodesic, LineString, MultiPolygon, Polygon, unary_union};

use crate::engine::coord::LonLat;
use crate::engine::dataset::{Centre, LoadedScheme};
use crate::engine::scheme::Banding;

/// What one banded scheme's map on one date is drawn from.
#[derive(Debug)]
pub struct BandPlan<'a> {
    /// The scheme's banding rule.
    pub banding: &'a Banding,
    /// The centres open on the date, with their index in the scheme's centre set (the key a
    /// drawing can be cached by) and position.
    pub open: Vec<(usize, LonLat, &'a Centre)>,
    /// The features of the banded region.
    pub region_parts: Vec<MultiPolygon<f64>>,
}

impl<'a> BandPlan<'a> {
    /// The plan for `ls` on `date`; `None` when the scheme does not price by distance bands.
    #[must_use]
    pub fn new(ls: &'a LoadedScheme, date: chrono::NaiveDate) -> Option<Self> {
        let banding = ls.scheme.banding.as_ref()?;
        let open = ls
            .centres
            .iter()
            .flat_map(|centres| centres.iter().enumerate())
            .filter(|(_, (_, c))| c.open_on(date))
            .map(|(i, (at, c))| (i, at, c))
            .collect();
        let region_parts = ls
            .layer(&banding.region_layer)
            .map(|l| {
                l.index
                    .iter()
                    .filter(|(_, f)| {
                        banding.region_features.is_empty()
                            || banding.region_features.iter().any(|r| f.id == *r)
                    })
                    .map(|(shape, _)| shape.clone())
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            banding,
            open,
            region_parts,
        })
    }

    /// The indexes of the open centres: with the scheme and dataset, what the drawing depends
    /// on.
    #[must_use]
    pub fn key(&self) -> Vec<usize> {
        self.open.iter().map(|(i, _, _)| *i).collect()
    }

    /// The drawing as a job that owns its inputs, to run off the request threads: the band
    /// areas of [`band_areas`], band 1 first.
    pub fn drawing(&self) -> impl FnOnce() -> Vec<MultiPolygon<f64>> + Send + 'static {
        let region_parts = self.region_parts.clone();
        let points: Vec<LonLat> = self.open.iter().map(|(_, at, _)| *at).collect();
        let thresholds = self.banding.thresholds_m();
        move || {
            let region = unary_union(&region_parts);
            band_areas(&region, &points, &thresholds, CIRCLE_SEGMENTS)
        }
    }
}

/// Points on each drawn circle: every 5 degrees of bearing. At 6 miles the polygon's edge is
/// at most about 3 m inside the true circle.
pub const CIRCLE_SEGMENTS: usize = 72;

/// A closed polygon approximating the geodesic circle of `radius_m` around `centre`: its
/// vertices are exactly `radius_m` away along geodesics, at equal bearing steps, counter-
/// clockwise. `segments` below 3 is raised to 3.
///
/// ```
/// # use careband::engine::{bands_map::geodesic_circle, coord::LonLat};
/// use geo::{Contains, Point};
/// let c = geodesic_circle(LonLat::new(1.29, 52.63).unwrap(), 4828.032, 72);
/// assert_eq!(c.exterior().0.len(), 73); // closed ring
/// assert!(c.contains(&Point::new(1.29, 52.63)));
/// ```
#[must_use]
pub fn geodesic_circle(centre: LonLat, radius_m: f64, segments: usize) -> Polygon<f64> {
    let n = segments.max(3);
    #[expect(
        clippy::cast_precision_loss,
        reason = "segment counts are small integers"
    )]
    let step = 360.0 / n as f64;
    let origin = centre.point();
    // Decreasing bearings (north, west, south, east) trace the ring counter-clockwise in
    // lon/lat, the exterior orientation GeoJSON (RFC 7946) asks for.
    let mut ring: Vec<geo::Coord<f64>> = (0..n)
        .map(|i| {
            #[expect(
                clippy::cast_precision_loss,
                reason = "segment counts are small integers"
            )]
            let bearing = 360.0 - step * i as f64;
            Geodesic.destination(origin, bearing % 360.0, radius_m).0
        })
        .collect();
    ring.push(ring[0]);
    Polygon::new(LineString(ring), vec![])
}

/// The union of circles of `radius_m` around every centre.
#[must_use]
pub fn circles_union(centres: &[LonLat], radius_m: f64, segments: usize) -> MultiPolygon<f64> {
    let circles: Vec<Polygon<f64>> = centres
        .iter()
        .map(|&c| geodesic_circle(c, radius_m, segments))
        .collect();
    unary_union(&circles)
}

/// The area of each band within `region`: one multipolygon per band,
/// `thresholds_m.len() + 1` in all, in band order (see the module docs for the construction).
///
/// With no centres every band but the last is empty and the last is the whole region.
/// `thresholds_m` must be ascending; they are the band limits in metres.
///
/// # Runtime
/// One union of `centres.len()` circles per threshold, then one difference and one
/// intersection per band: well under a second for a few hundred centres and a county-sized
/// region.
#[must_use]
pub fn band_areas(
    region: &MultiPolygon<f64>,
    centres: &[LonLat],
    thresholds_m: &[f64],
    segments: usize,
) -> Vec<MultiPolygon<f64>> {
    let unions: Vec<MultiPolygon<f64>> = thresholds_m
        .iter()
        .map(|&t| circles_union(centres, t, segments))
        .collect();
    let mut bands = Vec::with_capacity(thresholds_m.len() + 1);
    for (i, outer) in unions.iter().enumerate() {
        let ring = match i.checked_sub(1).and_then(|j| unions.get(j)) {
            Some(inner) => outer.difference(inner),
            None => outer.clone(),
        };
        bands.push(ring.intersection(region));
    }
    bands.push(match unions.last() {
        Some(outermost) => region.difference(outermost),
        None => region.clone(),
    });
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use geo::{Contains, GeodesicArea, Point, wkt};

    const MILE: f64 = crate::engine::coord::METRES_PER_MILE;

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    /// A point `miles` due east of `c` along the geodesic.
    fn east_of(c: LonLat, miles: f64) -> Point<f64> {
        Geodesic.destination(c.point(), 90.0, miles * MILE)
    }

    /// A box around Norwich far larger than 6 miles in every direction.
    fn big_region() -> MultiPolygon<f64> {
        wkt!(MULTIPOLYGON(((0.5 52.2,2.0 52.2,2.0 53.0,0.5 53.0,0.5 52.2))))
    }

    #[test]
    fn a_circle_has_the_area_of_a_geodesic_disc() {
        // A regular 72-gon inscribed in a circle has (72 / 2pi) sin(2pi / 72) = 0.99873 of the
        // circle's area; the ellipsoid changes that by far less than 0.1% at 3 miles.
        let c = geodesic_circle(ll(1.29, 52.63), 3.0 * MILE, CIRCLE_SEGMENTS);
        let disc = std::f64::consts::PI * (3.0 * MILE).powi(2);
        assert_relative_eq!(
            c.geodesic_area_unsigned(),
            disc * 0.99873,
            max_relative = 1e-3
        );
    }

    #[test]
    fn one_centre_gives_a_disc_a_ring_and_the_rest() {
        let norwich = ll(1.29, 52.63);
        let bands = band_areas(&big_region(), &[norwich], &[3.0 * MILE, 6.0 * MILE], 72);
        assert_eq!(bands.len(), 3);
        let (r3, r6) = (3.0 * MILE, 6.0 * MILE);
        let pi = std::f64::consts::PI * 0.99873;
        assert_relative_eq!(
            bands[0].geodesic_area_unsigned(),
            pi * r3 * r3,
            max_relative = 1e-3
        );
        assert_relative_eq!(
            bands[1].geodesic_area_unsigned(),
            pi * (r6 * r6 - r3 * r3),
            max_relative = 1e-3
        );
        let total = big_region().geodesic_area_unsigned();
        assert_relative_eq!(
            bands[2].geodesic_area_unsigned(),
            total - pi * r6 * r6,
            max_relative = 1e-3
        );
        // Points at 2, 4 and 7 miles lie in bands 1, 2 and 3 and in no other.
        for (miles, band) in [(2.0, 0), (4.0, 1), (7.0, 2)] {
            let p = east_of(norwich, miles);
            for (i, b) in bands.iter().enumerate() {
                assert_eq!(b.contains(&p), i == band, "{miles} miles, band {}", i + 1);
            }
        }
    }

    #[test]
    fn bands_are_clipped_to_the_region() {
        // The region's west edge runs through the centre: only the eastern half of each band.
        let norwich = ll(1.29, 52.63);
        let half = wkt!(MULTIPOLYGON(((1.29 52.2,2.0 52.2,2.0 53.0,1.29 53.0,1.29 52.2))));
        let bands = band_areas(&half, &[norwich], &[3.0 * MILE], 72);
        let disc = std::f64::consts::PI * 0.99873 * (3.0 * MILE).powi(2);
        assert_relative_eq!(
            bands[0].geodesic_area_unsigned(),
            disc / 2.0,
            max_relative = 2e-3
        );
        assert!(!bands[0].contains(&Geodesic.destination(norwich.point(), 270.0, MILE)));
        assert!(bands[0].contains(&east_of(norwich, 1.0)));
    }

    #[test]
    fn overlapping_circles_are_merged_and_distant_ones_kept_apart() {
        let a = ll(1.00, 52.60);
        let b = ll(1.05, 52.60); // about 2.1 miles from a: the 3-mile circles overlap
        let c = ll(1.80, 52.90); // far from both
        let bands = band_areas(&big_region(), &[a, b, c], &[3.0 * MILE, 6.0 * MILE], 72);
        assert_eq!(bands[0].0.len(), 2, "two separate band-1 islands");
        // Midway between a and b is band 1, not a gap.
        assert!(bands[0].contains(&Point::new(1.025, 52.60)));
    }

    #[test]
    fn no_centres_leave_the_whole_region_in_the_last_band() {
        let bands = band_areas(&big_region(), &[], &[3.0 * MILE, 6.0 * MILE], 72);
        assert!(bands[0].0.is_empty());
        assert!(bands[1].0.is_empty());
        assert_relative_eq!(
            bands[2].geodesic_area_unsigned(),
            big_region().geodesic_area_unsigned(),
            max_relative = 1e-9
        );
    }
}
