//! Which format a partner's `<name>@<version>` names, at run time: the
//! built-in formats first, then the formats table. A version is immutable
//! (the table's put is conditional on the item not existing), so a format
//! read once is kept for the life of the Lambda instance and the cache can
//! never go stale: publishing a new format needs no build and no restart,
//! and a feed in it is served by the next lookup that misses the cache.

use super::publish::{self, Checked, PublishError, PublishReport};
use super::{Format, FormatError, FormatRegistry, Published};
use crate::clock::{Clock, SystemClock};
use crate::config::{required_env, ConfigError};
use crate::cost::CostMeter;
use crate::pipeline::StepError;
use crate::store::{FormatStore, StoreError, StoredFormat};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// The highest version a formatId may carry: nine digits, the admin API's
/// `{formatId}` path pattern (`^[a-z0-9][a-z0-9-]{0,63}@[1-9][0-9]{0,8}$`).
pub const MAX_VERSION: u32 = 999_999_999;

/// `partner-c@2` → `("partner-c", 2)`, only for a well-formed id: a name of
/// 1 to 64 of a-z, 0-9 and '-' (not first), a version of 1 to 999999999
/// written without a sign or leading zero (so an id has one spelling).
pub fn split_format_id(id: &str) -> Option<(&str, u32)> {
    let (name, version) = id.rsplit_once('@')?;
    let name_ok = (1..=64).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let version_ok =
        (1..=9).contains(&version.len()) && !version.starts_with('0') && version.bytes().all(|b| b.is_ascii_digit());
    if !(name_ok && version_ok) {
        return None;
    }
    let version: u32 = version.parse().ok()?;
    (1..=MAX_VERSION).contains(&version).then_some((name, version))
}

/// Where a format comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatSource {
    /// Compiled in from the repo's `formats/` folder.
    Builtin,
    /// Published through the admin API into the formats table.
    Published,
}

/// One format version in a listing (the admin API's FormatSummary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormatSummary {
    pub format_id: String,
    pub name: String,
    pub version: u32,
    pub description: String,
    pub source: FormatSource,
    /// `source == builtin`, for clients that want a flag.
    pub built_in: bool,
    pub content_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_by: Option<String>,
}

impl FormatSummary {
    pub fn of(format: &Format) -> Self {
        let source = match format.published() {
            Some(_) => FormatSource::Published,
            None => FormatSource::Builtin,
        };
        Self {
            format_id: format.id.clone(),
            name: format.name.clone(),
            version: format.version,
            description: format.description.clone(),
            source,
            built_in: source == FormatSource::Builtin,
            content_types: format.content_types.clone(),
            published_at: format.published().map(|p| p.at.clone()),
            published_by: format.published().map(|p| p.by.clone()),
        }
    }

    /// A stored version, without compiling its schema: listing reads only
    /// the description and content types from its format.json.
    fn of_stored(stored: &StoredFormat) -> Self {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Head {
            #[serde(default)]
            description: String,
            #[serde(default)]
            content_types: Vec<String>,
        }
        let head: Head = serde_json::from_str(&stored.format_json).unwrap_or_default();
        Self {
            format_id: stored.format_id.clone(),
            name: stored.name.clone(),
            version: stored.version,
            description: head.description,
            source: FormatSource::Published,
            built_in: false,
            content_types: head.content_types,
            published_at: Some(stored.published_at.clone()),
            published_by: Some(stored.published_by.clone()),
        }
    }
}

/// One format version with its documents (the admin API's FormatDetail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormatDetail {
    #[serde(flatten)]
    pub summary: FormatSummary,
    /// The format.json.
    pub format: Value,
    /// The JSON Schema each order is checked against.
    pub schema: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolverSetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the built-in formats do not load: {0}")]
    Builtin(#[from] FormatError),
}

/// The formats a function can use: built-in, then published (cached).
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct FormatResolver {
    inner: Arc<Inner>,
}

struct Inner {
    builtin: FormatRegistry,
    store: Option<FormatStore>,
    /// Published versions read so far. Never invalidated: a version never
    /// changes. Unknown ids are not kept, so a version published later is
    /// found by the next lookup.
    cache: RwLock<HashMap<String, Arc<Format>>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FormatResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormatResolver")
            .field("builtin", &self.inner.builtin.ids().collect::<Vec<_>>())
            .field("store", &self.inner.store.is_some())
            .finish_non_exhaustive()
    }
}

impl FormatResolver {
    /// `store` None: the built-in formats only (tools, tests without a table).
    pub fn new(builtin: FormatRegistry, store: Option<FormatStore>) -> Self {
        Self::with_clock(builtin, store, Arc::new(SystemClock))
    }

