//! The functions Step Functions adds to JSONata, and the one it takes away.
//!
//! AWS, "Transforming data with JSONata in Step Functions", section "JSONata functions provided by
//! Step Functions" (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html#jsonata-functions-provided-by-sfn>):
//! `$partition`, `$range`, `$hash`, `$random` (JSONata's own, overloaded with a seed), `$uuid` and
//! `$parse`, which replaces `$eval` ("`$eval` is not supported in Step Functions workflows"; the
//! page's "Supported JSONata version" note: every 2.0.6 built-in is supported except `$eval`).
//!
//! The page documents what each function returns, not how it fails. Where it is silent, the
//! behaviour here follows what Floci's maintainers measured on AWS with TestState and recorded in
//! floci-io/floci issues #2662 and #2737 and pull request #2676 (a third party's measurements, not
//! AWS's word; each such rule says so where it is implemented). Failures use the codes AWS reports:
//! `T0410` for an argument of the wrong type or a surplus argument, `D3137` (JSONata's code for a
//! raised error) for a value the function refuses.

use std::sync::LazyLock;

use jlens_core::{Bindings, Error, HostCall, HostFunction};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The most values `$range` builds. AWS bounds the memory one expression may hold rather than the
/// length of one array; Floci measured AWS accepting `[1..873782]` and refusing one element more
/// (floci-io/floci pull request #2783), so that is the bound for every array an evaluation builds
/// (see `engine::options`), and `$range` checks it before allocating anything.
pub(super) const MAX_ARRAY_LENGTH: usize = 873_782;

/// The host functions and the `$eval` stand-in, built once: every evaluation starts from a clone,
/// which copies an `Arc` and an empty variable map.
static STEP_FUNCTIONS: LazyLock<Bindings> = LazyLock::new(|| {
    Bindings::new()
        // AWS disables `$eval`, and calling it fails with T1006 "Attempted to invoke a non-function"
        // (Floci, issue #2737): the name is not bound to a function there. A variable holding null
        // is the closest jlens allows (a binding cannot be undefined), and invoking it raises that
        // same T1006. Bindings take precedence over jlens's built-in of the same name.
        .var("eval", Value::Null)
        .function("partition", HostFunction::new(2, partition).without_input())
        .function("range", HostFunction::new(3, range).without_input())
        .function("hash", HostFunction::new(2, hash).without_input())
        .function("random", HostFunction::new(1, random).without_input())
        .function("uuid", HostFunction::new(0, uuid).without_input())
        .function("parse", HostFunction::new(1, parse).without_input())
});

/// Bindings holding Step Functions' functions, for the caller to add the variables to. The
/// functions are declared without signatures: AWS's own failures (a surplus argument named, a
/// missing chunk size meaning "one chunk") differ from what a JSONata signature would check.
pub(super) fn step_functions_bindings() -> Bindings {
    STEP_FUNCTIONS.clone()
}

type Args = [Option<Value>];
type Outcome = jlens_core::Result<Option<Value>>;

/// Argument `index` (0-based), `None` when the call left it out or it evaluated to undefined.
fn arg(args: &Args, index: usize) -> Option<&Value> {
    args.get(index).and_then(Option::as_ref)
}

/// `T0410: Argument {n} of function "{name}" does not match function signature`. jlens sets the
/// token (the function's name as called) at the call site, as jsonata-js does.
fn signature_error(argument: usize) -> Error {
    Error::new("T0410").with("index", argument)
}

/// A refusal in AWS's words, under JSONata's code for a raised error (what `$error` raises).
fn raised(message: impl Into<String>) -> Error {
    Error::new("D3137").with("message", message.into())
}

/// AWS refuses a call with more arguments than the function takes, naming the first surplus one
/// (Floci, pull request #2676). An undefined surplus argument is not counted, as AWS does not.
fn reject_surplus(args: &Args, taken: usize) -> jlens_core::Result<()> {
    match args.iter().skip(taken).position(Option::is_some) {
        Some(offset) => Err(signature_error(taken + offset + 1)),
        None => Ok(()),
    }
}

