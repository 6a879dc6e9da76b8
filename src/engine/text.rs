//! [`Text`]: immutable shared text for names, ids and notes that are loaded once and handed
//! out with every answer.
//!
//! An answer names its scheme, areas, centre and up to twenty providers; copying each of
//! those strings per answer cost more than finding them. A `Text` is cloned by reference
//! count instead. It serialises as a plain JSON string and reads like a `&str`.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Shared immutable text (a reference-counted `str`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text(Arc<str>);

impl Text {
    /// The text as a `&str`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Self {
        Self(Arc::from(""))
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    /// Honours width, fill and alignment (`{:<14}`), like `str`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Self(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Self(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Self(Arc::from(s.as_str()))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0.to_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == &*other.0
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        **self == *other.0
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Text {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <String as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Text {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_serialises_as_a_plain_string_and_compares_with_str() {
        let t = Text::from("Band 1");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"Band 1\"");
        let back: Text = serde_json::from_str("\"Band 1\"").unwrap();
        assert_eq!(back, t);
        assert!(t == "Band 1");
        assert_eq!(t.len(), 6);
        assert_eq!(format!("{t} / {t:?}"), "Band 1 / \"Band 1\"");
        assert_eq!(format!("[{t:<8}]"), "[Band 1  ]");
    }

    #[test]
    fn clones_share_one_allocation() {
        let t = Text::from(String::from("Norwich"));
        let u = t.clone();
        assert!(std::ptr::eq(t.as_str(), u.as_str()));
    }
}
