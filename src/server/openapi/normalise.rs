//! Rewrites the document utoipa generates into the plain shapes client generators read.
//!
//! utoipa describes a `#[serde(flatten)]` field as `allOf` of the flattened type and the rest,
//! and an internally tagged enum as `oneOf` of `allOf`s (the variant's type and its tag). Both
//! are valid JSON Schema, but openapi-python-client drops such schemas (and with them the
//! answers of `GET /v1/lookup`), and names the inline objects of a `oneOf` twice. This pass
//! gives every schema the same meaning in simpler words:
//!
//! - an `allOf` of objects becomes one object with all their properties and required names;
//! - an `allOf` with one `oneOf` among its parts becomes a `oneOf` of that `oneOf`'s branches,
//!   each merged with the other parts (`A and (B xor C)` is `(A and B) xor (A and C)`);
//! - every inline object branch of a component's `oneOf` becomes a component of its own, named
//!   after the component and the branch's tag (`AnswerPoint`), and a `oneOf` whose branches all
//!   have one required constant property gets a `discriminator` on it.
//!
//! The pass only reads and writes JSON: no schema is hand-written here.

use serde_json::{Map, Value, json};

const REF: &str = "#/components/schemas/";

/// Rewrites `doc` (an OpenAPI 3.1 document as JSON) in place; see the module documentation.
pub fn normalise(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut pass = Pass {
        schemas: std::mem::take(schemas),
        done: std::collections::HashSet::new(),
    };
    let names: Vec<String> = pass.schemas.keys().cloned().collect();
    for name in &names {
        pass.component(name);
    }
    for name in &names {
        pass.hoist(name);
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        *schemas = Value::Object(pass.schemas);
    }
    // Operations' inline schemas (request bodies, responses) may use the same shapes.
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for op in paths.values_mut().filter_map(Value::as_object_mut) {
            for o in op.values_mut() {
                walk_schemas(o, &mut |s| {
                    // No component can be resolved here; only inline allOf of inline objects.
                    *s = simple(std::mem::take(s));
                });
            }
        }
    }
}

/// Removes the components no operation reaches any more (the types that were merged into
/// others), so that generators make no model nobody uses.
pub fn prune(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return;
    };
    let mut reached: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut todo: Vec<String> = Vec::new();
    let refs = |v: &Value, todo: &mut Vec<String>| {
        let text = v.to_string();
        for part in text.split("\"#/components/schemas/").skip(1) {
            if let Some(name) = part.split('"').next() {
                todo.push(name.to_string());
            }
        }
    };
    if let Some(paths) = doc.get("paths") {
        refs(paths, &mut todo);
    }
    while let Some(name) = todo.pop() {
        if reached.insert(name.clone())
            && let Some(s) = schemas.get(&name)
        {
            refs(s, &mut todo);
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.retain(|name, _| reached.contains(name));
    }
}

struct Pass {
    schemas: Map<String, Value>,
    done: std::collections::HashSet<String>,
}

impl Pass {
    /// Normalises the component `name` once (components refer to each other).
    fn component(&mut self, name: &str) {
        if !self.done.insert(name.to_string()) {
            return;
        }
        if let Some(s) = self.schemas.get(name).cloned() {
            let s = self.schema(s);
            self.schemas.insert(name.to_string(), s);
        }
    }

    /// The schema a part stands for: the normalised component it refers to, or itself
    /// normalised.
    fn resolve(&mut self, part: Value) -> Value {
        match ref_name(&part) {
            Some(name) => {
                self.component(&name);
                self.schemas.get(&name).cloned().unwrap_or(part)
            }
            None => self.schema(part),
        }
    }

