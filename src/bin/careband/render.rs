//! Human-readable and JSON rendering of answers for the terminal.
use std::io::{self, Write};

use serde_json::{Value, json};

use careband::engine::answer::{Answer, AnswerPart, AreaSummary, PlacesAnswer, PointAnswer};
use careband::engine::answer::{CurrencyStatus, RateKind, SchemeAnswer};
use careband::engine::coord::metres_to_miles;
use careband::engine::dataset::Dataset;
use careband::engine::geo_index::PolygonMatch;
use careband::engine::lookup::LookupError;

pub fn answer(out: &mut impl Write, a: &Answer) -> io::Result<()> {
    match a {
        Answer::Point(p) => point(out, p),
        Answer::Area(s) => area(out, s),
        Answer::Places(p) => places(out, p),
    }
}

fn places(out: &mut impl Write, a: &PlacesAnswer) -> io::Result<()> {
    writeln!(
        out,
        "{:?}  date {}, dataset {}",
        a.query, a.date, a.dataset_version
    )?;
    writeln!(out, "{}", a.message)?;
    for n in &a.notes {
        writeln!(out, "note: {n}")?;
    }
    if let Some(h) = &a.understood.house {
        writeln!(
            out,
            "note: {h:?} (house) cannot be placed without a postcode; the road's point is used"
        )?;
    }
    for c in &a.candidates {
        writeln!(out)?;
        writeln!(out, "{}. {}", c.rank, c.label)?;
        writeln!(
            out,
            "   point          {:.6}, {:.6} ({})",
            c.resolution.point.lat, c.resolution.point.lon, c.precision_note
        )?;
        let values = |part: AnswerPart| {
            c.extent
                .alternatives
                .iter()
                .find(|a| a.part == part)
                .map(|a| a.values.join(" or "))
        };
        let headline = values(AnswerPart::Band)
            .or_else(|| values(AnswerPart::Rate))
            .or_else(|| values(AnswerPart::Coverage));
        // Where the postcodes differ, no single value is given as the answer.
        for part in &c.extent.differs {
            match part {
                AnswerPart::Band | AnswerPart::Rate | AnswerPart::Coverage => {}
                AnswerPart::ProvidersDay
                | AnswerPart::ProvidersNight
                | AnswerPart::ProvidersRapidResponse => writeln!(
                    out,
                    "   {:<14} differ across the place: give the postcode",
                    part.as_str()
                )?,
                _ => {
                    if let Some(v) = values(*part) {
                        writeln!(out, "   {:<14} {v}: give the postcode", part.as_str())?;
                    }
                }
            }
        }
        if let Some(choice) = headline {
            writeln!(out, "   {:<14} {choice}: give the postcode", "answer")?;
        } else if c.resolution.covered {
            for s in &c.resolution.schemes {
                let band = s
                    .banding
                    .as_ref()
                    .and_then(|b| b.band.as_ref())
                    .map(|b| b.name.clone());
                let rate = s
                    .rate
                    .as_ref()
                    .map(|r| format!("{} {:.2}/hour ({})", r.currency, r.hourly, r.name));
                writeln!(
                    out,
                    "   {:<14} {}{}",
                    s.scheme,
                    band.map(|b| format!("{b}, ")).unwrap_or_default(),
                    rate.unwrap_or_else(|| "no rate in force on this date".into())
                )?;
            }
        } else {
            writeln!(
                out,
                "   OUTSIDE COVERAGE: {}",
                c.resolution
                    .outside_reason
                    .as_deref()
                    .unwrap_or("no scheme covers this point")
            )?;
        }
        writeln!(out, "   extent         {}", c.extent.verdict)?;
        for (k, n) in &c.extent.outcomes {
            writeln!(out, "   {n:>14}  {k}")?;
        }
    }
    Ok(())
}

fn point(out: &mut impl Write, p: &PointAnswer) -> io::Result<()> {
    let r = &p.resolution;
    match &p.postcode {
        Some(pc) if pc.terminated => writeln!(
            out,
            "{}  (TERMINATED postcode: answered from its last known position {:.6}, {:.6})",
            pc.postcode, r.point.lat, r.point.lon
        )?,
        Some(pc) => writeln!(
            out,
            "{}  (live postcode at {:.6}, {:.6})",
            pc.postcode, r.point.lat, r.point.lon
        )?,
        None => writeln!(
            out,
            "{}  (point {:.6}, {:.6})",
            p.query, r.point.lat, r.point.lon
        )?,
    }
    if let Some(g) = &p.geocoded {
        writeln!(out, "answered by {}: {}", p.source, g.address)?;
        writeln!(out, "point: {}", g.precision_note)?;
        writeln!(out, "attribution: {}", g.attribution)?;
    }
    for n in &p.notes {
        writeln!(out, "note: {n}")?;
    }
    writeln!(out, "date {}, dataset {}", r.date, r.dataset_version)?;
    // First, before the answer: what the user must not miss (rates past what the papers
    // confirm, a terminated postcode's last known position).
    for w in &p.warnings {
        writeln!(out, "WARNING: {w}")?;
    }
    if !r.covered {
        writeln!(out)?;
        writeln!(
            out,
            "OUTSIDE COVERAGE: {}",
            r.outside_reason
                .as_deref()
                .unwrap_or("no scheme covers this point")
        )?;
    }
    for s in &r.schemes {
        writeln!(out)?;
        scheme(out, s)?;
    }
    Ok(())
}

