//! Resolve benchmarks on the real embedded data (Norfolk and Bristol), plus the index build and
//! query on a deterministic synthetic grid, and the polygon validity check on the shipped
//! layer files.
//!
//! Inputs are deterministic: every 97th postcode of the table (no RNG), so runs are comparable.
use std::hint::black_box;

use careband::data::load::{DataSource, load, parse_layer};
use careband::engine::coord::LonLat;
use careband::engine::geo_index::PointIndex;
use careband::engine::lookup::lookup;
use careband::engine::polygon_check;
use careband::engine::query::Query;
use careband::engine::resolve::resolve;
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use geo::{MultiPolygon, Validation};

fn real_data(c: &mut Criterion) {
    let ds = load(&DataSource::Embedded).expect("embedded dataset loads");
    let date = NaiveDate::from_ymd_opt(2019, 6, 1).expect("valid date");
    let norfolk: Vec<(String, LonLat)> = ds
        .postcodes
        .records()
        .iter()
        .filter(|r| r.county.as_deref() == Some("E10000020"))
        .step_by(97)
        .filter_map(|r| Some((r.postcode.to_string(), r.position?)))
        .collect();
    let queries: Vec<Query> = norfolk
        .iter()
        .map(|(p, _)| Query::Postcode(p.clone()))
        .collect();
    let points: Vec<LonLat> = norfolk.iter().map(|(_, p)| *p).collect();

    let mut i = 0;
    c.bench_function(
        "resolve by postcode (Norfolk postcodes, text in, answer out)",
        |b| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                black_box(lookup(&ds, black_box(&queries[i]), date).is_ok())
            });
        },
    );
    let mut j = 0;
    c.bench_function("resolve by point (Norfolk postcode positions)", |b| {
        b.iter(|| {
            j = (j + 1) % points.len();
            black_box(resolve(&ds, black_box(points[j]), date).covered)
        });
    });
    let outside = LonLat::new(-0.1276, 51.5072).expect("London is a valid point");
    c.bench_function("resolve by point outside every scheme (London)", |b| {
        b.iter(|| black_box(resolve(&ds, black_box(outside), date).covered));
    });
    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("load and index the embedded dataset", |b| {
        b.iter(|| black_box(load(&DataSource::Embedded).map(|d| d.postcodes.len()).ok()));
    });
    group.finish();
}

fn synthetic_grid(c: &mut Criterion) {
    // 100 x 100 centres on a regular lon/lat grid over East Anglia: no RNG.
    let grid: Vec<(LonLat, u32)> = (0..100u32)
        .flat_map(|i| {
            (0..100u32).map(move |j| {
                let p = LonLat::new(0.0 + f64::from(i) * 0.02, 52.0 + f64::from(j) * 0.012)
                    .expect("grid points are valid");
                (p, i * 100 + j)
            })
        })
        .collect();
    c.bench_function("build point index (10k grid centres)", |b| {
        b.iter(|| PointIndex::build(black_box(grid.clone())).len());
    });
    let idx = PointIndex::build(grid);
    let q = LonLat::new(1.013, 52.607).expect("valid point");
    c.bench_function("nearest centre (10k grid, all accepted)", |b| {
        b.iter(|| idx.nearest(black_box(q), |_| true).map(|n| n.distance_m));
    });
    c.bench_function("nearest centre (10k grid, 9 in 10 rejected)", |b| {
        b.iter(|| {
            idx.nearest(black_box(q), |id| id % 10 == 0)
                .map(|n| n.distance_m)
        });
    });
}

/// The polygon validity check the loader runs on every feature of every layer file, on the
/// shipped layer files: `geo`'s own `Validation` against careband's R-tree check.
fn validity(c: &mut Criterion) {
    let ds = load(&DataSource::Embedded).expect("embedded dataset loads");
    let mut files: Vec<_> = ds
        .schemes
        .iter()
        .flat_map(|s| s.scheme.layers.iter())
        .collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    files.dedup_by(|a, b| a.file == b.file);
    let shapes: Vec<MultiPolygon<f64>> = files
        .iter()
        .flat_map(|spec| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("geodata")
                .join(&spec.file);
            let bytes = std::fs::read(path).expect("the shipped layer file reads");
            parse_layer(
                &spec.file,
                &bytes,
                spec.crs.as_deref(),
                &spec.id_property,
                &spec.name_property,
            )
            .expect("the shipped layer file parses")
            .into_iter()
            .map(|(mp, _)| mp)
        })
        .collect();
    let mut group = c.benchmark_group("validity");
    group.sample_size(10);
    group.bench_function(
        "geo's check, every feature of the shipped layer files",
        |b| {
            b.iter(|| black_box(&shapes).iter().filter(|mp| mp.is_valid()).count());
        },
    );
    group.bench_function(
        "R-tree check, every feature of the shipped layer files",
        |b| {
            b.iter(|| {
                black_box(&shapes)
                    .iter()
                    .filter(|mp| polygon_check::is_valid(mp))
                    .count()
            });
        },
    );
    group.finish();
}

criterion_group!(benches, real_data, synthetic_grid, validity);
criterion_main!(benches);