    fn schema(&mut self, s: Value) -> Value {
        let Value::Object(mut s) = s else {
            return s;
        };
        if let Some(Value::Array(parts)) = s.remove("allOf") {
            let description = s.remove("description");
            let parts: Vec<Value> = parts.into_iter().map(|p| self.resolve(p)).collect();
            let (ones, rest): (Vec<Value>, Vec<Value>) =
                parts.into_iter().partition(|p| p.get("oneOf").is_some());
            let merged = match ones.as_slice() {
                [] => merge(&rest, description),
                [one] => {
                    let branches = one
                        .get("oneOf")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|b| {
                            let b = self.resolve(b);
                            let d = b.get("description").cloned();
                            let mut all = vec![b];
                            all.extend(rest.iter().cloned());
                            merge(&all, d)
                        })
                        .collect();
                    let mut out = Map::new();
                    out.insert("oneOf".into(), Value::Array(branches));
                    if let Some(d) = description {
                        out.insert("description".into(), d);
                    }
                    Value::Object(out)
                }
                _ => {
                    // Two oneOfs in one allOf: left as it was (none in this API).
                    let mut all = ones;
                    all.extend(rest);
                    s.insert("allOf".into(), Value::Array(all));
                    if let Some(d) = description {
                        s.insert("description".into(), d);
                    }
                    return Value::Object(s);
                }
            };
            // Keys beside the allOf (title, example) are kept.
            let Value::Object(mut merged) = merged else {
                return merged;
            };
            for (k, v) in s {
                merged.entry(k).or_insert(v);
            }
            s = merged;
        }
        if let Some(Value::Object(props)) = s.get_mut("properties") {
            for v in props.values_mut() {
                *v = self.schema(std::mem::take(v));
            }
        }
        if let Some(items) = s.get_mut("items") {
            *items = self.schema(std::mem::take(items));
        }
        if let Some(Value::Array(branches)) = s.get_mut("oneOf") {
            for b in branches.iter_mut().filter(|b| ref_name(b).is_none()) {
                *b = self.schema(std::mem::take(b));
            }
        }
        Value::Object(s)
    }

    /// Moves the inline object branches of component `parent`'s `oneOf` into components of
    /// their own, and adds a discriminator where every branch has the same constant tag.
    fn hoist(&mut self, parent: &str) {
        let Some(mut s) = self.schemas.get(parent).cloned() else {
            return;
        };
        let Some(Value::Array(branches)) = s.get_mut("oneOf") else {
            return;
        };
        for (i, b) in branches.iter_mut().enumerate() {
            if ref_name(b).is_some() || b.get("type") != Some(&json!("object")) {
                continue;
            }
            let tag = match (constant(b), only_required(b)) {
                (Some((_, value)), _) => value,
                (None, Some(key)) => key,
                (None, None) => i.to_string(),
            };
            let mut name = format!("{parent}{}", camel(&tag));
            while self.schemas.contains_key(&name) {
                name.push('_');
            }
            self.schemas.insert(name.clone(), std::mem::take(b));
            *b = json!({ "$ref": format!("{REF}{name}") });
        }
        let tags: Option<Vec<(String, String, String)>> = branches
            .iter()
            .map(|b| {
                let name = ref_name(b)?;
                let (key, value) = constant(self.schemas.get(&name)?)?;
                Some((key, value, format!("{REF}{name}")))
            })
            .collect();
        if let Some(tags) = tags.filter(|t| !t.is_empty()) {
            let key = &tags[0].0;
            if tags.iter().all(|(k, _, _)| k == key) {
                let mapping: Map<String, Value> = tags
                    .iter()
                    .map(|(_, v, r)| (v.clone(), Value::String(r.clone())))
                    .collect();
                if let Some(obj) = s.as_object_mut() {
                    obj.insert(
                        "discriminator".into(),
                        json!({ "propertyName": key, "mapping": mapping }),
                    );
                }
            }
        }
        self.schemas.insert(parent.to_string(), s);
    }
}

/// An inline schema simplified without the components: an `allOf` of inline objects merged.
fn simple(s: Value) -> Value {
    match s.get("allOf").and_then(Value::as_array) {
        Some(parts)
            if parts
                .iter()
                .all(|p| ref_name(p).is_none() && p.get("oneOf").is_none()) =>
        {
            merge(parts, s.get("description").cloned())
        }
        _ => s,
    }
}

/// Calls `f` on every `schema` object under an operation (parameters, bodies, responses).
fn walk_schemas(v: &mut Value, f: &mut impl FnMut(&mut Value)) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                if k == "schema" {
                    f(child);
                } else {
                    walk_schemas(child, f);
                }
            }
        }
        Value::Array(a) => {
            for child in a {
                walk_schemas(child, f);
            }
        }
        _ => {}
    }
}