fn region_text(how: &PolygonMatch) -> String {
    match how {
        PolygonMatch::Covered => "inside".into(),
        PolygonMatch::WithinTolerance { distance_m } => {
            format!(
                "{distance_m:.0} m outside the boundary line, within the scheme's edge tolerance"
            )
        }
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the scheme's lines in the order a broker reads them; each section is a few lines"
)]
fn scheme(out: &mut impl Write, s: &SchemeAnswer) -> io::Result<()> {
    writeln!(
        out,
        "{} (scheme {} v{}){}",
        s.name,
        s.scheme,
        s.scheme_version,
        if s.illustrative {
            "  [ILLUSTRATIVE]"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "  region         {} ({}), {}",
        s.region.name,
        s.region.id,
        region_text(&s.region.how)
    )?;
    match &s.rate {
        Some(rate) => writeln!(
            out,
            "  rate           {} {:.2}/hour ({}, from {}){}",
            rate.currency,
            rate.hourly,
            rate.name,
            rate.effective_from,
            match &s.currency {
                Some(c) if c.status == CurrencyStatus::LatestKnown =>
                    format!("  LATEST KNOWN, not confirmed after {}", c.confirmed_until),
                _ => String::new(),
            }
        )?,
        None => writeln!(out, "  rate           none in force on this date")?,
    }
    if let Some(b) = &s.banding {
        match &b.banded_region {
            Some(m) => writeln!(
                out,
                "  banded region  {}: inside {} ({})",
                b.region_name, m.name, m.id
            )?,
            None => writeln!(out, "  banded region  outside {}", b.region_name)?,
        }
        if let Some(band) = &b.band {
            let range = match band.to_miles {
                Some(to) => format!("{}-{} miles", band.from_miles, to),
                None => format!("{}+ miles", band.from_miles),
            };
            writeln!(out, "  band           {} ({range})", band.name)?;
        }
        if let (Some(c), Some(d)) = (&b.nearest_centre, b.distance_m) {
            writeln!(
                out,
                "  nearest centre {} {} ({}), {:.2} miles ({:.0} m)",
                c.code,
                c.name,
                c.postcode,
                metres_to_miles(d),
                d
            )?;
        }
        if let Some(m) = &b.margin {
            writeln!(
                out,
                "  margin         {:.2} miles ({:.0} m) from the {}-mile line ({} on the other side){}",
                m.margin_miles,
                m.margin_m,
                m.threshold_miles,
                m.other_band,
                if b.near_threshold {
                    "  NEAR A BAND EDGE"
                } else {
                    ""
                }
            )?;
        }
        writeln!(out, "  distance       {}", b.distance_method)?;
    }
    if let Some(rate) = &s.rate {
        let why = if rate.kind == RateKind::Standard && s.banding.is_some() {
            "why (spot)"
        } else {
            "why"
        };
        writeln!(out, "  {why:<14} {}", rate.reason)?;
    }
    for a in &s.areas {
        writeln!(
            out,
            "  {:<14} {} ({}), {}{}",
            a.role,
            a.matched.name,
            a.matched.id,
            region_text(&a.matched.how),
            if a.illustrative {
                "  [ILLUSTRATIVE]"
            } else {
                ""
            }
        )?;
        if let Some(m) = &a.method {
            writeln!(out, "  {:<14} method: {m}", "")?;
        }
    }
    for list in &s.providers {
        writeln!(
            out,
            "  providers      {} service, {} {}, list from {}{}{}",
            list.service,
            list.area_role,
            list.area_id,
            list.valid_from,
            list.valid_to
                .map(|t| format!(" to {t}"))
                .unwrap_or_default(),
            if list.illustrative {
                "  [ILLUSTRATIVE]"
            } else {
                ""
            }
        )?;
        for (i, tier) in list.tiers.iter().enumerate() {
            let names: Vec<&str> = tier.providers.iter().map(|p| p.name.as_str()).collect();
            writeln!(
                out,
                "  {:<14} {}. {:<10} {}",
                "",
                i + 1,
                tier.tier,
                names.join(", ")
            )?;
        }
        if let Some(note) = &list.note {
            writeln!(out, "  {:<14} ({note})", "")?;
        }
    }
    for w in &s.warnings {
        writeln!(out, "  WARNING        {w}")?;
    }
    Ok(())
}

fn area(out: &mut impl Write, s: &AreaSummary) -> io::Result<()> {
    writeln!(
        out,
        "{} (postcode {}: {} live postcodes), date {}, dataset {}",
        s.query, s.level, s.postcodes, s.date, s.dataset_version
    )?;
    writeln!(out, "{}", s.verdict)?;
    for sc in &s.schemes {
        writeln!(out, "  scheme {} ({} postcodes)", sc.scheme, sc.postcodes)?;
        for (k, n) in &sc.outcomes {
            writeln!(out, "    {n:>6}  {k}")?;
        }
    }
    if s.outside_coverage > 0 {
        writeln!(out, "  {:>8}  outside coverage", s.outside_coverage)?;
    }
    Ok(())
}

pub fn error_json(e: &LookupError) -> Value {
    let (code, extra) = match e {
        LookupError::BadPostcode(_) => ("bad_postcode", Value::Null),
        LookupError::UnknownPostcode { suggestions, .. } => {
            ("postcode_not_found", json!({ "suggestions": suggestions }))
        }
        LookupError::NoPosition { .. } => ("postcode_without_position", Value::Null),
        LookupError::UnknownArea(_) => ("area_not_found", Value::Null),
        LookupError::BadCoordinate(_) => ("bad_coordinate", Value::Null),
        LookupError::NoPlace { suggestions, .. } => {
            ("place_not_found", json!({ "suggestions": suggestions }))
        }
        LookupError::EmptyText => ("empty_text", Value::Null),
        _ => ("lookup_failed", Value::Null),
    };
    let mut err = json!({ "code": code, "message": e.to_string() });
    if let (Value::Object(m), Value::Object(x)) = (&mut err, extra) {
        m.extend(x);
    }
    json!({ "error": err })
}

pub fn schemes_json(ds: &Dataset) -> Value {
    json!({
        "dataset_version": ds.version,
        "origin": ds.origin,
        "schemes": ds.schemes.iter().map(|s| json!({
            "id": s.scheme.id,
            "name": s.scheme.name,
            "version": s.scheme.version,
            "illustrative": s.scheme.illustrative,
            "layers": s.scheme.layers.iter().map(|l| json!({
                "id": l.id, "description": l.description, "file": l.file,
                "features": s.layer(&l.id).map_or(0, |x| x.index.len()),
                "illustrative": l.illustrative,
                "role": l.role, "method": l.method,
            })).collect::<Vec<_>>(),
            "centres": s.centres.as_ref().map(careband::engine::geo_index::PointIndex::len),
            "rates": s.scheme.rates,
            "providers": s.scheme.providers,
            "provider_lists": s.scheme.provider_lists,
        })).collect::<Vec<_>>(),
    })
}

pub fn schemes(out: &mut impl Write, ds: &Dataset) -> io::Result<()> {
    writeln!(out, "dataset {} ({})", ds.version, ds.origin)?;
    for s in &ds.schemes {
        let sc = &s.scheme;
        writeln!(
            out,
            "\n{}  {} v{}{}",
            sc.id,
            sc.name,
            sc.version,
            if sc.illustrative {
                "  [ILLUSTRATIVE]"
            } else {
                ""
            }
        )?;
        for l in &sc.layers {
            writeln!(
                out,
                "  layer {:<12} {:>4} features  {}",
                l.id,
                s.layer(&l.id).map_or(0, |x| x.index.len()),
                l.description
            )?;
        }
        if let Some(c) = &s.centres {
            writeln!(out, "  centres      {:>6}", c.len())?;
        }
        for r in &sc.rates {
            let bands: Vec<String> = r.band_hourly.iter().map(|v| format!("{v:.2}")).collect();
            writeln!(
                out,
                "  rates from {}{}: {} {}{}",
                r.from,
                r.to.map(|t| format!(" to {t}")).unwrap_or_default(),
                if bands.is_empty() {
                    String::new()
                } else {
                    format!("bands {} /", bands.join(" / "))
                },
                r.standard_name,
                format_args!(" {:.2}", r.standard_hourly)
            )?;
        }
        // Provider lists: one line per (service, layer, date range), with how many areas.
        let mut spans: std::collections::BTreeMap<_, (usize, bool)> =
            std::collections::BTreeMap::new();
        for l in &sc.provider_lists {
            let e = spans
                .entry((l.service.as_str(), l.layer.as_str(), l.from, l.to))
                .or_insert((0, false));
            e.0 += l.areas.len();
            e.1 |= l.illustrative;
        }
        for ((service, layer, from, to), (areas, illustrative)) in spans {
            writeln!(
                out,
                "  providers {service} by {layer}, from {from}{}: {areas} area(s){}",
                to.map(|t| format!(" to {t}")).unwrap_or_default(),
                if illustrative { "  [ILLUSTRATIVE]" } else { "" }
            )?;
        }
    }
    Ok(())
}
