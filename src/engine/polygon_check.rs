//! A polygon validity check that gives the verdict of `geo`'s [`Validation`] (the OGC rules
//! `geo` 0.33 checks) in O(n log n) per feature instead of O(n²).
//!
//! `geo` tests every pair of a ring's segments for a self-intersection; on a coastal ring of a
//! few thousand vertices that is millions of segment tests, and the loader checks every
//! feature of every layer file. Here the segments of all rings of a multipolygon go into one
//! R-tree, and only pairs whose bounding boxes meet are tested, with `geo`'s own segment
//! predicate ([`Intersects`] on [`Line`]), so the answer is the same. The rules, in the order
//! they are checked:
//!
//! 1. every coordinate is finite;
//! 2. every ring has at least 4 points once consecutive repeats are dropped;
//! 3. no ring intersects itself, by `geo`'s rule: two segments of a ring that meet are a
//!    self-intersection unless the end of one is the start of the other (which lets
//!    consecutive segments, and repeated points, through);
//! 4. every hole lies inside its shell and touches it at points only;
//! 5. no two holes of a polygon overlap or touch on a line;
//! 6. no two polygons of the multipolygon overlap or touch on a line.
//!
//! Rules 4 to 6 compare two rings (or two polygons). When their boundaries do not meet at all
//! (the segment R-tree says so) and neither is flat (all its vertices on one line), one vertex
//! settles it: a ring whose boundary does not meet another simple ring's lies wholly inside or
//! wholly outside it. Otherwise (they touch, or one is flat) the pair is handed to `geo`'s
//! [`Relate`], exactly as `geo`'s validation does for every pair; that is rare in real
//! boundaries. A multipolygon with an empty ring goes to `geo`'s check whole.
//!
//! Pure: no I/O. Findings with messages come from `geo` itself
//! ([`crate::engine::validate::invalid_features`] calls it only for features this check
//! rejects), so messages stay `geo`'s.
use std::collections::HashSet;

use geo::coordinate_position::{CoordPos, coord_pos_relative_to_ring};
use geo::dimensions::Dimensions;
use geo::{
    BoundingRect, Coord, CoordinatePosition, GeoNum, Intersects, Kernel, Line, LineString,
    MultiPolygon, Orientation, Polygon, Relate, Validation,
};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// Where a segment is: polygon, ring (0 = exterior, `k` = hole `k - 1`), segment in the ring.
/// Ordered, so each unordered pair from the R-tree is looked at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SegmentId {
    polygon: usize,
    ring: usize,
    segment: usize,
}

type SegmentEntry = GeomWithData<rstar::primitives::Line<[f64; 2]>, SegmentId>;
type BoxEntry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Whether `geo`'s [`Validation::is_valid`] holds for `mp`, computed in O(n log n).
///
/// # Runtime
/// `O(n log n)` in the number of vertices for the ring checks (one R-tree bulk load and a
/// self-join), plus `O(n)` per pair of rings or polygons whose bounding boxes overlap; pairs
/// that touch cost one `geo` [`Relate`] each.
///
/// # Examples
/// ```
/// use careband::engine::polygon_check::is_valid;
/// use geo::wkt;
/// assert!(is_valid(&wkt!(MULTIPOLYGON(((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.))))));
/// // A bow tie: the ring crosses itself at (2, 2).
/// assert!(!is_valid(&wkt!(MULTIPOLYGON(((0. 0.,4. 4.,4. 0.,0. 4.,0. 0.))))));
/// ```
#[must_use]
pub fn is_valid(mp: &MultiPolygon<f64>) -> bool {
    let rings = || {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
    };
    if rings().any(|r| r.0.is_empty()) {
        // geo skips empty rings and polygons in ways that are not worth mirroring: rare.
        return mp.is_valid();
    }
    if rings().any(|r| r.0.iter().any(|c| !(c.x.is_finite() && c.y.is_finite()))) {
        return false;
    }
    if rings().any(too_few_points) {
        return false;
    }
    let Some(touching) = touching_rings(mp) else {
        return false; // a ring intersects itself
    };
    for (i, p) in mp.0.iter().enumerate() {
        if !holes_valid(i, p, &touching) {
            return false;
        }
    }
    polygons_apart(mp, &touching)
}

