// The Recorder's nested store futures exceed the default layout query depth (128).
#![recursion_limit = "256"]

use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zb_shared::telemetry::init();
    let app = record_error::App::from_env().await?;
    run(service_fn(|event| record_error::handler(&app, event))).await
}
