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

    /// What the expression reads of the context (`$`) at its top level. Step Functions evaluates
    /// with no context, and AWS refuses such a definition ("Reference to 'phone' at the top level
    /// is not supported", as measured by Floci). An engine without the analysis says nothing.
    #[allow(
        dead_code,
        reason = "for definition validation (AWS refuses top-level reads at CreateStateMachine); not wired yet"
    )]
    fn top_level_reads(&self) -> TopLevelReads {
        TopLevelReads::Nothing
    }
}

/// What an expression reads of the context at its top level ([`Expression::top_level_reads`]).
#[allow(
    dead_code,
    reason = "for definition validation (AWS refuses top-level reads at CreateStateMachine); not wired yet"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TopLevelReads {
    /// Nothing: data comes through `$states` and variables only.
    Nothing,
    /// These fields, by name, in name order (`phone`, or `a` and `c` of `a.b + c`).
    Fields(Vec<String>),
    /// The context itself or all of it (`$`, `$$`, `*`, a built-in defaulting to its context).
    Whole,
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

    /// What the expression reads of the context at its top level, for refusing at definition
    /// time what AWS refuses (see [`Compiled::top_level_reads`]).
    #[allow(
        dead_code,
        reason = "for definition validation (AWS refuses top-level reads at CreateStateMachine); not wired yet"
    )]
    pub(crate) fn top_level_reads(&self) -> TopLevelReads {
        self.compiled.top_level_reads()
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
