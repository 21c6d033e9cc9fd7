//! Partner formats are data: a directory per format and version holding
//! `format.json` (content types, where the orders are, the field mapping) and
//! `schema.json` (a JSON Schema for one order). No Rust code per partner.
//!
//! The formats in the repo's `formats/` folder are compiled into every binary
//! (so a Lambda needs no extra files), and [`FormatRegistry::load_dir`] loads
//! the same layout from any folder. New formats are published at run time
//! through the admin API into the formats table ([`publish`]), as immutable
//! `<name>@<version>`s, and the functions find them through a
//! [`FormatResolver`]: built-in first, then the table, each version read once.

mod mapping;
pub mod publish;
mod resolver;

pub use mapping::{Conversion, FieldSpec, LineFields, LinesSpec, Mapping, Pointer};
pub use publish::{PublishError, PublishReport, SampleOutcome};
pub use resolver::{split_format_id, FormatDetail, FormatResolver, FormatSource, FormatSummary, ResolverSetupError};

use crate::store::StoreError;
use include_dir::{include_dir, Dir};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

static BUILTIN_FORMATS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../formats");

/// The JSON Schema of a format.json: every format passes it before it is
/// read, so a mistake is named by a JSON Pointer to the member at fault.
const FORMAT_FILE_SCHEMA: &str = include_str!("format.schema.json");

static FORMAT_FILE_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(FORMAT_FILE_SCHEMA).map_err(|e| e.to_string())?;
    jsonschema::validator_for(&schema).map_err(|e| e.to_string())
});

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("unknown format {0:?}; a partner names a format as <name>@<version>, e.g. partner-a@1")]
    Unknown(String),
    #[error("format {format}: {detail}")]
    Invalid { format: String, detail: String },
    #[error("reading formats from {path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The formats table could not be read (transient or not).
    #[error("looking up the format failed: {0}")]
    Store(#[from] StoreError),
}

/// Which of a format's two documents a [`Fault`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// format.json (the admin API's `/format` member).
    Format,
    /// schema.json (the admin API's `/schema` member).
    Schema,
}

/// What is wrong with a format: the document, a JSON Pointer into it, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub document: Document,
    pub pointer: String,
    pub detail: String,
}

