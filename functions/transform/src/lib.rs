//! Transform: maps valid orders to the canonical order and applies the
//! canonical rules. Pure computation; it touches DynamoDB only to read or
//! write a batch too large to travel in the state machine's message.

use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::CostMeter;
use zb_shared::format::{FormatError, FormatResolver};
use zb_shared::pipeline::{carry, open, run_step, CanonicalBatch, StepError, Transformed, Validated};
use zb_shared::store::FeedStore;

pub struct App {
    pub feeds: FeedStore,
    /// Built-in formats, then the formats table (each version read once).
    pub formats: FormatResolver,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let ddb = zb_shared::aws::dynamodb_client().await;
        Ok(Self {
            feeds: FeedStore::new(ddb.clone(), zb_shared::config::required_env("FEEDS_TABLE")?),
            formats: FormatResolver::from_env(ddb)?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("transform"),
        })
    }
}

pub async fn handler(app: &App, event: LambdaEvent<Validated>) -> Result<Transformed, StepError> {
    let input = event.payload;
    let meter = CostMeter::default();
    let feed = &input.feed;
    run_step(
        &app.function_name,
        &event.context.request_id,
        feed,
        input.valid_count,
        &meter,
        async {
            let format = app
                .formats
                .get(&feed.format, &meter)
                .await
                .map_err(FormatError::into_step_error)?;
            let batch = open(&app.feeds, feed, input.batch, &meter).await?;
            let mapped = zb_shared::transform::transform_feed(&format, &batch.valid, app.clock.now());
            let mut rejections = batch.rejections;
            rejections.extend(mapped.rejections);
            rejections.sort_by_key(|r| r.index);
            tracing::info!(mapped = mapped.orders.len(), rejected = rejections.len(), "transformed");
            let out = Transformed {
                feed: feed.clone(),
                order_count: input.order_count,
                valid_count: mapped.orders.len(),
                rejected_count: rejections.len(),
                batch: carry(
                    &app.feeds,
                    feed,
                    "transform",
                    CanonicalBatch {
                        orders: mapped.orders,
                        rejections,
                    },
                    &meter,
                )
                .await?,
            };
            Ok((out, vec![]))
        },
    )
    .await
}
