//! Read-only spatial indexes over WGS84 data: nearest centre and covering polygons.
//!
//! Pure: `geo` and `rstar` only; no files, no HTTP, no projection library. Both indexes are
//! built once at load and then shared read-only between threads.
//!
//! - [`PointIndex`] answers "which accepted centre is nearest, and how far (geodesic metres)".
//!   It indexes unit vectors on the sphere (chord distance is monotonic in great-circle
//!   distance, so no projection is needed anywhere on Earth), then re-ranks the few candidates
//!   that could win by the exact ellipsoidal distance.
//! - [`PolygonIndex`] answers "which polygons cover this point". A point on a polygon's boundary
//!   is covered (so a point on a shared border belongs to both neighbours); a point in a hole
//!   is not. Candidates come from an R-tree of bounding boxes, then an interval-tree
//!   containment test and an R-tree of boundary segments decide exactly.

use std::borrow::Cow;

use geo::indexed::IntervalTreeMultiPolygon;
use geo::orient::{Direction, Orient};
use geo::{BoundingRect, Contains, Coord, Intersects, Line, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, PointDistance, RTree};

use crate::engine::coord::LonLat;

mod cells;
use cells::CellGrid;

/// Mean Earth radius (IUGG), metres: converts chord length to an approximate arc length.
const MEAN_EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The ratio of WGS84 geodesic distance to mean-sphere distance lies between about 0.9944
/// (north-south at the equator) and 1.0045 (north-south near the poles), so two candidates'
/// ratios differ by at most 1.0045 / 0.9944 < 1.011: a candidate whose spherical distance
/// exceeds the best exact distance by more than this factor cannot be nearer on the ellipsoid.
const SPHERE_ELLIPSOID_SLACK: f64 = 1.011;

type PointEntry = GeomWithData<[f64; 3], u32>;

/// Points with payloads, indexed for nearest-neighbour queries by geodesic distance.
pub struct PointIndex<T> {
    tree: RTree<PointEntry>,
    positions: Vec<LonLat>,
    items: Vec<T>,
}

/// The answer of [`PointIndex::nearest`].
#[derive(Debug)]
pub struct Nearest<'a, T> {
    /// The winning item.
    pub item: &'a T,
    /// Its position.
    pub position: LonLat,
    /// Geodesic distance from the query point, metres.
    pub distance_m: f64,
}

impl<T> PointIndex<T> {
    /// Builds the index.
    ///
    /// # Runtime
    /// `O(n log n)` (rstar bulk load).
    ///
    /// # Panics
    /// Never for fewer than 2^32 items; more than that is refused with a panic because ids are
    /// stored as `u32`.
    #[must_use]
    pub fn build(entries: Vec<(LonLat, T)>) -> Self {
        let mut positions = Vec::with_capacity(entries.len());
        let mut items = Vec::with_capacity(entries.len());
        let mut tree_entries = Vec::with_capacity(entries.len());
        for (i, (p, item)) in entries.into_iter().enumerate() {
            let id = u32::try_from(i).expect("fewer than 2^32 centres");
            tree_entries.push(GeomWithData::new(p.unit_vector(), id));
            positions.push(p);
            items.push(item);
        }
        Self {
            tree: RTree::bulk_load(tree_entries),
            positions,
            items,
        }
    }

    /// Number of points.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the index holds no points.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// All items with their positions, in build order.
    pub fn iter(&self) -> impl Iterator<Item = (LonLat, &T)> {
        self.positions.iter().copied().zip(self.items.iter())
    }

