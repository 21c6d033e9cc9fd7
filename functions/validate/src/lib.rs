//! Validate: reads the feed body ingest stored, checks each order against
//! the partner format's JSON Schema, and splits valid from rejected. A
//! large batch is staged beside the body rather than returned inline.

use lambda_runtime::LambdaEvent;
use zb_shared::cost::CostMeter;
use zb_shared::format::{FormatError, FormatResolver};
use zb_shared::pipeline::{carry, run_step, FeedRef, StepError, ValidBatch, Validated};
use zb_shared::store::FeedStore;

pub struct App {
    pub feeds: FeedStore,
    /// Built-in formats, then the formats table (each version read once).
    pub formats: FormatResolver,
    pub function_name: String,
}

impl App {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let ddb = zb_shared::aws::dynamodb_client().await;
        Ok(Self {
            feeds: FeedStore::new(ddb.clone(), zb_shared::config::required_env("FEEDS_TABLE")?),
            formats: FormatResolver::from_env(ddb)?,
            function_name: zb_shared::config::function_name("validate"),
        })
    }
}

pub async fn handler(app: &App, event: LambdaEvent<FeedRef>) -> Result<Validated, StepError> {
    let feed = event.payload;
    let meter = CostMeter::default();
    run_step(&app.function_name, &event.context.request_id, &feed, 0, &meter, async {
        let format = app
            .formats
            .get(&feed.format, &meter)
            .await
            .map_err(FormatError::into_step_error)?;
        let body = app
            .feeds
            .get_body(&feed.partner_id, &feed.feed_id, &meter)
            .await?
            .ok_or_else(|| StepError::FeedNotFound(feed.feed_id.clone()))?;
        let invalid = |detail: String| StepError::InvalidFeed {
            feed_id: feed.feed_id.clone(),
            detail,
        };
        let body: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| invalid(zb_shared::pipeline::json_error(&e)))?;
        let split = zb_shared::validate::validate_feed_owned(&format, body).map_err(|e| invalid(e.to_string()))?;
        tracing::info!(
            valid = split.valid.len(),
            rejected = split.rejections.len(),
            "validated"
        );
        let (valid_count, rejected_count) = (split.valid.len(), split.rejections.len());
        let batch = ValidBatch {
            valid: split.valid,
            rejections: split.rejections,
        };
        let out = Validated {
            feed: feed.clone(),
            order_count: split.total,
            valid_count,
            rejected_count,
            batch: carry(&app.feeds, &feed, "validate", batch, &meter).await?,
        };
        Ok((out, vec![]))
    })
    .await
}
