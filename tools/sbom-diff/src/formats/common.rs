//! What every reader shares: lenient scalar fields (a version written as a number is still a
//! version) and the builder that turns raw fields into a [`Component`] — purl parsing,
//! license interning, empty strings dropped.

use serde::{Deserialize, Deserializer};

use crate::license::Interner;
use crate::model::Component;
use crate::purl::Purl;

/// A string that SBOM writers sometimes emit as a number or boolean (`"version": 1.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `Option<Text>` as an owned, trimmed, non-empty string.
pub fn text(t: Option<Text>) -> Option<String> {
    t.and_then(|Text(s)| trimmed(s))
}

/// The string without surrounding whitespace, reusing its allocation when it has none;
/// `None` when nothing is left.
pub fn trimmed(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_owned())
    }
}

/// A list that some writers give as a single object or `null`.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::Many(v)) => v,
        Some(OneOrMany::One(t)) => vec![t],
    })
}

/// Raw component fields as any reader finds them.
#[derive(Debug, Default)]
pub struct Raw {
    pub name: Option<String>,
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub purl: Option<String>,
    pub licenses: Vec<String>,
    pub bom_ref: Option<String>,
}

/// Turns raw fields into components; counts purls that do not parse.
#[derive(Debug, Default)]
pub struct Builder {
    pub licenses: Interner,
    pub invalid_purls: usize,
}

impl Builder {
    pub fn component(&mut self, raw: Raw) -> Component {
        let nonempty = |s: Option<String>| s.and_then(trimmed);
        let purl_text = nonempty(raw.purl);
        let purl = purl_text.as_deref().and_then(|p| match Purl::parse(p) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::debug!("{e}");
                self.invalid_purls += 1;
                None
            }
        });
        let purl_text = purl_text.filter(|_| purl.is_some());
        let version =
            nonempty(raw.version).or_else(|| purl.as_ref().and_then(|p| p.version.clone()));
        let name = nonempty(raw.name)
            .or_else(|| purl.as_ref().map(|p| p.name.clone()))
            .unwrap_or_default();
        Component {
            name,
            group: nonempty(raw.group),
            version,
            kind: nonempty(raw.kind).map(|k| k.to_ascii_lowercase()),
            purl,
            purl_text,
            license: self.licenses.get(&raw.licenses),
            bom_ref: nonempty(raw.bom_ref),
        }
    }
}