/// An integer argument. AWS: "Built-in JSONata functions that require integer values as
/// parameters will automatically round down any non-integer numbers provided." Floci measured
/// the rounding to be towards zero (`-1.7` is `-1`), which is what `as` does; for the positive
/// numbers the page's examples use, the two agree. Out-of-range values saturate, as a Java
/// `(long)` cast does.
fn integer(value: Option<&Value>, argument: usize) -> jlens_core::Result<i64> {
    match value.and_then(Value::as_f64) {
        Some(number) => Ok(number as i64),
        None => Err(signature_error(argument)),
    }
}

/// `$partition(array, size)`: "The interpreter chunks the input array into multiple arrays of the
/// size specified by chunk size. The length of the last array chunk may be less than the length of
/// the previous array chunks." Edges, per Floci's measurements (pull request #2676): an undefined
/// or empty array, or a size that rounds to zero, give undefined; no size gives the whole array as
/// one chunk; a negative size is refused; a non-array is refused with T0412.
fn partition(args: &Args, _call: &HostCall<'_>) -> Outcome {
    reject_surplus(args, 2)?;
    let Some(array) = arg(args, 0) else {
        return Ok(None);
    };
    let Value::Array(items) = array else {
        // AWS's message leaves the element type out: "must be an array of undefined".
        return Err(Error::new("T0412").with("index", 1));
    };
    if items.is_empty() {
        return Ok(None);
    }
    let Some(size) = arg(args, 1) else {
        return Ok(Some(Value::Array(vec![array.clone()])));
    };
    let size = integer(Some(size), 2)?;
    if size < 0 {
        return Err(raised("Second argument must be zero or greater"));
    }
    let Ok(size @ 1..) = usize::try_from(size) else {
        return Ok(None);
    };
    let chunks = items.chunks(size).map(|chunk| Value::Array(chunk.to_vec())).collect();
    Ok(Some(Value::Array(chunks)))
}

/// `$range(start, end, step)`: "a newly-generated array of values ranging from the first argument
/// of the function to the second argument of the function with elements in between adjusted by
/// the delta. The delta value can be positive or negative which will increment or decrement each
/// element from the last until the end value is reached or exceeded." The end is included when a
/// step lands on it (`$range(0, 10, 2)` is `[0, 2, 4, 6, 8, 10]`). The result is a JSONata
/// sequence, so a single value comes back alone: AWS recorded `$range(1, 9, 9)` as `1` (LocalStack's
/// parity snapshot `test_array_jsonata::test_array_range`, in tests/conformance/cases.json).
/// Edges, per Floci's measurements (pull request #2676): no step, a zero step or one pointing away
/// from the end gives undefined; a start or end that is not a number is refused.
fn range(args: &Args, _call: &HostCall<'_>) -> Outcome {
    reject_surplus(args, 3)?;
    let start = integer(arg(args, 0), 1)?;
    let end = integer(arg(args, 1), 2)?;
    let Some(step) = arg(args, 2) else {
        return Ok(None);
    };
    let step = integer(Some(step), 3)?;
    if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
        return Ok(None);
    }
    // In i128, so that neither the count nor a step near i64::MAX can overflow.
    let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    if count == 1 {
        return Ok(Some(Value::from(start)));
    }
    if count > MAX_ARRAY_LENGTH as i128 {
        return Err(Error::new("U1001").with(
            "message",
            format!("$range would build {count} values, over the limit of {MAX_ARRAY_LENGTH}"),
        ));
    }
    let values = (0..count).map(|i| Value::from((i128::from(start) + i * i128::from(step)) as i64));
    Ok(Some(Value::Array(values.collect())))
}

