//! The privacy-erasure state machine's steps (issue 16). The execution's
//! input is `{"erasureId"}` alone; the identifiers are read from the
//! erasures table on every step (they never travel through a state, whose
//! history a Standard machine keeps for 90 days), and only hashes, refs
//! and counts do.
//!
//! - `find`: the refs the privacy index holds for the erasure's subjects,
//!   at most [`MAX_REFS`] of them (a state is at most 256 KiB).
//! - `erase`: a bounded chunk of those refs ([`CHUNK`]), each item
//!   redacted and then its index entries deleted, so the next `find` starts
//!   past them; once the index is empty, one page at a time of the
//!   partner's deliveries and outbox, for bodies that name an identifier.
//!   `next` tells the machine's Choice where to go: `erase`, `find` or
//!   `finish`.
//! - `finish`: SUCCEEDED with the counts, identifiers replaced by their
//!   hashes (ErasureStore::finish), the subjects' index entries deleted.
//! - `fail`: the Catch's MarkFailed: FAILED, identifiers hashed away too.
//!
//! Errors carry Diagnostic types the ASL matches: only
//! `TransientDependencyError` is retried.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::privacy::{Identifier, IndexRef};
use zb_shared::store::{ErasedCounts, ErasureRecord, ErasureStatus, ErasureStore, FeedStore, PrivacyIndex, StoreError};

pub mod data;
mod messages;

pub use data::{Data, DataError, RawOrder};

/// Refs one `find` hands on at most: ~60 bytes each, so a state stays far
/// below Step Functions' 256 KiB.
pub const MAX_REFS: usize = 1000;
/// Refs one `erase` handles at most: each costs a read and a write or two,
/// so a chunk stays well inside the function's timeout.
pub const CHUNK: usize = 25;

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("erasure {0} does not exist")]
    NotFound(String),
    #[error("erasure {0} is not running")]
    NotRunning(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("the step's input is not valid: {0}")]
    BadInput(String),
}

impl From<StoreError> for PrivacyError {
    fn from(e: StoreError) -> Self {
        Self::Data(DataError::Store(e))
    }
}

impl From<PrivacyError> for Diagnostic {
    fn from(e: PrivacyError) -> Self {
        let error_type = match &e {
            PrivacyError::Data(d) if d.is_transient() => "TransientDependencyError",
            PrivacyError::Data(DataError::Format(_)) => "UnknownFormat",
            PrivacyError::Data(_) => "StoreError",
            PrivacyError::NotFound(_) => "ErasureNotFound",
            PrivacyError::NotRunning(_) => "ErasureNotRunning",
            PrivacyError::BadInput(_) => "InvalidErasureInput",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// What the machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Find,
    Erase,
    Finish,
    Fail,
}

/// Where the erase loop is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The index's refs.
    #[default]
    Refs,
    /// The partner's deliveries, page by page.
    Deliveries,
    /// The partner's outbox, page by page.
    Outbox,
    Done,
}

/// The state the machine carries between steps (never an identifier).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub erasure_id: String,
    /// Refs found and not yet erased.
    #[serde(default)]
    pub refs: Vec<String>,
    /// The last `find` saw every ref the index holds.
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub phase: Phase,
    /// Where the deliveries or outbox page starts (the last key read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default)]
    pub erased: ErasedCounts,
    /// `erase`, `find` or `finish`: the machine's Choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// The Catch's error (`{"Error", "Cause"}`), for MarkFailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Value>,
}

/// The Lambda's input: `{"action": ..., "step": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    pub action: Action,
    pub step: Step,
}

pub struct App {
    pub data: Data,
    pub index: PrivacyIndex,
    pub erasures: ErasureStore,
    pub messages: messages::Messages,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let ddb = zb_shared::aws::dynamodb_client().await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let builtin = zb_shared::format::FormatRegistry::builtin()?;
        let feeds_table = required_env("FEEDS_TABLE")?;
        Ok(Self {
            data: Data {
                client: ddb.clone(),
                feeds: FeedStore::new(ddb.clone(), feeds_table.clone()),
                feeds_table,
                orders_table: required_env("ORDERS_TABLE")?,
                errors_table: required_env("ERRORS_TABLE")?,
                formats: zb_shared::format::FormatResolver::with_clock(
                    builtin,
                    Some(zb_shared::store::FormatStore::new(
                        ddb.clone(),
                        required_env("FORMATS_TABLE")?,
                    )),
                    clock.clone(),
                ),
            },
            index: PrivacyIndex::new(ddb.clone(), required_env("PRIVACY_INDEX_TABLE")?),
            erasures: ErasureStore::new(ddb.clone(), required_env("ERASURES_TABLE")?),
            messages: messages::Messages {
                client: ddb,
                deliveries_table: required_env("DELIVERIES_TABLE")?,
                outbox_table: required_env("OUTBOX_TABLE")?,
            },
            clock,
            function_name: zb_shared::config::function_name("privacy"),
        })
    }
}

