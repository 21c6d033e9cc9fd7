//! An Amazon States Language interpreter for ZeroBeta's local cloud: it runs the order pipeline's
//! Step Functions state machine on a laptop, invoking Lambda functions through [`TaskInvoker`] and
//! recording the same history events (names and detail shapes) as GetExecutionHistory.
//!
//! Supported: Pass, Task (Lambda function ARNs and `arn:aws:states:::lambda:invoke`), Choice, Wait,
//! Succeed, Fail, Parallel and inline Map states; JSONPath and JSONata (`QueryLanguage`) input/output
//! processing; workflow variables (`Assign`); intrinsic functions; Retry and Catch; task and
//! execution timeouts; stopping an execution. Everything else (other service integrations, `.sync`,
//! callbacks, activities, Distributed Map) is refused by [`StateMachine::parse`] with an error naming
//! the state and feature.
//!
//! A refusal also reads the way CreateStateMachine words it ([`DefinitionError::aws_message`]:
//! AWS's diagnostic code, message and JSON pointer). [`test_state`] is the TestState API's core:
//! one state, one attempt, and the data after each processing step.

mod choice;
mod context;
mod definition;
mod env;
mod execution;
mod history;
mod interpreter;
mod intrinsic;
mod jsonata;
mod path;
mod retry;
mod task;
mod template;
mod test_state;
mod timing;
mod value;

pub use definition::{DefinitionError, Diagnostic, Location, StateMachine};
pub use execution::{execute, ExecutionOptions, Outcome, StopHandle, StopReason};
pub use history::{render_event, render_history, HistoryEvent, HistorySink};
pub use task::{TaskFailure, TaskInvoker};
pub use test_state::{
    test_state, ErrorDetails, FieldValidationMode, InspectionData, InspectionLevel, Mock, MockError, MockRequest,
    StateConfiguration, TestOptions, TestRequest, TestStateError, TestStateResult, TestStatus, TestTarget,
    TEST_STATE_TIME_LIMIT,
};
