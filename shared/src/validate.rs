//! Validate: check each raw order against its format's JSON Schema and split
//! the valid orders from the rejected ones.

use crate::format::Format;
use crate::order::RawOrder;
use crate::rejection::{
    escape_pointer_token, excerpt, sequence_hint, Rejection, RejectionCode, Stage, MAX_VALUE_EXCERPT_CHARS,
};
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use std::borrow::Cow;

/// The feed body does not have the shape the format promises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedShapeError {
    #[error("the feed has no orders array at {pointer}")]
    OrdersMissing { pointer: String },
    #[error("{pointer} must be an array of orders")]
    OrdersNotArray { pointer: String },
}

impl FeedShapeError {
    /// The JSON Pointer of the field at fault.
    pub fn pointer(&self) -> &str {
        match self {
            Self::OrdersMissing { pointer } | Self::OrdersNotArray { pointer } => pointer,
        }
    }
}

/// The orders array of a feed body.
pub fn orders_of<'a>(format: &Format, body: &'a Value) -> Result<&'a Vec<Value>, FeedShapeError> {
    let pointer = || format.orders_pointer.clone();
    match body.pointer(&format.orders_pointer) {
        None => Err(FeedShapeError::OrdersMissing { pointer: pointer() }),
        Some(Value::Array(orders)) => Ok(orders),
        Some(_) => Err(FeedShapeError::OrdersNotArray { pointer: pointer() }),
    }
}

/// Valid orders and rejections, in feed order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub total: usize,
    pub valid: Vec<RawOrder>,
    pub rejections: Vec<Rejection>,
}

/// Checks every order of a feed body against the format's schema. Clones
/// each valid order; [`validate_feed_owned`] moves them instead.
pub fn validate_feed(format: &Format, body: &Value) -> Result<Split, FeedShapeError> {
    let orders = orders_of(format, body)?;
    Ok(split_orders(format, orders.iter().map(Cow::Borrowed)))
}

/// [`validate_feed`] for a body the caller no longer needs: valid orders are
/// moved out of it rather than deep-copied.
pub fn validate_feed_owned(format: &Format, mut body: Value) -> Result<Split, FeedShapeError> {
    orders_of(format, &body)?;
    let orders = match body.pointer_mut(&format.orders_pointer) {
        Some(Value::Array(orders)) => std::mem::take(orders),
        // Unreachable: orders_of just checked the shape.
        _ => Vec::new(),
    };
    Ok(split_orders(format, orders.into_iter().map(Cow::Owned)))
}

fn split_orders<'a>(format: &Format, orders: impl ExactSizeIterator<Item = Cow<'a, Value>>) -> Split {
    let mut split = Split {
        total: orders.len(),
        ..Split::default()
    };
    for (index, raw) in orders.enumerate() {
        match validate_order(format, index, &raw) {
            None => split.valid.push(RawOrder {
                index,
                order: raw.into_owned(),
            }),
            Some(rejection) => split.rejections.push(rejection),
        }
    }
    split
}