impl Fault {
    fn format(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            document: Document::Format,
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    fn schema(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            document: Document::Schema,
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    /// The pointer into a publish request `{"format": …, "schema": …}`.
    pub fn request_pointer(&self) -> String {
        match self.document {
            Document::Format => format!("/format{}", self.pointer),
            Document::Schema => format!("/schema{}", self.pointer),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let doc = match self.document {
            Document::Format => "format.json",
            Document::Schema => "schema.json",
        };
        if self.pointer.is_empty() {
            write!(f, "{doc}: {}", self.detail)
        } else {
            write!(f, "{doc} at {}: {}", self.pointer, self.detail)
        }
    }
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
    /// JSON Pointers, inside one raw order, to the members that hold
    /// personal data (an erasure overwrites them).
    #[serde(default)]
    personal_data: Vec<String>,
}

/// Who published a format version through the admin API, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// RFC 3339, UTC.
    pub at: String,
    /// The operator's username.
    pub by: String,
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
    /// format.json `personalData`: JSON Pointers inside one raw order to
    /// the members that hold personal data (names, addresses, phones), which
    /// an erasure overwrites (`crate::privacy::redact_raw_order`). E-mail
    /// addresses and the customerRef are found without them.
    pub personal_data: Vec<String>,
    schema: jsonschema::Validator,
    /// The two documents as given, for the admin API to show.
    definition: Value,
    schema_document: Value,
    published: Option<Published>,
}

/// A JSON Schema error as a pointer into the document it checked: a
/// missing or unknown member is named itself, as validate.rs names an
/// order's field.
fn error_pointer(error: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind;
    let mut pointer = error.instance_path().as_str().to_string();
    let member = match error.kind() {
        ValidationErrorKind::Required { property } => property.as_str().map(str::to_string),
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected.first().cloned(),
        _ => None,
    };
    if let Some(name) = member {
        pointer.push('/');
        pointer.push_str(&crate::rejection::escape_pointer_token(&name));
    }
    pointer
}

impl Format {
    /// Builds a format from the text of its two files.
    pub fn from_json(format_json: &str, schema_json: &str) -> Result<Self, FormatError> {
        let format: Value = serde_json::from_str(format_json).map_err(|e| FormatError::Invalid {
            format: "format.json".into(),
            detail: e.to_string(),
        })?;
        let id = match (format.get("name").and_then(Value::as_str), format.get("version")) {
            (Some(name), Some(version)) => format!("{name}@{version}"),
            _ => "format.json".to_string(),
        };
        let schema: Value = serde_json::from_str(schema_json).map_err(|e| FormatError::Invalid {
            format: id.clone(),
            detail: format!("schema.json: {e}"),
        })?;
        Self::compile(format, schema).map_err(|fault| FormatError::Invalid {
            format: id,
            detail: fault.to_string(),
        })
    }

    /// Builds a format from its two documents, or says what is wrong with
    /// them and where. The one path every format takes: built-in, loaded
    /// from a folder, published, read back from the formats table.
    pub fn compile(format: Value, schema: Value) -> Result<Self, Fault> {
        let meta = FORMAT_FILE_VALIDATOR
            .as_ref()
            .map_err(|e| Fault::format("", format!("the format.json schema does not load: {e}")))?;
        if let Some(error) = meta.iter_errors(&format).next() {
            return Err(Fault::format(error_pointer(&error), error.to_string()));
        }
        // The schema above admits only what FormatFile reads, so this fails
        // only if the two disagree.
        let file: FormatFile = serde_json::from_value(format.clone()).map_err(|e| Fault::format("", e.to_string()))?;
        if !file.orders.is_empty() && !file.orders.starts_with('/') {
            return Err(Fault::format(
                "/orders",
                format!("must be a JSON Pointer such as /orders, got {:?}", file.orders),
            ));
        }
        let mut content_types = Vec::new();
        for (i, ct) in file.content_types.iter().enumerate() {
            let parsed: mime::Mime = ct
                .parse()
                .map_err(|e| Fault::format(format!("/contentTypes/{i}"), format!("{ct:?} is not a media type: {e}")))?;
            content_types.push(parsed.essence_str().to_ascii_lowercase());
        }
        if content_types.is_empty() {
            return Err(Fault::format("/contentTypes", "must name at least one media type"));
        }
        file.mapping
            .check()
            .map_err(|(pointer, detail)| Fault::format(pointer, detail))?;
        if !schema.is_object() {
            return Err(Fault::schema("", "must be a JSON Schema object for one order"));
        }
        // Without the resolve-http and resolve-file features, a $ref to
        // anything outside the schema is refused here, never fetched.
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| Fault::schema(error_pointer(&e), format!("not a valid JSON Schema: {e}")))?;
        Ok(Format {
            id: format!("{}@{}", file.name, file.version),
            name: file.name,
            version: file.version,
            description: file.description,
            content_types,
            orders_pointer: file.orders,
            mapping: file.mapping,
            personal_data: file.personal_data,
            schema: validator,
            definition: format,
            schema_document: schema,
            published: None,
        })
    }

    pub fn schema(&self) -> &jsonschema::Validator {
        &self.schema
    }

    /// The format.json this format was built from.
    pub fn definition(&self) -> &Value {
        &self.definition
    }

    /// The JSON Schema document each order is checked against.
    pub fn schema_document(&self) -> &Value {
        &self.schema_document
    }

    /// Who published it and when; `None` for a built-in format.
    pub fn published(&self) -> Option<&Published> {
        self.published.as_ref()
    }

    pub(crate) fn with_published(mut self, published: Published) -> Self {
        self.published = Some(published);
        self
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

    /// Every format, by id.
    pub fn formats(&self) -> impl Iterator<Item = &Arc<Format>> {
        self.formats.values()
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
        assert_eq!(b.personal_data, vec!["/buyer".to_string()]);
        let a = reg.get("partner-a@1").unwrap();
        assert_eq!(a.personal_data, vec!["/customer".to_string(), "/notes".to_string()]);
    }

    #[test]
    fn personal_data_must_be_member_pointers() {
        let format = |personal: &str| {
            format!(
                r#"{{"name":"x","version":1,"contentTypes":["application/json"],"orders":"/orders",
          "personalData":{personal},
          "mapping":{{"sequenceNumber":{{"path":"/s","as":"integer"}},"externalId":{{"path":"/id","as":"string"}},
          "eventTime":{{"path":"/t","as":"epochMillis"}},"currency":{{"path":"/c","as":"currencyCode"}},
          "lines":{{"path":"/l","fields":{{"sku":{{"path":"/sku","as":"string"}},"quantity":{{"path":"/q","as":"integer"}},
          "unitPrice":{{"path":"/p","as":"minorUnits"}}}}}}}}}}"#
            )
        };
        let ok = Format::from_json(&format(r#"["/buyer", "/a~1b"]"#), "{}").unwrap();
        assert_eq!(ok.personal_data, vec!["/buyer", "/a~1b"]);
        for bad in [r#"[""]"#, r#"["buyer"]"#, r#""/buyer""#, r#"["/x","/x"]"#] {
            let err = Format::from_json(&format(bad), "{}").unwrap_err().to_string();
            assert!(err.contains("personalData"), "{bad}: {err}");
        }
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
