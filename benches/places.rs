//! Gazetteer benchmarks on the real embedded data: autocomplete per keystroke, and free-text
//! lookups with bands.
//!
//! Inputs are deterministic (no RNG): every prefix of every 53rd gazetteer name, as a user
//! typing it letter by letter, plus a fixed list of lookups. Besides criterion's timings, the
//! autocomplete keystrokes are each timed once more and their p50 / p99 / max printed, since
//! the aim is stated as a p99.
use std::hint::black_box;
use std::time::{Duration, Instant};

use careband::data::load::{DataSource, load};
use careband::engine::lookup::lookup;
use careband::engine::query::Query;
use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};

fn keystrokes(ds: &careband::engine::dataset::Dataset) -> Vec<String> {
    ds.places
        .places()
        .iter()
        .step_by(53)
        .flat_map(|p| {
            let chars: Vec<char> = p.name.chars().collect();
            (1..=chars.len())
                .map(move |n| chars[..n].iter().collect::<String>())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn places(c: &mut Criterion) {
    let ds = load(&DataSource::Embedded).expect("embedded dataset loads");
    let date = NaiveDate::from_ymd_opt(2019, 6, 1).expect("valid date");
    let typed = keystrokes(&ds);

    // Every keystroke timed once (after one warm-up pass), for the percentiles.
    for q in &typed {
        black_box(ds.places.suggest(q, 10));
    }
    let mut times: Vec<Duration> = typed
        .iter()
        .map(|q| {
            let t = Instant::now();
            black_box(ds.places.suggest(black_box(q), 10));
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    eprintln!(
        "autocomplete, {} keystrokes: p50 {:?}, p99 {:?}, max {:?}",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        percentile(&times, 1.0)
    );

    let mut i = 0;
    c.bench_function(
        "autocomplete one keystroke (prefixes of gazetteer names)",
        |b| {
            b.iter(|| {
                i = (i + 1) % typed.len();
                black_box(ds.places.suggest(black_box(&typed[i]), 10).len())
            });
        },
    );
    c.bench_function("autocomplete a typo (hetherset)", |b| {
        b.iter(|| black_box(ds.places.suggest(black_box("hetherset"), 10).len()));
    });

    let mut group = c.benchmark_group("free-text lookup");
    group.sample_size(20);
    for text in [
        "Hethersett",
        "Ollands Road, Reepham",
        "Hetherset",
        "Church Lane",
    ] {
        let q = Query::Text(text.to_string());
        group.bench_function(format!("lookup {text:?} with bands"), |b| {
            b.iter(|| black_box(lookup(&ds, black_box(&q), date).is_ok()));
        });
    }
    group.finish();
}

criterion_group!(benches, places);
criterion_main!(benches);
