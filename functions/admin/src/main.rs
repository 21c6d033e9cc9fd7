use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zb_shared::telemetry::init();
    let app = admin::App::from_env().await?;
    run(service_fn(|event| admin::handler(&app, event))).await
}
