//! Partner formats are data: a directory per format and version holding
//! `format.json` (content types, where the orders are, the field mapping) and
//! `schema.json` (a JSON Schema for one order). No Rust code per partner.
//!
//! The formats in the repo's `formats/` folder are compiled into every binary
//! (so a Lambda needs no extra files), and [`FormatRegistry::load_dir`] loads
//! the same layout from any folder, which is how a new format is tried out.

mod mapping;

pub use mapping::{Conversion, FieldSpec, LineFields, LinesSpec, Mapping, Pointer};

use include_dir::{include_dir, Dir};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

static BUILTIN_FORMATS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../formats");

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("unknown format {0:?}; a partner names a format as <name>@<version>, e.g. partner-a@1")]
    Unknown(String),
    #[error("format {format}: {detail}")]
    Invalid { format: String, detail: String },
    #[error("reading formats from {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// What `format.json` holds.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FormatFile {
    name: String,
    version: u32,
    #[serde(default)]
    description: String,
    content_types: Vec<String>,
    /// JSON Pointer to the array of orders in the feed body.
    orders: String,
    mapping: Mapping,
}

/// One partner format at one version, ready to use.
#[derive(Debug)]
pub struct Format {
    /// `<name>@<version>`, as partner records name it.
    pub id: String,
    pub name: String,
    pub version: u32,
    pub description: String,
    /// Media types (essence only, lower case) that ingest accepts for this format.
    pub content_types: Vec<String>,
    /// JSON Pointer to the orders array in a feed body.
    pub orders_pointer: String,
    pub mapping: Mapping,
    schema: jsonschema::Validator,
}

impl Format {
    /// Builds a format from the text of its two files.
    pub fn from_json(format_json: &str, schema_json: &str) -> Result<Self, FormatError> {
        let file: FormatFile = serde_json::from_str(format_json).map_err(|e| FormatError::Invalid {
            format: "format.json".into(),
            detail: e.to_string(),
        })?;
        let id = format!("{}@{}", file.name, file.version);
        let invalid = |detail: String| FormatError::Invalid {
            format: id.clone(),
            detail,
        };
        let schema: serde_json::Value =
            serde_json::from_str(schema_json).map_err(|e| invalid(format!("schema.json: {e}")))?;
        let schema = jsonschema::validator_for(&schema)
            .map_err(|e| invalid(format!("schema.json is not a valid JSON Schema: {e}")))?;
        if !file.orders.is_empty() && !file.orders.starts_with('/') {
            return Err(invalid(format!(
                "orders must be a JSON Pointer such as /orders, got {:?}",
                file.orders
            )));
        }
        let mut content_types = Vec::new();
        for ct in &file.content_types {
            let parsed: mime::Mime = ct.parse().map_err(|e| invalid(format!("content type {ct:?}: {e}")))?;
            content_types.push(parsed.essence_str().to_ascii_lowercase());
        }
        if content_types.is_empty() {
            return Err(invalid("contentTypes must name at least one media type".into()));
        }
        file.mapping.check().map_err(invalid)?;
        Ok(Format {
            id,
            name: file.name,
            version: file.version,
            description: file.description,
            content_types,
            orders_pointer: file.orders,
            mapping: file.mapping,
            schema,
        })
    }

    pub fn schema(&self) -> &jsonschema::Validator {
        &self.schema
    }

    /// Whether a Content-Type header value is one this format takes
    /// (parameters such as charset are ignored).
    pub fn accepts_content_type(&self, header: &str) -> bool {
        match header.parse::<mime::Mime>() {
            Ok(m) => {
                let essence = m.essence_str().to_ascii_lowercase();
                self.content_types.contains(&essence)
            }
            Err(_) => false,
        }
    }
}

/// All formats known to a binary, by id.
#[derive(Debug, Clone, Default)]
pub struct FormatRegistry {
    formats: BTreeMap<String, Arc<Format>>,
}

