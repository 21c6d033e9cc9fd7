//! Transform: map valid raw orders to the canonical [`Order`] through the
//! format's declarative mapping, then apply the canonical rules. An order
//! that breaks a rule becomes a rejection naming the field at fault.

use crate::format::{Conversion, FieldSpec, Format};
use crate::order::{IndexedOrder, Order, OrderLine, RawOrder};
use crate::rejection::{Rejection, RejectionCode, Stage};
use chrono::{DateTime, Duration, Utc};
use iso_currency::Currency;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;

/// How far in the future an event time may be (clock skew allowance).
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);
/// The earliest event time accepted, 2000-01-01T00:00:00Z: older ones are
/// a partner's bug (an unset field read as 0), and years before 0000 would
/// break the fixed-width timestamps the byEventTime index sorts on.
pub const MIN_EVENT_TIME_SECS: i64 = 946_684_800;

/// Canonical orders and the orders that broke a rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transformed {
    pub orders: Vec<IndexedOrder>,
    pub rejections: Vec<Rejection>,
}

/// Maps every valid order of a feed. Sequence numbers must be unique within
/// the feed: the first occurrence wins, later ones are rejected.
pub fn transform_feed(format: &Format, valid: &[RawOrder], now: DateTime<Utc>) -> Transformed {
    let mut out = Transformed {
        orders: Vec::with_capacity(valid.len()),
        rejections: Vec::new(),
    };
    let mut seen = HashSet::with_capacity(valid.len());
    for raw in valid {
        match transform_order(format, raw.index, &raw.order, now) {
            Ok(order) => {
                if seen.insert(order.sequence_number) {
                    out.orders.push(IndexedOrder {
                        index: raw.index,
                        order,
                    });
                } else {
                    let field = format!(
                        "{}/{}{}",
                        format.orders_pointer, raw.index, format.mapping.sequence_number.path
                    );
                    out.rejections.push(Rejection {
                        index: raw.index,
                        sequence_number: Some(order.sequence_number),
                        field,
                        code: RejectionCode::DuplicateSequence,
                        message: format!(
                            "sequence number {} appears more than once in this feed",
                            order.sequence_number
                        ),
                        stage: Stage::Transform,
                    });
                }
            }
            Err(rejection) => out.rejections.push(*rejection),
        }
    }
    out
}

/// Builds rejections for one order; knows the order's base pointer.
struct Ctx<'a> {
    orders_pointer: &'a str,
    index: usize,
    raw: &'a Value,
    /// Where the sequence number is, read only when rejecting.
    seq: &'a FieldSpec,
}

type Reject = Box<Rejection>;

/// Where a field sits inside one order: built into a JSON Pointer only when
/// an order is rejected, so the happy path allocates no pointer strings.
#[derive(Clone, Copy)]
struct At<'a> {
    line: Option<(&'a str, usize)>,
    field: &'a str,
}

impl<'a> At<'a> {
    fn order(field: &'a str) -> Self {
        Self { line: None, field }
    }
    fn line(lines: &'a str, j: usize, field: &'a str) -> Self {
        Self {
            line: Some((lines, j)),
            field,
        }
    }
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((lines, j)) = self.line {
            write!(f, "{lines}/{j}")?;
        }
        f.write_str(self.field)
    }
}

impl Ctx<'_> {
    fn reject(&self, rel: At<'_>, code: RejectionCode, message: impl Into<String>) -> Reject {
        Box::new(
            Rejection {
                index: self.index,
                sequence_number: self.seq.get(self.raw).and_then(Value::as_u64),
                field: format!("{}/{}{rel}", self.orders_pointer, self.index),
                code,
                message: message.into(),
                stage: Stage::Transform,
            }
            .bounded(),
        )
    }

    /// The value at `prefix + spec.path` inside `scope`, or a MISSING_FIELD
    /// rejection when the field is required.
    fn get<'v>(
        &self,
        scope: &'v Value,
        line: Option<(&str, usize)>,
        spec: &FieldSpec,
    ) -> Result<Option<&'v Value>, Reject> {
        match spec.get(scope) {
            Some(Value::Null) | None if spec.optional => Ok(None),
            Some(Value::Null) | None => Err(self.reject(
                At {
                    line,
                    field: &spec.path,
                },
                RejectionCode::MissingField,
                "this field is required",
            )),
            Some(v) => Ok(Some(v)),
        }
    }

    fn string(&self, v: &Value, rel: At<'_>) -> Result<String, Reject> {
        self.str(v, rel).map(str::to_string)
    }

    fn str<'v>(&self, v: &'v Value, rel: At<'_>) -> Result<&'v str, Reject> {
        v.as_str()
            .ok_or_else(|| self.reject(rel, RejectionCode::WrongType, "must be a string"))
    }

    fn amount(&self, v: &Value, rel: At<'_>, conv: Conversion, exponent: u32) -> Result<i64, Reject> {
        let bad = |msg: String| self.reject(rel, RejectionCode::InvalidAmount, msg);
        let minor = match conv {
            Conversion::MinorUnits => v
                .as_i64()
                .ok_or_else(|| bad(format!("must be an integer number of minor units, got {v}")))?,
            _ => {
                let text: Cow<'_, str> = match v {
                    Value::String(s) => Cow::Borrowed(s),
                    Value::Number(n) => Cow::Owned(n.to_string()),
                    _ => return Err(bad("must be a decimal amount such as \"12.34\"".into())),
                };
                let d = Decimal::from_str_exact(text.trim())
                    .map_err(|_| bad(format!("{text:?} is not a decimal amount")))?;
                if d.scale() > exponent {
                    return Err(bad(format!(
                        "{text} has {} decimal places; the currency has {exponent}",
                        d.scale()
                    )));
                }
                let scaled = d
                    .checked_mul(Decimal::from(10i64.pow(exponent)))
                    .ok_or_else(|| bad(format!("{text} is too large")))?;
                // Exact: the scale was checked above, so `scaled` is whole.
                scaled.to_i64().ok_or_else(|| bad(format!("{text} is too large")))?
            }
        };
        if minor < 0 {
            return Err(bad(format!("must not be negative, got {minor}")));
        }
        Ok(minor)
    }
}

