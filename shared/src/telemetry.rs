//! Logging set-up, once per cold start. With AWS_LAMBDA_LOG_FORMAT=JSON (the
//! template sets LogFormat: JSON) every line is a JSON object that carries
//! the fields of the current span: requestId, feedId, partnerId and
//! correlationId, which each handler records on its span.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|v| v.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}

/// The span every handler runs in. Fields start empty and are recorded as
/// soon as the handler knows them.
#[macro_export]
macro_rules! invocation_span {
    ($request_id:expr) => {
        tracing::info_span!(
            "invocation",
            requestId = %$request_id,
            feedId = tracing::field::Empty,
            partnerId = tracing::field::Empty,
            correlationId = tracing::field::Empty,
        )
    };
}