impl FormatRegistry {
    /// The formats shipped in the repo's `formats/` folder.
    pub fn builtin() -> Result<Self, FormatError> {
        let mut registry = Self::default();
        for name_dir in BUILTIN_FORMATS.dirs() {
            for version_dir in name_dir.dirs() {
                let read = |file: &str| {
                    version_dir
                        .get_file(version_dir.path().join(file))
                        .and_then(|f| f.contents_utf8())
                        .ok_or_else(|| FormatError::Invalid {
                            format: version_dir.path().display().to_string(),
                            detail: format!("{file} is missing or not UTF-8"),
                        })
                };
                let format = Format::from_json(read("format.json")?, read("schema.json")?)?;
                registry.insert_checked(format, version_dir.path())?;
            }
        }
        Ok(registry)
    }

    /// Loads every `<name>/<version>/{format.json,schema.json}` below `root`.
    pub fn load_dir(root: &Path) -> Result<Self, FormatError> {
        let io = |path: &Path, source| FormatError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut registry = Self::default();
        for name_entry in std::fs::read_dir(root).map_err(|e| io(root, e))? {
            let name_path = name_entry.map_err(|e| io(root, e))?.path();
            if !name_path.is_dir() {
                continue;
            }
            for version_entry in std::fs::read_dir(&name_path).map_err(|e| io(&name_path, e))? {
                let dir = version_entry.map_err(|e| io(&name_path, e))?.path();
                if !dir.is_dir() {
                    continue;
                }
                let read = |file: &str| {
                    let p = dir.join(file);
                    std::fs::read_to_string(&p).map_err(|e| io(&p, e))
                };
                let format = Format::from_json(&read("format.json")?, &read("schema.json")?)?;
                let rel = dir.strip_prefix(root).unwrap_or(&dir).to_path_buf();
                registry.insert_checked(format, &rel)?;
            }
        }
        Ok(registry)
    }

    /// The folder layout is part of the contract: `<name>/<version>` must
    /// agree with what format.json says, so a copied folder cannot shadow
    /// another format silently.
    fn insert_checked(&mut self, format: Format, rel: &Path) -> Result<(), FormatError> {
        let expected = Path::new(&format.name).join(format.version.to_string());
        if rel != expected {
            return Err(FormatError::Invalid {
                format: format.id.clone(),
                detail: format!("lives in {} but format.json says {}", rel.display(), expected.display()),
            });
        }
        self.formats.insert(format.id.clone(), Arc::new(format));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Arc<Format>, FormatError> {
        self.formats
            .get(id)
            .cloned()
            .ok_or_else(|| FormatError::Unknown(id.to_string()))
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.formats.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_formats_load() {
        let reg = FormatRegistry::builtin().unwrap();
        let ids: Vec<_> = reg.ids().collect();
        assert_eq!(ids, vec!["partner-a@1", "partner-b@1"]);
        let b = reg.get("partner-b@1").unwrap();
        assert_eq!(b.orders_pointer, "/data/orders");
        assert!(b.accepts_content_type("application/vnd.partner-b.feed+json; charset=utf-8"));
        assert!(!b.accepts_content_type("text/csv"));
        assert!(reg.get("partner-a@2").is_err());
    }

    #[test]
    fn a_mapping_with_a_wrong_conversion_is_refused_at_load() {
        let format = r#"{"name":"x","version":1,"contentTypes":["application/json"],"orders":"/orders",
          "mapping":{"sequenceNumber":{"path":"/s","as":"integer"},"externalId":{"path":"/id","as":"string"},
          "eventTime":{"path":"/t","as":"minorUnits"},"currency":{"path":"/c","as":"currencyCode"},
          "lines":{"path":"/l","fields":{"sku":{"path":"/sku","as":"string"},"quantity":{"path":"/q","as":"integer"},
          "unitPrice":{"path":"/p","as":"minorUnits"}}}}}"#;
        let err = Format::from_json(format, "{}").unwrap_err().to_string();
        assert!(err.contains("eventTime"), "{err}");
    }
}
