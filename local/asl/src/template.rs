//! Payload templates: the `Parameters`, `ResultSelector` and `ItemSelector` objects whose `.$`
//! fields are filled from the input, the context object, a variable or an intrinsic function; and
//! their JSONata counterparts (`Arguments`, `Output`, `Assign`, ...), any JSON value whose
//! `{% … %}` strings are JSONata expressions ("Transforming data with JSONata in Step Functions").

use serde_json::{Map, Value};

use crate::env::Env;
use crate::intrinsic::{Intrinsic, IntrinsicError};
use crate::jsonata::{self, Expression, JsonataError};
use crate::path::{Path, PathError};
use crate::value::json_text;

/// Why a template could not be compiled or filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("field \"{field}\": {source}")]
    Path { field: String, source: PathError },
    #[error("field \"{field}\": {source}")]
    Intrinsic { field: String, source: IntrinsicError },
    #[error("field \"{field}\" ends in \".$\" so its value must be a string (a path or an intrinsic function)")]
    NotAString { field: String },
    #[error("field \"{field}\" appears twice once the \".$\" suffix is removed")]
    Duplicate { field: String },
    #[error("a payload template must be a JSON object")]
    NotAnObject,
    // Worded like AWS (States.Runtime cause).
    #[error("The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{input}'")]
    Missing { field: String, path: String, input: String },
    // AWS's words for JSONata results (assign/test_assign_reference_variables.snapshot.json::
    // test_undefined_reference, intrinsic_functions/test_math_operations_jsonata.snapshot.json).
    #[error("The JSONata expression '{text}' specified for the field '{field}' returned nothing (undefined).")]
    Undefined { field: String, text: String },
    #[error(
        "The JSONata expression '{text}' specified for the field '{field}' threw an error during evaluation. {detail}"
    )]
    Evaluation {
        field: String,
        text: String,
        detail: String,
    },
    #[error("field \"{field}\": the JSONata expression '{text}' is not valid: {message}")]
    JsonataSyntax {
        field: String,
        text: String,
        message: String,
    },
    #[error("The function '{call}' specified for the field '{field}' failed: {source}")]
    Failed {
        field: String,
        call: String,
        source: IntrinsicError,
    },
}

impl TemplateError {
    /// True for JSONata failures, which fail the state with States.QueryEvaluationError.
    pub(crate) fn is_query_evaluation(&self) -> bool {
        matches!(self, Self::Undefined { .. } | Self::Evaluation { .. })
    }

