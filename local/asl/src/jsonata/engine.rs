//! The JSONata engine: [jlens-core](https://crates.io/crates/jlens-core) 0.26, with Step
//! Functions' additions ([`super::functions`]).
//!
//! # Why jlens-core
//!
//! Three crates were vetted on 2026-12-06: versions and publication times from the crates.io
//! index (`pubtime`), everything else from the packages' sources after `cargo fetch`.
//!
//! | | jlens-core | jsonata-core | jsonata-rs |
//! |---|---|---|---|
//! | version vetted | 0.26.0 | 2.2.13 | 0.3.4 |
//! | licence | MIT (its dependencies: MIT/Apache-2.0, Zlib, Apache-2.0/BSL-1.0) | MIT | Apache-2.0 |
//! | releases | 31, 2026-10-10 to 2026-11-02 | 20, 2026-02-22 to 2026-10-24 | 17, 2023-11-13 to 2025-02-03 |
//! | claims | 1,688 of 1,690 official cases | 1,686 of 1,686 | "(incomplete)", alpha |
//! | jsonata-js v2.0.6 suite* | 1,619 of 1,623 | 1,607 of 1,623 | — |
//! | jsonata-js v2.2.2 suite* | 1,680 of 1,684 | 1,668 of 1,684 | — |
//! | values | `serde_json::Value` in and out, `None` = undefined | its own `JValue`, converted both ways | input as JSON text, arena values out |
//! | variables | `Bindings::var` | `Context::bind` | a `HashMap` of serde_json values |
//! | host functions | `HostFunction`, optional signature, first-class (`$map(x, $parse)`) | `register_fn(_override)`, `Rc`, no signature | `register_function`, `fn` pointers only |
//! | threads | `Expression` is `Send + Sync` | `Evaluator` is not `Send` (`Rc`) | arena-bound |
//! | errors | `Error::code()` + `message()`, jsonata-js's catalogue | a string prefixed with the code; some syntax errors have none | strings |
//! | guards | timeout, depth, array/string/result size, fixed clock/seed | timeout, depth, sequence length | depth, time |
//!
//! \* Run with a scratch harness outside this repository: every case but two, whose lone UTF-16
//! surrogates no Rust string can hold (`$encodeUrl` of one). jlens's four misses are the same on both: three
//! cases where the suite's harness turns a depth or time limit into U1001 and jlens reports its
//! own D1011/D1012, and `$string(1/0)`, where jlens fails on `1/0` itself (D1001) rather than in
//! `$string` (D3001). jsonata-core misses those and twelve more, mostly syntax errors reported
//! without their JSONata code. The suite is not in the crates' packages except as jsonata-rs's
//! fork of it, which is where `suite_cases.json` (tested below) comes from.
//!
//! jlens-core is chosen for the API fit (serde_json values, undefined as `None`, variables and
//! signature-checked host functions as bindings, `Send + Sync` compiled expressions, coded errors
//! with jsonata-js's messages, which AWS's causes quote) and the conformance. jsonata-rs is
//! incomplete and unmaintained since February 2025.
//!
//! Costs of the choice:
//! - jlens-core is young: its first release was on 2026-10-10, and 0.26.0, its 31st, on
//!   2026-11-02; each 0.x minor is free to break the API. The dependency is held to 0.26.x, and everything the
//!   interpreter sees is behind [`Compiled`], so a change of engine stays in this file.
//! - It enables serde_json's `preserve_order` and `float_roundtrip` features, and Cargo unifies
//!   features, so every crate built together with zb-asl (a `--workspace` build) gets
//!   insertion-ordered `serde_json::Map`s: equality is unchanged, serialized key order changes
//!   from sorted to insertion order. jsonata-core enables `preserve_order` as well.
//! - It targets JSONata 2.2; AWS runs 2.0.6 (the page's "Supported JSONata version" note). Both
//!   suites above pass alike.
//! - Its numbers are doubles, as in jsonata-js: an integer beyond 2^53 in a binding loses
//!   precision, and `1/0` fails (D1001), where Floci measured AWS keeping 64-bit integers exact
//!   and answering `"Infinity"` (floci-io/floci #2783).
//!
//! # How Step Functions evaluates
//!
//! AWS, "Transforming data with JSONata in Step Functions": expressions reach state data through
//! the reserved variable `$states` and workflow variables through `$name`; every key of the
//! bindings becomes a variable. The context (`$`) is undefined: AWS refuses a definition whose
//! expression reads a field at the top level ("Reference to 'x' at the top level is not
//! supported", measured by Floci, floci-io/floci #2670), and evaluates with no context item.