/// Fewer than 4 points once consecutive repeats are dropped (`geo`'s rule for a ring).
fn too_few_points(ring: &LineString<f64>) -> bool {
    let distinct = 1 + ring.0.windows(2).filter(|w| w[0] != w[1]).count();
    distinct < 4
}

/// Rings (within a polygon) and polygons (within the multipolygon) whose boundaries meet.
#[derive(Debug, Default)]
struct Touching {
    /// (polygon, ring, ring), rings in increasing order.
    rings: HashSet<(usize, usize, usize)>,
    /// (polygon, polygon), in increasing order.
    polygons: HashSet<(usize, usize)>,
}

fn geo_line(s: &SegmentEntry) -> Line<f64> {
    let l = s.geom();
    Line::new(
        Coord {
            x: l.from[0],
            y: l.from[1],
        },
        Coord {
            x: l.to[0],
            y: l.to[1],
        },
    )
}

/// Every pair of segments whose bounding boxes meet, tested with `geo`'s segment predicate.
/// `None` when a ring intersects itself (rule 3); otherwise which rings and polygons touch.
fn touching_rings(mp: &MultiPolygon<f64>) -> Option<Touching> {
    let mut segments = Vec::new();
    for (polygon, p) in mp.0.iter().enumerate() {
        for (ring, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            for (segment, l) in r.lines().enumerate() {
                segments.push(GeomWithData::new(
                    rstar::primitives::Line::new([l.start.x, l.start.y], [l.end.x, l.end.y]),
                    SegmentId {
                        polygon,
                        ring,
                        segment,
                    },
                ));
            }
        }
    }
    let tree = RTree::bulk_load(segments);
    let mut touching = Touching::default();
    for (a, b) in tree.intersection_candidates_with_other_tree(&tree) {
        if a.data >= b.data {
            continue;
        }
        let (la, lb) = (geo_line(a), geo_line(b));
        let same_ring = a.data.polygon == b.data.polygon && a.data.ring == b.data.ring;
        if same_ring && (la.start == lb.end || la.end == lb.start) {
            // geo lets segments joined end to start through (consecutive, or at a repeated
            // point), whatever else they share.
            continue;
        }
        // geo tests both orders; its collinear case is not quite symmetric.
        if !(la.intersects(&lb) || lb.intersects(&la)) {
            continue;
        }
        if same_ring {
            return None;
        } else if a.data.polygon == b.data.polygon {
            touching
                .rings
                .insert((a.data.polygon, a.data.ring, b.data.ring));
        } else {
            touching.polygons.insert((a.data.polygon, b.data.polygon));
        }
    }
    Some(touching)
}

/// All vertices of the ring on one line: a ring with no area, for which one vertex says
/// nothing about containment.
fn is_flat(ring: &LineString<f64>) -> bool {
    let Some(&first) = ring.0.first() else {
        return true;
    };
    let Some(&other) = ring.0.iter().find(|c| **c != first) else {
        return true;
    };
    ring.0
        .iter()
        .all(|&c| <f64 as GeoNum>::Ker::orient2d(first, other, c) == Orientation::Collinear)
}

fn ring_polygon(ring: &LineString<f64>) -> Polygon<f64> {
    Polygon::new(ring.clone(), vec![])
}

/// Pairs of bounding boxes that overlap (boundary included), each once, lower index first.
fn overlapping_boxes(boxes: &[Option<geo::Rect<f64>>]) -> Vec<(usize, usize)> {
    let entries: Vec<BoxEntry> = boxes
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let b = (*b)?;
            Some(GeomWithData::new(
                Rectangle::from_aabb(AABB::from_corners(
                    [b.min().x, b.min().y],
                    [b.max().x, b.max().y],
                )),
                i,
            ))
        })
        .collect();
    let tree = RTree::bulk_load(entries);
    let mut pairs: Vec<(usize, usize)> = tree
        .intersection_candidates_with_other_tree(&tree)
        .filter(|(a, b)| a.data < b.data)
        .map(|(a, b)| (a.data, b.data))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// Rules 4 and 5 for polygon `index`, its rings already known to be simple.
