//! Versioned collection schema files (`products.v3.yaml`): Typesense's own collection
//! schema plus `used_by`, read and checked against the rules Typesense 0.24 applies when a
//! collection is created, so a schema it would reject is found before anything is created.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatehouse::yaml::Spanned;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The field types Typesense 0.24 accepts.
const TYPES: &[&str] = &[
    "string",
    "string[]",
    "int32",
    "int32[]",
    "int64",
    "int64[]",
    "float",
    "float[]",
    "bool",
    "bool[]",
    "geopoint",
    "geopoint[]",
    "object",
    "object[]",
    "auto",
    "string*",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchema {
    name: Option<Spanned<String>>,
    version: Option<Spanned<u32>>,
    fields: Vec<Spanned<RawField>>,
    default_sorting_field: Option<Spanned<String>>,
    #[serde(default)]
    token_separators: Vec<String>,
    #[serde(default)]
    symbols_to_index: Vec<String>,
    #[serde(default)]
    enable_nested_fields: bool,
    #[serde(default)]
    used_by: Vec<UsedBy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    facet: bool,
    #[serde(default)]
    optional: bool,
    index: Option<bool>,
    sort: Option<bool>,
    #[serde(default)]
    infix: bool,
    #[serde(default)]
    locale: String,
}

/// Who still reads fields of this collection: queries (`query_by`, `filter_by`, `sort_by`)
/// and scoped keys (their embedded `filter_by`).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsedBy {
    pub(crate) name: String,
    /// `query` or `scoped_key`.
    pub(crate) kind: String,
    pub(crate) fields: Vec<String>,
}

/// One field as Typesense describes it, with defaults filled in the way 0.24 fills them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) facet: bool,
    pub(crate) optional: bool,
    pub(crate) index: bool,
    pub(crate) sort: bool,
    pub(crate) infix: bool,
    pub(crate) locale: String,
    pub(crate) line: u64,
}

impl Field {
    /// From `GET /collections/NAME`'s `fields[]`.
    pub(crate) fn from_live(v: &Value) -> Field {
        let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
        let b = |k: &str| v[k].as_bool().unwrap_or(false);
        Field {
            name: s("name"),
            kind: s("type"),
            facet: b("facet"),
            optional: b("optional"),
            index: v["index"].as_bool().unwrap_or(true),
            sort: b("sort"),
            infix: b("infix"),
            locale: s("locale"),
            line: 0,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "name": self.name, "type": self.kind, "facet": self.facet,
            "optional": self.optional, "index": self.index, "sort": self.sort,
            "infix": self.infix, "locale": self.locale,
        })
    }
}

/// Numeric types are sortable by default in Typesense; strings are not.
fn default_sort(kind: &str) -> bool {
    matches!(kind, "int32" | "int64" | "float" | "bool")
}

/// A checked versioned schema.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    pub(crate) file: String,
    /// The alias the versions live behind (`products`).
    pub(crate) alias: String,
    pub(crate) version: u32,
    pub(crate) fields: Vec<Field>,
    pub(crate) default_sorting_field: String,
    pub(crate) token_separators: Vec<String>,
    pub(crate) symbols_to_index: Vec<String>,
    pub(crate) enable_nested_fields: bool,
    pub(crate) used_by: Vec<UsedBy>,
}

impl Schema {
    /// The collection this version creates: `products_v3`.
    pub(crate) fn collection(&self) -> String {
        format!("{}_v{}", self.alias, self.version)
    }