    /// The field (`Output/result`) a JSONata failure happened in, for EvaluationFailed's location.
    pub(crate) fn location(&self) -> Option<&str> {
        match self {
            Self::Undefined { field, .. } | Self::Evaluation { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// `{% expr %}` as `expr`, trimmed; AWS quotes the trimmed text in its messages.
pub(crate) fn jsonata_text(text: &str) -> Option<&str> {
    Some(text.strip_prefix("{%")?.strip_suffix("%}")?.trim())
}

/// Compiles one JSONata expression of field `field`.
pub(crate) fn compile_expression(text: &str, field: &str) -> Result<Expression, TemplateError> {
    jsonata::compile(text).map_err(|e| TemplateError::JsonataSyntax {
        field: field.to_owned(),
        text: text.to_owned(),
        message: e.message,
    })
}

/// Evaluates a JSONata expression; undefined is an error, as AWS allows no undefined field value.
pub(crate) fn evaluate_expression(
    expr: &Expression,
    field: &str,
    bindings: &Map<String, Value>,
) -> Result<Value, TemplateError> {
    match expr.evaluate(bindings) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(TemplateError::Undefined {
            field: field.to_owned(),
            text: expr.text().to_owned(),
        }),
        Err(JsonataError { code, message }) => Err(TemplateError::Evaluation {
            field: field.to_owned(),
            text: expr.text().to_owned(),
            detail: match code {
                Some(code) => format!("{code}: {message}"),
                None => message,
            },
        }),
    }
}

/// A compiled payload template.
#[derive(Debug, Clone)]
pub struct Template {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Literal(Value),
    // The original key (with ".$") is kept for error messages.
    Path {
        key: String,
        path: Path,
    },
    Intrinsic {
        key: String,
        call: Intrinsic,
    },
    /// A `{% … %}` string of a JSONata template; `field` is its location (`Output/result`).
    Jsonata {
        field: String,
        expr: Expression,
    },
}

impl Template {
    /// Compiles a template; `.$` values are parsed now so mistakes surface when the definition loads.
    pub fn compile(value: &Value) -> Result<Self, TemplateError> {
        if !value.is_object() {
            return Err(TemplateError::NotAnObject);
        }
        Ok(Self {
            root: compile_node(value)?,
        })
    }

    /// Compiles a JSONata field (`Arguments`, `Output`, an `Assign` value...): any JSON value, its
    /// whole-string `{% … %}` values expressions; `field` names it in messages.
    pub(crate) fn compile_jsonata(value: &Value, field: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            root: compile_jsonata_node(value, field)?,
        })
    }

    /// Fills the template from `input` (plain paths) and `context` (`$$` paths).
    #[cfg(test)]
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, TemplateError> {
        self.evaluate_in(&Env::plain(input, context))
    }

    /// Fills the template: paths read `env`'s roots, JSONata expressions its bindings.
    pub(crate) fn evaluate_in(&self, env: &Env<'_>) -> Result<Value, TemplateError> {
        evaluate_node(&self.root, env)
    }

    /// The expression's text when the whole template is one `{% … %}` expression.
    pub(crate) fn jsonata_source(&self) -> Option<&str> {
        match &self.root {
            Node::Jsonata { expr, .. } => Some(expr.text()),
            _ => None,
        }
    }

    /// The template's value when it holds no expression at all.
    pub(crate) fn literal(&self) -> Option<&Value> {
        match &self.root {
            Node::Literal(value) => Some(value),
            _ => None,
        }
    }
}

fn compile_jsonata_node(value: &Value, field: &str) -> Result<Node, TemplateError> {
    Ok(match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, child) in map {
                // A `.$` key is an ordinary key in JSONata (outputdecl/test_output.py::
                // test_base_cases[BASE_LITERALS]: "constant_jp_input.$" is output as is).
                let here = format!("{field}/{key}");
                fields.push((key.clone(), compile_jsonata_node(child, &here)?));
            }
            if fields.iter().all(|(_, node)| matches!(node, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Object(fields)
            }
        }
        Value::Array(items) => {
            let nodes = items
                .iter()
                .enumerate()
                .map(|(i, item)| compile_jsonata_node(item, &format!("{field}/{i}")))
                .collect::<Result<Vec<_>, _>>()?;
            if nodes.iter().all(|node| matches!(node, Node::Literal(_))) {
                Node::Literal(value.clone())
            } else {
                Node::Array(nodes)
            }
        }
        Value::String(text) => match jsonata_text(text) {
            Some(expr) => Node::Jsonata {
                field: field.to_owned(),
                expr: compile_expression(expr, field)?,
            },
            None => Node::Literal(value.clone()),
        },
        other => Node::Literal(other.clone()),
    })
}

fn compile_node(value: &Value) -> Result<Node, TemplateError> {
    Ok(match value {
        Value::Object(map) => {
            let mut fields: Vec<(String, Node)> = Vec::with_capacity(map.len());
            for (key, child) in map {
                let (name, node) = match key.strip_suffix(".$") {
                    Some(name) => (name.to_owned(), compile_dynamic(key, child)?),
                    None => (key.clone(), compile_node(child)?),
                };
                if fields.iter().any(|(existing, _)| *existing == name) {
                    return Err(TemplateError::Duplicate { field: name });
                }
                fields.push((name, node));
            }
            Node::Object(fields)
        }
        Value::Array(items) => Node::Array(items.iter().map(compile_node).collect::<Result<_, _>>()?),
        other => Node::Literal(other.clone()),
    })
}