use std::sync::Arc;
use std::time::Duration;

use jlens_core::Options;
use serde_json::{Map, Value};

use super::functions::{self, MAX_ARRAY_LENGTH};
use super::{Compiled, JsonataError, References};
use jlens_core::{Node, NodeKind};

/// How long one evaluation may run before it fails with D1012. AWS documents no bound, but it does
/// fail runaway expressions (Floci, floci-io/floci #2667); JSONata optimises tail calls, so
/// `($f := function(){ $f() }; $f())` would otherwise loop for ever and hold an execution
/// RUNNING. Generous, so no expression AWS finishes is cut short.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The longest string, in bytes, an evaluation may build (U1001 beyond): the same memory bound as
/// [`MAX_ARRAY_LENGTH`], which Floci measured as AWS accepting a string of 2^22 characters and
/// refusing one of 2^23 (floci-io/floci #2783).
const MAX_STRING_LENGTH: usize = 6_990_256;

/// A compiled expression of jlens-core.
#[derive(Debug)]
struct Jlens {
    expression: jlens_core::Expression,
}

impl Compiled for Jlens {
    fn evaluate(&self, bindings: &Map<String, Value>) -> Result<Option<Value>, JsonataError> {
        run(&self.expression, None, bindings)
    }

    fn references(&self) -> References {
        let mut found = References::default();
        let root = &self.expression.ast().root;
        top_level(root, &mut found.top_level);
        root.walk(&mut |node| {
            if let Some(field) = states_field(node) {
                if !found.states_fields.iter().any(|f| f == field) {
                    found.states_fields.push(field.to_owned());
                }
            }
        });
        found
    }
}

/// Collects what `node` reads at the top level, following the rule Floci measured on AWS: only
/// the first step of a path reads the top-level context (later steps, predicates, sort terms and
/// groupings read the step before), while a lambda body keeps the context of the expression
/// defining it. Hand-written: jlens's own read analysis ([`jlens_core::Expression::reads_with`])
/// answers what an evaluation may read, which is wider than what AWS's validator refuses.
fn top_level(node: &Node, names: &mut Vec<String>) {
    let mut add = |name: String| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    match &node.kind {
        NodeKind::Path { steps, .. } => {
            if let Some(first) = steps.first() {
                top_level(first, names);
            }
        }
        NodeKind::Name { name } => add(name.clone()),
        // `$` is the context item (an empty name), `$$` the root; any other is a variable.
        NodeKind::Variable { name } if name.is_empty() => add("$".to_owned()),
        NodeKind::Variable { name } if name == "$" => add("$$".to_owned()),
        NodeKind::Negate { expr } => top_level(expr, names),
        NodeKind::Array { items } => items.iter().for_each(|item| top_level(item, names)),
        NodeKind::Object { pairs } => pairs.iter().for_each(|(key, value)| {
            top_level(key, names);
            top_level(value, names);
        }),
        NodeKind::Binary { lhs, rhs, .. } | NodeKind::Fallback { lhs, rhs, .. } | NodeKind::Apply { lhs, rhs } => {
            top_level(lhs, names);
            top_level(rhs, names);
        }
        NodeKind::Bind { rhs, .. } => top_level(rhs, names),
        NodeKind::Function { procedure, args } | NodeKind::Partial { procedure, args } => {
            top_level(procedure, names);
            args.iter().for_each(|arg| top_level(arg, names));
        }
        NodeKind::Lambda(lambda) => top_level(&lambda.body, names),
        NodeKind::Condition {
            condition,
            then,
            otherwise,
        } => {
            top_level(condition, names);
            top_level(then, names);
            if let Some(otherwise) = otherwise {
                top_level(otherwise, names);
            }
        }
        NodeKind::Block { exprs, .. } => exprs.iter().for_each(|expr| top_level(expr, names)),
        _ => {}
    }
}

/// `field` when `node` is a path starting `$states.field`.
fn states_field(node: &Node) -> Option<&str> {
    let NodeKind::Path { steps, .. } = &node.kind else {
        return None;
    };
    match (&steps.first()?.kind, &steps.get(1)?.kind) {
        (NodeKind::Variable { name }, NodeKind::Name { name: field }) if name == "states" => Some(field),
        _ => None,
    }
}

/// Compiles `text` with jlens-core. A syntax error keeps its JSONata code (`S0201`…).
pub(super) fn compile(text: &str) -> Result<Arc<dyn Compiled>, JsonataError> {
    let expression = jlens_core::Expression::compile(text).map_err(to_error)?;
    Ok(Arc::new(Jlens { expression }))
}

