//! Publishing a format version (POST /v1/admin/formats): the checks that
//! run before anything is stored. The format and its schema must compile
//! (every fault named by a JSON Pointer into the request), and each sample
//! order goes through the very validate and transform code the pipeline
//! runs, so the report shows what the pipeline would make of an order in
//! the new format. Only a version that turns at least one sample into a
//! canonical order is published.

use super::{Fault, Format};
use crate::order::{Order, RawOrder};
use crate::problem::{FieldError, Problem, ProblemKind};
use crate::rejection::Rejection;
use crate::store::{StoreError, StoredFormat, MAX_ITEM_BYTES};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// At most this many samples per publish: each runs validate and transform
/// in the admin function and the answer echoes every canonical order, so
/// a bound keeps the request quick and the answer small (openapi-admin
/// `maxItems: 100`). A handful of well-chosen orders is what a check needs.
pub const MAX_SAMPLES: usize = 100;

/// The samples together are at most one feed's worth (ingest's 256 KiB
/// body limit): they stand in for a feed, and the report stays far below
/// Lambda's 6 MB response limit however large each order is.
pub const MAX_SAMPLES_BYTES: usize = 256 * 1024;

/// Room kept in the formats table item for everything but the two
/// documents: the attribute names, `name` (≤ 64), `formatId`,
/// `publishedAt` and `publishedBy` (≤ [`MAX_PUBLISHED_BY_CHARS`] × 4 bytes).
const ITEM_OVERHEAD_BYTES: usize = 2 * 1024;

/// The longest `publishedBy` kept (a Cognito username is at most 128).
pub const MAX_PUBLISHED_BY_CHARS: usize = 256;

/// format.json and schema.json together (compact JSON) must fit one
/// DynamoDB item (400 KB) with the other attributes.
pub const MAX_DOCUMENTS_BYTES: usize = MAX_ITEM_BYTES - ITEM_OVERHEAD_BYTES;

/// What became of one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum SampleOutcome {
    /// The canonical order the pipeline would persist.
    #[serde(rename_all = "camelCase")]
    Canonical { index: usize, order: Order },
    /// Why the pipeline would reject it (validate's or transform's rejection).
    #[serde(rename_all = "camelCase")]
    Rejected { index: usize, rejections: Vec<Rejection> },
}

impl SampleOutcome {
    pub fn index(&self) -> usize {
        match self {
            Self::Canonical { index, .. } | Self::Rejected { index, .. } => *index,
        }
    }

    pub fn is_canonical(&self) -> bool {
        matches!(self, Self::Canonical { .. })
    }
}

/// The answer to a publish: what each sample became, in sample order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishReport {
    pub format_id: String,
    /// True when nothing was stored (`?dryRun=true`).
    #[serde(default)]
    pub dry_run: bool,
    pub samples: Vec<SampleOutcome>,
}

