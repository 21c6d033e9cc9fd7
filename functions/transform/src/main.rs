use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    zb_shared::telemetry::init();
    let app = transform::App::from_env()?;
    run(service_fn(|event| transform::handler(&app, event))).await
}
