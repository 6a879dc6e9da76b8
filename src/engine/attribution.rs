//! The attribution lines the data's licences require, read from the dataset's manifest.
//!
//! Each file's `licence` in `manifest.toml` names the sources it is derived from (OS, Royal
//! Mail, ONS, NHS England, `GeoNames`, the House of Commons Library) with the copyright year of
//! the release used. [`lines`] gives one line per source that any file names, in a fixed
//! order, with the latest year the manifest gives for it, so a data update changes the years
//! without a code change.

use serde::Serialize;

use crate::engine::dataset::DataFile;

/// The Open Government Licence v3.0.
pub const OGL_URL: &str =
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/";
/// Creative Commons Attribution 4.0.
pub const CC_BY_URL: &str = "https://creativecommons.org/licenses/by/4.0/";
/// The Open Parliament Licence v3.0.
pub const OPL_URL: &str =
    "https://www.parliament.uk/site-information/copyright-parliament/open-parliament-licence/";

/// One source's attribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attribution {
    /// Who published the data (`Ordnance Survey`, `GeoNames`).
    pub source: &'static str,
    /// The line to show wherever the data is used, with the copyright year of the release.
    pub line: String,
    /// The licence's name.
    pub licence: &'static str,
    /// The licence's text.
    pub licence_url: &'static str,
}

/// A source: what a manifest licence says to name it, its line before the year, and whether
/// the line takes a year.
struct Source {
    name: &'static str,
    key: &'static str,
    line: &'static str,
    year: bool,
    licence: &'static str,
    licence_url: &'static str,
}

const OGL: &str = "Open Government Licence v3.0";

const SOURCES: &[Source] = &[
    Source {
        name: "Public sector information",
        key: "OGL",
        line: "Contains public sector information licensed under the Open Government Licence v3.0",
        year: false,
        licence: OGL,
        licence_url: OGL_URL,
    },
    Source {
        name: "Ordnance Survey",
        key: "OS data",
        line: "Contains OS data © Crown copyright and database right",
        year: true,
        licence: OGL,
        licence_url: OGL_URL,
    },
    Source {
        name: "Royal Mail",
        key: "Royal Mail data",
        line: "Contains Royal Mail data © Royal Mail copyright and database right",
        year: true,
        licence: OGL,
        licence_url: OGL_URL,
    },
    Source {
        name: "National Statistics",
        key: "National Statistics data",
        line: "Contains National Statistics data © Crown copyright and database right",
        year: true,
        licence: OGL,
        licence_url: OGL_URL,
    },
    Source {
        name: "Office for National Statistics",
        key: "Office for National Statistics",
        line: "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
        year: false,
        licence: OGL,
        licence_url: OGL_URL,
    },
    Source {
        name: "NHS England",
        key: "NHS England",
        line: "Contains information from NHS England (formerly NHS Digital), licensed under the current version of the Open Government Licence",
        year: false,
        licence: OGL,
        licence_url: OGL_URL,
    },
    Source {
        name: "GeoNames",
        key: "GeoNames",
        line: "Contains data from GeoNames (geonames.org), licensed under Creative Commons Attribution 4.0",
        year: false,
        licence: "Creative Commons Attribution 4.0 (CC BY 4.0)",
        licence_url: CC_BY_URL,
    },
    Source {
        name: "House of Commons Library",
        key: "Open Parliament Licence",
        line: "Contains Parliamentary information licensed under the Open Parliament Licence v3.0 (House of Commons Library MSOA Names)",
        year: false,
        licence: "Open Parliament Licence v3.0",
        licence_url: OPL_URL,
    },
];

/// The attribution of every source the files' licences name, in a fixed order.
#[must_use]
pub fn lines(files: &[DataFile]) -> Vec<Attribution> {
    SOURCES
        .iter()
        .filter_map(|s| {
            let mut named = false;
            let mut latest: Option<u16> = None;
            for f in files {
                for (at, _) in f.licence.match_indices(s.key) {
                    named = true;
                    // The year is in the same clause: up to the next `;`.
                    let clause = f.licence[at..].split(';').next().unwrap_or_default();
                    latest = latest.max(last_year(clause));
                }
            }
            named.then(|| Attribution {
                source: s.name,
                line: match (s.year, latest) {
                    (true, Some(y)) => format!("{} {y}", s.line),
                    _ => s.line.to_string(),
                },
                licence: s.licence,
                licence_url: s.licence_url,
            })
        })
        .collect()
}

/// The last four-digit year (1900-2199) in `text`.
fn last_year(text: &str) -> Option<u16> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 4)
        .filter_map(|w| w.parse::<u16>().ok())
        .rfind(|y| (1900..2200).contains(y))
}

/// The lines as one header value: ASCII only (`©` written `(c)`), the lines joined by `; `.
#[must_use]
pub fn header_value(lines: &[Attribution]) -> String {
    lines
        .iter()
        .map(|a| a.line.replace('©', "(c)"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The licences the lines name, each once, in order of first use.
#[must_use]
pub fn licence_urls(lines: &[Attribution]) -> Vec<&'static str> {
    let mut urls: Vec<&'static str> = Vec::new();
    for a in lines {
        if !urls.contains(&a.licence_url) {
            urls.push(a.licence_url);
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(licence: &str) -> DataFile {
        DataFile {
            path: "f".into(),
            sha256: String::new(),
            rows: 0,
            description: String::new(),
            sources: Vec::new(),
            licence: licence.into(),
        }
    }

    #[test]
    fn each_named_source_has_its_line_with_its_latest_year() {
        let files = [
            file(
                "OS Open Names: OGL v3, Contains OS data © Crown copyright and database right 2019; GeoNames: CC BY 4.0",
            ),
            file(
                "OGL v3. Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data © Royal Mail copyright and database right 2024",
            ),
        ];
        let got = lines(&files);
        let sources: Vec<&str> = got.iter().map(|a| a.source).collect();
        assert_eq!(
            sources,
            [
                "Public sector information",
                "Ordnance Survey",
                "Royal Mail",
                "GeoNames"
            ]
        );
        assert_eq!(
            got[1].line,
            "Contains OS data © Crown copyright and database right 2025"
        );
        assert!(
            got[2].line.ends_with("database right 2024"),
            "{}",
            got[2].line
        );
        assert_eq!(got[3].licence_url, CC_BY_URL);
        assert_eq!(licence_urls(&got), [OGL_URL, CC_BY_URL]);
        let header = header_value(&got);
        assert!(header.is_ascii(), "{header}");
        assert!(header.contains("Contains OS data (c) Crown copyright and database right 2025; "));
    }

    #[test]
    fn a_source_without_a_year_keeps_its_line_without_one() {
        let got = lines(&[file(
            "OGL v3: contains OS data (c) Crown copyright and database right",
        )]);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1].line,
            "Contains OS data © Crown copyright and database right"
        );
        assert!(lines(&[]).is_empty());
    }
}
