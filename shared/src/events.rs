//! Domain events on the custom EventBridge bus, behind a small port we own
//! ([`EventSink`]). Functions take the port and wire the EventBridge
//! adapter; handler tests wire the same adapter to the local cloud's
//! EventBridge and read back what it accepted.

use crate::cost::CostMeter;
use aws_sdk_eventbridge::types::{PutEventsRequestEntry, PutEventsResultEntry};
use serde_json::Value;
use std::future::Future;

pub const SOURCE: &str = "zerobeta.orders";
pub const ORDER_FEED_RECEIVED: &str = "OrderFeedReceived";
pub const ORDERS_PERSISTED: &str = "OrdersPersisted";
pub const ORDERS_REJECTED: &str = "OrdersRejected";
/// PutEvents takes at most 10 entries per call.
const MAX_ENTRIES_PER_CALL: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub struct DomainEvent {
    pub detail_type: &'static str,
    pub detail: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Throttling, a timeout or an AWS 5xx: worth retrying.
    #[error("EventBridge is unavailable: {0}")]
    Transient(String),
    /// The request itself is wrong; retrying will not help.
    #[error("EventBridge refused the event: {0}")]
    Rejected(String),
}

/// The port: publish events, all or nothing from the caller's view.
pub trait EventSink: Send + Sync {
    fn publish(
        &self,
        events: Vec<DomainEvent>,
        meter: &CostMeter,
    ) -> impl Future<Output = Result<(), EventError>> + Send;
}

/// The EventBridge adapter.
#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeSink {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// The bus the template names in EVENT_BUS_NAME, with a client from `sdk`.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, crate::config::ConfigError> {
        let bus = crate::config::required_env("EVENT_BUS_NAME")?;
        Ok(Self::new(aws_sdk_eventbridge::Client::new(sdk), bus))
    }
}

/// Builds the PutEvents entry for an event.
pub fn entry(bus_name: &str, event: &DomainEvent) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(bus_name)
        .source(SOURCE)
        .detail_type(event.detail_type)
        .detail(event.detail.to_string())
        .build()
}

/// The size EventBridge bills and limits (its documented entry-size
/// calculation: the UTF-8 bytes of Source, DetailType, Detail and Resources,
/// plus 14 bytes when Time is set).
pub fn entry_size(entry: &PutEventsRequestEntry) -> u64 {
    let len = |s: Option<&str>| s.map_or(0, str::len) as u64;
    len(entry.source())
        + len(entry.detail_type())
        + len(entry.detail())
        + entry.resources().iter().map(|r| r.len() as u64).sum::<u64>()
        + if entry.time().is_some() { 14 } else { 0 }
}

/// Classifies PutEvents' per-entry failures: any throttling or internal
/// failure makes the whole call transient (the caller retries the step,
/// and the consumers are idempotent), anything else is a rejection.
pub fn check_results(results: &[PutEventsResultEntry]) -> Result<(), EventError> {
    let failed: Vec<_> = results.iter().filter(|r| r.error_code().is_some()).collect();
    if failed.is_empty() {
        return Ok(());
    }
    let describe = failed
        .iter()
        .map(|r| {
            format!(
                "{}: {}",
                r.error_code().unwrap_or_default(),
                r.error_message().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let transient = failed.iter().any(|r| {
        matches!(
            r.error_code(),
            Some("ThrottlingException" | "InternalFailure" | "InternalException" | "ServiceUnavailable")
        )
    });
    if transient {
        Err(EventError::Transient(describe))
    } else {
        Err(EventError::Rejected(describe))
    }
}

impl EventSink for EventBridgeSink {
    async fn publish(&self, events: Vec<DomainEvent>, meter: &CostMeter) -> Result<(), EventError> {
        for chunk in events.chunks(MAX_ENTRIES_PER_CALL) {
            let entries: Vec<_> = chunk.iter().map(|e| entry(&self.bus_name, e)).collect();
            let bytes = entries.iter().map(entry_size).sum();
            let out = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    use aws_sdk_eventbridge::error::SdkError;
                    let transient = match &e {
                        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
                        SdkError::ServiceError(s) => {
                            s.raw().status().is_server_error() || s.raw().status().as_u16() == 429
                        }
                        _ => false,
                    };
                    let msg = aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string();
                    if transient {
                        EventError::Transient(msg)
                    } else {
                        EventError::Rejected(msg)
                    }
                })?;
            meter.eventbridge(chunk.len() as u32, bytes);
            check_results(out.entries())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_name_the_bus_source_and_detail_type() {
        let ev = DomainEvent {
            detail_type: ORDER_FEED_RECEIVED,
            detail: json!({"feedId": "f-1"}),
        };
        let e = entry("zb-orders", &ev);
        assert_eq!(e.event_bus_name(), Some("zb-orders"));
        assert_eq!(e.source(), Some("zerobeta.orders"));
        assert_eq!(e.detail_type(), Some("OrderFeedReceived"));
        assert_eq!(e.detail(), Some(r#"{"feedId":"f-1"}"#));
        // 15 (source) + 17 (detail type) + 16 (detail)
        assert_eq!(entry_size(&e), 48);
    }

    #[test]
    fn per_entry_failures_are_classified() {
        let ok = PutEventsResultEntry::builder().event_id("1").build();
        let throttled = PutEventsResultEntry::builder()
            .error_code("ThrottlingException")
            .error_message("slow down")
            .build();
        let bad = PutEventsResultEntry::builder()
            .error_code("MalformedDetail")
            .error_message("Detail is malformed")
            .build();
        assert_eq!(check_results(std::slice::from_ref(&ok)), Ok(()));
        assert!(matches!(
            check_results(&[ok.clone(), throttled]),
            Err(EventError::Transient(_))
        ));
        assert!(matches!(check_results(&[ok, bad]), Err(EventError::Rejected(m)) if m.contains("MalformedDetail")));
    }
}