    /// With the clock publish checks samples against (transform's "not in
    /// the future" rule reads it).
    pub fn with_clock(builtin: FormatRegistry, store: Option<FormatStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                builtin,
                store,
                cache: RwLock::new(HashMap::new()),
                clock,
            }),
        }
    }

    /// What a function's `from_env` builds: the built-in formats and the
    /// template's FormatsTable (FORMATS_TABLE).
    pub fn from_env(ddb: aws_sdk_dynamodb::Client) -> Result<Self, ResolverSetupError> {
        let table = required_env("FORMATS_TABLE")?;
        Ok(Self::new(
            FormatRegistry::builtin()?,
            Some(FormatStore::new(ddb, table)),
        ))
    }

    pub fn builtin(&self) -> &FormatRegistry {
        &self.inner.builtin
    }

    fn cached(&self, id: &str) -> Option<Arc<Format>> {
        // A poisoned lock only means a panic elsewhere while it was held;
        // the map itself is always whole (one insert at a time).
        let cache = self.inner.cache.read().unwrap_or_else(PoisonError::into_inner);
        cache.get(id).cloned()
    }

    fn remember(&self, format: Format) -> Arc<Format> {
        let mut cache = self.inner.cache.write().unwrap_or_else(PoisonError::into_inner);
        // Two lookups may race to read the same version; both read the same
        // immutable item, so the first one kept is as good as the second.
        cache
            .entry(format.id.clone())
            .or_insert_with(|| Arc::new(format))
            .clone()
    }

    /// The format a partner record names. Built-in first (no I/O), then the
    /// cache, then one consistent GetItem on the formats table.
    pub async fn get(&self, id: &str, meter: &CostMeter) -> Result<Arc<Format>, FormatError> {
        if let Ok(format) = self.inner.builtin.get(id) {
            return Ok(format);
        }
        if let Some(format) = self.cached(id) {
            return Ok(format);
        }
        let unknown = || FormatError::Unknown(id.to_string());
        let (Some(store), Some((name, version))) = (&self.inner.store, split_format_id(id)) else {
            return Err(unknown());
        };
        let stored = store.get(name, version, meter).await?.ok_or_else(unknown)?;
        let format = compile_stored(&stored)?;
        if format.id != id {
            return Err(FormatError::Invalid {
                format: id.to_string(),
                detail: format!("the stored item's format.json says {}", format.id),
            });
        }
        Ok(self.remember(format))
    }

    /// A format with its documents, for the admin API.
    pub async fn detail(&self, id: &str, meter: &CostMeter) -> Result<FormatDetail, FormatError> {
        let format = self.get(id, meter).await?;
        Ok(FormatDetail {
            summary: FormatSummary::of(&format),
            format: format.definition().clone(),
            schema: format.schema_document().clone(),
        })
    }

    /// Every format: built-in, then published (one Scan of the formats
    /// table, which is tiny), by name and version.
    pub async fn list(&self, meter: &CostMeter) -> Result<Vec<FormatSummary>, StoreError> {
        let mut all: Vec<FormatSummary> = self.inner.builtin.formats().map(|f| FormatSummary::of(f)).collect();
        if let Some(store) = &self.inner.store {
            for stored in store.list(meter).await? {
                // A built-in id cannot be published, but an item written by
                // hand could shadow one: the built-in format is what runs.
                if self.inner.builtin.get(&stored.format_id).is_err() {
                    all.push(FormatSummary::of_stored(&stored));
                }
            }
        }
        all.sort_by(|a, b| (a.name.as_str(), a.version).cmp(&(b.name.as_str(), b.version)));
        Ok(all)
    }

    /// Checks a new version with its samples and, unless `dry_run`, stores
    /// it. 400 for a bad format/schema/samples, 409 if the version exists
    /// (built in or published), 422 if no sample yields a canonical order.
    pub async fn publish(
        &self,
        format: &Value,
        schema: &Value,
        samples: &[Value],
        published_by: &str,
        dry_run: bool,
        meter: &CostMeter,
    ) -> Result<PublishReport, PublishError> {
        let now = self.inner.clock.now();
        let Checked {
            format: compiled,
            mut report,
            format_json,
            schema_json,
        } = publish::compile(format, schema, samples, now)?;
        let id = compiled.id.clone();
        if self.inner.builtin.get(&id).is_ok() || self.cached(&id).is_some() {
            return Err(PublishError::Exists(id));
        }
        if let Some(store) = &self.inner.store {
            if store.get(&compiled.name, compiled.version, meter).await?.is_some() {
                return Err(PublishError::Exists(id));
            }
        }
        if report.canonical_count() == 0 {
            return Err(PublishError::NoCanonicalSample(Box::new(report)));
        }
        if dry_run {
            report.dry_run = true;
            return Ok(report);
        }
        let store = self.inner.store.as_ref().ok_or_else(|| {
            PublishError::Store(StoreError::Failed(
                "no formats table is configured (FORMATS_TABLE)".into(),
            ))
        })?;
        let checked = Checked {
            format: compiled,
            report,
            format_json,
            schema_json,
        };
        let stored = checked.stored(crate::time::format_utc(now), published_by);
        match store.put_new(&stored, meter).await {
            Ok(()) => {}
            // Another publish of the same version won the race.
            Err(StoreError::Conflict(_)) => return Err(PublishError::Exists(id)),
            Err(e) => return Err(e.into()),
        }
        let Checked { format, report, .. } = checked;
        self.remember(format.with_published(Published {
            at: stored.published_at,
            by: stored.published_by,
        }));
        Ok(report)
    }
}