/// Maps one raw order to the canonical order and applies the canonical rules.
pub fn transform_order(format: &Format, index: usize, raw: &Value, now: DateTime<Utc>) -> Result<Order, Reject> {
    let m = &format.mapping;
    let ctx = Ctx {
        orders_pointer: &format.orders_pointer,
        index,
        raw,
        seq: &m.sequence_number,
    };
    let raw = ctx.raw;

    // Sequence number: a positive integer.
    let seq_path = m.sequence_number.path.as_str();
    let seq_value = ctx.get(raw, None, &m.sequence_number)?.unwrap_or(&Value::Null);
    let sequence_number = seq_value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
        ctx.reject(
            At::order(seq_path),
            RejectionCode::InvalidSequenceNumber,
            format!("must be a positive integer, got {seq_value}"),
        )
    })?;

    let external_id_value = ctx.get(raw, None, &m.external_id)?.unwrap_or(&Value::Null);
    let external_id = ctx.string(external_id_value, At::order(&m.external_id.path))?;

    // Currency first: the decimal conversions need its minor-unit exponent.
    let currency_path = m.currency.path.as_str();
    let currency_value = ctx.get(raw, None, &m.currency)?.unwrap_or(&Value::Null);
    let code = ctx.str(currency_value, At::order(currency_path))?.to_ascii_uppercase();
    let currency = Currency::from_code(&code).ok_or_else(|| {
        ctx.reject(
            At::order(currency_path),
            RejectionCode::UnknownCurrency,
            format!("{code:?} is not an ISO 4217 currency code"),
        )
    })?;
    let exponent = u32::from(currency.exponent().ok_or_else(|| {
        ctx.reject(
            At::order(currency_path),
            RejectionCode::UnknownCurrency,
            format!("{code} has no minor unit and cannot be used for orders"),
        )
    })?);

    // Event time: UTC, and not too far in the future.
    let time_path = m.event_time.path.as_str();
    let time_value = ctx.get(raw, None, &m.event_time)?.unwrap_or(&Value::Null);
    let event_time = parse_time(time_value, m.event_time.conversion).ok_or_else(|| {
        ctx.reject(
            At::order(time_path),
            RejectionCode::InvalidTimestamp,
            format!("{time_value} is not a valid {:?} timestamp", m.event_time.conversion),
        )
    })?;
    if event_time.timestamp() < MIN_EVENT_TIME_SECS {
        return Err(ctx.reject(
            At::order(time_path),
            RejectionCode::EventTimeTooOld,
            format!(
                "{} is before 2000-01-01T00:00:00Z, the earliest event time accepted",
                crate::time::format_utc(event_time)
            ),
        ));
    }
    if event_time > now + MAX_FUTURE_SKEW {
        return Err(ctx.reject(
            At::order(time_path),
            RejectionCode::EventTimeInFuture,
            format!(
                "{} is more than 5 minutes in the future",
                crate::time::format_utc(event_time)
            ),
        ));
    }

    // Lines: quantity > 0, prices in whole minor units.
    let lines_spec = &m.lines;
    let lines_value = lines_spec.get(raw);
    let Some(Value::Array(raw_lines)) = lines_value else {
        return Err(ctx.reject(
            At::order(&lines_spec.path),
            RejectionCode::MissingField,
            "an order needs an array of lines",
        ));
    };
    if raw_lines.is_empty() {
        return Err(ctx.reject(
            At::order(&lines_spec.path),
            RejectionCode::InvalidValue,
            "an order needs at least one line",
        ));
    }
    let f = &lines_spec.fields;
    let mut lines = Vec::with_capacity(raw_lines.len());
    let mut sum: i64 = 0;
    for (j, line) in raw_lines.iter().enumerate() {
        let here = Some((lines_spec.path.as_str(), j));
        let sku_value = ctx.get(line, here, &f.sku)?.unwrap_or(&Value::Null);
        let sku = ctx.string(sku_value, At::line(&lines_spec.path, j, &f.sku.path))?;
        let qty_path = At::line(&lines_spec.path, j, &f.quantity.path);
        let qty_value = ctx.get(line, here, &f.quantity)?.unwrap_or(&Value::Null);
        let quantity = qty_value
            .as_u64()
            .filter(|q| *q > 0)
            .and_then(|q| u32::try_from(q).ok())
            .ok_or_else(|| {
                ctx.reject(
                    qty_path,
                    RejectionCode::InvalidQuantity,
                    format!("quantity must be a positive integer, got {qty_value}"),
                )
            })?;
        let price_path = At::line(&lines_spec.path, j, &f.unit_price.path);
        let price_value = ctx.get(line, here, &f.unit_price)?.unwrap_or(&Value::Null);
        let unit_price_minor = ctx.amount(price_value, price_path, f.unit_price.conversion, exponent)?;
        sum = i64::from(quantity)
            .checked_mul(unit_price_minor)
            .and_then(|l| sum.checked_add(l))
            .ok_or_else(|| ctx.reject(price_path, RejectionCode::InvalidAmount, "the order total overflows"))?;
        lines.push(OrderLine {
            sku,
            quantity,
            unit_price_minor,
        });
    }

    // The partner's total, when sent, must equal the sum of the lines.
    let total_minor = match &m.total {
        Some(spec) => match ctx.get(raw, None, spec)? {
            Some(v) => {
                let total = ctx.amount(v, At::order(&spec.path), spec.conversion, exponent)?;
                if total != sum {
                    return Err(ctx.reject(
                        At::order(&spec.path),
                        RejectionCode::TotalMismatch,
                        format!("total is {total} minor units but the lines add up to {sum}"),
                    ));
                }
                total
            }
            None => sum,
        },
        None => sum,
    };

    let customer_ref = match &m.customer_ref {
        Some(spec) => match ctx.get(raw, None, spec)? {
            Some(v) => Some(ctx.string(v, At::order(&spec.path))?),
            None => None,
        },
        None => None,
    };

    Ok(Order {
        sequence_number,
        external_id,
        event_time,
        currency: code,
        total_minor,
        lines,
        customer_ref,
    })
}