/// Evaluates `expression` on `input` (`None`: undefined, as Step Functions has it; the suite
/// test passes the cases' documents) with every key of `bindings` as a variable, on top of Step
/// Functions' functions. A variable named like one of them shadows it, as a JSONata binding
/// shadows a built-in.
fn run(
    expression: &jlens_core::Expression,
    input: Option<&Value>,
    bindings: &Map<String, Value>,
) -> Result<Option<Value>, JsonataError> {
    // jlens owns its bindings' values, so each evaluation copies them; `$states` is the state's
    // input, result and context, which AWS caps at 256 KiB each.
    let bindings = bindings
        .iter()
        .fold(functions::step_functions_bindings(), |all, (name, value)| {
            all.var(name.clone(), value.clone())
        });
    expression.evaluate_with(input, &bindings, &options()).map_err(to_error)
}

/// The guards of every evaluation (see [`TIMEOUT`], [`MAX_ARRAY_LENGTH`], [`MAX_STRING_LENGTH`]).
/// jlens's depth guard stays at its default: it already fails deep recursion with D1011 instead
/// of overflowing the stack.
fn options() -> Options {
    Options::new()
        .timeout(TIMEOUT)
        .max_array_length(MAX_ARRAY_LENGTH)
        .max_string_length(MAX_STRING_LENGTH)
}