/// One object with the properties and required names of every part (later parts win a
/// property both name).
fn merge(parts: &[Value], description: Option<Value>) -> Value {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for p in parts {
        if let Some(props) = p.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                properties.insert(k.clone(), v.clone());
            }
        }
        for r in p
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !required.contains(r) {
                required.push(r.clone());
            }
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), json!("object"));
    if let Some(d) = description {
        out.insert("description".into(), d);
    }
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("properties".into(), Value::Object(properties));
    Value::Object(out)
}

/// The component a `{"$ref": "#/components/schemas/Name"}` names.
fn ref_name(v: &Value) -> Option<String> {
    v.get("$ref")?
        .as_str()?
        .strip_prefix(REF)
        .map(str::to_string)
}

/// The first required property with a single allowed value (a serde tag): its name and value.
fn constant(s: &Value) -> Option<(String, String)> {
    let required = s.get("required")?.as_array()?;
    s.get("properties")?.as_object()?.iter().find_map(|(k, v)| {
        let values = v.get("enum")?.as_array()?;
        match values.as_slice() {
            [Value::String(one)] if required.contains(&json!(k)) => Some((k.clone(), one.clone())),
            _ => None,
        }
    })
}

/// The name of an object's only property, when it is required (an externally tagged variant).
fn only_required(s: &Value) -> Option<String> {
    let props = s.get("properties")?.as_object()?;
    let required = s.get("required")?.as_array()?;
    match (props.len(), required.as_slice()) {
        (1, [Value::String(k)]) if props.contains_key(k) => Some(k.clone()),
        _ => None,
    }
}

/// `within_tolerance` as `WithinTolerance`.
fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flattened_tagged_enum_becomes_tagged_objects_with_a_discriminator() {
        let mut doc = json!({"components": {"schemas": {
            "P": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}}},
            "Q": {"type": "object", "properties": {"y": {"type": "string"}}},
            "E": {"oneOf": [
                {"allOf": [{"$ref": "#/components/schemas/P"},
                           {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["p"]}}}]},
                {"allOf": [{"$ref": "#/components/schemas/Q"},
                           {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["q"]}}}]}
            ]},
            "R": {"allOf": [{"$ref": "#/components/schemas/E"},
                            {"type": "object", "properties": {"note": {"type": "string"}}}]}
        }}});
        normalise(&mut doc);
        let s = &doc["components"]["schemas"];
        // Worked out by hand: R = E and {note} = (P and p) xor (Q and q), each with note.
        assert_eq!(
            s["R"]["oneOf"][0],
            json!({"$ref": "#/components/schemas/RP"})
        );
        assert_eq!(s["R"]["discriminator"]["propertyName"], "kind");
        assert_eq!(
            s["R"]["discriminator"]["mapping"]["q"],
            "#/components/schemas/RQ"
        );
        assert_eq!(
            s["RP"],
            json!({"type": "object", "required": ["x", "kind"], "properties": {
                "x": {"type": "number"},
                "kind": {"type": "string", "enum": ["p"]},
                "note": {"type": "string"}}})
        );
        assert_eq!(s["RQ"]["required"], json!(["kind"]));
        assert_eq!(s["EP"]["properties"]["x"], json!({"type": "number"}));
        assert!(s["EQ"]["properties"].get("note").is_none());
        assert!(!doc.to_string().contains("allOf"));
    }

    #[test]
    fn components_no_operation_reaches_are_removed() {
        let mut doc = json!({
            "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/A"}}}}}}}},
            "components": {"schemas": {
                "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"type": "string"},
                "C": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}}
            }}
        });
        prune(&mut doc);
        let names: Vec<&String> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["A", "B"]);
    }

    #[test]
    fn an_externally_tagged_variant_is_named_after_its_key() {
        let mut doc = json!({"components": {"schemas": {
            "M": {"oneOf": [
                {"type": "string", "enum": ["covered"]},
                {"type": "object", "required": ["within_tolerance"], "properties": {
                    "within_tolerance": {"type": "object", "properties": {"d": {"type": "number"}}}}}
            ]}
        }}});
        normalise(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["M"]["oneOf"][0]["enum"], json!(["covered"]));
        assert_eq!(
            s["M"]["oneOf"][1],
            json!({"$ref": "#/components/schemas/MWithinTolerance"})
        );
        assert!(s["MWithinTolerance"]["properties"]["within_tolerance"].is_object());
        assert!(s["M"].get("discriminator").is_none());
    }
}
