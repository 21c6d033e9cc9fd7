//! JSONata for Step Functions (`QueryLanguage: "JSONata"`): the interpreter compiles every `{% … %}`
//! expression once, when the definition is loaded, and evaluates it with `$states` and the
//! workflow variables bound. The engine sits behind [`Compiled`] so it can be swapped.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

mod engine;
mod functions;

/// A JSONata error, with the engine's error code when it has one (e.g. "T2001").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonataError {
    pub code: Option<String>,
    pub message: String,
}

/// One compiled expression of some engine.
pub(crate) trait Compiled: Send + Sync + fmt::Debug {
    /// Evaluates the expression with `bindings` as its variables (`states` for `$states`, and
    /// each workflow variable by name). `Ok(None)` is JSONata's *undefined*.
    fn evaluate(&self, bindings: &Map<String, Value>) -> Result<Option<Value>, JsonataError>;

    /// What the expression refers to that CreateStateMachine checks ([`References`]). An engine
    /// without the analysis reports nothing.
    fn references(&self) -> References {
        References::default()
    }
}

/// What an expression refers to, as CreateStateMachine checks it (measured on AWS by Floci,
/// floci-io/floci `StepFunctionsTopLevelReferenceIntegrationTest`): Step Functions evaluates
/// with no context item, so a path starting from neither `$states` nor a variable is refused
/// ("Reference to 'phone' at the top level is not supported."), and `$states.result` or
/// `$states.errorOutput` where the field has no such value ("Field '$states.errorOutput' does not
/// exist.").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct References {
    /// What is read at the top level, in the order written, each once: field names, `$` (the
    /// context item) and `$$` (the root).
    pub(crate) top_level: Vec<String>,
    /// The fields read of `$states` (`input`, `result`, ...), each once, anywhere in the expression.
    pub(crate) states_fields: Vec<String>,
}

/// A compiled `{% … %}` expression (the text between the delimiters).
#[derive(Clone, Debug)]
pub(crate) struct Expression {
    text: String,
    compiled: Arc<dyn Compiled>,
}

impl Expression {
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn evaluate(&self, bindings: &Map<String, Value>) -> Result<Option<Value>, JsonataError> {
        self.compiled.evaluate(bindings)
    }

    /// What the expression refers to that CreateStateMachine checks.
    pub(crate) fn references(&self) -> References {
        self.compiled.references()
    }
}

/// Compiles `text` (without the `{%`/`%}` delimiters) with the engine the local cloud uses
/// (jlens-core, see engine.rs).
pub(crate) fn compile(text: &str) -> Result<Expression, JsonataError> {
    Ok(Expression {
        text: text.to_owned(),
        compiled: engine::compile(text)?,
    })
}