/// A stored item back into a format. It passed every check when it was
/// published; failing now means the item was changed by hand.
fn compile_stored(stored: &StoredFormat) -> Result<Format, FormatError> {
    let format = Format::from_json(&stored.format_json, &stored.schema_json)?;
    Ok(format.with_published(Published {
        at: stored.published_at.clone(),
        by: stored.published_by.clone(),
    }))
}

impl FormatError {
    /// A lookup's failure as a pipeline step's: a formats table that is
    /// unavailable is the store's (TransientDependencyError, retried by the
    /// state machine), anything else an UnknownFormat.
    pub fn into_step_error(self) -> StepError {
        match self {
            FormatError::Store(e) => StepError::Store(e),
            other => StepError::Format(other),
        }
    }

    /// Whether the lookup may succeed if tried again (the table was
    /// unavailable), as opposed to a format that does not exist.
    pub fn is_transient(&self) -> bool {
        matches!(self, FormatError::Store(e) if e.is_transient())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_format_id_has_one_spelling() {
        assert_eq!(split_format_id("partner-c@2"), Some(("partner-c", 2)));
        assert_eq!(split_format_id("a@999999999"), Some(("a", 999_999_999)));
        for bad in [
            "partner-c",
            "partner-c@",
            "@1",
            "partner-c@0",
            "partner-c@01",
            "partner-c@+1",
            "Partner@1",
            "-c@1",
            "c@1000000000",
            "c@1@2",
            "c d@1",
        ] {
            assert_eq!(split_format_id(bad), None, "{bad}");
        }
        let long = format!("{}@1", "a".repeat(65));
        assert_eq!(split_format_id(&long), None);
    }

    #[tokio::test]
    async fn without_a_table_only_builtin_formats_resolve() {
        let resolver = FormatResolver::new(FormatRegistry::builtin().unwrap(), None);
        let meter = CostMeter::default();
        assert_eq!(resolver.get("partner-a@1", &meter).await.unwrap().id, "partner-a@1");
        let err = resolver.get("partner-c@1", &meter).await.unwrap_err();
        assert!(matches!(err, FormatError::Unknown(_)), "{err}");
        let ids: Vec<_> = resolver
            .list(&meter)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.format_id)
            .collect();
        assert_eq!(ids, vec!["partner-a@1", "partner-b@1"]);
    }

    #[tokio::test]
    async fn a_builtin_version_cannot_be_published_again() {
        let resolver = FormatResolver::new(FormatRegistry::builtin().unwrap(), None);
        let builtin = resolver.builtin().get("partner-a@1").unwrap();
        let sample = json!({"sequenceNumber": 1, "orderId": "A-1", "createdAt": 1767225600000u64,
               "currency": "EUR", "items": [{"sku": "S1", "quantity": 1, "unitPriceCents": 100}]});
        let err = resolver
            .publish(
                builtin.definition(),
                builtin.schema_document(),
                &[sample],
                "admin",
                true,
                &CostMeter::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(&err, PublishError::Exists(id) if id == "partner-a@1"), "{err}");
        assert_eq!(err.to_problem().status, 409);
    }

    #[tokio::test]
    async fn a_dry_run_reports_without_a_table() {
        let resolver = FormatResolver::new(FormatRegistry::builtin().unwrap(), None);
        let a = resolver.builtin().get("partner-a@1").unwrap();
        let mut definition = a.definition().clone();
        definition["name"] = json!("partner-a2");
        let sample = json!({"sequenceNumber": 1, "orderId": "A-1", "createdAt": 1767225600000u64,
               "currency": "EUR", "items": [{"sku": "S1", "quantity": 1, "unitPriceCents": 100}]});
        let meter = CostMeter::default();
        let report = resolver
            .publish(
                &definition,
                a.schema_document(),
                std::slice::from_ref(&sample),
                "admin",
                true,
                &meter,
            )
            .await
            .unwrap();
        assert!(report.dry_run);
        assert_eq!(report.format_id, "partner-a2@1");
        // Not a dry run: there is nowhere to store it.
        let err = resolver
            .publish(&definition, a.schema_document(), &[sample], "admin", false, &meter)
            .await
            .unwrap_err();
        assert!(matches!(err, PublishError::Store(_)), "{err}");
    }

    #[test]
    fn a_summary_has_the_admin_api_shape() {
        let reg = FormatRegistry::builtin().unwrap();
        let v = serde_json::to_value(FormatSummary::of(&reg.get("partner-b@1").unwrap())).unwrap();
        assert_eq!(v["formatId"], "partner-b@1");
        assert_eq!(v["source"], "builtin");
        assert_eq!(v["builtIn"], true);
        assert_eq!(v["contentTypes"][1], "application/vnd.partner-b.feed+json");
        assert!(v.get("publishedAt").is_none());
    }
}