    /// The body of `POST /collections`.
    pub(crate) fn create_body(&self) -> Value {
        let mut v = json!({
            "name": self.collection(),
            "fields": self.fields.iter().map(Field::to_json).collect::<Vec<_>>(),
            "token_separators": self.token_separators,
            "symbols_to_index": self.symbols_to_index,
            "enable_nested_fields": self.enable_nested_fields,
        });
        if !self.default_sorting_field.is_empty() {
            v["default_sorting_field"] = json!(self.default_sorting_field);
        }
        v
    }

    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// `products.v3.yaml` → (`products`, 3).
fn name_version(path: &Path) -> Option<(String, u32)> {
    let file = path.file_name()?.to_str()?;
    let stem = file
        .strip_suffix(".yaml")
        .or_else(|| file.strip_suffix(".yml"))?;
    let (name, v) = stem.rsplit_once(".v")?;
    Some((name.to_owned(), v.parse().ok()?))
}

/// Reads and checks one schema file.
pub(crate) fn load(path: &Path) -> Result<Schema> {
    let input = gatehouse::input::read(&gatehouse::Source::new(path))?;
    let label = input.label();
    let raw: RawSchema = gatehouse::yaml::from_input(&input)?;
    let bad = |line: u64, column: u64, message: String| Error::SearchSchema {
        file: label.clone(),
        line,
        column,
        message,
    };
    let (alias, version) = match name_version(path) {
        Some(nv) => nv,
        None => {
            let (Some(n), Some(v)) = (&raw.name, &raw.version) else {
                return Err(bad(
                    1,
                    1,
                    "name the file <alias>.v<N>.yaml (products.v3.yaml) or set name: and version:"
                        .into(),
                ));
            };
            (n.value.clone(), v.value)
        }
    };
    if let Some(n) = &raw.name
        && n.value != alias
    {
        return Err(bad(
            n.referenced.line(),
            n.referenced.column(),
            format!("name {:?} differs from the file name's {alias:?}", n.value),
        ));
    }
    if let Some(v) = &raw.version
        && v.value != version
    {
        return Err(bad(
            v.referenced.line(),
            v.referenced.column(),
            format!(
                "version {} differs from the file name's v{version}",
                v.value
            ),
        ));
    }
    if alias.is_empty()
        || !alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad(
            1,
            1,
            format!("alias {alias:?}: use letters, digits, _ and -"),
        ));
    }
    let mut fields = Vec::new();
    let mut seen = BTreeSet::new();
    if raw.fields.is_empty() {
        return Err(bad(
            1,
            1,
            "fields: a collection needs at least one field".into(),
        ));
    }
    for f in &raw.fields {
        let (line, col) = (f.referenced.line(), f.referenced.column());
        let r = &f.value;
        if r.name.trim().is_empty() {
            return Err(bad(line, col, "a field needs a name".into()));
        }
        if !TYPES.contains(&r.kind.as_str()) {
            return Err(bad(
                line,
                col,
                format!(
                    "field `{}` has an invalid data type `{}` (Typesense 0.24: {})",
                    r.name,
                    r.kind,
                    TYPES.join(", ")
                ),
            ));
        }
        if !seen.insert(r.name.clone()) {
            return Err(bad(
                line,
                col,
                format!("field `{}` is declared twice", r.name),
            ));
        }
        if r.name == "id" && r.kind != "string" {
            return Err(bad(line, col, "field `id` must be of type string".into()));
        }
        if r.facet
            && matches!(
                r.kind.as_str(),
                "geopoint" | "geopoint[]" | "object" | "object[]"
            )
        {
            return Err(bad(
                line,
                col,
                format!("field `{}`: a {} field cannot be a facet", r.name, r.kind),
            ));
        }
        if r.kind.starts_with("object") && !raw.enable_nested_fields {
            return Err(bad(
                line,
                col,
                format!(
                    "field `{}` of type {} needs enable_nested_fields: true",
                    r.name, r.kind
                ),
            ));
        }
        fields.push(Field {
            name: r.name.clone(),
            kind: r.kind.clone(),
            facet: r.facet,
            optional: r.optional,
            index: r.index.unwrap_or(true),
            sort: r.sort.unwrap_or_else(|| default_sort(&r.kind)),
            infix: r.infix,
            locale: r.locale.clone(),
            line,
        });
    }
    let mut dsf = String::new();
    if let Some(d) = &raw.default_sorting_field {
        let (line, col) = (d.referenced.line(), d.referenced.column());
        let Some(f) = fields.iter().find(|f| f.name == d.value) else {
            return Err(bad(
                line,
                col,
                format!(
                    "default sorting field `{}` is not a field of the schema",
                    d.value
                ),
            ));
        };
        if !(matches!(f.kind.as_str(), "int32" | "int64" | "float")
            || (f.kind == "string" && f.sort))
        {
            return Err(bad(
                line,
                col,
                format!(
                    "default sorting field `{}` is not a sortable type ({}); use int32, int64 or float",
                    f.name, f.kind
                ),
            ));
        }
        if f.optional {
            return Err(bad(
                line,
                col,
                format!(
                    "default sorting field `{}` cannot be an optional field",
                    f.name
                ),
            ));
        }
        dsf = d.value.clone();
    }
    Ok(Schema {
        file: label,
        alias,
        version,
        fields,
        default_sorting_field: dsf,
        token_separators: raw.token_separators,
        symbols_to_index: raw.symbols_to_index,
        enable_nested_fields: raw.enable_nested_fields,
        used_by: raw.used_by,
    })
}

/// Every `*.vN.yaml` in `dir` (or the one file `dir` names), checked, sorted by alias and
/// version.
pub(crate) fn load_all(path: &Path) -> Result<Vec<Schema>> {
    let files: Vec<PathBuf> = if path.is_dir() {
        gatehouse::input::list_dir(path)?
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| name_version(p).is_some())
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(Error::Layout {
            path: path.display().to_string(),
            message: "no versioned schema files (<alias>.v<N>.yaml)".into(),
        });
    }
    let mut out = files.iter().map(|p| load(p)).collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| (a.alias.as_str(), a.version).cmp(&(b.alias.as_str(), b.version)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_alias_and_version() {
        assert_eq!(
            name_version(Path::new("x/products.v3.yaml")),
            Some(("products".into(), 3))
        );
        assert_eq!(name_version(Path::new("keys.yaml")), None);
    }
}
