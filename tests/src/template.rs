//! Reading template.yaml the way CloudFormation does: short-form intrinsics
//! (`!Ref`, `!GetAtt`, `!Sub`) arrive from serde_yaml as
//! [`Value::Tagged`]; the long forms (`Ref:`, `Fn::GetAtt:`) as one-key
//! mappings. [`intrinsic`] understands both.

use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// The repository root (the workspace this crate lives in).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent directory", env!("CARGO_MANIFEST_DIR")))
        .to_path_buf()
}

/// `template.yaml` at the repository root.
pub fn template_path() -> PathBuf {
    repo_root().join("template.yaml")
}

/// A parsed SAM/CloudFormation template.
#[derive(Debug, Clone)]
pub struct Template {
    pub doc: Value,
}

impl Template {
    /// Loads the repository's template.yaml; panics with the reason when it
    /// cannot be read or parsed.
    pub fn load() -> Self {
        let path = template_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        Self::parse(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, serde_yaml::Error> {
        Ok(Self {
            doc: serde_yaml::from_str(text)?,
        })
    }

    /// Every resource as (logical id, resource), in template order.
    pub fn resources(&self) -> Vec<(&str, &Value)> {
        match self.doc.get("Resources").and_then(Value::as_mapping) {
            Some(map) => map.iter().filter_map(|(k, v)| k.as_str().map(|k| (k, v))).collect(),
            None => Vec::new(),
        }
    }

    /// The resources of one `Type`, as (logical id, resource).
    pub fn resources_of_type(&self, ty: &str) -> Vec<(&str, &Value)> {
        self.resources()
            .into_iter()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
            .collect()
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.doc.get("Resources")?.get(logical_id)
    }

    /// The `Type` of a resource.
    pub fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resource(logical_id)?.get("Type")?.as_str()
    }

    /// `Globals.Function`, if any.
    pub fn function_globals(&self) -> Option<&Value> {
        self.doc.get("Globals")?.get("Function")
    }

    pub fn has_parameter(&self, name: &str) -> bool {
        self.doc.get("Parameters").and_then(|p| p.get(name)).is_some()
    }
}

/// Follows a path of mapping keys.
pub fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| untag(v).get(*key))
}

/// The value under a tag (or the value itself when untagged).
pub fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

/// A CloudFormation intrinsic function, in short or long form.
#[derive(Debug, Clone, PartialEq)]
pub enum Intrinsic<'a> {
    /// `!Ref X` / `Ref: X`.
    Ref(&'a str),
    /// `!GetAtt X.Attr` / `!GetAtt [X, Attr]` / `Fn::GetAtt: ...`.
    GetAtt { resource: String, attribute: String },
    /// Any other function: its name without `!`/`Fn::`, and its argument.
    Other(String, &'a Value),
}

/// Reads `v` as an intrinsic function call, if it is one.
pub fn intrinsic(v: &Value) -> Option<Intrinsic<'_>> {
    let (name, arg): (String, &Value) = match v {
        Value::Tagged(t) => (t.tag.to_string().trim_start_matches('!').to_string(), &t.value),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            if k != "Ref" && !k.starts_with("Fn::") {
                return None;
            }
            (k.trim_start_matches("Fn::").to_string(), arg)
        }
        _ => return None,
    };
    Some(match name.as_str() {
        "Ref" => Intrinsic::Ref(arg.as_str()?),
        "GetAtt" => {
            let (resource, attribute) = match arg {
                Value::String(s) => {
                    let (r, a) = s.split_once('.')?;
                    (r.to_string(), a.to_string())
                }
                Value::Sequence(seq) if seq.len() == 2 => (seq[0].as_str()?.to_string(), seq[1].as_str()?.to_string()),
                _ => return None,
            };
            Intrinsic::GetAtt { resource, attribute }
        }
        _ => Intrinsic::Other(name, arg),
    })
}

/// A scalar as text (YAML may type `true`, `30` or `2.0` as non-strings).
pub fn scalar_text(v: &Value) -> Option<String> {
    match untag(v) {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_intrinsics_read_the_same() {
        let t = Template::parse(
            "A: !Ref Table\nB: {Ref: Table}\nC: !GetAtt Fn.Arn\nD: {'Fn::GetAtt': [Fn, Arn]}\nE: !Sub '${X}'\nF: plain\n",
        )
        .expect("valid YAML");
        let d = &t.doc;
        assert_eq!(intrinsic(&d["A"]), Some(Intrinsic::Ref("Table")));
        assert_eq!(intrinsic(&d["B"]), Some(Intrinsic::Ref("Table")));
        let arn = Some(Intrinsic::GetAtt {
            resource: "Fn".into(),
            attribute: "Arn".into(),
        });
        assert_eq!(intrinsic(&d["C"]), arn);
        assert_eq!(intrinsic(&d["D"]), arn);
        assert!(matches!(intrinsic(&d["E"]), Some(Intrinsic::Other(n, _)) if n == "Sub"));
        assert_eq!(intrinsic(&d["F"]), None);
    }
}