/// The refs of a subject set, grouped so one feed's refs are adjacent
/// (its body is rewritten once per chunk) and deduplicated.
pub fn grouped(refs: impl IntoIterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = refs.into_iter().collect();
    set.into_iter().collect()
}

/// Every ref the index holds for `subjects` of `partner_id` (each Query
/// reads all pages of one subject).
pub async fn find_refs(
    index: &PrivacyIndex,
    partner_id: &str,
    subjects: &[String],
    meter: &CostMeter,
) -> Result<Vec<String>, StoreError> {
    let mut all = Vec::new();
    for hash in subjects {
        all.extend(index.refs(partner_id, hash, meter).await?);
    }
    Ok(grouped(all))
}

impl App {
    async fn running(&self, erasure_id: &str, meter: &CostMeter) -> Result<ErasureRecord, PrivacyError> {
        let record = self
            .erasures
            .get(erasure_id, meter)
            .await?
            .ok_or_else(|| PrivacyError::NotFound(erasure_id.to_string()))?;
        if record.status != ErasureStatus::Running {
            return Err(PrivacyError::NotRunning(erasure_id.to_string()));
        }
        Ok(record)
    }

    async fn find(&self, mut step: Step, meter: &CostMeter) -> Result<Step, PrivacyError> {
        let record = self.running(&step.erasure_id, meter).await?;
        let refs = find_refs(&self.index, &record.partner_id, &record.subjects, meter).await?;
        step.complete = refs.len() <= MAX_REFS;
        step.refs = refs.into_iter().take(MAX_REFS).collect();
        step.phase = Phase::Refs;
        step.cursor = None;
        step.next = Some("erase".into());
        Ok(step)
    }

    async fn erase(&self, mut step: Step, meter: &CostMeter) -> Result<Step, PrivacyError> {
        let record = self.running(&step.erasure_id, meter).await?;
        let ids = &record.identifiers;
        match step.phase {
            Phase::Refs => {
                let take = step.refs.len().min(CHUNK);
                let chunk: Vec<String> = step.refs.drain(..take).collect();
                self.erase_refs(&record, &chunk, ids, &mut step.erased, meter).await?;
                // Only now that the items are redacted: a failure before
                // leaves the entries, so a later erasure still finds them.
                for hash in &record.subjects {
                    self.index.delete(&record.partner_id, hash, &chunk, meter).await?;
                }
                if step.refs.is_empty() && step.complete {
                    step.phase = Phase::Deliveries;
                    step.cursor = None;
                    step.next = Some("erase".into());
                } else if step.refs.is_empty() {
                    step.next = Some("find".into());
                } else {
                    step.next = Some("erase".into());
                }
            }
            Phase::Deliveries | Phase::Outbox => {
                let deliveries = step.phase == Phase::Deliveries;
                let (changed, cursor) = self
                    .messages
                    .page(deliveries, &record.partner_id, step.cursor.as_deref(), ids, meter)
                    .await?;
                if deliveries {
                    step.erased.deliveries += changed;
                } else {
                    step.erased.outbox += changed;
                }
                step.cursor = cursor;
                if step.cursor.is_none() {
                    step.phase = if deliveries { Phase::Outbox } else { Phase::Done };
                }
                step.next = Some(if step.phase == Phase::Done { "finish" } else { "erase" }.into());
            }
            Phase::Done => step.next = Some("finish".into()),
        }
        // Progress for GET .../erasures/{id} while it runs.
        self.erasures.progress(&step.erasure_id, &step.erased, meter).await?;
        Ok(step)
    }