impl PublishReport {
    pub fn canonical_count(&self) -> usize {
        self.samples.iter().filter(|s| s.is_canonical()).count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The request is wrong at `pointer` (a JSON Pointer into the request
    /// body: `/format/mapping/eventTime/as`, `/schema/properties/a`,
    /// `/samples/3`). 400.
    #[error("{pointer}: {detail}")]
    Invalid { pointer: String, detail: String },
    /// Every sample was rejected, so the format could not carry a single
    /// order; the report says why each was. 422.
    #[error("no sample yields a canonical order, so {} was not published", .0.format_id)]
    NoCanonicalSample(Box<PublishReport>),
    /// The version exists (built in or published); versions never change. 409.
    #[error("format {0} already exists and is never changed; publish a new version")]
    Exists(String),
    /// The formats table failed (503 when transient, else 500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PublishError {
    fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    /// The RFC 9457 problem the admin API answers with. A 422 carries the
    /// report's rejections as `errors`, each naming its sample.
    pub fn to_problem(&self) -> Problem {
        match self {
            Self::Invalid { pointer, detail } => Problem::new(
                ProblemKind::BadRequest,
                format!("the format cannot be published: {pointer} {detail}"),
            )
            .with_error(FieldError::pointer(pointer.clone(), detail.clone())),
            Self::NoCanonicalSample(report) => {
                let mut problem = Problem::new(ProblemKind::UnprocessableContent, self.to_string());
                for sample in &report.samples {
                    if let SampleOutcome::Rejected { index, rejections } = sample {
                        for r in rejections {
                            problem = problem.with_error(FieldError::pointer(
                                format!("/samples/{index}"),
                                format!("{:?} at {}: {}", r.code, r.field, r.message),
                            ));
                        }
                    }
                }
                problem
            }
            Self::Exists(id) => Problem::new(ProblemKind::Conflict, self.to_string())
                .with_error(FieldError::pointer("/format/version", format!("{id} exists"))),
            Self::Store(e) if e.is_transient() => Problem::new(
                ProblemKind::ServiceUnavailable,
                "the formats table is unavailable; retry later",
            ),
            Self::Store(_) => Problem::new(ProblemKind::Internal, "the format could not be stored"),
        }
    }
}

impl From<Fault> for PublishError {
    fn from(fault: Fault) -> Self {
        Self::invalid(fault.request_pointer(), fault.detail)
    }
}

/// A format that passed every check, with its report and the item to store.
#[derive(Debug)]
pub struct Checked {
    pub format: Format,
    pub report: PublishReport,
    /// Compact JSON of the two documents, as stored.
    pub format_json: String,
    pub schema_json: String,
}

impl Checked {
    /// The formats table item.
    pub fn stored(&self, published_at: String, published_by: &str) -> StoredFormat {
        StoredFormat {
            name: self.format.name.clone(),
            version: self.format.version,
            format_id: self.format.id.clone(),
            format_json: self.format_json.clone(),
            schema_json: self.schema_json.clone(),
            published_at,
            published_by: published_by.chars().take(MAX_PUBLISHED_BY_CHARS).collect(),
        }
    }
}

/// Checks a format and its samples and reports what each sample becomes;
/// stores nothing. Whether the version exists is the resolver's to check
/// ([`super::FormatResolver::publish`]).
pub fn check(
    format: &Value,
    schema: &Value,
    samples: &[Value],
    now: DateTime<Utc>,
) -> Result<PublishReport, PublishError> {
    compile(format, schema, samples, now).map(|c| c.report)
}

/// [`check`], keeping the compiled format.
pub fn compile(format: &Value, schema: &Value, samples: &[Value], now: DateTime<Utc>) -> Result<Checked, PublishError> {
    if samples.is_empty() {
        return Err(PublishError::invalid(
            "/samples",
            "give at least one sample order in the new format",
        ));
    }
    if samples.len() > MAX_SAMPLES {
        return Err(PublishError::invalid(
            "/samples",
            format!("at most {MAX_SAMPLES} samples, got {}", samples.len()),
        ));
    }
    let compiled = Format::compile(format.clone(), schema.clone())?;
    let format_json = format.to_string();
    let schema_json = schema.to_string();
    if format_json.len() + schema_json.len() > MAX_DOCUMENTS_BYTES {
        let (pointer, bytes) = if format_json.len() >= schema_json.len() {
            ("/format", format_json.len())
        } else {
            ("/schema", schema_json.len())
        };
        return Err(PublishError::invalid(
            pointer,
            format!(
                "the format and its schema take {} bytes ({pointer} {bytes}); together they must fit one \
                 formats table item, at most {MAX_DOCUMENTS_BYTES} bytes",
                format_json.len() + schema_json.len()
            ),
        ));
    }
    let mut sample_bytes = 0;
    for (i, sample) in samples.iter().enumerate() {
        if !sample.is_object() {
            return Err(PublishError::invalid(
                format!("/samples/{i}"),
                "a sample is one order in the new format, a JSON object (not a feed)",
            ));
        }
        sample_bytes += sample.to_string().len();
    }
    if sample_bytes > MAX_SAMPLES_BYTES {
        return Err(PublishError::invalid(
            "/samples",
            format!("the samples take {sample_bytes} bytes; at most {MAX_SAMPLES_BYTES} (one feed's worth)"),
        ));
    }
    let report = PublishReport {
        format_id: compiled.id.clone(),
        dry_run: false,
        samples: run_samples(&compiled, samples, now),
    };
    Ok(Checked {
        format: compiled,
        report,
        format_json,
        schema_json,
    })
}

/// The samples as one feed through the pipeline's own code: validate's
/// schema check, then transform's mapping and canonical rules (a sequence
/// number used twice is rejected the second time, as in a feed). The
/// rejections are the pipeline's, fields included (`/orders/3/...`).
fn run_samples(format: &Format, samples: &[Value], now: DateTime<Utc>) -> Vec<SampleOutcome> {
    let mut outcomes: Vec<Option<SampleOutcome>> = vec![None; samples.len()];
    let mut valid = Vec::new();
    for (index, sample) in samples.iter().enumerate() {
        match crate::validate::validate_order(format, index, sample) {
            None => valid.push(RawOrder {
                index,
                order: sample.clone(),
            }),
            Some(rejection) => {
                outcomes[index] = Some(SampleOutcome::Rejected {
                    index,
                    rejections: vec![rejection],
                })
            }
        }
    }
    let mapped = crate::transform::transform_feed(format, &valid, now);
    for o in mapped.orders {
        if let Some(slot) = outcomes.get_mut(o.index) {
            *slot = Some(SampleOutcome::Canonical {
                index: o.index,
                order: o.order,
            });
        }
    }
    for r in mapped.rejections {
        if let Some(slot) = outcomes.get_mut(r.index) {
            *slot = Some(SampleOutcome::Rejected {
                index: r.index,
                rejections: vec![r],
            });
        }
    }
    outcomes
        .into_iter()
        .enumerate()
        // Every index is filled above: validate or transform decides each order.
        .map(|(index, o)| {
            o.unwrap_or(SampleOutcome::Rejected {
                index,
                rejections: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::RejectionCode;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        crate::time::parse_rfc3339("2026-01-01T12:00:00Z").unwrap()
    }

    /// Partner C: PascalCase, orders under /Feed/Orders, epoch seconds,
    /// decimal prices (tests/formats_onboarding.rs has the same format).
    fn format_c() -> Value {
        json!({
          "name": "partner-c", "version": 1, "description": "Partner C",
          "contentTypes": ["application/json"], "orders": "/Feed/Orders",
          "mapping": {
            "sequenceNumber": {"path": "/Seq", "as": "integer"},
            "externalId": {"path": "/Ref", "as": "string"},
            "eventTime": {"path": "/PlacedAt", "as": "epochSeconds"},
            "currency": {"path": "/Money/Currency", "as": "currencyCode"},
            "total": {"path": "/Money/Total", "as": "decimal", "optional": true},
            "lines": {"path": "/Lines", "fields": {
              "sku": {"path": "/Article", "as": "string"},
              "quantity": {"path": "/Count", "as": "integer"},
              "unitPrice": {"path": "/Price", "as": "decimal"}}}
          }
        })
    }

    fn schema_c() -> Value {
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
               "required": ["Seq", "Ref", "PlacedAt", "Money", "Lines"],
               "properties": {"Seq": {"type": "integer", "minimum": 1}, "Ref": {"type": "string"}}})
    }

    fn order_c(seq: u64) -> Value {
        json!({"Seq": seq, "Ref": format!("C-{seq}"), "PlacedAt": 1_767_268_000,
               "Money": {"Currency": "gbp", "Total": 25.0},
               "Lines": [{"Article": "ART-9", "Count": 2, "Price": 12.5}]})
    }

    fn invalid(err: PublishError) -> (String, String) {
        match err {
            PublishError::Invalid { pointer, detail } => (pointer, detail),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn each_sample_is_reported_canonical_or_rejected_as_the_pipeline_would() {
        let mut no_ref = order_c(2);
        no_ref.as_object_mut().unwrap().remove("Ref");
        let mut bad_total = order_c(3);
        bad_total["Money"]["Total"] = json!(1.0);
        let report = check(
            &format_c(),
            &schema_c(),
            &[order_c(1), no_ref, bad_total, order_c(1)],
            now(),
        )
        .unwrap();
        assert_eq!(report.format_id, "partner-c@1");
        assert_eq!(report.canonical_count(), 1);
        let SampleOutcome::Canonical { index: 0, order } = &report.samples[0] else {
            panic!("{:?}", report.samples[0])
        };
        assert_eq!(
            (order.sequence_number, order.currency.as_str(), order.total_minor),
            (1, "GBP", 2500)
        );
        let rejected: Vec<(usize, RejectionCode, &str)> = report.samples[1..]
            .iter()
            .map(|s| match s {
                SampleOutcome::Rejected { index, rejections } => {
                    (*index, rejections[0].code, rejections[0].field.as_str())
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            rejected,
            vec![
                (1, RejectionCode::MissingField, "/Feed/Orders/1/Ref"),
                (2, RejectionCode::TotalMismatch, "/Feed/Orders/2/Money/Total"),
                (3, RejectionCode::DuplicateSequence, "/Feed/Orders/3/Seq"),
            ]
        );
        // The admin API's shape (openapi-admin SampleOutcome).
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["samples"][0]["outcome"], "canonical");
        assert_eq!(v["samples"][0]["order"]["eventTime"], "2026-01-01T11:46:40.000Z");
        assert_eq!(v["samples"][1]["outcome"], "rejected");
        assert_eq!(v["samples"][1]["rejections"][0]["code"], "MISSING_FIELD");
        assert_eq!(v["formatId"], "partner-c@1");
    }

    #[test]
    fn no_canonical_sample_is_reported_with_every_rejection() {
        let mut bad = order_c(1);
        bad["Lines"][0]["Count"] = json!(0);
        let report = check(&format_c(), &schema_c(), &[bad], now()).unwrap();
        assert_eq!(report.canonical_count(), 0);
        let problem = PublishError::NoCanonicalSample(Box::new(report)).to_problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].pointer.as_deref(), Some("/samples/0"));
        assert!(
            problem.errors[0].detail.contains("InvalidQuantity"),
            "{:?}",
            problem.errors
        );
    }

    #[test]
    fn a_bad_mapping_is_named_by_its_pointer() {
        type Case = (Box<dyn Fn(&mut Value)>, &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                Box::new(|f| f["mapping"]["eventTime"]["as"] = json!("minorUnits")),
                "/format/mapping/eventTime/as",
                "eventTime",
            ),
            (
                Box::new(|f| f["mapping"]["externalId"]["path"] = json!("Ref")),
                "/format/mapping/externalId/path",
                "does not match",
            ),
            (
                Box::new(|f| f["mapping"]["lines"]["fields"]["sku"]["path"] = json!("/a~2b")),
                "/format/mapping/lines/fields/sku/path",
                "does not match",
            ),
            (
                Box::new(|f| f["mapping"]["currency"]["as"] = json!("money")),
                "/format/mapping/currency/as",
                "money",
            ),
            (
                Box::new(|f| f["mapping"]["currency"]["optional"] = json!(true)),
                "/format/mapping/currency/optional",
                "cannot be optional",
            ),
            (
                Box::new(|f| f["mapping"]["lines"]["fields"]["colour"] = json!({"path": "/c", "as": "string"})),
                "/format/mapping/lines/fields/colour",
                "colour",
            ),
            (
                Box::new(|f| {
                    f["mapping"].as_object_mut().unwrap().remove("currency");
                }),
                "/format/mapping/currency",
                "required",
            ),
            (
                Box::new(|f| f["orders"] = json!("Feed/Orders")),
                "/format/orders",
                "does not match",
            ),
            (
                Box::new(|f| f["contentTypes"] = json!(["not a type"])),
                "/format/contentTypes/0",
                "media type",
            ),
            (
                Box::new(|f| f["name"] = json!("Partner C")),
                "/format/name",
                "does not match",
            ),
            (Box::new(|f| f["name"] = json!("-c")), "/format/name", "does not match"),
            (Box::new(|f| f["version"] = json!(0)), "/format/version", "minimum"),
            (
                Box::new(|f| f["version"] = json!(1_000_000_000u64)),
                "/format/version",
                "maximum",
            ),
            (Box::new(|f| f["version"] = json!("1")), "/format/version", "integer"),
        ];
        for (mutate, pointer, says) in cases {
            let mut f = format_c();
            mutate(&mut f);
            let (p, detail) = invalid(check(&f, &schema_c(), &[order_c(1)], now()).unwrap_err());
            assert_eq!(p, pointer, "{detail}");
            assert!(detail.contains(says), "{pointer}: {detail}");
        }
    }

    #[test]
    fn a_bad_schema_is_named_by_its_pointer() {
        let (p, detail) = invalid(check(&format_c(), &json!({"type": "objekt"}), &[order_c(1)], now()).unwrap_err());
        assert!(p.starts_with("/schema"), "{p}");
        assert!(detail.contains("not a valid JSON Schema"), "{detail}");
        let (p, _) = invalid(
            check(
                &format_c(),
                &json!({"properties": {"Seq": {"minimum": "one"}}}),
                &[order_c(1)],
                now(),
            )
            .unwrap_err(),
        );
        assert_eq!(p, "/schema/properties/Seq/minimum");
        let (p, _) = invalid(check(&format_c(), &json!([]), &[order_c(1)], now()).unwrap_err());
        assert_eq!(p, "/schema");
        // A reference outside the document is refused, never fetched.
        let remote = json!({"$ref": "http://169.254.169.254/latest/meta-data/schema.json"});
        let (p, detail) = invalid(check(&format_c(), &remote, &[order_c(1)], now()).unwrap_err());
        assert!(p.starts_with("/schema"), "{p}: {detail}");
    }

    #[test]
    fn samples_are_bounded_and_each_must_be_an_order() {
        let (p, _) = invalid(check(&format_c(), &schema_c(), &[], now()).unwrap_err());
        assert_eq!(p, "/samples");
        let many: Vec<Value> = (1..=101).map(order_c).collect();
        let (p, detail) = invalid(check(&format_c(), &schema_c(), &many, now()).unwrap_err());
        assert_eq!(p, "/samples");
        assert!(detail.contains("100"), "{detail}");
        let (p, _) = invalid(check(&format_c(), &schema_c(), &[order_c(1), json!([order_c(2)])], now()).unwrap_err());
        assert_eq!(p, "/samples/1");
        let mut huge = order_c(1);
        huge["Ref"] = json!("x".repeat(MAX_SAMPLES_BYTES));
        let (p, _) = invalid(check(&format_c(), &schema_c(), &[huge], now()).unwrap_err());
        assert_eq!(p, "/samples");
    }

    #[test]
    fn documents_too_large_for_one_item_are_refused() {
        let mut schema = schema_c();
        schema["description"] = json!("x".repeat(MAX_DOCUMENTS_BYTES));
        let (p, detail) = invalid(check(&format_c(), &schema, &[order_c(1)], now()).unwrap_err());
        assert_eq!(p, "/schema");
        assert!(detail.contains("one formats table item"), "{detail}");
    }

    #[test]
    fn the_stored_item_fits_dynamodb() {
        let mut schema = schema_c();
        let room = MAX_DOCUMENTS_BYTES - format_c().to_string().len() - schema.to_string().len();
        schema["description"] = json!("x".repeat(room - "\"description\":\"\",".len()));
        let checked = compile(&format_c(), &schema, &[order_c(1)], now()).unwrap();
        let by = "é".repeat(1000);
        let item = checked.stored("2026-01-01T12:00:00.000Z".into(), &by);
        assert_eq!(item.published_by.chars().count(), MAX_PUBLISHED_BY_CHARS);
        assert!(item.item_bytes() <= MAX_ITEM_BYTES, "{}", item.item_bytes());
    }
}
