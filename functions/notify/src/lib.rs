//! Notify: tells a partner the outcome of its feed. The target of the
//! EventBridge rule on OrdersPersisted / OrdersRejected. It builds the
//! notification once and hands it on:
//! - a partner with a webhook: a delivery record (PENDING) in the deliveries
//!   table and a run of the webhook-delivery state machine, which retries
//!   for about a day (functions/deliver does each attempt);
//! - a partner whose webhook is disabled: the delivery is a dead letter at
//!   once, to replay after `zb partners set-webhook`;
//! - a partner without a webhook: appended to its outbox, in order, for
//!   GET /v1/outbox (once per event, however often the event is retried).
//!
//! Both ids derive from the EventBridge event (its id and time), so a
//! retried invocation finds the same delivery and the same execution name:
//! nothing is sent twice, and `webhook-id` is the same on every attempt.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::delivery::{Delivery, DeliveryStatus, DeliveryStep};
use zb_shared::partner::PartnerStatus;
use zb_shared::store::{DeliveryStore, OutboxEntry, OutboxStore, PartnerStore, StoreError, Ttl};
use zb_shared::workflow::{ExecutionStarter, SfnStarter, StartError};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the event has no {0} in its detail")]
    BadEvent(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the notification could not be serialized: {0}")]
    Body(String),
}

