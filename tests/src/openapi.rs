//! Reading the OpenAPI documents (openapi.yaml, openapi-admin.yaml) and the
//! template's HTTP API routes they describe: shared by the contract tests.

use crate::template::{intrinsic, repo_root, Intrinsic, Template};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The methods an OpenAPI path item can hold.
pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The document `file` at the repository's root, as JSON.
pub fn load(file: &str) -> Value {
    let path = repo_root().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} is not valid YAML: {e}"))
}

/// A validator for one component, resolving its `#/components/...` refs
/// against the whole document.
pub fn validator(spec: &Value, name: &str) -> jsonschema::Validator {
    let mut root = spec.clone();
    root["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("components.schemas.{name}: {e}"))
}

/// `partner-a` -> `PartnerA`, `malformed-body` -> `MalformedBody`.
pub fn pascal(s: &str) -> String {
    s.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Every operation of the document as (METHOD, path) -> operation.
pub fn operations(spec: &Value) -> BTreeMap<(String, String), &Value> {
    let mut ops = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.insert((method.to_ascii_uppercase(), path.clone()), op);
            }
        }
    }
    ops
}

/// The HttpApi events of template.yaml, as (METHOD, path), whose `ApiId`
/// (none for the implicit API) `on_api` keeps.
pub fn template_routes(on_api: impl Fn(Option<Intrinsic<'_>>) -> bool) -> BTreeSet<(String, String)> {
    let template = Template::load();
    let mut routes = BTreeSet::new();
    for (id, function) in template.resources_of_type("AWS::Serverless::Function") {
        let Some(events) = function
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(|e| e.as_mapping())
        else {
            continue;
        };
        for (_, event) in events {
            if event.get("Type").and_then(|t| t.as_str()) != Some("HttpApi") {
                continue;
            }
            let props = event
                .get("Properties")
                .unwrap_or_else(|| panic!("{id}: HttpApi event without Properties"));
            if !on_api(props.get("ApiId").and_then(intrinsic)) {
                continue;
            }
            let method = props.get("Method").and_then(|m| m.as_str()).unwrap_or_default();
            let path = props.get("Path").and_then(|m| m.as_str()).unwrap_or_default();
            routes.insert((method.to_ascii_uppercase(), path.to_string()));
        }
    }
    routes
}
