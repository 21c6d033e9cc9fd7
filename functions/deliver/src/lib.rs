//! Deliver: one attempt of one webhook delivery, a Task of the
//! webhook-delivery state machine. It signs the stored body with every
//! valid secret (Standard Webhooks), POSTs it to the partner's current URL
//! (SSRF-checked, 15 s, no redirects), records the attempt, and tells the
//! state machine what next: `delivered`, `dead`, or `retry` after
//! `waitSeconds` (the schedule with jitter, or a longer Retry-After on
//! 429/503). 410 disables the endpoint; so do 24 h of failures, which also
//! puts WebhookEndpointDisabled on the bus. Every delivery recorded DEAD
//! counts one DeliveriesDead (EMF; DeadDeliveriesAlarm).

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::delivery::{Attempt, Delivery, DeliveryStatus, DeliveryStep};
use zb_shared::events::{DomainEvent, EventBridgeSink, EventError, EventSink};
use zb_shared::partner::{PartnerRecord, PartnerStatus};
use zb_shared::secrets::{self, SecretError};
use zb_shared::signing::{self, SigningError};
use zb_shared::ssrf::{self, UrlPolicy};
use zb_shared::store::{DeliveryStore, PartnerStore, StoreError};
use zb_shared::webhook::{self, Schedule, Verdict, ATTEMPT_TIMEOUT, DISABLE_AFTER_SECS, WEBHOOK_ENDPOINT_DISABLED};

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("delivery {0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error("the partner's webhook secret is unusable: {0}")]
    Secret(#[from] SigningError),
    /// Opening a sealed secret failed (KMS unreachable, or refused).
    #[error("the partner's webhook secret could not be opened: {0}")]
    Sealed(#[from] SecretError),
}

impl From<DeliverError> for Diagnostic {
    fn from(e: DeliverError) -> Self {
        let error_type = match &e {
            DeliverError::NotFound(_) => "DeliveryNotFound",
            DeliverError::Store(s) if s.is_transient() => "TransientDependencyError",
            DeliverError::Events(EventError::Transient(_)) => "TransientDependencyError",
            DeliverError::Store(_) => "StoreError",
            DeliverError::Events(_) => "EventPublishFailed",
            DeliverError::Sealed(s) if s.is_transient() => "TransientDependencyError",
            DeliverError::Secret(_) | DeliverError::Sealed(_) => "WebhookSecretInvalid",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub struct App<E: EventSink> {
    pub partners: PartnerStore,
    pub deliveries: DeliveryStore,
    pub events: E,
    pub clock: Arc<dyn Clock>,
    pub schedule: Schedule,
    pub url_policy: UrlPolicy,
    /// Jitter in [0, 1); a port so tests can pin it.
    pub jitter: fn() -> f64,
    pub function_name: String,
}

impl App<EventBridgeSink> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // A delivery past its retention is not attempted (DeliveryNotFound).
        let ttl = zb_shared::store::Ttl {
            retention: zb_shared::config::Retention::from_env()?,
            clock: clock.clone(),
        };
        Ok(Self {
            partners: PartnerStore::new(ddb.clone(), required_env("PARTNERS_TABLE")?),
            deliveries: DeliveryStore::new(ddb, required_env("DELIVERIES_TABLE")?).with_ttl(ttl),
            events: EventBridgeSink::from_env(&sdk)?,
            clock,
            schedule: Schedule::from_env()?,
            url_policy: UrlPolicy::from_env(),
            jitter: webhook::jitter,
            function_name: zb_shared::config::function_name("deliver"),
        })
    }
}

/// What one HTTP attempt came to.
struct Answer {
    status: Option<u16>,
    retry_after: Option<u64>,
    error: Option<String>,
    latency_ms: u64,
}

/// One POST to the checked address. A client per attempt: it is pinned
/// (`resolve`) to the address the SSRF guard approved, so a second DNS
/// answer cannot redirect it.
async fn post(
    url: &str,
    policy: UrlPolicy,
    headers: [(&str, String); 3],
    body: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Answer {
    let started = Instant::now();
    let fail = |error: String, started: Instant| Answer {
        status: None,
        retry_after: None,
        error: Some(error),
        latency_ms: started.elapsed().as_millis() as u64,
    };
    let parsed = match ssrf::check_url(url, policy) {
        Ok(u) => u,
        Err(e) => return fail(e.to_string(), started),
    };
    let addrs = match ssrf::resolve(&parsed, policy).await {
        Ok(a) => a,
        Err(e) => return fail(e.to_string(), started),
    };
    let mut builder = reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("ZeroBeta-Webhooks/1");
    if let Some(host) = parsed.domain() {
        builder = builder.resolve_to_addrs(host, &addrs);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return fail(e.to_string(), started),
    };
    let mut req = client.post(parsed).header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(name, value);
    }
    match req.body(body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| webhook::parse_retry_after(v, now))
                .filter(|_| webhook::honours_retry_after(status));
            Answer {
                status: Some(status),
                retry_after,
                error: (!resp.status().is_success()).then(|| format!("answered {status}")),
                latency_ms: started.elapsed().as_millis() as u64,
            }
        }
        Err(e) if e.is_timeout() => fail(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()), started),
        Err(e) => fail(format!("unreachable: {e}"), started),
    }
}

