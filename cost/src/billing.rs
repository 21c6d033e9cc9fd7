//! AWS's billing rules as small pure functions: how a measured quantity
//! becomes a billed one (the rounding steps), and GB-seconds and GB from
//! bytes and milliseconds. No prices here; see `pricing` and `price`.

use rust_decimal::Decimal;

pub const KB: u64 = 1024;
pub const MB: u64 = 1024 * KB;
/// CloudWatch Logs bills per GB of ingested data; taken as 2^30 bytes.
pub const GB: u64 = 1024 * MB;

/// Lambda bills Duration + Init Duration rounded up to the next 1 ms (and
/// never 0 ms). Init is billed: for provided.al2023 (our runtime) always, for
/// managed runtimes since 1 August 2025.
pub fn lambda_billed_ms(duration_ms: f64, init_ms: Option<f64>) -> u64 {
    let total = duration_ms.max(0.0) + init_ms.unwrap_or(0.0).max(0.0);
    // REPORT prints 3 decimals: round to the microsecond first so 5.000 is
    // 5 ms even when its f64 is 5.000000000001.
    let micros = (total * 1000.0).round();
    ((micros / 1000.0).ceil() as u64).max(1)
}

/// GB-seconds of a Lambda invocation: billed ms x configured memory.
pub fn lambda_gb_seconds(billed_ms: u64, memory_mb: u32) -> Decimal {
    Decimal::from(billed_ms) * Decimal::from(memory_mb) / Decimal::from(1000u32 * 1024)
}

/// Express workflows bill duration rounded up to the next 100 ms.
pub fn express_billed_ms(duration_ms: u64) -> u64 {
    duration_ms.max(1).div_ceil(100) * 100
}

/// Express workflows bill memory in 64 MB chunks.
pub fn express_billed_mb(used_bytes: u64) -> u64 {
    used_bytes.max(1).div_ceil(64 * MB) * 64
}

/// AWS's estimate of an Express execution's memory: 50 MB + the definition
/// + the execution data (times the Map/Parallel steps, when there are any).
pub fn express_memory_bytes(definition_bytes: u64, data_bytes: u64, map_or_parallel_steps: u64) -> u64 {
    50 * MB + definition_bytes + data_bytes * map_or_parallel_steps.max(1)
}

/// GB-seconds of an Express execution, from its billed ms and MB.
pub fn express_gb_seconds(billed_ms: u64, billed_mb: u64) -> Decimal {
    Decimal::from(billed_ms) * Decimal::from(billed_mb) / Decimal::from(1000u32 * 1024)
}

/// How a DynamoDB read was made; it sets the units per 4 KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadConsistency {
    Eventual,
    Strong,
    Transactional,
}

/// Write request units of one write: 1 per started KB of the item, at least
/// 1; transactional writes count double.
pub fn dynamodb_write_units(item_bytes: u64, transactional: bool) -> u64 {
    let units = item_bytes.max(1).div_ceil(KB);
    if transactional {
        units * 2
    } else {
        units
    }
}

/// Read request units of one read: per started 4 KB, half a unit eventually
/// consistent, one strongly consistent, two in a transaction.
pub fn dynamodb_read_units(item_bytes: u64, consistency: ReadConsistency) -> Decimal {
    let chunks = Decimal::from(item_bytes.max(1).div_ceil(4 * KB));
    match consistency {
        ReadConsistency::Eventual => chunks / Decimal::TWO,
        ReadConsistency::Strong => chunks,
        ReadConsistency::Transactional => chunks * Decimal::TWO,
    }
}

/// A put's write units including its global secondary indexes: each index
/// that holds the item is one more write of the projected size.
pub fn dynamodb_put_units(item_bytes: u64, gsi_projected_bytes: &[u64], transactional: bool) -> u64 {
    dynamodb_write_units(item_bytes, transactional)
        + gsi_projected_bytes
            .iter()
            .map(|b| dynamodb_write_units(*b, false))
            .sum::<u64>()
}

/// EventBridge bills each started 64 KB of an entry as one event.
pub fn eventbridge_events(entry_bytes: u64) -> u64 {
    entry_bytes.max(1).div_ceil(64 * KB)
}

/// Billed events of a batch known only by its count and total size: exact
/// while no entry reaches 64 KB (ours are ~300 bytes), a lower bound after.
pub fn eventbridge_events_of_batch(entries: u64, total_bytes: u64) -> u64 {
    if entries == 0 {
        return 0;
    }
    entries.max(total_bytes.div_ceil(64 * KB))
}

/// HTTP APIs meter each request in 512 KB units.
pub fn http_api_requests(request_bytes: u64) -> u64 {
    request_bytes.max(1).div_ceil(512 * KB)
}

/// CloudWatch Logs' size of a batch of events: UTF-8 message bytes + 26
/// bytes per event (the PutLogEvents rule).
pub fn log_ingested_bytes(message_bytes: u64, events: u64) -> u64 {
    message_bytes + 26 * events
}