    /// The nearest item that `accept` allows, by geodesic distance. Ties (equal distance to
    /// the millimetre) go to the item built first, so answers are deterministic.
    ///
    /// Returns `None` when no accepted item exists.
    ///
    /// ```
    /// # use careband::engine::{coord::LonLat, geo_index::PointIndex};
    /// let idx = PointIndex::build(vec![
    ///     (LonLat::new(1.30, 52.63).unwrap(), "norwich"),
    ///     (LonLat::new(1.10, 52.57).unwrap(), "wymondham"),
    /// ]);
    /// let q = LonLat::new(1.12, 52.58).unwrap();
    /// assert_eq!(*idx.nearest(q, |_| true).unwrap().item, "wymondham");
    /// assert_eq!(*idx.nearest(q, |c| *c != "wymondham").unwrap().item, "norwich");
    /// assert!(idx.nearest(q, |_| false).is_none());
    /// ```
    pub fn nearest(&self, at: LonLat, accept: impl Fn(&T) -> bool) -> Option<Nearest<'_, T>> {
        let q = at.unit_vector();
        let better = |d: f64, i: usize, (best_m, best_i): (f64, usize)| {
            d < best_m - 0.0005 || (d <= best_m + 0.0005 && i < best_i)
        };
        // The usual case: the nearest item on the sphere is accepted. Only items within the
        // sphere/ellipsoid slack of its exact distance can beat it, so look at those alone.
        if let Some(first) = self.tree.nearest_neighbor(&q)
            && accept(&self.items[first.data as usize])
        {
            let i0 = first.data as usize;
            let mut best = (at.distance_m(self.positions[i0]), i0);
            let reach = chord_of(best.0 * SPHERE_ELLIPSOID_SLACK + 0.01);
            for entry in self.tree.locate_within_distance(q, reach * reach) {
                let i = entry.data as usize;
                if i == i0 || !accept(&self.items[i]) {
                    continue;
                }
                let d = at.distance_m(self.positions[i]);
                if better(d, i, best) {
                    best = (d, i);
                }
            }
            return Some(Nearest {
                item: &self.items[best.1],
                position: self.positions[best.1],
                distance_m: best.0,
            });
        }
        let mut best: Option<(f64, usize)> = None;
        for (entry, chord_2) in self.tree.nearest_neighbor_iter_with_distance_2(&q) {
            let i = entry.data as usize;
            if let Some((best_m, _)) = best
                && spherical_m(chord_2) > best_m * SPHERE_ELLIPSOID_SLACK + 0.01
            {
                break;
            }
            if !accept(&self.items[i]) {
                continue;
            }
            let d = at.distance_m(self.positions[i]);
            if best.is_none_or(|b| better(d, i, b)) {
                best = Some((d, i));
            }
        }
        best.map(|(distance_m, i)| Nearest {
            item: &self.items[i],
            position: self.positions[i],
            distance_m,
        })
    }

    /// Every item that `accept` allows within `radius_m` (geodesic) of `at`, nearest first;
    /// ties (equal distance to the millimetre) in build order.
    ///
    /// # Runtime
    /// `O(log n + k log k)` for `k` items in the radius (an R-tree range query on the unit
    /// sphere, widened by the sphere/ellipsoid slack, then the exact distance of each).
    ///
    /// ```
    /// # use careband::engine::{coord::LonLat, geo_index::PointIndex};
    /// let idx = PointIndex::build(vec![
    ///     (LonLat::new(1.30, 52.63).unwrap(), "norwich"),
    ///     (LonLat::new(1.10, 52.57).unwrap(), "wymondham"),
    /// ]);
    /// let q = LonLat::new(1.12, 52.58).unwrap();
    /// let near: Vec<_> = idx.within(q, 20_000.0, |_| true).iter().map(|n| *n.item).collect();
    /// assert_eq!(near, ["wymondham", "norwich"]);
    /// assert_eq!(idx.within(q, 2_000.0, |_| true).len(), 1);
    /// ```
    pub fn within(
        &self,
        at: LonLat,
        radius_m: f64,
        accept: impl Fn(&T) -> bool,
    ) -> Vec<Nearest<'_, T>> {
        let reach = chord_of(radius_m * SPHERE_ELLIPSOID_SLACK + 0.01);
        let mut found: Vec<(f64, usize)> = self
            .tree
            .locate_within_distance(at.unit_vector(), reach * reach)
            .filter_map(|entry| {
                let i = entry.data as usize;
                if !accept(&self.items[i]) {
                    return None;
                }
                let d = at.distance_m(self.positions[i]);
                (d <= radius_m).then_some((d, i))
            })
            .collect();
        found.sort_by(|a, b| {
            // Millimetres, so a tie is the same as in `nearest`.
            let mm = |d: f64| (d * 1000.0).round();
            mm(a.0).total_cmp(&mm(b.0)).then(a.1.cmp(&b.1))
        });
        found
            .into_iter()
            .map(|(distance_m, i)| Nearest {
                item: &self.items[i],
                position: self.positions[i],
                distance_m,
            })
            .collect()
    }
}

