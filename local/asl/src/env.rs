//! What an expression can read while a state runs: the JSONPath roots (`$` the data being processed,
//! `$$` the context object, `$name` a workflow variable) and, in JSONata states, the bindings
//! (`$states` and every variable by name).

use serde_json::{Map, Value};

/// The roots a path, intrinsic argument, template or condition reads from.
#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub(crate) input: &'a Value,
    pub(crate) context: &'a Value,
    pub(crate) vars: &'a Map<String, Value>,
    /// JSONata bindings (`states` plus the variables); None in JSONPath states.
    pub(crate) bindings: Option<&'a Map<String, Value>>,
}

static NO_VARIABLES: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'a> Env<'a> {
    /// JSONPath roots without variables (tests and callers that predate variables).
    pub(crate) fn plain(input: &'a Value, context: &'a Value) -> Self {
        Self {
            input,
            context,
            vars: &NO_VARIABLES,
            bindings: None,
        }
    }
}

/// The `$states` object a JSONata expression sees ("Transforming data with JSONata in Step
/// Functions": input, context, and result / errorOutput where the state has them), with every
/// visible variable bound by name beside it.
pub(crate) fn jsonata_bindings(
    vars: &Map<String, Value>,
    input: &Value,
    context: &Value,
    result: Option<&Value>,
    error_output: Option<&Value>,
) -> Map<String, Value> {
    let mut states = Map::new();
    states.insert("input".to_owned(), input.clone());
    states.insert("context".to_owned(), context.clone());
    if let Some(result) = result {
        states.insert("result".to_owned(), result.clone());
    }
    if let Some(error_output) = error_output {
        states.insert("errorOutput".to_owned(), error_output.clone());
    }
    let mut bindings = vars.clone();
    bindings.insert("states".to_owned(), Value::Object(states));
    bindings
}