fn holes_valid(index: usize, p: &Polygon<f64>, touching: &Touching) -> bool {
    let shell = p.exterior();
    let shell_flat = is_flat(shell);
    let holes = p.interiors();
    let flat: Vec<bool> = holes.iter().map(is_flat).collect();
    for (h, hole) in holes.iter().enumerate() {
        let ring = h + 1;
        if shell_flat || flat[h] || touching.rings.contains(&(index, 0, ring)) {
            let m = ring_polygon(shell).relate(&ring_polygon(hole));
            if !m.is_contains()
                || m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
            {
                return false;
            }
        } else if coord_pos_relative_to_ring(hole.0[0], shell) != CoordPos::Inside {
            return false;
        }
    }
    let boxes: Vec<_> = holes.iter().map(BoundingRect::bounding_rect).collect();
    for (a, b) in overlapping_boxes(&boxes) {
        let (ha, hb) = (&holes[a], &holes[b]);
        if flat[a] || flat[b] || touching.rings.contains(&(index, a + 1, b + 1)) {
            let m = ring_polygon(ha).relate(&ring_polygon(hb));
            if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
                || m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
            {
                return false;
            }
        } else if coord_pos_relative_to_ring(ha.0[0], hb) == CoordPos::Inside
            || coord_pos_relative_to_ring(hb.0[0], ha) == CoordPos::Inside
        {
            return false;
        }
    }
    true
}