/// Great-circle distance on the mean sphere for a squared chord of the unit sphere.
fn spherical_m(chord_2: f64) -> f64 {
    2.0 * (chord_2.sqrt() / 2.0).min(1.0).asin() * MEAN_EARTH_RADIUS_M
}

/// The chord of the unit sphere for a great-circle distance in metres on the mean sphere (the
/// inverse of [`spherical_m`]), at most the diameter.
fn chord_of(metres: f64) -> f64 {
    2.0 * (metres / (2.0 * MEAN_EARTH_RADIUS_M))
        .min(std::f64::consts::FRAC_PI_2)
        .sin()
}

type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;
type SegmentEntry = GeomWithData<rstar::primitives::Line<[f64; 2]>, ()>;

struct IndexedShape {
    shape: MultiPolygon<f64>,
    interior: IntervalTreeMultiPolygon<f64>,
    boundary: RTree<SegmentEntry>,
}

/// How a polygon matched a point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PolygonMatch {
    /// The point is inside the polygon or on its boundary.
    Covered,
    /// The point is outside, but within the stated tolerance of the boundary.
    WithinTolerance {
        /// Distance from the point to the polygon boundary, metres.
        distance_m: f64,
    },
}

/// Polygons with payloads, indexed for point queries.
pub struct PolygonIndex<A> {
    tree: RTree<BoxEntry>,
    shapes: Vec<IndexedShape>,
    areas: Vec<A>,
    /// Settles most `covering` queries without a polygon test; `None` for an empty index.
    cells: Option<CellGrid>,
}

impl<A> PolygonIndex<A> {
    /// Builds the index. Shapes with no coordinates are skipped (they can cover nothing).
    ///
    /// # Runtime
    /// `O(v log v)` in the total number of vertices `v`.
    ///
    /// # Panics
    /// With 2^32 shapes or more (a layer holds thousands).
    #[must_use]
    pub fn build(entries: Vec<(MultiPolygon<f64>, A)>) -> Self {
        let mut tree_entries = Vec::new();
        let mut shapes = Vec::new();
        let mut areas = Vec::new();
        for (shape, area) in entries {
            // The interval tree counts winding numbers, so holes must wind against their
            // exterior; source files do not promise any orientation.
            let shape = shape.orient(Direction::Default);
            let Some(rect) = shape.bounding_rect() else {
                continue;
            };
            let id = u32::try_from(shapes.len()).expect("fewer than 2^32 polygons");
            let min = rect.min();
            let max = rect.max();
            tree_entries.push(GeomWithData::new(
                Rectangle::from_corners([min.x, min.y], [max.x, max.y]),
                id,
            ));
            let segments = shape
                .0
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                .flat_map(geo::LineString::lines)
                .map(|l| {
                    GeomWithData::new(
                        rstar::primitives::Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                        (),
                    )
                })
                .collect();
            shapes.push(IndexedShape {
                interior: IntervalTreeMultiPolygon::new(&shape),
                boundary: RTree::bulk_load(segments),
                shape,
            });
            areas.push(area);
        }
        let mut index = Self {
            tree: RTree::bulk_load(tree_entries),
            shapes,
            areas,
            cells: None,
        };
        let extent = index
            .shapes
            .iter()
            .filter_map(|s| s.shape.bounding_rect())
            .reduce(|a, b| {
                geo::Rect::new(
                    Coord {
                        x: a.min().x.min(b.min().x),
                        y: a.min().y.min(b.min().y),
                    },
                    Coord {
                        x: a.max().x.max(b.max().x),
                        y: a.max().y.max(b.max().y),
                    },
                )
            });
        if let Some(extent) = extent {
            let segments = index
                .shapes
                .iter()
                .flat_map(|s| s.boundary.iter())
                .map(segment_ends);
            index.cells = CellGrid::build(extent, segments, |c| index.covering_exact(c));
        }
        index
    }

