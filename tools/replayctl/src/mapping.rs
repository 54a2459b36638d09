//! Which stream field goes to which sink column: the sample service's contract
//! (`events_sink`, key `event_id`) by default, or a small YAML mapping file for other shapes.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::Result;
use crate::stream::Entry;

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An entry field.
    Field(String),
    /// The entry's stream id (`$id`).
    Id,
}

/// Stream fields to sink columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub table: String,
    /// The idempotency key column (needs a unique index of its own).
    pub key: String,
    /// The entry field that names the tenant.
    pub tenant_field: String,
    pub columns: Vec<(String, Source)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    table: Option<String>,
    key: Option<String>,
    tenant_field: Option<String>,
    columns: Option<BTreeMap<String, String>>,
}

impl Mapping {
    /// The sample service's `events_sink` (README, "Sample service").
    pub fn sample_service() -> Mapping {
        let f = |c: &str| (c.to_owned(), Source::Field(c.to_owned()));
        Mapping {
            table: "events_sink".to_owned(),
            key: "event_id".to_owned(),
            tenant_field: "tenant".to_owned(),
            columns: vec![
                f("event_id"),
                f("tenant"),
                f("type"),
                f("occurred_at"),
                f("payload"),
                ("stream_id".to_owned(), Source::Id),
            ],
        }
    }

    /// The default, overridden by a mapping file and then by `--sink-table`.
    pub fn load(file: Option<&Path>, table: Option<&str>) -> Result<Mapping> {
        let mut m = Mapping::sample_service();
        if let Some(path) = file {
            let input = gatehouse::input::read(&gatehouse::Source::new(path))?;
            let f: MappingFile = gatehouse::yaml::from_input(&input)?;
            let label = input.label();
            if let Some(t) = f.table {
                m.table = t;
            }
            if let Some(cols) = f.columns {
                m.columns = cols
                    .into_iter()
                    .map(|(c, s)| {
                        let src = if s == "$id" {
                            Source::Id
                        } else {
                            Source::Field(s)
                        };
                        (c, src)
                    })
                    .collect();
            }
            if let Some(k) = f.key {
                m.key = k;
            }
            if let Some(t) = f.tenant_field {
                m.tenant_field = t;
            }
            if !m.columns.iter().any(|(c, _)| *c == m.key) {
                return Err(gatehouse::InputError::invalid(
                    label,
                    format!("key column {:?} is not among the mapped columns", m.key),
                )
                .into());
            }
        }
        if let Some(t) = table {
            m.table = t.to_owned();
        }
        Ok(m)
    }

    pub fn key_index(&self) -> usize {
        self.columns
            .iter()
            .position(|(c, _)| *c == self.key)
            .unwrap_or(0)
    }

    /// The column that holds the tenant, when one is mapped from the tenant field.
    pub fn tenant_column(&self) -> Option<&str> {
        self.columns
            .iter()
            .find(|(_, s)| *s == Source::Field(self.tenant_field.clone()))
            .map(|(c, _)| c.as_str())
    }

    /// The column that holds the stream id, when one is mapped from `$id`.
    pub fn id_column(&self) -> Option<&str> {
        self.columns
            .iter()
            .find(|(_, s)| *s == Source::Id)
            .map(|(c, _)| c.as_str())
    }

    /// The position of the stream-id column, when one is mapped from `$id`.
    pub fn id_index(&self) -> Option<usize> {
        self.columns.iter().position(|(_, s)| *s == Source::Id)
    }

    /// One entry's values in column order (missing fields are NULL).
    pub fn values(&self, e: &Entry) -> Vec<Option<String>> {
        self.columns
            .iter()
            .map(|(_, s)| match s {
                Source::Id => Some(e.id.to_string()),
                Source::Field(f) => e.get(f),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_mapping_is_the_sample_services_contract() {
        let m = Mapping::sample_service();
        assert_eq!(m.tenant_column(), Some("tenant"));
        assert_eq!(m.id_column(), Some("stream_id"));
        assert_eq!(m.key_index(), 0);
    }

    #[test]
    fn a_mapping_file_names_another_shape_and_needs_its_key_mapped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            "table: audit.orders\nkey: order_id\ntenant_field: account\ncolumns:\n  order_id: id\n  account: account\n  source_id: $id\n",
        )
        .expect("write");
        let m = Mapping::load(Some(&path), None).expect("loads");
        assert_eq!(
            (m.table.as_str(), m.key.as_str()),
            ("audit.orders", "order_id")
        );
        assert_eq!(m.tenant_column(), Some("account"));
        assert_eq!(m.id_column(), Some("source_id"));
        std::fs::write(&path, "key: nope\ncolumns:\n  a: b\n").expect("write");
        let e = Mapping::load(Some(&path), None).expect_err("key not mapped");
        assert!(e.to_string().contains("key column \"nope\""), "{e}");
        std::fs::write(&path, "colums: {}\n").expect("write");
        assert!(Mapping::load(Some(&path), None).is_err());
    }
}