/// This function's own EMF metrics (the cost record is shared's). Each
/// document is one stdout line, where Lambda ships it to CloudWatch Logs and
/// EMF extraction turns it into metrics; inside [`emf::capture`] the
/// documents are collected instead, so a test can count them.
pub mod emf {
    use serde_json::{json, Value};
    use std::future::Future;
    use std::sync::{Arc, Mutex};

    tokio::task_local! {
        static CAPTURED: Arc<Mutex<Vec<Value>>>;
    }

    /// A metric without dimensions (one alarm covers every partner), with
    /// the partner and the rest of `properties` as searchable properties.
    /// The structure is AWS's "Specification: Embedded metric format"
    /// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
    pub fn platform_metric(namespace: &str, timestamp_ms: i64, name: &str, properties: &[(&str, &str)]) -> Value {
        let mut doc = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [[]],
                    "Metrics": [{"Name": name, "Unit": "Count"}]
                }]
            },
            name: 1,
        });
        if let Some(map) = doc.as_object_mut() {
            for (key, value) in properties {
                map.insert((*key).to_string(), json!(value));
            }
        }
        doc
    }

    /// Prints `doc`, or keeps it when inside [`capture`].
    pub(crate) fn emit(doc: Value) {
        let kept = CAPTURED.try_with(|docs| {
            if let Ok(mut docs) = docs.lock() {
                docs.push(doc.clone());
            }
        });
        if kept.is_err() {
            println!("{doc}");
        }
    }

    /// Runs `fut` and returns, with its output, the EMF documents it emitted.
    pub async fn capture<F: Future>(fut: F) -> (F::Output, Vec<Value>) {
        let docs = Arc::new(Mutex::new(Vec::new()));
        let out = CAPTURED.scope(docs.clone(), fut).await;
        let taken = docs.lock().map(|mut d| std::mem::take(&mut *d)).unwrap_or_default();
        (out, taken)
    }
}

/// The metric WebhookEndpointDisabledAlarm watches.
pub const WEBHOOK_ENDPOINTS_DISABLED: &str = "WebhookEndpointsDisabled";
/// The metric DeadDeliveriesAlarm watches: one per delivery recorded DEAD.
pub const DELIVERIES_DEAD: &str = "DeliveriesDead";

fn emit_metric(name: &str, properties: &[(&str, &str)]) {
    emf::emit(emf::platform_metric(
        &zb_shared::config::metrics_namespace(),
        chrono::Utc::now().timestamp_millis(),
        name,
        properties,
    ));
}

/// A delivery was recorded DEAD: counted once, where it was recorded, so
/// every way to die (schedule exhausted, 410, 24 h failing, endpoint
/// disabled or removed) reaches the alarm. A Lambda retry of an attempt
/// that had already recorded it may count it again; the alarm only asks
/// "any?", so that is harmless.
fn emit_dead_metric(partner_id: &str, delivery_id: &str, reason: &str) {
    emit_metric(
        DELIVERIES_DEAD,
        &[
            ("PartnerId", partner_id),
            ("DeliveryId", delivery_id),
            ("Reason", reason),
        ],
    );
}

impl<E: EventSink> App<E> {
    async fn disable(&self, partner_id: &str, url: &str, reason: &str, meter: &CostMeter) -> Result<(), DeliverError> {
        if self.partners.disable_webhook(partner_id, reason, meter).await? {
            tracing::warn!(reason, "webhook endpoint disabled");
            emit_metric(WEBHOOK_ENDPOINTS_DISABLED, &[("PartnerId", partner_id)]);
            let detail = json!({
                "partnerId": partner_id,
                "webhookUrl": url,
                "reason": reason,
                "disabledAt": zb_shared::time::format_utc(self.clock.now()),
            });
            self.events
                .publish(
                    vec![DomainEvent {
                        detail_type: WEBHOOK_ENDPOINT_DISABLED,
                        detail,
                    }],
                    meter,
                )
                .await?;
        }
        Ok(())
    }

