//! Notify: tells a partner the outcome of its feed. The target of the
//! EventBridge rule on OrdersPersisted / OrdersRejected. For a partner with
//! a webhook it POSTs a Standard Webhooks-signed notification and fails on
//! a non-2xx answer or a timeout, so the platform retries. Partners without
//! a webhook are left for the outbox.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::signing::{self, SigningError};
use zb_shared::store::{PartnerStore, StoreError};

/// How long we wait for a partner's endpoint.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the event has no {0} in its detail")]
    BadEvent(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the partner's webhook secret is unusable: {0}")]
    Secret(#[from] SigningError),
    #[error("the webhook answered {0}")]
    Rejected(u16),
    #[error("the webhook could not be reached: {0}")]
    Unreachable(String),
}

impl From<NotifyError> for Diagnostic {
    fn from(e: NotifyError) -> Self {
        let error_type = match &e {
            NotifyError::BadEvent(_) => "InvalidEvent",
            NotifyError::Store(s) if s.is_transient() => "TransientDependencyError",
            NotifyError::Store(_) => "StoreError",
            NotifyError::Secret(_) => "WebhookSecretInvalid",
            NotifyError::Rejected(_) | NotifyError::Unreachable(_) => "WebhookDeliveryFailed",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub struct App {
    pub partners: PartnerStore,
    pub http: reqwest::Client,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        Ok(Self {
            partners: PartnerStore::new(
                zb_shared::aws::dynamodb_client().await,
                zb_shared::config::required_env("PARTNERS_TABLE")?,
            ),
            http: http_client()?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("notify"),
        })
    }
}

/// The webhook client: a hard timeout, and no redirects (a redirect could
/// send a signed payload somewhere the partner did not register).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(WEBHOOK_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("ZeroBeta-Webhooks/1")
        .build()
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
pub enum Delivery {
    Delivered {
        webhook_id: String,
        status: u16,
    },
    /// No webhook: the notification waits for the partner to pull it.
    NoWebhook,
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

pub async fn handler(app: &App, event: LambdaEvent<EventBridgeEvent<Value>>) -> Result<Delivery, NotifyError> {
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
        let Some(partner) = app.partners.get_partner(&partner_id, &meter).await? else {
            tracing::warn!("notification for an unknown partner dropped");
            return Ok(Delivery::Skipped);
        };
        let (Some(url), Some(secret)) = (&partner.webhook_url, &partner.webhook_secret) else {
            tracing::info!("partner has no webhook; left for the outbox");
            return Ok(Delivery::NoWebhook);
        };
        // Stable across retries of the same event, so receivers can
        // deduplicate on it (EventBridge keeps the id when it retries).
        let webhook_id = match &ev.id {
            Some(id) => format!("msg_{id}"),
            None => format!("msg_{feed_id}_{}", ev.detail_type),
        };
        let timestamp = app.clock.now().timestamp();
        let body = serde_json::to_vec(&Notification {
            kind: &notification_type(&ev.detail_type),
            timestamp: zb_shared::time::format_utc(app.clock.now()),
            data: &ev.detail,
        })
        .unwrap_or_else(|_| json!({}).to_string().into_bytes());
        let signature = signing::sign(secret, &webhook_id, timestamp, &body)?;
        let resp = app
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| NotifyError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return Err(NotifyError::Rejected(status));
        }
        Ok(Delivery::Delivered { webhook_id, status })
    }
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        match &result {
            Ok(d) => tracing::info!(delivery = ?d, "notification handled"),
            Err(e) => tracing::warn!(error = %e, "notification failed; the platform retries"),
        }
        cost.finish(started, &meter).emit();
    });
    result
}