impl From<NotifyError> for Diagnostic {
    fn from(e: NotifyError) -> Self {
        let error_type = match &e {
            NotifyError::BadEvent(_) => "InvalidEvent",
            NotifyError::Store(s) if s.is_transient() => "TransientDependencyError",
            NotifyError::Start(StartError::Transient(_)) => "TransientDependencyError",
            NotifyError::Store(_) => "StoreError",
            NotifyError::Start(_) => "DeliveryStartFailed",
            NotifyError::Body(_) => "NotificationInvalid",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub struct App<S: ExecutionStarter> {
    pub partners: PartnerStore,
    pub deliveries: DeliveryStore,
    pub outbox: OutboxStore,
    pub starter: S,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App<SfnStarter> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // A broken retention value stops the function at start, not at a write.
        let ttl = Ttl {
            retention: zb_shared::config::Retention::from_env()?,
            clock: clock.clone(),
        };
        Ok(Self {
            partners: PartnerStore::new(ddb.clone(), required_env("PARTNERS_TABLE")?),
            deliveries: DeliveryStore::new(ddb.clone(), required_env("DELIVERIES_TABLE")?).with_ttl(ttl.clone()),
            outbox: OutboxStore::new(ddb, required_env("OUTBOX_TABLE")?).with_ttl(ttl),
            starter: SfnStarter::new(
                aws_sdk_sfn::Client::new(&sdk),
                required_env("WEBHOOK_DELIVERY_STATE_MACHINE_ARN")?,
            ),
            clock,
            function_name: zb_shared::config::function_name("notify"),
        })
    }
}

/// What the partner receives.
#[derive(Debug, Serialize)]
pub struct Notification<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub timestamp: String,
    pub data: &'a Value,
}

/// What happened to one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "result")]
pub enum Outcome {
    /// A delivery run was started (or already had been, for a retried event).
    DeliveryStarted { delivery_id: String, webhook_id: String },
    /// The partner's webhook is disabled: kept as a dead letter to replay.
    DeadLettered { delivery_id: String },
    /// No webhook: appended to the outbox at `seq` (None: it already was,
    /// by an earlier try of the same event).
    Outboxed { seq: Option<u64> },
    /// Unknown or disabled partner: nothing to deliver to.
    Skipped,
}

fn notification_type(detail_type: &str) -> String {
    match detail_type {
        "OrdersPersisted" => "orders.persisted".into(),
        "OrdersRejected" => "orders.rejected".into(),
        other => format!("orders.{}", other.to_ascii_lowercase()),
    }
}

pub async fn handler<S: ExecutionStarter>(
    app: &App<S>,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Outcome, NotifyError> {
    let ev = event.payload;
    let span = zb_shared::invocation_span!(event.context.request_id);
    let (mut cost, started) = CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    let meter = CostMeter::default();
    let field = |name: &'static str| {
        ev.detail
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or(NotifyError::BadEvent(name))
    };
    let result = async {
        let partner_id = field("partnerId")?;
        let feed_id = field("feedId")?;
        let current = tracing::Span::current();
        current.record("partnerId", partner_id.as_str());
        current.record("feedId", feed_id.as_str());
        if let Ok(c) = field("correlationId") {
            current.record("correlationId", c.as_str());
        }
        cost.partner_id = Some(partner_id.clone());
        cost.feed_id = Some(feed_id.clone());
        let Some(record) = app
            .partners
            .get_record(&partner_id, &meter)
            .await?
            .filter(|r| r.partner.status == PartnerStatus::Active)
        else {
            tracing::warn!("notification for an unknown or disabled partner dropped");
            return Ok(Outcome::Skipped);
        };
        // The event's id and time are the same on every retry of it.
        let event_id = ev
            .id
            .clone()
            .unwrap_or_else(|| format!("{feed_id}-{}", ev.detail_type.to_ascii_lowercase()));
        let created = ev.time.unwrap_or_else(|| app.clock.now());
        let kind = notification_type(&ev.detail_type);
        let body = serde_json::to_string(&Notification {
            kind: &kind,
            timestamp: zb_shared::time::format_utc(created),
            data: &ev.detail,
        })
        .map_err(|e| NotifyError::Body(e.to_string()))?;
        let now = app.clock.now();
        let now_text = zb_shared::time::format_utc(now);
        if record.partner.webhook_url.is_none() {
            let entry = OutboxEntry {
                partner_id: partner_id.clone(),
                seq: 0,
                webhook_id: format!("msg_{event_id}"),
                event_type: kind,
                body,
                created_at: zb_shared::time::format_utc(created),
                expires_at: app.outbox.expires_at(now),
            };
            let seq = app.outbox.append(&partner_id, &event_id, entry, &meter).await?;
            tracing::info!(seq, "partner has no webhook; appended to its outbox");
            return Ok(Outcome::Outboxed { seq });
        }
        let fresh = Delivery {
            partner_id: partner_id.clone(),
            delivery_id: Delivery::id_for(created, &event_id),
            webhook_id: format!("msg_{event_id}"),
            event_type: kind,
            body,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            replays: 0,
            created_at: zb_shared::time::format_utc(created),
            updated_at: now_text.clone(),
            last_error: None,
            expires_at: app.deliveries.expires_at(now),
        };
        let delivery = if app.deliveries.create(&fresh, &meter).await? {
            fresh
        } else {
            // A retried event: carry on with what the first try stored.
            app.deliveries
                .get(&partner_id, &fresh.delivery_id, &meter)
                .await?
                .unwrap_or(fresh)
        };
        if record.active_webhook().is_none() {
            app.deliveries
                .mark_dead(
                    &partner_id,
                    &delivery.delivery_id,
                    "the webhook endpoint is disabled",
                    &now_text,
                    &meter,
                )
                .await?;
            tracing::warn!("webhook disabled; the notification is a dead letter");
            return Ok(Outcome::DeadLettered {
                delivery_id: delivery.delivery_id,
            });
        }
        let step = DeliveryStep {
            partner_id: partner_id.clone(),
            delivery_id: delivery.delivery_id.clone(),
            attempt: 0,
            outcome: None,
            wait_seconds: None,
        };
        let input = serde_json::to_string(&step).map_err(|e| NotifyError::Body(e.to_string()))?;
        app.starter.start(&delivery.execution_name(), input).await?;
        Ok(Outcome::DeliveryStarted {
            delivery_id: delivery.delivery_id,
            webhook_id: delivery.webhook_id,
        })
    }
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        match &result {
            Ok(d) => tracing::info!(outcome = ?d, "notification handled"),
            Err(e) => tracing::warn!(error = %e, "notification failed; the platform retries"),
        }
        cost.finish(started, &meter).emit();
    });
    result
}
