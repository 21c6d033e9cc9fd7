//! Payload templates: the `Parameters`, `ResultSelector` and `ItemSelector` objects whose `.$`
//! fields are filled from the input, the context object or an intrinsic function.

use serde_json::{Map, Value};

use crate::intrinsic::{Intrinsic, IntrinsicError};
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
    #[error("The function '{call}' specified for the field '{field}' failed: {source}")]
    Failed {
        field: String,
        call: String,
        source: IntrinsicError,
    },
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
    Path { key: String, path: Path },
    Intrinsic { key: String, call: Intrinsic },
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

    /// Fills the template from `input` (plain paths) and `context` (`$$` paths).
    pub fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, TemplateError> {
        evaluate_node(&self.root, input, context)
    }
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

fn evaluate_node(node: &Node, input: &Value, context: &Value) -> Result<Value, TemplateError> {
    Ok(match node {
        Node::Object(fields) => {
            let mut map = Map::new();
            for (name, child) in fields {
                map.insert(name.clone(), evaluate_node(child, input, context)?);
            }
            Value::Object(map)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| evaluate_node(item, input, context))
                .collect::<Result<_, _>>()?,
        ),
        Node::Literal(value) => value.clone(),
        Node::Path { key, path } => {
            let source = if path.is_context() { context } else { input };
            path.select(source).map_err(|_| TemplateError::Missing {
                field: key.clone(),
                path: path.as_str().to_owned(),
                input: json_text(source),
            })?
        }
        Node::Intrinsic { key, call } => call.evaluate(input, context).map_err(|source| TemplateError::Failed {
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