/// `$hash(data, algorithm)`: "The return value is a string of the calculated hash of the data", in
/// lowercase hex of the UTF-8 bytes, as `States.Hash` gives it. Edges, per Floci's measurements
/// (pull request #2676): data that is not a string (undefined included) and an algorithm that is
/// not a string are signature errors; no algorithm gives undefined; an unknown algorithm is
/// refused in AWS's words.
fn hash(args: &Args, _call: &HostCall<'_>) -> Outcome {
    reject_surplus(args, 2)?;
    let Some(Value::String(data)) = arg(args, 0) else {
        return Err(signature_error(1));
    };
    let Some(algorithm) = arg(args, 1) else {
        return Ok(None);
    };
    let Value::String(algorithm) = algorithm else {
        return Err(signature_error(2));
    };
    let digest = digest(algorithm, data.as_bytes()).ok_or_else(|| {
        raised(format!(
            "Hash algorithm '{algorithm}' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"
        ))
    })?;
    Ok(Some(Value::String(digest)))
}

/// The lowercase hex digest of `bytes` under `algorithm`, `None` for any other algorithm than
/// those the page lists: "The hashing algorithm must be one of the following values: "MD5",
/// "SHA-1", "SHA-256", "SHA-384", "SHA-512"". Matched exactly: Floci measured AWS refusing other
/// spellings, such as "sha-256".
fn digest(algorithm: &str, bytes: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    Some(match algorithm {
        "MD5" => hex::encode(<md5::Md5 as md5::Digest>::digest(bytes)),
        "SHA-1" => hex::encode(sha1::Sha1::digest(bytes)),
        "SHA-256" => hex::encode(sha2::Sha256::digest(bytes)),
        "SHA-384" => hex::encode(sha2::Sha384::digest(bytes)),
        "SHA-512" => hex::encode(sha2::Sha512::digest(bytes)),
        _ => return None,
    })
}

/// `$random([seed])`: "a random number n where 0 ≤ n < 1. The function takes an optional integer
/// argument representing the seed value of the random function. If you use this function with the
/// same seed value, it returns an identical number." Seeded, it is the first `nextDouble()` of a
/// `java.util.Random` built with that seed: Floci measured `$random(42)` as 0.7275636800328681 on
/// AWS (issue #2662), which is that generator's value bit for bit.
fn random(args: &Args, _call: &HostCall<'_>) -> Outcome {
    reject_surplus(args, 1)?;
    let number = match arg(args, 0) {
        None => rand::random::<f64>(),
        Some(seed) => java_random_next_double(integer(Some(seed), 1)?),
    };
    Ok(Some(Value::from(number)))
}