/// Rule 6, every polygon already known to be valid on its own.
fn polygons_apart(mp: &MultiPolygon<f64>, touching: &Touching) -> bool {
    let boxes: Vec<_> = mp.0.iter().map(BoundingRect::bounding_rect).collect();
    let any_flat = |p: &Polygon<f64>| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .any(is_flat)
    };
    for (a, b) in overlapping_boxes(&boxes) {
        let (pa, pb) = (&mp.0[a], &mp.0[b]);
        if touching.polygons.contains(&(a, b)) || any_flat(pa) || any_flat(pb) {
            let m = pa.relate(pb);
            if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional
                || m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional
            {
                return false;
            }
        } else if pa.coordinate_position(&pb.exterior().0[0]) == CoordPos::Inside
            || pb.coordinate_position(&pa.exterior().0[0]) == CoordPos::Inside
        {
            // Boundaries apart: one polygon lies in the other's interior (or in a hole of
            // it, which the vertex test sees as outside).
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Scale, Translate, wkt};
    use proptest::prelude::*;

    /// Checks a hand-worked verdict against this module and against `geo` (the second method).
    fn verdict(mp: &MultiPolygon<f64>, valid: bool) {
        assert_eq!(
            mp.is_valid(),
            valid,
            "geo disagrees with the worked verdict: {mp:?}"
        );
        assert_eq!(is_valid(mp), valid, "{mp:?}");
    }

    fn one(p: Polygon<f64>) -> MultiPolygon<f64> {
        MultiPolygon(vec![p])
    }

    #[test]
    fn a_square_is_valid() {
        verdict(&one(wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.)))), true);
    }

    #[test]
    fn a_bow_tie_crosses_itself() {
        // Edges (0,0)-(4,4) and (4,0)-(0,4) cross at (2,2), away from any vertex.
        verdict(&one(wkt!(POLYGON((0. 0.,4. 4.,4. 0.,0. 4.,0. 0.)))), false);
    }

    #[test]
    fn a_repeated_point_is_allowed() {
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,4. 0.,4. 4.,0. 4.,0. 0.)))),
            true,
        );
    }

    #[test]
    fn a_ring_of_two_distinct_points_has_too_few() {
        // Without repeats: (0,0), (1,0), (0,0): three points, a ring needs four.
        verdict(&one(wkt!(POLYGON((0. 0.,1. 0.,1. 0.,0. 0.)))), false);
    }

    #[test]
    fn a_spike_out_of_an_edge_is_a_self_intersection() {
        // Out to (2,6) and back along the same line: edge (4,4)-(2,4) meets (2,6)-(2,4) at
        // (2,4), and neither ends where the other starts.
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,4. 4.,2. 4.,2. 6.,2. 4.,0. 4.,0. 0.)))),
            false,
        );
    }

    #[test]
    fn a_ring_through_one_vertex_twice_is_a_self_intersection() {
        // A figure of eight pinched at (2,2): (0,0)-(2,2) and (4,4)-(2,2) both end there.
        verdict(
            &one(wkt!(POLYGON((0. 0.,2. 2.,4. 0.,4. 4.,2. 2.,0. 4.,0. 0.)))),
            false,
        );
    }

    #[test]
    fn a_collinear_overlap_of_two_edges_is_a_self_intersection() {
        // The bottom edge goes to (4,0), back to (2,0) and on up: (0,0)-(4,0) holds (2,0).
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,2. 0.,2. 3.,0. 3.,0. 0.)))),
            false,
        );
    }

    #[test]
    fn a_non_finite_coordinate_is_invalid() {
        let p = Polygon::new(
            LineString::from(vec![(0., 0.), (4., 0.), (f64::NAN, 4.), (0., 4.)]),
            vec![],
        );
        verdict(&one(p), false);
    }

    #[test]
    fn a_hole_inside_its_shell_is_valid() {
        verdict(
            &one(wkt!(POLYGON((0. 0.,6. 0.,6. 6.,0. 6.,0. 0.),(2. 2.,4. 2.,4. 4.,2. 4.,2. 2.)))),
            true,
        );
    }

    #[test]
    fn a_hole_touching_its_shell_at_one_point_is_valid() {
        // The hole's vertex (0,2) lies on the shell's left edge.
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(0. 2.,2. 1.,3. 2.,2. 3.,0. 2.)))),
            true,
        );
    }

    #[test]
    fn a_hole_sharing_an_edge_with_its_shell_is_invalid() {
        // Hole edge (0,1)-(0,3) lies on the shell's left edge.
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(0. 1.,2. 1.,2. 3.,0. 3.,0. 1.)))),
            false,
        );
    }

    #[test]
    fn a_hole_crossing_its_shell_is_invalid() {
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(3. 1.,5. 1.,5. 3.,3. 3.,3. 1.)))),
            false,
        );
    }

    #[test]
    fn a_hole_outside_its_shell_is_invalid() {
        verdict(
            &one(wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(5. 1.,6. 1.,6. 2.,5. 2.,5. 1.)))),
            false,
        );
    }

    #[test]
    fn two_holes_touching_at_a_point_are_valid() {
        // Both have the vertex (3,3).
        verdict(
            &one(wkt!(POLYGON(
                (0. 0.,6. 0.,6. 6.,0. 6.,0. 0.),
                (1. 1.,3. 1.,3. 3.,1. 3.,1. 1.),
                (3. 3.,5. 3.,5. 5.,3. 5.,3. 3.)
            ))),
            true,
        );
    }

    #[test]
    fn two_holes_sharing_an_edge_are_invalid() {
        // Both have the edge (3,1)-(3,3).
        verdict(
            &one(wkt!(POLYGON(
                (0. 0.,6. 0.,6. 6.,0. 6.,0. 0.),
                (1. 1.,3. 1.,3. 3.,1. 3.,1. 1.),
                (3. 1.,5. 1.,5. 3.,3. 3.,3. 1.)
            ))),
            false,
        );
    }

    #[test]
    fn a_hole_inside_another_hole_is_invalid() {
        verdict(
            &one(wkt!(POLYGON(
                (0. 0.,8. 0.,8. 8.,0. 8.,0. 0.),
                (1. 1.,7. 1.,7. 7.,1. 7.,1. 1.),
                (3. 3.,5. 3.,5. 5.,3. 5.,3. 3.)
            ))),
            false,
        );
    }

    #[test]
    fn separate_polygons_are_valid_and_so_are_polygons_touching_at_a_corner() {
        verdict(
            &wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)),((3. 3.,4. 3.,4. 4.,3. 4.,3. 3.)))),
            true,
        );
        verdict(
            &wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)),((1. 1.,2. 1.,2. 2.,1. 2.,1. 1.)))),
            true,
        );
    }

    #[test]
    fn polygons_sharing_an_edge_or_overlapping_are_invalid() {
        verdict(
            &wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)),((1. 0.,2. 0.,2. 1.,1. 1.,1. 0.)))),
            false,
        );
        verdict(
            &wkt!(MULTIPOLYGON(((0. 0.,2. 0.,2. 2.,0. 2.,0. 0.)),((1. 1.,3. 1.,3. 3.,1. 3.,1. 1.)))),
            false,
        );
    }

    #[test]
    fn a_polygon_inside_another_is_invalid_unless_it_is_in_a_hole() {
        // Boundaries apart in both: only the vertex test decides.
        verdict(
            &wkt!(MULTIPOLYGON(((0. 0.,6. 0.,6. 6.,0. 6.,0. 0.)),((2. 2.,3. 2.,3. 3.,2. 3.,2. 2.)))),
            false,
        );
        verdict(
            &wkt!(MULTIPOLYGON(
                ((0. 0.,6. 0.,6. 6.,0. 6.,0. 0.),(1. 1.,5. 1.,5. 5.,1. 5.,1. 1.)),
                ((2. 2.,3. 2.,3. 3.,2. 3.,2. 2.))
            )),
            true,
        );
    }

    // Random shapes. Vertices on a small grid make coincidences common: shared vertices,
    // collinear edges, repeated points, rings touching rings.

    /// A ring of 3 to 7 grid points: often a bow tie, a spike or a repeated point.
    fn grid_ring(size: u8) -> impl Strategy<Value = LineString<f64>> {
        proptest::collection::vec((0..=size, 0..=size), 3..8).prop_map(|pts| {
            LineString::from(
                pts.into_iter()
                    .map(|(x, y)| (f64::from(x), f64::from(y)))
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// A star-shaped ring around (`cx`, `cy`) with 3 to 11 spokes of radii between `r0` and
    /// `r1`, at angles spread round the circle (spoke `k` of `n` within the `k`-th `n`-th of
    /// the turn), so with 6 spokes or more the ring holds the disc of radius `0.59 * r0`
    /// around its centre (the widest gap between spokes is under 1.9 radians, and
    /// cos(0.94) > 0.59). Simple, unless `snap` rounds its vertices to the half grid, which
    /// can make it touch or cross itself, or collapse.
    fn star_ring(
        cx: f64,
        cy: f64,
        r0: f64,
        r1: f64,
        spokes: std::ops::Range<usize>,
        snap: impl Strategy<Value = bool>,
    ) -> impl Strategy<Value = LineString<f64>> {
        (
            proptest::collection::vec((0.0_f64..0.8, r0..r1), spokes),
            snap,
        )
            .prop_map(move |(spokes, snap)| {
                let n = f64::from(u32::try_from(spokes.len()).unwrap());
                let round = |v: f64| if snap { (v * 2.0).round() / 2.0 } else { v };
                LineString::from(
                    spokes
                        .into_iter()
                        .enumerate()
                        .map(|(k, (u, r))| {
                            let k = f64::from(u32::try_from(k).unwrap());
                            let a = (k + u) / n * std::f64::consts::TAU;
                            (round(cx + r * a.cos()), round(cy + r * a.sin()))
                        })
                        .collect::<Vec<_>>(),
                )
            })
    }

    /// A ring (open: `Polygon::new` closes it) changed in one of the ways real rings go
    /// wrong: a vertex repeated, a spike out and back, two vertices swapped (often a bow tie),
    /// one vertex moved onto another (the ring touches itself), or left alone.
    fn mutated(
        ring: impl Strategy<Value = LineString<f64>>,
    ) -> impl Strategy<Value = LineString<f64>> {
        (
            ring,
            0..5_u8,
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            -2.0_f64..2.0,
        )
            .prop_map(|(mut ring, how, i, j, d)| {
                let n = ring.0.len();
                let (i, j) = (i.index(n), j.index(n));
                let c = ring.0[i];
                let spike = Coord {
                    x: (c.x + d).round(),
                    y: c.y + d.abs(),
                };
                match how {
                    0 => ring.0.insert(i, c),
                    1 => {
                        ring.0.splice(i..=i, [c, spike, c]);
                    }
                    2 => ring.0.swap(i, j),
                    3 => ring.0[j] = c,
                    _ => {}
                }
                ring
            })
    }

    /// A shell around (5,5) of radii 3 to 5 (holding the disc of radius 1.77), often changed
    /// as by [`mutated`], or a grid ring; and holes: none; up to three small ones (radius at
    /// most 0.5) at slots 1.2 from the centre and 1.2 or more apart (inside the shell and
    /// apart, for an unchanged shell); one big one around the centre (radii 1 to 1.6,
    /// leaving the disc of radius 0.59 free); or up to three anywhere, of any size.
    fn polygon() -> impl Strategy<Value = Polygon<f64>> {
        let shell = prop_oneof![
            6 => star_ring(5.0, 5.0, 3.0, 5.0, 6..12, prop::bool::weighted(0.1)),
            2 => mutated(star_ring(5.0, 5.0, 3.0, 5.0, 3..12, any::<bool>())),
            1 => grid_ring(6),
        ];
        let slot = |x: f64, y: f64| star_ring(x, y, 0.2, 0.5, 3..8, Just(false));
        let slots =
            proptest::sample::subsequence(vec![0_usize, 1, 2], 1..=3).prop_flat_map(move |which| {
                which
                    .into_iter()
                    .map(|k| match k {
                        0 => slot(3.8, 5.0),
                        1 => slot(6.2, 5.0),
                        _ => slot(5.0, 6.2),
                    })
                    .collect::<Vec<_>>()
            });
        let anywhere = prop_oneof![
            3 => (2.0_f64..8.0, 2.0_f64..8.0, 0.3_f64..1.5).prop_flat_map(|(x, y, r)| {
                star_ring(x, y, r / 2.0, r, 3..10, any::<bool>())
            }),
            1 => (0.0_f64..10.0, 0.0_f64..10.0)
                .prop_flat_map(|(x, y)| star_ring(x, y, 0.5, 2.0, 3..10, any::<bool>())),
            1 => grid_ring(8),
        ];
        let holes = prop_oneof![
            3 => Just(vec![]),
            3 => slots,
            2 => star_ring(5.0, 5.0, 1.0, 1.6, 6..10, Just(false)).prop_map(|h| vec![h]),
            2 => proptest::collection::vec(anywhere, 1..4),
        ];
        (shell, holes).prop_map(|(shell, holes)| Polygon::new(shell, holes))
    }

    /// 1 to 3 polygons: moved apart by whole cells of 12 (apart), by cells of 6 (maybe
    /// touching or overlapping), left on top of each other, or shrunk to a tenth around
    /// (5,5) (radius at most 0.5: inside the first polygon's big hole when it has one).
    fn multipolygon() -> impl Strategy<Value = MultiPolygon<f64>> {
        let how = prop_oneof![4 => Just(0_u8), 1 => Just(1), 1 => Just(2), 2 => Just(3)];
        proptest::collection::vec((polygon(), how, 0..3_u8), 1..4).prop_map(|parts| {
            MultiPolygon(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(k, (p, how, step))| {
                        if k == 0 {
                            return p;
                        }
                        let k = f64::from(u32::try_from(k).unwrap());
                        let s = f64::from(step);
                        match how {
                            0 => p.translate(12.0 * k, 0.0),
                            1 => p.translate(6.0 * k, 6.0 * s),
                            2 => p,
                            _ => p.scale_around_point(0.1, 0.1, (5.0, 5.0)),
                        }
                    })
                    .collect(),
            )
        })
    }

    /// The generators give both verdicts often, valid shapes with holes and valid shapes of
    /// several polygons among them: a property that only ever saw invalid shapes would prove
    /// little (counted with a fixed seed).
    #[test]
    fn the_random_shapes_are_a_mix_of_valid_and_invalid() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut valid, mut with_holes, mut several) = (0, 0, 0);
        let n = 1000;
        for _ in 0..n {
            let mp = multipolygon().new_tree(&mut runner).unwrap().current();
            if mp.is_valid() {
                valid += 1;
                with_holes += usize::from(mp.0.iter().any(|p| !p.interiors().is_empty()));
                several += usize::from(mp.0.len() > 1);
            }
        }
        eprintln!("{valid} valid of {n}, {with_holes} with holes, {several} of several polygons");
        assert!((n / 5..n * 4 / 5).contains(&valid), "{valid} valid of {n}");
        assert!(with_holes > n / 20, "{with_holes}");
        assert!(several > n / 20, "{several}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn a_polygon_gets_geos_verdict(p in polygon()) {
            let mp = one(p);
            prop_assert_eq!(is_valid(&mp), mp.is_valid(), "{:?}", mp);
        }

        #[test]
        fn a_multipolygon_gets_geos_verdict(mp in multipolygon()) {
            prop_assert_eq!(is_valid(&mp), mp.is_valid(), "{:?}", mp);
        }

        #[test]
        fn a_grid_ring_gets_geos_verdict(r in grid_ring(3)) {
            let mp = one(Polygon::new(r, vec![]));
            prop_assert_eq!(is_valid(&mp), mp.is_valid(), "{:?}", mp);
        }
    }
}