    /// Number of polygons.
    #[must_use]
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// Whether the index holds no polygons.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The polygon and payload at `i` (build order, after skipping empty shapes).
    #[must_use]
    pub fn get(&self, i: usize) -> Option<(&MultiPolygon<f64>, &A)> {
        Some((&self.shapes.get(i)?.shape, self.areas.get(i)?))
    }

    /// All polygons with payloads, in build order.
    pub fn iter(&self) -> impl Iterator<Item = (&MultiPolygon<f64>, &A)> {
        self.shapes.iter().map(|s| &s.shape).zip(self.areas.iter())
    }

    /// Indexes of the polygons covering `at` (boundary included, holes excluded), ascending.
    ///
    /// ```
    /// # use careband::engine::{coord::LonLat, geo_index::PolygonIndex};
    /// use geo::wkt;
    /// let idx = PolygonIndex::build(vec![
    ///     (wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)))), "left"),
    ///     (wkt!(MULTIPOLYGON(((1. 0.,2. 0.,2. 1.,1. 1.,1. 0.)))), "right"),
    /// ]);
    /// let on_border = LonLat::new(1.0, 0.5).unwrap();
    /// assert_eq!(idx.covering(on_border), vec![0, 1]);
    /// ```
    #[must_use]
    pub fn covering(&self, at: LonLat) -> Cow<'_, [usize]> {
        let c = Coord {
            x: at.lon(),
            y: at.lat(),
        };
        if let Some(settled) = self.cells.as_ref().and_then(|g| g.settled(c)) {
            return Cow::Borrowed(settled);
        }
        Cow::Owned(self.covering_exact(c))
    }

    /// [`PolygonIndex::covering`] by the polygon tests alone, without the cell grid.
    fn covering_exact(&self, c: Coord<f64>) -> Vec<usize> {
        let p = [c.x, c.y];
        let mut hits: Vec<usize> = self
            .tree
            .locate_all_at_point(&p)
            .map(|e| e.data as usize)
            .filter(|&i| {
                let s = &self.shapes[i];
                s.interior.contains(&c) || on_boundary(&s.boundary, c)
            })
            .collect();
        hits.sort_unstable();
        hits
    }

    /// Polygons whose boundary lies within `tolerance_m` of `at` although they do not cover it,
    /// nearest first, with the distance in metres.
    ///
    /// Distances use a local equirectangular approximation around `at` (error well under 1%
    /// at the tolerances this is meant for, a few hundred metres).
    #[must_use]
    pub fn near(&self, at: LonLat, tolerance_m: f64) -> Vec<(usize, f64)> {
        self.near_uncovered(at, tolerance_m, &self.covering(at))
    }

    /// [`PolygonIndex::near`] for a caller that already holds `covering`, the answer of
    /// [`PolygonIndex::covering`] for the same point: the polygons in it are left out without
    /// testing them again.
    #[must_use]
    pub fn near_uncovered(
        &self,
        at: LonLat,
        tolerance_m: f64,
        covering: &[usize],
    ) -> Vec<(usize, f64)> {
        let Some(local) = LocalWindow::new(at, tolerance_m) else {
            return Vec::new();
        };
        if self.clear_of_boundaries(&local) {
            return Vec::new();
        }
        let mut out: Vec<(usize, f64)> = self
            .tree
            .locate_in_envelope_intersecting(&local.window)
            .filter_map(|e| {
                let i = e.data as usize;
                if covering.contains(&i) {
                    return None;
                }
                let d = local.distance_to(&self.shapes[i].boundary);
                (d <= tolerance_m).then_some((i, d))
            })
            .collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out
    }

    /// Distance in metres from `at` to the nearest polygon edge (of any polygon, whether or
    /// not it covers `at`), when that is within `tolerance_m`. Same approximation as
    /// [`PolygonIndex::near`].
    #[must_use]
    pub fn edge_distance_m(&self, at: LonLat, tolerance_m: f64) -> Option<f64> {
        let local = LocalWindow::new(at, tolerance_m)?;
        if self.clear_of_boundaries(&local) {
            return None;
        }
        self.tree
            .locate_in_envelope_intersecting(&local.window)
            .map(|e| local.distance_to(&self.shapes[e.data as usize].boundary))
            .filter(|d| *d <= tolerance_m)
            .min_by(f64::total_cmp)
    }
}

