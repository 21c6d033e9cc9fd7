//! Transform: maps valid orders to the canonical order and applies the
//! canonical rules. Pure computation: no AWS calls.

use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::CostMeter;
use zb_shared::format::FormatRegistry;
use zb_shared::pipeline::{run_step, StepError, Transformed, Validated};

pub struct App {
    pub formats: FormatRegistry,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App {
    pub fn from_env() -> Result<Self, lambda_runtime::Error> {
        Ok(Self {
            formats: FormatRegistry::builtin()?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("transform"),
        })
    }
}

pub async fn handler(app: &App, event: LambdaEvent<Validated>) -> Result<Transformed, StepError> {
    let input = event.payload;
    let meter = CostMeter::default();
    let orders = input.valid.len();
    run_step(
        &app.function_name,
        &event.context.request_id,
        &input.feed,
        orders,
        &meter,
        async {
            let format = app.formats.get(&input.feed.format)?;
            let mapped = zb_shared::transform::transform_feed(&format, &input.valid, app.clock.now());
            let mut rejections = input.rejections.clone();
            rejections.extend(mapped.rejections);
            rejections.sort_by_key(|r| r.index);
            tracing::info!(mapped = mapped.orders.len(), rejected = rejections.len(), "transformed");
            let out = Transformed {
                feed: input.feed.clone(),
                order_count: input.order_count,
                orders: mapped.orders,
                rejections,
            };
            Ok((out, vec![]))
        },
    )
    .await
}
