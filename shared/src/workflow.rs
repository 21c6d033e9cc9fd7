//! Starting the webhook-delivery state machine, behind a small port we own
//! ([`ExecutionStarter`]): notify and `zb deliveries replay` start runs
//! (handler tests with the same adapter, on the local cloud).

use std::future::Future;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("Step Functions is unavailable: {0}")]
    Transient(String),
    #[error("Step Functions refused StartExecution: {0}")]
    Rejected(String),
}

/// What a start came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    New(String),
    /// An execution of that name exists: a retried start (names are never
    /// reused, so it is the same run).
    AlreadyRunning,
}

pub trait ExecutionStarter: Send + Sync {
    fn start(&self, name: &str, input: String) -> impl Future<Output = Result<Started, StartError>> + Send;
}

/// StartExecution on a Standard state machine.
#[derive(Debug, Clone)]
pub struct SfnStarter {
    client: aws_sdk_sfn::Client,
    state_machine_arn: String,
}

impl SfnStarter {
    pub fn new(client: aws_sdk_sfn::Client, state_machine_arn: impl Into<String>) -> Self {
        Self {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }
}

impl ExecutionStarter for SfnStarter {
    async fn start(&self, name: &str, input: String) -> Result<Started, StartError> {
        use aws_sdk_sfn::error::{ProvideErrorMetadata, SdkError};
        let out = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await;
        match out {
            Ok(o) => Ok(Started::New(o.execution_arn)),
            Err(e) if e.code() == Some("ExecutionAlreadyExists") => Ok(Started::AlreadyRunning),
            Err(e) => {
                let msg = aws_sdk_sfn::error::DisplayErrorContext(&e).to_string();
                let transient = match &e {
                    SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
                    SdkError::ServiceError(s) => {
                        matches!(
                            s.err().code(),
                            Some("ThrottlingException" | "ServiceUnavailable" | "InternalFailure")
                        )
                    }
                    _ => false,
                };
                Err(if transient {
                    StartError::Transient(msg)
                } else {
                    StartError::Rejected(msg)
                })
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the delivery step does not serialize: {0}")]
    Input(#[from] serde_json::Error),
}

/// Sends a dead delivery again (`zb deliveries replay`, the admin API's
/// replay): it goes back to PENDING with its replay count raised
/// ([`DeliveryStore::reopen`]) and a new webhook-delivery run starts, named
/// for that count, with the same webhook-id, so a receiver that did get it
/// after all deduplicates it. `None`: no such delivery, or it is not DEAD
/// (a delivered one is never sent again, a retrying one already has a run).
///
/// [`DeliveryStore::reopen`]: crate::store::DeliveryStore::reopen
pub async fn replay_delivery<S: ExecutionStarter>(
    store: &crate::store::DeliveryStore,
    starter: &S,
    partner_id: &str,
    delivery_id: &str,
    now: &str,
    meter: &crate::cost::CostMeter,
) -> Result<Option<(crate::delivery::Delivery, Started)>, ReplayError> {
    let Some(d) = store.reopen(partner_id, delivery_id, now, meter).await? else {
        return Ok(None);
    };
    let step = crate::delivery::DeliveryStep {
        partner_id: d.partner_id.clone(),
        delivery_id: d.delivery_id.clone(),
        attempt: 0,
        outcome: None,
        wait_seconds: None,
    };
    let started = starter
        .start(&d.execution_name(), serde_json::to_string(&step)?)
        .await?;
    Ok(Some((d, started)))
}
