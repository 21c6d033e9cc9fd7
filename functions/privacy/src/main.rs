use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zb_shared::telemetry::init();
    let app = privacy::App::from_env().await?;
    run(service_fn(|event| privacy::handler(&app, event))).await
}
