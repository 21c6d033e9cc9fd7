//! validate + transform for one ~1 KB order and for a 100-order feed, in
//! both partner formats: parse the body, validate against the schema, map to
//! the canonical order, serialize the result (what the Validate and
//! Transform Lambdas do, minus I/O).

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};
use std::hint::black_box;
use zb_shared::format::{Format, FormatRegistry};

// The allocator the validate and transform Lambdas run with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 2026-01-01T12:00:00Z
const NOW_MS: i64 = 1_767_268_800_000;

/// A Partner A order of about 1 KB: five lines with titles, a customer, notes.
fn a_order(seq: u64) -> Value {
    let items: Vec<Value> = (0..5)
        .map(|i| {
            json!({"sku": format!("SKU-{seq}-{i}"), "quantity": i + 1, "unitPriceCents": 1999 + i * 100,
                        "title": format!("Product number {i} with a reasonably descriptive title")})
        })
        .collect();
    let total: u64 = (0..5u64).map(|i| (i + 1) * (1999 + i * 100)).sum();
    json!({"sequenceNumber": seq, "orderId": format!("A-{seq:08}"), "createdAt": NOW_MS - 60_000,
           "currency": "EUR", "totalCents": total,
           "customer": {"id": format!("customer-{seq}"), "name": "Ada Lovelace"},
           "items": items, "notes": "Leave at the back door, please ring twice before leaving it there."})
}

fn b_order(seq: u64) -> Value {
    let items: Vec<Value> = (0..5)
        .map(|i| {
            json!({"product_code": format!("P-{seq}-{i}"), "qty": i + 1, "unit_price": format!("{}.99", 19 + i),
                        "description": format!("Product number {i} with a reasonably descriptive title")})
        })
        .collect();
    let total_cents: u64 = (0..5u64).map(|i| (i + 1) * ((19 + i) * 100 + 99)).sum();
    json!({"seq_no": seq, "order_ref": format!("B-{seq:08}"), "created_at": "2026-01-01T12:59:00+01:00",
           "currency_code": "eur", "order_total": format!("{}.{:02}", total_cents / 100, total_cents % 100),
           "buyer": {"email": format!("buyer{seq}@example.com")}, "line_items": items})
}

fn feed(format: &Format, orders: Vec<Value>) -> Vec<u8> {
    let body = if format.orders_pointer == "/orders" {
        json!({"orders": orders})
    } else {
        json!({"data": {"orders": orders}})
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The end-to-end unit: bytes in, canonical JSON out.
fn process(format: &Format, body: &[u8]) -> Vec<u8> {
    let now = chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap_or_default();
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let Ok(split) = zb_shared::validate::validate_feed_owned(format, value) else {
        return Vec::new();
    };
    let out = zb_shared::transform::transform_feed(format, &split.valid, now);
    assert!(
        out.rejections.is_empty() && split.rejections.is_empty(),
        "bench orders must be valid"
    );
    serde_json::to_vec(&out.orders).unwrap_or_default()
}

fn bench(c: &mut Criterion) {
    let registry = FormatRegistry::builtin().unwrap_or_default();
    let mut group = c.benchmark_group("validate+transform");
    for (id, make) in [("partner-a@1", a_order as fn(u64) -> Value), ("partner-b@1", b_order)] {
        let Ok(format) = registry.get(id) else { continue };
        for n in [1u64, 100] {
            let body = feed(&format, (1..=n).map(make).collect());
            if n == 1 {
                eprintln!("{id}: one order is {} bytes", body.len());
            }
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::new(id, format!("{n}-orders")), &body, |b, body| {
                b.iter(|| process(&format, black_box(body)))
            });
        }
    }
    group.finish();

    // Where the time goes, stage by stage, for a 100-order Partner A feed.
    let Ok(format) = registry.get("partner-a@1") else {
        return;
    };
    let now = chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap_or_default();
    let body = feed(&format, (1..=100).map(a_order).collect());
    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
    let split = zb_shared::validate::validate_feed(&format, &value).unwrap_or_default();
    let out = zb_shared::transform::transform_feed(&format, &split.valid, now);
    let mut stages = c.benchmark_group("stages/partner-a@1/100-orders");
    stages.throughput(Throughput::Elements(100));
    stages.bench_function("parse", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)))
    });
    // The Validate Lambda owns the parsed body and moves valid orders out of
    // it; the copy handed to each iteration is made outside the timing.
    stages.bench_function("validate", |b| {
        b.iter_batched(
            || value.clone(),
            |value| zb_shared::validate::validate_feed_owned(&format, value),
            BatchSize::SmallInput,
        )
    });
    stages.bench_function("transform", |b| {
        b.iter(|| zb_shared::transform::transform_feed(&format, black_box(&split.valid), now))
    });
    stages.bench_function("serialize", |b| b.iter(|| serde_json::to_vec(black_box(&out.orders))));
    stages.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