    async fn attempt(&self, step: &DeliveryStep, meter: &CostMeter) -> Result<DeliveryStep, DeliverError> {
        let mut next = step.clone();
        next.wait_seconds = None;
        let done = |mut s: DeliveryStep, outcome: &str| {
            s.outcome = Some(outcome.to_string());
            s
        };
        let d: Delivery = self
            .deliveries
            .get(&step.partner_id, &step.delivery_id, meter)
            .await?
            .ok_or_else(|| DeliverError::NotFound(step.delivery_id.clone()))?;
        if d.status == DeliveryStatus::Delivered {
            return Ok(done(next, "delivered"));
        }
        let now = self.clock.now();
        let now_text = zb_shared::time::format_utc(now);
        let record: Option<PartnerRecord> = self.partners.get_record(&step.partner_id, meter).await?;
        let target = record
            .as_ref()
            .filter(|r| r.partner.status == PartnerStatus::Active)
            .and_then(|r| r.active_webhook().map(|(url, _)| (r, url.to_string())));
        let Some((record, url)) = target else {
            let reason = "the webhook endpoint is disabled or removed";
            self.deliveries
                .mark_dead(&step.partner_id, &step.delivery_id, reason, &now_text, meter)
                .await?;
            emit_dead_metric(&step.partner_id, &step.delivery_id, reason);
            return Ok(done(next, "dead"));
        };
        next.attempt = step.attempt + 1;
        let ts = now.timestamp();
        // Secrets are stored sealed (KMS, bound to the partner id): opened here, for signing only.
        let secrets = secrets::open_all(self.partners.sealer(), &step.partner_id, &record.signing_secrets(ts)).await?;
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let signature = signing::sign_all(&secrets, &d.webhook_id, ts, d.body.as_bytes())?;
        let headers = [
            ("webhook-id", d.webhook_id.clone()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature),
        ];
        let answer = post(&url, self.url_policy, headers, d.body.clone(), now).await;
        let attempt = Attempt {
            attempt: next.attempt,
            at: now_text.clone(),
            status_code: answer.status,
            latency_ms: answer.latency_ms,
            error: answer.error.clone(),
        };
        let verdict = answer.status.map_or(Verdict::Failed, webhook::verdict);
        let record_as = |status| {
            self.deliveries
                .record_attempt(&step.partner_id, &step.delivery_id, &attempt, status, &now_text, meter)
        };
        match verdict {
            Verdict::Delivered => {
                record_as(DeliveryStatus::Delivered).await?;
                self.partners.note_webhook_success(&step.partner_id, meter).await?;
                Ok(done(next, "delivered"))
            }
            Verdict::Gone => {
                let reason = "the endpoint answered 410 Gone";
                record_as(DeliveryStatus::Dead).await?;
                emit_dead_metric(&step.partner_id, &step.delivery_id, reason);
                self.disable(&step.partner_id, &url, reason, meter).await?;
                Ok(done(next, "dead"))
            }
            Verdict::Failed => {
                let since = self.partners.note_webhook_failure(&step.partner_id, ts, meter).await?;
                if ts - since >= DISABLE_AFTER_SECS {
                    let reason = "failing continuously for 24 h";
                    record_as(DeliveryStatus::Dead).await?;
                    emit_dead_metric(&step.partner_id, &step.delivery_id, reason);
                    self.disable(&step.partner_id, &url, reason, meter).await?;
                    return Ok(done(next, "dead"));
                }
                match self
                    .schedule
                    .next_wait(next.attempt, (self.jitter)(), answer.retry_after)
                {
                    Some(wait) => {
                        record_as(DeliveryStatus::Failed).await?;
                        next.wait_seconds = Some(wait);
                        Ok(done(next, "retry"))
                    }
                    None => {
                        record_as(DeliveryStatus::Dead).await?;
                        emit_dead_metric(&step.partner_id, &step.delivery_id, "retry schedule exhausted");
                        tracing::warn!("schedule exhausted: dead letter");
                        Ok(done(next, "dead"))
                    }
                }
            }
        }
    }
}

pub async fn handler<E: EventSink>(
    app: &App<E>,
    event: LambdaEvent<DeliveryStep>,
) -> Result<DeliveryStep, DeliverError> {
    let step = event.payload;
    let span = zb_shared::invocation_span!(event.context.request_id);
    let (mut cost, started) = CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    cost.partner_id = Some(step.partner_id.clone());
    span.record("partnerId", step.partner_id.as_str());
    let meter = CostMeter::default();
    let result = app.attempt(&step, &meter).instrument(span.clone()).await;
    span.in_scope(|| {
        match &result {
            Ok(s) => tracing::info!(
                deliveryId = %step.delivery_id,
                attempt = s.attempt,
                outcome = s.outcome.as_deref().unwrap_or(""),
                waitSeconds = s.wait_seconds,
                "delivery attempt"
            ),
            Err(e) => tracing::error!(deliveryId = %step.delivery_id, error = %e, "delivery attempt failed"),
        }
        cost.finish(started, &meter).emit();
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_delivery_is_one_count_without_dimensions_and_names_its_partner() {
        let doc = emf::platform_metric(
            "ZeroBeta",
            1_767_225_600_000,
            DELIVERIES_DEAD,
            &[("PartnerId", "partner-a"), ("DeliveryId", "d-1")],
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ZeroBeta");
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "DeliveriesDead", "Unit": "Count"}])
        );
        assert_eq!(doc["DeliveriesDead"], 1);
        assert_eq!(doc["PartnerId"], "partner-a");
        assert_eq!(doc["DeliveryId"], "d-1");
        assert_eq!(doc["_aws"]["Timestamp"], 1_767_225_600_000_i64);
    }

    #[tokio::test]
    async fn captured_documents_are_kept_not_printed() {
        let ((), docs) = emf::capture(async { emit_dead_metric("p", "d", "r") }).await;
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["Reason"], "r");
    }
}
