//! The feed record behind `zb executions show <feedId>`: what the pipeline
//! wrote to the feeds table (status, counts, failure). It tells ops where a
//! feed went and why even when the executions' logs carry no data
//! (IncludeExecutionData false, or a log level of ERROR, FATAL or OFF).

use crate::aws::AwsArgs;
use crate::partners::TableArgs;
use aws_sdk_dynamodb::types::AttributeValue;
use zb_shared::cost::CostMeter;
use zb_shared::feed::FeedRecord;
use zb_shared::store::FeedStore;

/// Scan pages read to find a feed's partner when nothing names it
/// (1 MB each); `--partner` avoids the scan.
const SCAN_PAGE_CAP: usize = 200;

/// `8-4-4-4-12` hex digits: the shape of the feed ids ingest mints (UUIDv7).
pub fn looks_like_feed_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Reads feed `feed_id`: by its key when the partner is known (`--partner`
/// or the execution's input), else by scanning the table for the id first.
/// Ok(None): no such feed. Err: why it could not be read, for the output.
pub async fn read(
    aws: &AwsArgs,
    tables: &TableArgs,
    explicit_table: Option<&str>,
    partner: Option<&str>,
    feed_id: &str,
) -> Result<Option<FeedRecord>, String> {
    let client = tables.client(aws).await;
    let table = tables
        .table(&client, explicit_table, "FeedsTable")
        .await
        .map_err(|e| format!("cannot find the feeds table: {e}"))?;
    let partner = match partner {
        Some(p) => p.to_string(),
        None => match partner_of(&client, &table, feed_id).await? {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    FeedStore::new(client, &table)
        .get(&partner, feed_id, &CostMeter::default())
        .await
        .map_err(|e| format!("cannot read feed {feed_id} from {table}: {e}"))
}

/// The partner whose feed `feed_id` is: the table's key is (partnerId,
/// feedId), so without the partner only a scan finds it.
async fn partner_of(client: &aws_sdk_dynamodb::Client, table: &str, feed_id: &str) -> Result<Option<String>, String> {
    eprintln!("zb: scanning {table} for feed {feed_id} (pass --partner to read it directly)");
    let mut start = None;
    for _ in 0..SCAN_PAGE_CAP {
        let out = client
            .scan()
            .table_name(table)
            .filter_expression("feedId = :f")
            .expression_attribute_values(":f", AttributeValue::S(feed_id.to_string()))
            .projection_expression("partnerId")
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| {
                let target = crate::aws::Target {
                    service: crate::aws::Service::DynamoDb,
                    endpoint: crate::aws::global().endpoint_for(crate::aws::Service::DynamoDb),
                    region: None,
                };
                format!(
                    "Scan of {table} failed: {}",
                    crate::aws::AwsError::from_sdk(&target, "Scan", e)
                )
            })?;
        let found = out
            .items()
            .iter()
            .find_map(|i| i.get("partnerId").and_then(|v| v.as_s().ok()).cloned());
        if found.is_some() {
            return Ok(found);
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(None),
        }
    }
    Err(format!(
        "feed {feed_id} not found in the first {SCAN_PAGE_CAP} pages of {table}; pass --partner"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_ids_have_the_uuid_shape() {
        assert!(looks_like_feed_id("019cadd4-c179-7b3e-9c41-5d8e2f6a0b17"));
        assert!(looks_like_feed_id("019CADD4-C179-7B3E-9C41-5D8E2F6A0B17"));
        for not in [
            "",
            "feed-1",
            "019cadd4-c179-7b3e-9c41-5d8e2f6a0b1",
            "019cadd4c1797b3e9c415d8e2f6a0b17",
            "019cadd4-c179-7b3e-9c41-5d8e2f6a0b1g",
            "arn:aws:states:us-east-1:1:express:sm:019cadd4-c179-7b3e-9c41-5d8e2f6a0b17",
        ] {
            assert!(!looks_like_feed_id(not), "{not}");
        }
    }
}