impl<A> PolygonIndex<A> {
    /// True when the cell grid shows that no boundary passes through the window, so the
    /// segment search can be skipped: most points lie well inside one polygon. Measured on
    /// the resolve bench (BENCHMARKS.md, "One tolerance rule"): the search for nearby
    /// boundaries of every layer doubled the time of a resolve without this.
    fn clear_of_boundaries(&self, local: &LocalWindow) -> bool {
        let (lo, hi) = (local.window.lower(), local.window.upper());
        self.cells.as_ref().is_some_and(|g| {
            g.clear_of_boundaries(Coord { x: lo[0], y: lo[1] }, Coord { x: hi[0], y: hi[1] })
        })
    }
}

/// A square search window of `tolerance_m` around a point, with a local equirectangular
/// projection (metres, origin at the point) for distances inside it.
struct LocalWindow {
    at: LonLat,
    cos_lat: f64,
    window: AABB<[f64; 2]>,
}

impl LocalWindow {
    const METRES_PER_DEG_LAT: f64 = 111_195.0;

    fn new(at: LonLat, tolerance_m: f64) -> Option<Self> {
        if tolerance_m.is_nan() || tolerance_m <= 0.0 {
            return None;
        }
        let cos_lat = at.lat().to_radians().cos().max(1e-6);
        let dlat = tolerance_m / Self::METRES_PER_DEG_LAT;
        let dlon = dlat / cos_lat;
        Some(Self {
            at,
            cos_lat,
            window: AABB::from_corners(
                [at.lon() - dlon, at.lat() - dlat],
                [at.lon() + dlon, at.lat() + dlat],
            ),
        })
    }

    fn to_local(&self, p: [f64; 2]) -> [f64; 2] {
        [
            (p[0] - self.at.lon()) * self.cos_lat * Self::METRES_PER_DEG_LAT,
            (p[1] - self.at.lat()) * Self::METRES_PER_DEG_LAT,
        ]
    }

    /// Distance in metres to the nearest boundary segment inside the window (infinity when
    /// none is).
    fn distance_to(&self, boundary: &RTree<SegmentEntry>) -> f64 {
        boundary
            .locate_in_envelope_intersecting(&self.window)
            .map(|seg| {
                let g = seg.geom();
                rstar::primitives::Line::new(self.to_local(g.from), self.to_local(g.to))
                    .distance_2(&[0.0, 0.0])
            })
            .fold(f64::INFINITY, f64::min)
            .sqrt()
    }
}

fn on_boundary(boundary: &RTree<SegmentEntry>, c: Coord<f64>) -> bool {
    let p = [c.x, c.y];
    boundary
        .locate_in_envelope_intersecting(&AABB::from_point(p))
        .any(|seg| {
            let (from, to) = segment_ends(seg);
            Line::new(from, to).intersects(&c)
        })
}

