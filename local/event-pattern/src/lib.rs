//! EventBridge event patterns, target `InputPath` and `InputTransformer` for
//! ZeroBeta's local cloud.
//!
//! # Why this is hand-written rather than a wrapper around `quamina`
//!
//! The team prefers a well-kept crate over our own code, so `quamina` 0.7.0
//! (the Rust port of Tim Bray's Quamina, the design EventBridge's matcher
//! grew from) was evaluated first, operator by operator. It lacks:
//!
//! * `$or` — refused with "unknown operator".
//! * `prefix` / `suffix` combined with `equals-ignore-case`
//!   (`{"prefix": {"equals-ignore-case": "eventb"}}`) — refused: "prefix value
//!   must be a string".
//! * `anything-but` with `prefix`, `suffix`, `equals-ignore-case` or
//!   `wildcard` — refused: "anything-but value must be a string, number, or
//!   array".
//!
//! It also departs from EventBridge on operators it does have: an exact number
//! `[300]` matches `300.0` (the docs say numbers match on their string
//! representation), and its validation accepts patterns EventBridge refuses
//! (an inverted range `[">", 10, "<", 1]`, thresholds beyond ±5.0e9, an
//! operator object with two keys, `regexp`/`shellstyle`, a `/32` CIDR).
//! Finally it only reports *which* patterns matched, so it cannot say which
//! field failed, which [`Pattern::explain`] must.
//!
//! The validation messages reuse the wording of Event Ruler, the engine behind
//! EventBridge, so an error here reads like the one `PutRule` would return.
//!
//! # Semantics worth knowing
//!
//! * Exact numbers match by representation, per the docs: `300` is not
//!   `300.0`. `serde_json` keeps integer vs. float but not the spelling, so
//!   `300.0` and `3.0e2` cannot be told apart and do match each other. Use
//!   `{"numeric": ["=", 300]}` to compare values.
//! * Numeric operators compare JSON numbers within ±5.0e9 to six decimals.
//! * Arrays in events match if any element does; objects inside arrays are
//!   matched element by element (array-consistent), as Event Ruler does.
//! * `exists` looks at leaves only: an object or an empty array does not exist.
//! * `$or` is evaluated as written (AND of the fields, any one branch). AWS
//!   instead expands `$or` into sub-patterns, so a field constrained both
//!   inside and outside one `$or` keeps only one constraint there; such
//!   patterns are ambiguous and best avoided.

mod cidr;
mod jsonpath;
mod matcher;
mod numeric;
mod pattern;
mod transform;
mod wildcard;

pub use matcher::Mismatch;
pub use pattern::{Pattern, PatternError};
pub use transform::{input_path, InputTransformer, TransformContext, TransformError};