    /// Redacts the items of `chunk`, adding what changed to `erased`.
    async fn erase_refs(
        &self,
        record: &ErasureRecord,
        chunk: &[String],
        ids: &[Identifier],
        erased: &mut ErasedCounts,
        meter: &CostMeter,
    ) -> Result<(), PrivacyError> {
        let partner = record.partner_id.as_str();
        // One body rewrite per feed; feed records read once.
        let mut bodies: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut errors: Vec<(String, usize)> = Vec::new();
        for r in chunk {
            match IndexRef::parse(r) {
                Some(IndexRef::Order { sequence_number }) => {
                    if self.data.erase_order(partner, sequence_number, meter).await? {
                        erased.orders += 1;
                    }
                }
                Some(IndexRef::Body { feed_id, index }) => bodies.entry(feed_id).or_default().push(index),
                Some(IndexRef::Error { feed_id, index }) => errors.push((feed_id, index)),
                // A ref a later version writes: left for that version.
                None => tracing::warn!(r = r.as_str(), "an index ref of an unknown kind was skipped"),
            }
        }
        let mut feeds = BTreeMap::new();
        for feed_id in bodies.keys().chain(errors.iter().map(|(f, _)| f)) {
            if !feeds.contains_key(feed_id) {
                let feed = self.data.feed(partner, feed_id, meter).await?;
                feeds.insert(feed_id.clone(), feed);
            }
        }
        for (feed_id, feed) in &feeds {
            if let Some(feed) = feed {
                let parts = self.data.erase_staged(partner, feed, meter).await?;
                if parts > 0 {
                    tracing::info!(
                        feedId = feed_id.as_str(),
                        parts,
                        "staged batches of a finished feed deleted"
                    );
                }
            }
        }
        for (feed_id, indexes) in &bodies {
            // A feed already gone (retention) has nothing left to redact.
            if let Some(Some(feed)) = feeds.get(feed_id) {
                erased.raw_orders += self.data.erase_raw_orders(partner, feed, indexes, ids, meter).await?;
            }
        }
        for (feed_id, index) in &errors {
            if let Some(Some(feed)) = feeds.get(feed_id) {
                if self.data.erase_error(partner, feed, *index, ids, meter).await? {
                    erased.errors += 1;
                }
            }
        }
        Ok(())
    }

    async fn finish(&self, mut step: Step, meter: &CostMeter) -> Result<Step, PrivacyError> {
        let record = self
            .erasures
            .get(&step.erasure_id, meter)
            .await?
            .ok_or_else(|| PrivacyError::NotFound(step.erasure_id.clone()))?;
        if record.status == ErasureStatus::Running {
            // What is left in the index for these subjects (entries written
            // by a feed that arrived while this ran) goes too: the erasure
            // answers for what was there when it finished.
            for hash in &record.subjects {
                let left = self.index.refs(&record.partner_id, hash, meter).await?;
                self.index.delete(&record.partner_id, hash, &left, meter).await?;
            }
        }
        let now = zb_shared::time::format_utc(self.clock.now());
        self.erasures
            .finish(
                &step.erasure_id,
                ErasureStatus::Succeeded,
                &step.erased,
                &now,
                None,
                meter,
            )
            .await?;
        step.next = None;
        step.phase = Phase::Done;
        Ok(step)
    }

    async fn fail(&self, mut step: Step, meter: &CostMeter) -> Result<Step, PrivacyError> {
        // The error's type only: a cause can quote an item.
        let error = step
            .failure
            .as_ref()
            .and_then(|f| f.get("Error"))
            .and_then(Value::as_str)
            .unwrap_or("States.Runtime")
            .chars()
            .take(128)
            .collect::<String>();
        let now = zb_shared::time::format_utc(self.clock.now());
        self.erasures
            .finish(
                &step.erasure_id,
                ErasureStatus::Failed,
                &step.erased,
                &now,
                Some(&error),
                meter,
            )
            .await?;
        step.next = None;
        step.refs.clear();
        Ok(step)
    }
}

pub async fn handler(app: &App, event: LambdaEvent<Value>) -> Result<Step, PrivacyError> {
    let span = zb_shared::invocation_span!(event.context.request_id);
    let (mut cost, started) = CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    let meter = CostMeter::default();
    let request: Result<Request, _> = serde_json::from_value(event.payload);
    let result = async {
        // serde_json's message can quote the input; the input holds no
        // identifier, but say only where it failed all the same.
        let request = request.map_err(|e| PrivacyError::BadInput(zb_shared::pipeline::json_error(&e)))?;
        let step = request.step;
        match request.action {
            Action::Find => app.find(step, &meter).await,
            Action::Erase => app.erase(step, &meter).await,
            Action::Finish => app.finish(step, &meter).await,
            Action::Fail => app.fail(step, &meter).await,
        }
    }
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        match &result {
            Ok(step) => tracing::info!(
                erasureId = %step.erasure_id,
                refsLeft = step.refs.len(),
                next = step.next.as_deref().unwrap_or("end"),
                erased = ?step.erased,
                "privacy step done"
            ),
            Err(e) => tracing::error!(error = %e, "privacy step failed"),
        }
        cost.finish(started, &meter).emit();
    });
    result
}