fn parse_time(v: &Value, conv: Conversion) -> Option<DateTime<Utc>> {
    match conv {
        Conversion::EpochMillis => DateTime::from_timestamp_millis(v.as_i64()?),
        Conversion::EpochSeconds => DateTime::from_timestamp(v.as_i64()?, 0),
        Conversion::Rfc3339 => crate::time::parse_rfc3339(v.as_str()?).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FormatRegistry;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        crate::time::parse_rfc3339("2026-01-01T12:00:00Z").unwrap()
    }

    fn raw(index: usize, order: Value) -> RawOrder {
        RawOrder { index, order }
    }

    fn a_order(seq: u64) -> Value {
        json!({"sequenceNumber": seq, "orderId": format!("A-{seq}"), "createdAt": 1767268800000i64,
               "currency": "EUR", "totalCents": 1250, "customer": {"id": "c-1"},
               "items": [{"sku": "S1", "quantity": 2, "unitPriceCents": 500}, {"sku": "S2", "quantity": 1, "unitPriceCents": 250}]})
    }

    fn b_order(seq: u64) -> Value {
        json!({"seq_no": seq, "order_ref": format!("B-{seq}"), "created_at": "2026-01-01T13:30:00+02:00",
               "currency_code": "usd", "order_total": "25.50", "buyer": {"email": "b@example.com"},
               "line_items": [{"product_code": "P1", "qty": 3, "unit_price": "8.50"}]})
    }

    #[test]
    fn partner_a_maps_to_the_canonical_order() {
        let reg = FormatRegistry::builtin().unwrap();
        let f = reg.get("partner-a@1").unwrap();
        let order = transform_order(&f, 0, &a_order(7), now()).unwrap();
        assert_eq!(order.sequence_number, 7);
        assert_eq!(order.external_id, "A-7");
        assert_eq!(crate::time::format_utc(order.event_time), "2026-01-01T12:00:00.000Z");
        assert_eq!(order.currency, "EUR");
        assert_eq!(order.total_minor, 1250);
        assert_eq!(order.customer_ref.as_deref(), Some("c-1"));
        assert_eq!(
            order.lines[0],
            OrderLine {
                sku: "S1".into(),
                quantity: 2,
                unit_price_minor: 500
            }
        );
    }

    #[test]
    fn partner_b_converts_offsets_decimals_and_lowercase_currency() {
        let reg = FormatRegistry::builtin().unwrap();
        let f = reg.get("partner-b@1").unwrap();
        let order = transform_order(&f, 0, &b_order(9), now()).unwrap();
        assert_eq!(crate::time::format_utc(order.event_time), "2026-01-01T11:30:00.000Z");
        assert_eq!(order.currency, "USD");
        assert_eq!(order.total_minor, 2550);
        assert_eq!(order.lines[0].unit_price_minor, 850);
    }

    #[test]
    fn decimal_amounts_follow_the_currency_exponent() {
        let reg = FormatRegistry::builtin().unwrap();
        let f = reg.get("partner-b@1").unwrap();
        // JPY has no decimals, so "1500" yen is 1500 minor units and "15.5" is refused.
        let mut o = b_order(1);
        o["currency_code"] = json!("jpy");
        o["order_total"] = json!("4500");
        o["line_items"][0]["unit_price"] = json!("1500");
        assert_eq!(transform_order(&f, 0, &o, now()).unwrap().total_minor, 4500);
        o["line_items"][0]["unit_price"] = json!("15.5");
        let r = transform_order(&f, 0, &o, now()).unwrap_err();
        assert_eq!(r.code, RejectionCode::InvalidAmount);
        assert_eq!(r.field, "/data/orders/0/line_items/0/unit_price");
    }

    #[test]
    fn canonical_rules_reject_with_the_field_at_fault() {
        let reg = FormatRegistry::builtin().unwrap();
        let f = reg.get("partner-a@1").unwrap();
        type Case = (Box<dyn Fn(&mut Value)>, RejectionCode, &'static str);
        let cases: Vec<Case> = vec![
            (
                Box::new(|o| o["items"][0]["quantity"] = json!(0)),
                RejectionCode::InvalidQuantity,
                "/orders/0/items/0/quantity",
            ),
            (
                Box::new(|o| o["currency"] = json!("EUX")),
                RejectionCode::UnknownCurrency,
                "/orders/0/currency",
            ),
            (
                Box::new(|o| o["items"][1]["unitPriceCents"] = json!(2.5)),
                RejectionCode::InvalidAmount,
                "/orders/0/items/1/unitPriceCents",
            ),
            (
                Box::new(|o| o["totalCents"] = json!(1)),
                RejectionCode::TotalMismatch,
                "/orders/0/totalCents",
            ),
            (
                Box::new(|o| o["createdAt"] = json!(0)),
                RejectionCode::EventTimeTooOld,
                "/orders/0/createdAt",
            ),
            // 12:06 is more than five minutes after "now" (12:00).
            (
                Box::new(|o| o["createdAt"] = json!(1767269160000i64)),
                RejectionCode::EventTimeInFuture,
                "/orders/0/createdAt",
            ),
            (
                Box::new(|o| o["sequenceNumber"] = json!(-3)),
                RejectionCode::InvalidSequenceNumber,
                "/orders/0/sequenceNumber",
            ),
            (
                Box::new(|o| {
                    o.as_object_mut().unwrap().remove("orderId");
                }),
                RejectionCode::MissingField,
                "/orders/0/orderId",
            ),
        ];
        for (mutate, code, field) in cases {
            let mut o = a_order(1);
            mutate(&mut o);
            let r = transform_order(&f, 0, &o, now()).unwrap_err();
            assert_eq!((r.code, r.field.as_str()), (code, field), "{}", r.message);
            assert_eq!(r.stage, Stage::Transform);
        }
        // Exactly five minutes ahead is still accepted.
        let mut o = a_order(1);
        o["createdAt"] = json!(1767269100000i64);
        assert!(transform_order(&f, 0, &o, now()).is_ok());
    }

    #[test]
    fn a_sequence_number_used_twice_in_a_feed_is_rejected_once() {
        let reg = FormatRegistry::builtin().unwrap();
        let f = reg.get("partner-a@1").unwrap();
        let out = transform_feed(&f, &[raw(0, a_order(5)), raw(1, a_order(6)), raw(2, a_order(5))], now());
        assert_eq!(out.orders.iter().map(|o| o.index).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(out.rejections.len(), 1);
        assert_eq!(out.rejections[0].code, RejectionCode::DuplicateSequence);
        assert_eq!(out.rejections[0].index, 2);
        assert_eq!(out.rejections[0].field, "/orders/2/sequenceNumber");
    }
}