/// jlens's code and message, without the position (AWS's causes quote `CODE: message` alone).
fn to_error(e: jlens_core::Error) -> JsonataError {
    JsonataError {
        code: Some(e.code().to_owned()),
        message: e.message(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::run;
    use crate::jsonata::{compile, JsonataError};

    fn eval(text: &str, bindings: Value) -> Result<Option<Value>, JsonataError> {
        let Value::Object(bindings) = bindings else {
            panic!("bindings must be an object");
        };
        compile(text)?.evaluate(&bindings)
    }

    #[test]
    fn states_and_variables_are_bound() {
        // AWS's conversion example: input {"title": "Doctor"}, variable customerName "María".
        let bindings = json!({"states": {"input": {"title": "Doctor"}}, "customerName": "María"});
        assert_eq!(eval("$states.input.title", bindings.clone()), Ok(Some(json!("Doctor"))));
        assert_eq!(eval("$customerName", bindings.clone()), Ok(Some(json!("María"))));
        assert_eq!(
            eval(
                r#"{"static": "Hello", "title": $states.input.title, "name": $customerName}"#,
                bindings
            ),
            Ok(Some(json!({"static": "Hello", "title": "Doctor", "name": "María"})))
        );
    }

    #[test]
    fn aws_examples() {
        // "Example: Input and Output".
        let states = json!({"states": {"input": {
            "customer": {"firstName": "Martha", "lastName": "Rivera"},
            "order": {"items": 7, "total": 27.91}
        }}});
        assert_eq!(
            eval("'Last=>' & $states.input.customer.lastName", states.clone()),
            Ok(Some(json!("Last=>Rivera")))
        );
        assert_eq!(eval("$states.input.order.total", states), Ok(Some(json!(27.91))));
        // "Example: Filtering with JSONata".
        let products = json!({"states": {"input": {"products": [
            {"calories": 140, "flavour": "Cola", "name": "Product-1"},
            {"calories": 0, "flavour": "Cola", "name": "Product-2"},
            {"calories": 160, "flavour": "Orange", "name": "Product-3"},
            {"calories": 100, "flavour": "Orange", "name": "Product-4"},
            {"calories": 0, "flavour": "Lime", "name": "Product-5"}
        ]}}});
        assert_eq!(
            eval("$states.input.products[calories=0]", products),
            Ok(Some(json!([
                {"calories": 0, "flavour": "Cola", "name": "Product-2"},
                {"calories": 0, "flavour": "Lime", "name": "Product-5"}
            ])))
        );
    }

    #[test]
    fn undefined_is_none_and_null_is_a_value() {
        // "Failure to return a result": `$data.thisFieldDoesNotExist` gives nothing; the
        // interpreter turns that into States.QueryEvaluationError.
        let bindings = json!({"states": {"input": {"a": null}}, "data": {}});
        assert_eq!(eval("$data.thisFieldDoesNotExist", bindings.clone()), Ok(None));
        assert_eq!(eval("$states.input.a", bindings.clone()), Ok(Some(Value::Null)));
        assert_eq!(
            eval("$exists($states.input.a)", bindings.clone()),
            Ok(Some(json!(true)))
        );
        assert_eq!(eval("$unbound", bindings), Ok(None));
    }

    #[test]
    fn the_context_is_undefined() {
        // Data is reached through $states only: `$`, `$$` and a bare field name read nothing.
        let bindings = json!({"states": {"input": {"name": "x"}}});
        assert_eq!(eval("$", bindings.clone()), Ok(None));
        assert_eq!(eval("$$", bindings.clone()), Ok(None));
        assert_eq!(eval("name", bindings.clone()), Ok(None));
        assert_eq!(eval("$states.input.($.name)", bindings), Ok(Some(json!("x"))));
    }

    #[test]
    fn errors_keep_the_code_and_message() {
        // "Type error": `$x + $y` fails when either is not a number.
        let e = eval("$x + $y", json!({"x": "1", "y": 2})).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("T2001"));
        assert_eq!(
            e.message,
            r#"The left side of the "+" operator must evaluate to a number"#
        );
        // AWS quotes this one in its causes (Floci, floci-io/floci #2668).
        let e = eval("$sum(['a'])", json!({})).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("T0412"));
        assert_eq!(
            e.message,
            r#"Argument 1 of function "sum" must be an array of "numbers""#
        );
        // A syntax error is refused when the definition is loaded.
        let e = compile("$states.input[").unwrap_err();
        assert_eq!(e.code.as_deref(), Some("S0203"));
        assert_eq!(e.message, "Expected \"]\" before end of expression");
    }

    #[test]
    fn runaway_expressions_fail() {
        let e = eval("[1..1000000]", json!({})).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("U1001"));
        let e = eval(
            "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000000))",
            json!({}),
        )
        .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("D1011"));
    }

    /// Numbers compare within rounding, as the suite's own harness allows for floating point.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                _ => false,
            },
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    #[test]
    fn references() {
        let refs = |text: &str| compile(text).map(|e| e.references());
        let top = |text: &str| refs(text).map(|r| r.top_level);
        // Floci's measurements on AWS (StepFunctionsTopLevelReferenceIntegrationTest).
        assert_eq!(top("phone"), Ok(vec!["phone".to_owned()]));
        assert_eq!(top("phone[0]"), Ok(vec!["phone".to_owned()]));
        assert_eq!(top("aaa + bbb"), Ok(vec!["aaa".to_owned(), "bbb".to_owned()]));
        assert_eq!(top("$.phone"), Ok(vec!["$".to_owned()]));
        assert_eq!(top("$$"), Ok(vec!["$$".to_owned()]));
        assert_eq!(top("phone = 1"), Ok(vec!["phone".to_owned()]));
        assert_eq!(
            top("$map($states.input.a, function($x){ b })"),
            Ok(vec!["b".to_owned()])
        );
        for text in [
            "$states.input.phone",
            "$states.input.items[phone > 3]",
            "$map($states.input.a, function($x){ $x.phone })",
            "$phone",
            "$hash($states.input.s, 'MD5') & $uuid() & $partition([1], 1)",
            "$x := 1",
            "$now()",
        ] {
            assert_eq!(top(text), Ok(vec![]), "{text}");
        }
        let fields = |text: &str| refs(text).map(|r| r.states_fields);
        assert_eq!(fields("$states.errorOutput"), Ok(vec!["errorOutput".to_owned()]));
        assert_eq!(
            fields("$states.result.Payload & $map([1], function($v){ $states.input.a })"),
            Ok(vec!["result".to_owned(), "input".to_owned()])
        );
        assert_eq!(fields("$phone.result"), Ok(vec![]));
    }

    #[test]
    fn official_suite_cases() {
        // Read as plain JSON: a case's `"result": null` must stay apart from no result at all.
        let suite: Value = match serde_json::from_str(include_str!("suite_cases.json")) {
            Ok(suite) => suite,
            Err(e) => panic!("suite_cases.json: {e}"),
        };
        let cases = suite["cases"].as_array().cloned().unwrap_or_default();
        assert!(cases.len() >= 30, "{} cases", cases.len());
        let mut failures = Vec::new();
        for case in &cases {
            let expr = case["expr"].as_str().unwrap_or_default();
            let bindings = case["bindings"].as_object().cloned().unwrap_or_default();
            // Through `run`, with the suite's input document where Step Functions has none.
            let got = jlens_core::Expression::compile(expr)
                .map_err(super::to_error)
                .and_then(|expression| run(&expression, case.get("data"), &bindings));
            let ok = match (&got, case.get("code"), case.get("result")) {
                (Err(e), Some(code), _) => e.code.as_deref() == code.as_str(),
                (Ok(None), None, None) => case["undefinedResult"] == json!(true),
                (Ok(Some(v)), None, Some(expected)) => same(v, expected),
                _ => false,
            };
            if !ok {
                failures.push(format!("{}: {expr} gave {got:?}", case["path"]));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