/// `new java.util.Random(seed).nextDouble()`: Java's 48-bit linear congruential generator
/// (java.util.Random's documented algorithm: multiplier 0x5DEECE66D, addend 0xB), two draws of 26
/// and 27 bits making a 53-bit fraction.
fn java_random_next_double(seed: i64) -> f64 {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;
    let mut state = (seed as u64 ^ MULTIPLIER) & MASK;
    let mut next = |bits: u32| {
        state = (state.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        state >> (48 - bits)
    };
    let high = next(26);
    let low = next(27);
    ((high << 27) + low) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `$uuid()`: "The function takes no arguments. This function return a v4 UUID."
fn uuid(args: &Args, _call: &HostCall<'_>) -> Outcome {
    reject_surplus(args, 0)?;
    Ok(Some(Value::String(uuid::Uuid::new_v4().to_string())))
}

/// `$parse(jsonString)`: "JSONata function to deserialize JSON strings. The function takes a
/// stringified JSON as its only argument." Edges, per Floci's measurements (pull request #2676):
/// undefined gives undefined, a non-string is a signature error, and text AWS's parser refuses
/// (not JSON, trailing text after the value, a repeated key, nothing at all) raises D3137.
fn parse(args: &Args, _call: &HostCall<'_>) -> Outcome {
    reject_surplus(args, 1)?;
    let Some(text) = arg(args, 0) else {
        return Ok(None);
    };
    let Value::String(text) = text else {
        return Err(signature_error(1));
    };
    parse_strict(text)
        .map(Some)
        .map_err(|e| raised(format!("Invalid JSON: {e}")))
}

/// Parses one JSON document, refusing repeated keys (serde_json keeps the last one) and anything
/// after the document (`end`).
fn parse_strict(text: &str) -> serde_json::Result<Value> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A `serde_json::Value` that fails on a repeated object key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key \"{key}\"")));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    //! Each function through the whole engine (`compile` then `evaluate`), so that the binding,
    //! the call and the conversion back are what is tested. Expected values come from the AWS page
    //! "Transforming data with JSONata in Step Functions" (section "JSONata functions provided by
    //! Step Functions") and, for its `States.*` equivalents, "Intrinsic functions for JSONPath
    //! states in Step Functions"; edges the pages leave open come from Floci's AWS measurements
    //! (floci-io/floci #2662, #2676, #2737), marked "Floci".

    use serde_json::{json, Map, Value};

    use super::java_random_next_double;
    use crate::jsonata::{compile, JsonataError};

    fn eval_with(text: &str, bindings: Value) -> Result<Option<Value>, JsonataError> {
        let Value::Object(bindings) = bindings else {
            panic!("bindings must be an object");
        };
        compile(text)?.evaluate(&bindings)
    }

    fn eval(text: &str) -> Result<Option<Value>, JsonataError> {
        compile(text)?.evaluate(&Map::new())
    }

    /// Fails with the expression named, so a table row that breaks says which.
    fn value(text: &str) -> Option<Value> {
        match eval(text) {
            Ok(v) => v,
            Err(e) => panic!("{text}: {e:?}"),
        }
    }

    fn code(text: &str) -> String {
        match eval(text) {
            Ok(v) => panic!("{text}: expected an error, got {v:?}"),
            Err(e) => e.code.unwrap_or_default(),
        }
    }

    #[test]
    fn partition_chunks_with_a_shorter_last_chunk() {
        let rows: &[(&str, Option<Value>)] = &[
            // The doc's example (with the chunk size from $states.input.chunkSize, here 2).
            ("$partition([1,2,3,4], 2)", Some(json!([[1, 2], [3, 4]]))),
            // "The length of the last array chunk may be less": the States.ArrayPartition
            // page's example, chunks of four out of nine.
            (
                "$partition([1,2,3,4,5,6,7,8,9], 4)",
                Some(json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])),
            ),
            (
                "$partition([1,2,3,4,5,6,7,8,9], 3)",
                Some(json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])),
            ),
            // "round down any non-integer numbers provided".
            ("$partition([1,2,3,4,5], 2.9)", Some(json!([[1, 2], [3, 4], [5]]))),
            ("$partition([1,2,3], 10)", Some(json!([[1, 2, 3]]))),
            // One chunk stays an array of one array: AWS recorded `$partition([0, 1], 2)` as
            // [[0, 1]] (LocalStack's test_array_partition snapshot).
            ("$partition([0,1], 2)", Some(json!([[0, 1]]))),
            ("$partition([0], 1)", Some(json!([[0]]))),
            // Floci: no size is one chunk; an empty array or a zero size is undefined.
            ("$partition([1,2,3])", Some(json!([[1, 2, 3]]))),
            ("$partition([], 2)", None),
            ("$partition([1,2], 0)", None),
            ("$partition($nothing, 2)", None),
        ];
        for (text, expected) in rows {
            assert_eq!(value(text), *expected, "{text}");
        }
        let bound = eval_with(
            "$partition([1,2,3,4], $states.input.chunkSize)",
            json!({"states": {"input": {"chunkSize": 3}}}),
        );
        assert_eq!(bound, Ok(Some(json!([[1, 2, 3], [4]]))));
    }

    #[test]
    fn partition_refusals() {
        // Floci: a negative size and a non-array are refused, a surplus argument is named.
        assert_eq!(code("$partition([1,2], -2)"), "D3137");
        assert_eq!(code("$partition('abc', 2)"), "T0412");
        assert_eq!(code("$partition([1], 'x')"), "T0410");
        let surplus = eval("$partition([1], 1, 2)").unwrap_err();
        assert_eq!(
            surplus.message,
            r#"Argument 3 of function "partition" does not match function signature"#
        );
    }

    #[test]
    fn range_steps_up_or_down_and_includes_a_reached_end() {
        let rows: &[(&str, Option<Value>)] = &[
            // The doc's example.
            ("$range(0, 10, 2)", Some(json!([0, 2, 4, 6, 8, 10]))),
            // "The delta value can be positive or negative".
            ("$range(10, 0, -5)", Some(json!([10, 5, 0]))),
            // "until the end value is reached or exceeded": 9 is not passed.
            ("$range(1, 9, 3)", Some(json!([1, 4, 7]))),
            // The States.ArrayRange page's example.
            ("$range(1, 9, 2)", Some(json!([1, 3, 5, 7, 9]))),
            ("$range(0.9, 4.5, 1.7)", Some(json!([0, 1, 2, 3, 4]))),
            // One value comes back alone: AWS recorded `$range(1, 9, 9)` as 1 (LocalStack's
            // test_array_range snapshot).
            ("$range(1, 9, 9)", Some(json!(1))),
            ("$range(3, 3, 1)", Some(json!(3))),
            // Floci: a missing, zero or backwards step is undefined.
            ("$range(0, 3)", None),
            ("$range(0, 3, 0)", None),
            ("$range(0, 3, -1)", None),
        ];
        for (text, expected) in rows {
            assert_eq!(value(text), *expected, "{text}");
        }
        assert_eq!(code("$range('a', 3, 1)"), "T0410");
        assert_eq!(code("$range(0, 3, 1, 4)"), "T0410");
        // Bounded before anything is allocated.
        assert_eq!(code("$range(0, 1e15, 1)"), "U1001");
    }

    #[test]
    fn hash_gives_lowercase_hex_for_each_documented_algorithm() {
        let rows = [
            // RFC 1321's test suite ("abc").
            ("MD5", "abc", "900150983cd24fb0d6963f7d28e17f72"),
            // Floci's AWS measurement of $hash("input", "SHA-1") (issue #2662).
            ("SHA-1", "input", "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"),
            // FIPS 180-2's "abc" examples.
            ("SHA-256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "SHA-384",
                "abc",
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
            ),
            (
                "SHA-512",
                "abc",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
        ];
        for (algorithm, data, expected) in rows {
            // The doc's form: data from the input, the algorithm from a variable.
            let got = eval_with(
                "$hash($states.input.content, $hashAlgorithmName)",
                json!({"states": {"input": {"content": data}}, "hashAlgorithmName": algorithm}),
            );
            assert_eq!(got, Ok(Some(json!(expected))), "{algorithm}");
        }
    }

    #[test]
    fn hash_refusals() {
        let unknown = eval("$hash('x', 'sha-256')").unwrap_err();
        assert_eq!(unknown.code.as_deref(), Some("D3137"));
        assert_eq!(
            unknown.message,
            "Hash algorithm 'sha-256' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"
        );
        assert_eq!(code("$hash(1, 'MD5')"), "T0410");
        assert_eq!(code("$hash('x', 5)"), "T0410");
        assert_eq!(value("$hash('x')"), None);
    }

    #[test]
    fn random_is_in_the_unit_interval_and_repeats_under_a_seed() {
        for _ in 0..100 {
            let Some(Value::Number(n)) = value("$random()") else {
                panic!("$random() is a number");
            };
            let n = n.as_f64().unwrap_or(-1.0);
            assert!((0.0..1.0).contains(&n), "0 ≤ {n} < 1");
        }
        // "If you use this function with the same seed value, it returns an identical number."
        let seeded = eval_with(
            "[$random($states.input.seed), $random($states.input.seed)]",
            json!({"states": {"input": {"seed": 7}}}),
        );
        let Ok(Some(Value::Array(pair))) = seeded else {
            panic!("two numbers: {seeded:?}");
        };
        assert_eq!(pair[0], pair[1]);
        // Floci's AWS measurement (issue #2662), java.util.Random's first nextDouble for 42.
        assert_eq!(value("$random(42)"), Some(json!(0.7275636800328681)));
        assert_eq!(java_random_next_double(42), 0.7275636800328681);
        assert_eq!(value("$random(42.9)"), value("$random(42)"));
        assert_eq!(code("$random('x')"), "T0410");
    }

    #[test]
    fn uuid_is_a_fresh_v4() {
        let (Some(Value::String(a)), Some(Value::String(b))) = (value("$uuid()"), value("$uuid()")) else {
            panic!("$uuid() is a string");
        };
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).map(|u| u.get_version_num());
        assert_eq!(parsed, Ok(4), "{a}");
        assert_eq!(a.len(), 36);
        assert_eq!(code("$uuid(1)"), "T0410");
    }

    #[test]
    fn parse_deserializes_json_strings() {
        // The doc's example: "{% $parse($states.input.json_string) %}".
        let got = eval_with(
            "$parse($states.input.json_string)",
            json!({"states": {"input": {"json_string": "{\"a\":[1,true,null],\"b\":{\"c\":\"d\"}}"}}}),
        );
        assert_eq!(got, Ok(Some(json!({"a": [1, true, null], "b": {"c": "d"}}))));
        assert_eq!(value(r#"$parse('{"a":1}').a"#), Some(json!(1)));
        assert_eq!(value("$parse('[1,2]')"), Some(json!([1, 2])));
        assert_eq!(value("$parse('\"s\"')"), Some(json!("s")));
        assert_eq!(value("$parse('null')"), Some(Value::Null));
        // As AWS recorded them (LocalStack's test_parse snapshot).
        assert_eq!(value("$parse('-0')"), Some(json!(0)));
        assert_eq!(value("$parse('1.1')"), Some(json!(1.1)));
        assert_eq!(value("$parse($nothing)"), None);
    }

    #[test]
    fn parse_refusals() {
        for text in [
            "$parse('not json')",
            "$parse('')",
            "$parse('{} {}')",
            r#"$parse('{"a":1,"a":2}')"#,
        ] {
            assert_eq!(code(text), "D3137", "{text}");
        }
        let e = eval(r#"$parse('{"a":1,"a":2}')"#).unwrap_err();
        assert!(
            e.message.starts_with("Invalid JSON: duplicate key \"a\""),
            "{}",
            e.message
        );
        assert_eq!(code("$parse(1)"), "T0410");
    }

    #[test]
    fn eval_is_not_a_function() {
        // "$eval is not supported in Step Functions workflows"; AWS answers T1006 (Floci, #2737).
        let e = eval("$eval('1+1')").unwrap_err();
        assert_eq!(e.code.as_deref(), Some("T1006"));
        assert_eq!(e.message, "Attempted to invoke a non-function");
        assert_eq!(code("$eval('[1,2]', {})"), "T1006");
    }

    #[test]
    fn functions_work_as_values() {
        // Host functions are first-class like built-ins: passed to $map, chained with ~>.
        assert_eq!(
            value(r#"$map(['{"a":1}', '[2]'], $parse)"#),
            Some(json!([{"a": 1}, [2]]))
        );
        assert_eq!(
            value("'abc' ~> $hash('MD5')"),
            Some(json!("900150983cd24fb0d6963f7d28e17f72"))
        );
    }
}
