//! Logging set-up, once per cold start. With AWS_LAMBDA_LOG_FORMAT=JSON (the
//! template sets LogFormat: JSON) every line is a JSON object that carries
//! the fields of the current span: requestId, feedId, partnerId and
//! correlationId, which each handler records on its span.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|v| v.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    // A second call (tests) fails harmlessly: the first subscriber stays.
    let _ = if json {
        tracing::subscriber::set_global_default(json_subscriber(std::io::stdout))
    } else {
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_target(false)
                .with_ansi(false)
                .compact()
                .finish(),
        )
    };
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The JSON subscriber Lambda runs with, writing to `writer`.
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .finish()
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_carries_the_invocation_ids() {
        let buf = Buffer::default();
        let writer = buf.clone();
        let subscriber = super::json_subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            let span = crate::invocation_span!("req-1");
            span.record("feedId", "feed-1");
            span.record("partnerId", "partner-a");
            span.record("correlationId", "corr-1");
            let _e = span.enter();
            tracing::info!(orders = 3, "persisted");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["message"], "persisted");
        assert_eq!(line["orders"], 3);
        let span = &line["span"];
        assert_eq!(span["requestId"], "req-1");
        assert_eq!(span["feedId"], "feed-1");
        assert_eq!(span["partnerId"], "partner-a");
        assert_eq!(span["correlationId"], "corr-1");
    }
}