/// Bytes as (binary) GB.
pub fn gigabytes(bytes: u64) -> Decimal {
    Decimal::from(bytes) / Decimal::from(GB)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::prelude::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn lambda_rounds_up_to_the_millisecond_with_init_included() {
        assert_eq!(lambda_billed_ms(5.0, None), 5);
        assert_eq!(lambda_billed_ms(5.001, None), 6);
        assert_eq!(lambda_billed_ms(4.999, None), 5);
        // 0.64 ms of work is still 1 ms.
        assert_eq!(lambda_billed_ms(0.64, None), 1);
        assert_eq!(lambda_billed_ms(0.0, None), 1);
        // The REPORT line in local/lambda-host: 4.42 + 333.05 = 337.47 -> 338.
        assert_eq!(lambda_billed_ms(4.42, Some(333.05)), 338);
        assert_eq!(lambda_billed_ms(2.5, Some(2.5)), 5);
        // 128 MB for 1 ms = 0.125 GB x 0.001 s.
        assert_eq!(lambda_gb_seconds(1, 128), d("0.000125"));
        assert_eq!(lambda_gb_seconds(1000, 1024), Decimal::ONE);
        assert_eq!(lambda_gb_seconds(338, 128), d("0.04225"));
    }

    #[test]
    fn express_rounds_duration_to_100_ms_and_memory_to_64_mb() {
        assert_eq!(express_billed_ms(1), 100);
        assert_eq!(express_billed_ms(0), 100);
        assert_eq!(express_billed_ms(100), 100);
        assert_eq!(express_billed_ms(101), 200);
        assert_eq!(express_billed_ms(236), 300);
        assert_eq!(express_billed_mb(1), 64);
        assert_eq!(express_billed_mb(64 * MB), 64);
        assert_eq!(express_billed_mb(64 * MB + 1), 128);
        // AWS's example: 50 MB + 50 KB + 400 x 32 KB = 62.85 MB -> 64 MB.
        let used = express_memory_bytes(50 * KB, 32 * KB, 400);
        assert_eq!(used, 50 * MB + 50 * KB + 12_800 * KB);
        assert_eq!(express_billed_mb(used), 64);
        // Our pipeline: a 6 KB definition and a 256 KB state still fit 64 MB;
        // 14 MB of data would not.
        assert_eq!(express_billed_mb(express_memory_bytes(6_283, 256 * KB, 0)), 64);
        assert_eq!(express_billed_mb(express_memory_bytes(0, 14 * MB + 1, 0)), 128);
        // 300 ms at 64 MB = 0.0625 GB x 0.3 s.
        assert_eq!(express_gb_seconds(300, 64), d("0.01875"));
    }

    #[test]
    fn dynamodb_units_at_the_1_kb_and_4_kb_edges() {
        assert_eq!(dynamodb_write_units(1, false), 1);
        assert_eq!(dynamodb_write_units(0, false), 1);
        assert_eq!(dynamodb_write_units(1024, false), 1);
        assert_eq!(dynamodb_write_units(1025, false), 2);
        assert_eq!(dynamodb_write_units(3 * 1024, true), 6);
        assert_eq!(dynamodb_read_units(4096, ReadConsistency::Strong), d("1"));
        assert_eq!(dynamodb_read_units(4097, ReadConsistency::Strong), d("2"));
        assert_eq!(dynamodb_read_units(4096, ReadConsistency::Eventual), d("0.5"));
        assert_eq!(dynamodb_read_units(4097, ReadConsistency::Eventual), d("1"));
        // AWS's example: an 8 KB item is 2 strong, 1 eventual, 4 transactional.
        assert_eq!(dynamodb_read_units(8192, ReadConsistency::Strong), d("2"));
        assert_eq!(dynamodb_read_units(8192, ReadConsistency::Eventual), d("1"));
        assert_eq!(dynamodb_read_units(8192, ReadConsistency::Transactional), d("4"));
        // An 800-byte order with one GSI projecting 1,030 bytes: 1 + 2.
        assert_eq!(dynamodb_put_units(800, &[1030], false), 3);
        assert_eq!(dynamodb_put_units(800, &[], false), 1);
    }

    #[test]
    fn eventbridge_counts_64_kb_chunks() {
        assert_eq!(eventbridge_events(1), 1);
        assert_eq!(eventbridge_events(64 * 1024), 1);
        assert_eq!(eventbridge_events(64 * 1024 + 1), 2);
        assert_eq!(eventbridge_events(256 * 1024), 4);
        assert_eq!(eventbridge_events_of_batch(0, 0), 0);
        assert_eq!(eventbridge_events_of_batch(1, 274), 1);
        assert_eq!(eventbridge_events_of_batch(2, 600), 2);
        assert_eq!(eventbridge_events_of_batch(1, 64 * 1024 + 1), 2);
    }

    #[test]
    fn http_api_counts_512_kb_units() {
        assert_eq!(http_api_requests(0), 1);
        assert_eq!(http_api_requests(830), 1);
        assert_eq!(http_api_requests(512 * 1024), 1);
        assert_eq!(http_api_requests(512 * 1024 + 1), 2);
    }

    #[test]
    fn logs_add_26_bytes_per_event() {
        assert_eq!(log_ingested_bytes(100, 2), 152);
        assert_eq!(gigabytes(GB), Decimal::ONE);
        assert_eq!(gigabytes(GB / 4), d("0.25"));
    }
}
