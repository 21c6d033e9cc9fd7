use lambda_runtime::{run, service_fn, Error};

// Parsing and mapping JSON trees is allocation-bound; mimalloc cut the
// pipeline bench (shared/benches/pipeline.rs) by 8-20% per order.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    zb_shared::telemetry::init();
    let app = transform::App::from_env().await?;
    run(service_fn(|event| transform::handler(&app, event))).await
}