/// The first schema violation of one order, as a rejection.
pub fn validate_order(format: &Format, index: usize, raw: &Value) -> Option<Rejection> {
    // is_valid short-circuits without building errors: the common case.
    if format.schema().is_valid(raw) {
        return None;
    }
    let error = format.schema().iter_errors(raw).next()?;
    let mut field = format!("{}/{}{}", format.orders_pointer, index, error.instance_path().as_str());
    // A missing or unknown property is reported on its parent object; point at
    // the property itself, which is what a partner has to fix.
    let code = match error.kind() {
        ValidationErrorKind::Required { property } => {
            if let Some(name) = property.as_str() {
                field.push('/');
                field.push_str(&escape_pointer_token(name));
            }
            RejectionCode::MissingField
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let Some(name) = unexpected.first() {
                field.push('/');
                field.push_str(&escape_pointer_token(name));
            }
            RejectionCode::UnknownField
        }
        ValidationErrorKind::Type { .. } => RejectionCode::WrongType,
        ValidationErrorKind::Minimum { .. }
        | ValidationErrorKind::Maximum { .. }
        | ValidationErrorKind::ExclusiveMinimum { .. }
        | ValidationErrorKind::ExclusiveMaximum { .. } => RejectionCode::OutOfRange,
        ValidationErrorKind::Pattern { .. }
        | ValidationErrorKind::Format { .. }
        | ValidationErrorKind::Enum { .. }
        | ValidationErrorKind::Constant { .. }
        | ValidationErrorKind::MinLength { .. }
        | ValidationErrorKind::MaxLength { .. }
        | ValidationErrorKind::MinItems { .. }
        | ValidationErrorKind::MaxItems { .. } => RejectionCode::InvalidValue,
        _ => RejectionCode::SchemaViolation,
    };
    // jsonschema's message quotes the whole offending value: a 200 KB
    // string would make a 200 KB message. A long value is quoted as an excerpt.
    let value = error.instance().to_string();
    let message = if value.chars().nth(MAX_VALUE_EXCERPT_CHARS).is_some() {
        error.masked_with(excerpt(&value, MAX_VALUE_EXCERPT_CHARS)).to_string()
    } else {
        error.to_string()
    };
    Some(
        Rejection {
            index,
            sequence_number: sequence_hint(raw, &format.mapping.sequence_number.path),
            field,
            code,
            message,
            stage: Stage::Validate,
        }
        .bounded(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FormatRegistry;
    use serde_json::json;

    fn partner_a() -> std::sync::Arc<Format> {
        FormatRegistry::builtin().unwrap().get("partner-a@1").unwrap()
    }

    fn good_a(seq: u64) -> Value {
        json!({"sequenceNumber": seq, "orderId": format!("A-{seq}"), "createdAt": 1767225600000u64,
               "currency": "EUR", "items": [{"sku": "S1", "quantity": 1, "unitPriceCents": 100}]})
    }

    #[test]
    fn a_huge_offending_value_is_quoted_as_an_excerpt() {
        let mut huge = good_a(7);
        huge["orderId"] = json!("x".repeat(200_000));
        let mut wrong = good_a(8);
        wrong["items"][0]["quantity"] = json!("9".repeat(200_000));
        let split = validate_feed(&partner_a(), &json!({"orders": [huge, wrong]})).unwrap();
        let (r0, r1) = (&split.rejections[0], &split.rejections[1]);
        assert_eq!(
            (r0.field.as_str(), r0.code),
            ("/orders/0/orderId", RejectionCode::InvalidValue)
        );
        assert!(r0.message.len() < 200, "{}", r0.message);
        assert!(
            r0.message.contains("xxx…") && r0.message.contains("64"),
            "{}",
            r0.message
        );
        assert_eq!(
            (r1.field.as_str(), r1.code),
            ("/orders/1/items/0/quantity", RejectionCode::WrongType)
        );
        assert!(
            r1.message.len() < 200 && r1.message.contains("integer"),
            "{}",
            r1.message
        );
    }

    #[test]
    fn splits_valid_from_rejected_with_the_field_at_fault() {
        let mut missing = good_a(2);
        missing.as_object_mut().unwrap().remove("orderId");
        let mut wrong_type = good_a(3);
        wrong_type["items"][0]["quantity"] = json!("two");
        let body = json!({"orders": [good_a(1), missing, wrong_type]});
        let split = validate_feed(&partner_a(), &body).unwrap();
        assert_eq!(split.total, 3);
        assert_eq!(split.valid.iter().map(|o| o.index).collect::<Vec<_>>(), vec![0]);
        let r = &split.rejections;
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].field.as_str(), r[0].code),
            ("/orders/1/orderId", RejectionCode::MissingField)
        );
        assert_eq!(r[0].sequence_number, Some(2));
        assert_eq!(
            (r[1].field.as_str(), r[1].code),
            ("/orders/2/items/0/quantity", RejectionCode::WrongType)
        );
        assert_eq!(r[1].stage, Stage::Validate);
    }

    #[test]
    fn the_owned_split_equals_the_borrowed_one() {
        let mut bad = good_a(2);
        bad["currency"] = json!("eur");
        let body = json!({"orders": [good_a(1), bad, good_a(3)]});
        let borrowed = validate_feed(&partner_a(), &body).unwrap();
        assert_eq!(borrowed.valid.len(), 2);
        assert_eq!(validate_feed_owned(&partner_a(), body).unwrap(), borrowed);
        let err = validate_feed_owned(&partner_a(), json!({"data": []})).unwrap_err();
        assert_eq!(
            err,
            FeedShapeError::OrdersMissing {
                pointer: "/orders".into()
            }
        );
    }

    #[test]
    fn a_body_without_orders_is_a_shape_error() {
        let err = validate_feed(&partner_a(), &json!({"order": []})).unwrap_err();
        assert_eq!(err.pointer(), "/orders");
        let err = validate_feed(&partner_a(), &json!({"orders": {}})).unwrap_err();
        assert!(matches!(err, FeedShapeError::OrdersNotArray { .. }));
    }
}
