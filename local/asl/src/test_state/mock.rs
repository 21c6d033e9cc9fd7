//! TestState's `mock`: a mocked `result` or `errorOutput` that stands in for what the state would
//! have invoked, and `fieldValidationMode`, how strictly a mocked result is checked against the
//! service API's response shape (AWS API reference, MockInput).

use serde_json::Value;

use super::TestStateError;

/// `mock.fieldValidationMode` (AWS API reference, MockInput): STRICT (the default) checks required
/// fields and the type of every known field; PRESENT only the fields present; NONE nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidationMode {
    #[default]
    Strict,
    Present,
    None,
}

impl FieldValidationMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "STRICT" => Some(Self::Strict),
            "PRESENT" => Some(Self::Present),
            "NONE" => Some(Self::None),
            _ => None,
        }
    }
}

/// `mock.errorOutput`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockError {
    pub error: String,
    pub cause: String,
}

/// `mock` as the request carries it: `result` is JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MockRequest {
    pub result: Option<String>,
    pub error_output: Option<MockError>,
    pub field_validation_mode: FieldValidationMode,
}

/// What the mocked state produces instead of invoking anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Mock {
    Result(Value),
    Error(MockError),
}

impl MockRequest {
    /// The mock, once its fields are known to be combinable (test_state_mock_validation.snapshot.json::
    /// test_both_mock_result_and_mock_error_output_are_set) and its result is JSON, whatever the
    /// validation mode (test_test_state_mock_scenarios.snapshot.json::
    /// test_base_lambda_service_task_mock_is_not_json_string).
    pub(super) fn parse(&self) -> Result<Mock, TestStateError> {
        match (&self.result, &self.error_output) {
            (Some(_), Some(_)) => Err(TestStateError::MockBothFields),
            (Some(text), None) => serde_json::from_str(text)
                .map(Mock::Result)
                .map_err(|_| TestStateError::MockNotJson),
            (None, Some(error)) => Ok(Mock::Error(error.clone())),
            // AWS's MockInput has neither field required; an empty mock mocks nothing to return.
            (None, None) => Err(TestStateError::MockEmpty),
        }
    }
}

/// A field of a service API's response, as much of the API model as the checks need.
#[derive(Debug, Clone, Copy)]
enum Shape {
    String {
        min_len: usize,
    },
    Integer,
    /// A blob travels as base64 text in JSON.
    Blob,
}

/// A response structure: (field, shape, required).
type Structure = &'static [(&'static str, Shape, bool)];

/// Lambda Invoke's response (AWS Lambda API reference, Invoke, "Response Syntax"): no field is
/// required; ExecutedVersion has length 1..1024. `Payload` is a blob, so a JSON object there is
/// refused, as the LocalStack test_field_validation_mode.py notes for AWS.
const LAMBDA_INVOKE_RESPONSE: Structure = &[
    ("StatusCode", Shape::Integer, false),
    ("FunctionError", Shape::String { min_len: 0 }, false),
    ("LogResult", Shape::String { min_len: 0 }, false),
    ("Payload", Shape::Blob, false),
    ("ExecutedVersion", Shape::String { min_len: 1 }, false),
];

/// Checks a mocked `arn:aws:states:::lambda:invoke` result against Lambda Invoke's response shape.
/// Fields outside the API model pass (test_field_validation_mode.snapshot.json::
/// test_strict_mode_mock_result_field_not_in_api_spec[field_not_part_of_api_spec]).
pub(super) fn check_lambda_invoke(result: &Value, mode: FieldValidationMode) -> Result<(), TestStateError> {
    check_structure(result, LAMBDA_INVOKE_RESPONSE, mode)
}

fn check_structure(value: &Value, members: Structure, mode: FieldValidationMode) -> Result<(), TestStateError> {
    if mode == FieldValidationMode::None {
        return Ok(());
    }
    let Value::Object(fields) = value else {
        return Err(schema_error("The mocked result must be a JSON object"));
    };
    for (name, shape, required) in members {
        match fields.get(*name) {
            // test_field_validation_mode.snapshot.json::test_strict_mode_sfn_task[missing_required_fields].
            None if *required && mode == FieldValidationMode::Strict => {
                return Err(schema_error(&format!("Required field '{name}' is missing")))
            }
            None => {}
            Some(field) => check_field(name, field, *shape)?,
        }
    }
    Ok(())
}

/// AWS's words per type: test_field_validation_mode.snapshot.json::test_strict_mode_lambda_task
/// ("must be a number") and ::test_strict_mode_aws_sdk_kms_task ("must be a string", "is smaller
/// than the minimum length").
fn check_field(name: &str, value: &Value, shape: Shape) -> Result<(), TestStateError> {
    match shape {
        Shape::Integer if !(value.is_i64() || value.is_u64()) => {
            Err(schema_error(&format!("Field '{name}' must be a number")))
        }
        Shape::String { .. } | Shape::Blob if !value.is_string() => {
            Err(schema_error(&format!("Field '{name}' must be a string")))
        }
        Shape::String { min_len } if value.as_str().is_some_and(|s| s.chars().count() < min_len) => Err(schema_error(
            &format!("Field '{name}' is smaller than the minimum length"),
        )),
        _ => Ok(()),
    }
}

fn schema_error(detail: &str) -> TestStateError {
    TestStateError::MockSchema(detail.to_owned())
}