/// A boundary segment's two ends as coordinates.
fn segment_ends(seg: &SegmentEntry) -> (Coord<f64>, Coord<f64>) {
    let g = seg.geom();
    let end = |p: [f64; 2]| Coord { x: p[0], y: p[1] };
    (end(g.from), end(g.to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use geo::wkt;

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    /// Two unit squares sharing the edge x = 1; the left one has a hole (0.4..0.6)^2; an
    /// L-shaped polygon whose bounding box contains (2.75, 0.75) but whose shape does not.
    fn squares() -> PolygonIndex<&'static str> {
        PolygonIndex::build(vec![
            (
                wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.),(0.4 0.4,0.6 0.4,0.6 0.6,0.4 0.6,0.4 0.4)))),
                "left",
            ),
            (
                wkt!(MULTIPOLYGON(((1. 0.,2. 0.,2. 1.,1. 1.,1. 0.)))),
                "right",
            ),
            (
                wkt!(MULTIPOLYGON(((2.0 0.,3. 0.,3. 0.5,2.5 0.5,2.5 1.,2. 1.,2. 0.)))),
                "ell",
            ),
        ])
    }

    #[test]
    fn a_point_on_a_shared_border_is_covered_by_both_neighbours() {
        assert_eq!(squares().covering(ll(1.0, 0.5)), vec![0, 1]);
    }

    #[test]
    fn a_point_on_a_corner_vertex_is_covered() {
        assert_eq!(squares().covering(ll(0.0, 0.0)), vec![0]);
    }

    #[test]
    fn a_point_in_a_hole_is_not_covered_but_its_edge_is() {
        let idx = squares();
        assert!(idx.covering(ll(0.5, 0.5)).is_empty());
        assert_eq!(idx.covering(ll(0.4, 0.5)), vec![0]);
    }

    #[test]
    fn a_point_inside_the_bounding_box_but_outside_the_shape_is_not_covered() {
        assert!(squares().covering(ll(2.75, 0.75)).is_empty());
        assert_eq!(squares().covering(ll(2.25, 0.75)), vec![2]);
    }

    #[test]
    fn an_empty_polygon_index_covers_nothing() {
        let idx: PolygonIndex<()> = PolygonIndex::build(vec![]);
        assert!(idx.is_empty());
        assert!(idx.covering(ll(0.0, 0.0)).is_empty());
        assert!(idx.near(ll(0.0, 0.0), 1000.0).is_empty());
    }

    /// A 40-point star with a star-shaped hole, next to a square that shares one of its
    /// vertices: every answer of the cell grid must equal the exact test's, including points
    /// on vertices, on edges and on cell corners.
    #[test]
    fn the_cell_grid_agrees_with_the_exact_test_everywhere() {
        let star = |r_out: f64, r_in: f64, n: u32| -> Vec<(f64, f64)> {
            (0..=2 * n)
                .map(|k| {
                    let a = std::f64::consts::PI * f64::from(k % (2 * n)) / f64::from(n);
                    let r = if k % 2 == 0 { r_out } else { r_in };
                    (1.0 + r * a.cos(), 52.0 + r * a.sin())
                })
                .collect()
        };
        let outer = star(0.5, 0.3, 20);
        let hole: Vec<(f64, f64)> = star(0.2, 0.1, 7).into_iter().rev().collect();
        let polygon = geo::Polygon::new(outer.clone().into(), vec![hole.clone().into()]);
        let square = geo::Polygon::new(
            vec![
                (1.5, 52.0),
                (2.0, 52.0),
                (2.0, 52.5),
                (1.5, 52.5),
                (1.5, 52.0),
            ]
            .into(),
            vec![],
        );
        let idx = PolygonIndex::build(vec![
            (MultiPolygon(vec![polygon]), "star"),
            (MultiPolygon(vec![square]), "square"),
        ]);
        let grid = idx.cells.as_ref().expect("a grid is built");
        assert!(grid.settled_share() > 0.5, "{}", grid.settled_share());
        let mut probes: Vec<Coord<f64>> = outer
            .iter()
            .chain(&hole)
            .map(|&(x, y)| Coord { x, y })
            .collect();
        probes.extend(outer.windows(2).chain(hole.windows(2)).map(|w| Coord {
            x: f64::midpoint(w[0].0, w[1].0),
            y: f64::midpoint(w[0].1, w[1].1),
        }));
        for i in 0..300 {
            for j in 0..200 {
                probes.push(Coord {
                    x: 0.45 + f64::from(i) * 0.0053,
                    y: 51.45 + f64::from(j) * 0.0055,
                });
            }
        }
        let mut settled = 0;
        for c in probes {
            let at = ll(c.x, c.y);
            settled += usize::from(grid.settled(c).is_some());
            assert_eq!(*idx.covering(at), *idx.covering_exact(c), "at {c:?}");
        }
        assert!(settled > 30_000, "{settled} probes settled by the grid");
    }

    #[test]
    fn near_finds_a_boundary_within_tolerance_and_measures_it() {
        // Near Norwich: a 0.01-degree box; a point 0.001 degrees of latitude south of it is
        // 111.2 m away (one degree of latitude is 111.2 km at this latitude).
        let idx = PolygonIndex::build(vec![(
            wkt!(MULTIPOLYGON(((1.30 52.60,1.31 52.60,1.31 52.61,1.30 52.61,1.30 52.60)))),
            "box",
        )]);
        let south = ll(1.305, 52.599);
        assert!(idx.covering(south).is_empty());
        let near = idx.near(south, 150.0);
        assert_eq!(near.len(), 1);
        assert_relative_eq!(near[0].1, 111.2, max_relative = 0.01);
        assert!(idx.near(south, 100.0).is_empty());
        // Inside points are "covering", never "near".
        assert!(idx.near(ll(1.305, 52.605), 150.0).is_empty());
    }

    #[test]
    fn nearest_ranks_by_geodesic_distance() {
        let idx = PointIndex::build(vec![
            (ll(1.30, 52.63), "a"),
            (ll(1.40, 52.63), "b"),
            (ll(1.35, 52.70), "c"),
        ]);
        let q = ll(1.36, 52.63);
        let n = idx.nearest(q, |_| true).unwrap();
        assert_eq!(*n.item, "b");
        assert_relative_eq!(n.distance_m, q.distance_m(ll(1.40, 52.63)));
    }

    #[test]
    fn nearest_agrees_with_a_brute_force_scan() {
        // A deterministic 20 x 20 grid of centres over Norfolk, queried on an offset grid:
        // the index must pick the same centre (or one at the same distance) as a full scan.
        let mut centres = Vec::new();
        for i in 0..20 {
            for j in 0..20 {
                let lon = 0.2 + f64::from(i) * 0.083 + f64::from(j % 3) * 0.007;
                let lat = 52.35 + f64::from(j) * 0.033 + f64::from(i % 5) * 0.004;
                centres.push((ll(lon, lat), i * 20 + j));
            }
        }
        let idx = PointIndex::build(centres.clone());
        // Every centre, then every centre but one in three (so the nearest on the sphere is
        // often refused and the slower search runs).
        let filters: [&dyn Fn(&u32) -> bool; 2] = [&|_| true, &|c| c % 3 != 0];
        for accept in filters {
            for i in 0..37 {
                for j in 0..23 {
                    let q = ll(0.15 + f64::from(i) * 0.047, 52.3 + f64::from(j) * 0.031);
                    let best = centres
                        .iter()
                        .filter(|(_, c)| accept(c))
                        .map(|(p, _)| q.distance_m(*p))
                        .fold(f64::INFINITY, f64::min);
                    let got = idx.nearest(q, accept).unwrap();
                    assert!(accept(got.item));
                    assert_relative_eq!(got.distance_m, best, epsilon = 1e-6);
                }
            }
        }
    }

    #[test]
    fn ties_in_nearest_go_to_the_first_built() {
        // Two centres mirrored about the meridian through the query are equally far.
        let idx = PointIndex::build(vec![(ll(1.01, 52.0), "east"), (ll(0.99, 52.0), "west")]);
        assert_eq!(*idx.nearest(ll(1.0, 52.0), |_| true).unwrap().item, "east");
        let idx = PointIndex::build(vec![(ll(0.99, 52.0), "west"), (ll(1.01, 52.0), "east")]);
        assert_eq!(*idx.nearest(ll(1.0, 52.0), |_| true).unwrap().item, "west");
    }

    #[test]
    fn an_empty_point_index_has_no_nearest() {
        let idx: PointIndex<()> = PointIndex::build(vec![]);
        assert!(idx.nearest(ll(0.0, 0.0), |()| true).is_none());
    }
}
