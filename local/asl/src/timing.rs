//! Waiting, scaled by the execution's time scale and cut short by cancellation.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Returned when a wait was interrupted by cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the wait was cancelled")]
pub(crate) struct Cancelled;

/// Converts state-machine time to real time for what the interpreter waits for on its own (Wait
/// states, retry delays): those durations are multiplied by the scale. Timeouts are not scaled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    scale: f64,
}

impl Clock {
    /// A non-positive or non-finite scale would make every timeout fire at once, so it means real time.
    pub(crate) fn new(scale: f64) -> Self {
        Self {
            scale: if scale.is_finite() && scale > 0.0 { scale } else { 1.0 },
        }
    }

    pub(crate) fn scaled(&self, duration: Duration) -> Duration {
        Duration::try_from_secs_f64(duration.as_secs_f64() * self.scale).unwrap_or(Duration::MAX)
    }

    pub(crate) async fn sleep(&self, duration: Duration, cancel: &CancellationToken) -> Result<(), Cancelled> {
        let real = self.scaled(duration);
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(Cancelled),
            () = tokio::time::sleep(real) => Ok(()),
        }
    }
}
