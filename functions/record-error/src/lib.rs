//! RecordErrors: writes each rejected order to the errors table (30-day
//! TTL, raw order kept for diagnosis), finishes the feed and publishes
//! OrdersRejected. Given a caught `failure`, the whole feed failed: every
//! order is recorded as PIPELINE_FAILED and the feed is marked FAILED with
//! the cause (see [`zb_shared::record`]). Given `recordFailure` (RecordErrors
//! itself failed, caught by the state machine), it only marks the feed
//! FAILED with that cause, the one write most likely still to succeed.

use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use zb_shared::claim::Carried;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::CostMeter;
use zb_shared::events::{EventBridgeSink, EventSink};
use zb_shared::pipeline::{open, run_step, ErrorsRecorded, ErrorsToRecord, RejectionBatch, StepError};
use zb_shared::record::Recorder;

pub struct App<E: EventSink> {
    pub recorder: Recorder<E>,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App<EventBridgeSink> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let sdk = zb_shared::aws::sdk_config().await;
        Ok(Self {
            recorder: Recorder::from_env(&sdk)?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("record-error"),
        })
    }
}

pub async fn handler<E: EventSink>(
    app: &App<E>,
    event: LambdaEvent<ErrorsToRecord>,
) -> Result<ErrorsRecorded, StepError> {
    let input = event.payload;
    let meter = CostMeter::default();
    let feed = &input.feed;
    let recorder = &app.recorder;
    run_step(&app.function_name, &event.context.request_id, feed, 0, &meter, async {
        let now = app.clock.now();
        if let Some(failure) = &input.record_failure {
            let status = recorder.mark_failed(feed, failure, now, &meter).await?;
            tracing::error!(error = %failure.error, ?status, "recording the errors failed; the feed is marked FAILED");
            let out = ErrorsRecorded {
                feed: feed.clone(),
                recorded: 0,
                status,
                failure: Some(failure.clone()),
            };
            return Ok((out, vec![]));
        }
        let rejections = match (&input.failure, input.batch.clone()) {
            (None, Some(batch)) => {
                let batch: Carried<RejectionBatch> =
                    serde_json::from_value(batch).map_err(|e| StepError::InvalidFeed {
                        feed_id: feed.feed_id.clone(),
                        // Kind and position only: serde's message quotes values.
                        detail: format!(
                            "the rejection batch is not readable: {}",
                            zb_shared::pipeline::json_error(&e)
                        ),
                    })?;
                open(&recorder.feeds, feed, batch, &meter).await?.rejections
            }
            _ => Vec::new(),
        };
        let done = recorder
            .record(feed, rejections, input.failure.as_ref(), now, &meter)
            .await?;
        let out = ErrorsRecorded {
            feed: feed.clone(),
            recorded: done.recorded,
            status: done.status,
            failure: input.failure.clone(),
        };
        Ok((out, vec![("OrdersRejected", done.recorded as f64)]))
    })
    .await
}
