//! JSON request bodies read strictly: an object that names a key twice is refused.
//!
//! `serde_json::Value` keeps the last of two equal keys without a word, so
//! `{"postcode": "NR1 1AA", "postcode": "BS1 4DJ"}` would be answered for Bristol while the
//! sender's tooling (or a proxy that reads the first) sees Norwich. [`StrictValue`] is the same
//! JSON value, built by a visitor that fails on the second occurrence of a key, at any depth.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value in which no object repeats a key.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key {key:?} is given twice in one object"
                )));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str::<StrictValue>(text).map(|v| v.0)
    }

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        for text in [
            r#"{"postcode": "NR1 1AA", "postcode": "BS1 4DJ"}"#,
            r#"[{"q": "x"}, {"lat": 1, "lon": 2, "lat": 3}]"#,
            r#"{"a": {"b": 1, "b": 1}}"#,
        ] {
            let e = read(text).unwrap_err();
            assert!(e.is_data(), "{text}: {e}");
            assert!(e.to_string().contains("given twice"), "{e}");
        }
    }

    #[test]
    fn values_without_repeats_read_as_serde_json_reads_them() {
        let text = r#"[{"postcode": "NR1 1AA", "date": "2019-06-01"}, {"lat": 52.6, "lon": -1.29, "n": null, "ok": true, "big": 18446744073709551615, "neg": -3, "list": [1, "a"]}]"#;
        assert_eq!(
            read(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        // Equal values under different keys, and the same key in two objects, are fine.
        assert!(read(r#"[{"a": 1}, {"a": 1}]"#).is_ok());
    }
}