fn compile_dynamic(key: &str, value: &Value) -> Result<Node, TemplateError> {
    let Value::String(text) = value else {
        return Err(TemplateError::NotAString { field: key.to_owned() });
    };
    if text.starts_with('$') {
        let path = Path::parse(text).map_err(|source| TemplateError::Path {
            field: key.to_owned(),
            source,
        })?;
        Ok(Node::Path {
            key: key.to_owned(),
            path,
        })
    } else {
        let call = Intrinsic::parse(text).map_err(|source| TemplateError::Intrinsic {
            field: key.to_owned(),
            source,
        })?;
        Ok(Node::Intrinsic {
            key: key.to_owned(),
            call,
        })
    }
}

fn evaluate_node(node: &Node, env: &Env<'_>) -> Result<Value, TemplateError> {
    Ok(match node {
        Node::Object(fields) => {
            let mut map = Map::new();
            for (name, child) in fields {
                map.insert(name.clone(), evaluate_node(child, env)?);
            }
            Value::Object(map)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| evaluate_node(item, env))
                .collect::<Result<_, _>>()?,
        ),
        Node::Literal(value) => value.clone(),
        Node::Path { key, path } => {
            let source = path.root(env).map_err(|source| TemplateError::Path {
                field: key.clone(),
                source,
            })?;
            path.select(source).map_err(|_| TemplateError::Missing {
                field: key.clone(),
                path: path.as_str().to_owned(),
                input: json_text(source),
            })?
        }
        Node::Jsonata { field, expr } => {
            let empty = Map::new();
            evaluate_expression(expr, field, env.bindings.unwrap_or(&empty))?
        }
        Node::Intrinsic { key, call } => call.evaluate_in(env).map_err(|source| TemplateError::Failed {
            field: key.clone(),
            call: call.as_str().to_owned(),
            source,
        })?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn spec_payload_template_example() {
        let template = Template::compile(&json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
            "weekday.$": "$$.DayOfWeek",
            "formattedOutput.$": "States.Format('Today is {}', $$.DayOfWeek)"
        }))
        .unwrap();
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        let context = json!({"DayOfWeek": "TUESDAY"});
        assert_eq!(
            template.evaluate(&input, &context).unwrap(),
            json!({
                "flagged": true,
                "parts": {"first": 0, "last3": [30, 40, 50]},
                "weekday": "TUESDAY",
                "formattedOutput": "Today is TUESDAY"
            })
        );
    }

    #[test]
    fn fields_inside_arrays_are_processed() {
        let template = Template::compile(&json!({"list": [{"a.$": "$.x"}, 1]})).unwrap();
        assert_eq!(
            template.evaluate(&json!({"x": 2}), &json!({})).unwrap(),
            json!({"list": [{"a": 2}, 1]})
        );
    }

    #[test]
    fn missing_path_error_names_the_field_like_aws() {
        let template = Template::compile(&json!({"JobName.$": "$.JobName"})).unwrap();
        let err = template.evaluate(&json!({}), &json!({})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'"
        );
    }

    #[test]
    fn compile_errors() {
        assert!(matches!(
            Template::compile(&json!({"a.$": 1})),
            Err(TemplateError::NotAString { .. })
        ));
        assert!(matches!(
            Template::compile(&json!({"a.$": "$.x", "a": 1})),
            Err(TemplateError::Duplicate { .. })
        ));
        assert!(matches!(
            Template::compile(&json!({"a.$": "States.Nope()"})),
            Err(TemplateError::Intrinsic {
                source: IntrinsicError::Unknown { .. },
                ..
            })
        ));
        assert!(matches!(
            Template::compile(&json!([1])),
            Err(TemplateError::NotAnObject)
        ));
    }
}
