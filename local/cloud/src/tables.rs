//! Creates the template's DynamoDB tables (keys, GSIs, LSIs, TTL) in
//! DynamoDB Local, from the CloudFormation properties as written.

use crate::template::Table;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table {table}: {detail}")]
    Shape { table: String, detail: String },
    #[error("creating table {table}: {detail}")]
    Create { table: String, detail: String },
}

fn shape(table: &str, detail: impl Into<String>) -> TableError {
    TableError::Shape {
        table: table.into(),
        detail: detail.into(),
    }
}

fn key_schema(table: &str, v: Option<&Value>) -> Result<Vec<KeySchemaElement>, TableError> {
    let list = v
        .and_then(Value::as_array)
        .ok_or_else(|| shape(table, "KeySchema is required"))?;
    list.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k.get("AttributeName").and_then(Value::as_str).unwrap_or_default())
                .key_type(KeyType::from(
                    k.get("KeyType").and_then(Value::as_str).unwrap_or_default(),
                ))
                .build()
                .map_err(|e| shape(table, e.to_string()))
        })
        .collect()
}

fn projection(table: &str, v: Option<&Value>) -> Result<Projection, TableError> {
    let v = v.ok_or_else(|| shape(table, "an index needs a Projection"))?;
    let kind = v.get("ProjectionType").and_then(Value::as_str).unwrap_or("ALL");
    let attrs = v
        .get("NonKeyAttributes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
    Ok(Projection::builder()
        .projection_type(ProjectionType::from(kind))
        .set_non_key_attributes(attrs)
        .build())
}

/// Creates one table under `name` (the model's, or a test's unique one).
pub async fn create(client: &aws_sdk_dynamodb::Client, table: &Table, name: &str) -> Result<(), TableError> {
    let p = &table.properties;
    let attrs = p
        .get("AttributeDefinitions")
        .and_then(Value::as_array)
        .ok_or_else(|| shape(name, "AttributeDefinitions is required"))?
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a.get("AttributeName").and_then(Value::as_str).unwrap_or_default())
                .attribute_type(ScalarAttributeType::from(
                    a.get("AttributeType").and_then(Value::as_str).unwrap_or_default(),
                ))
                .build()
                .map_err(|e| shape(name, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut gsis = Vec::new();
    for g in p
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        gsis.push(
            GlobalSecondaryIndex::builder()
                .index_name(g.get("IndexName").and_then(Value::as_str).unwrap_or_default())
                .set_key_schema(Some(key_schema(name, g.get("KeySchema"))?))
                .projection(projection(name, g.get("Projection"))?)
                .build()
                .map_err(|e| shape(name, e.to_string()))?,
        );
    }
    let mut lsis = Vec::new();
    for l in p
        .get("LocalSecondaryIndexes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        lsis.push(
            LocalSecondaryIndex::builder()
                .index_name(l.get("IndexName").and_then(Value::as_str).unwrap_or_default())
                .set_key_schema(Some(key_schema(name, l.get("KeySchema"))?))
                .projection(projection(name, l.get("Projection"))?)
                .build()
                .map_err(|e| shape(name, e.to_string()))?,
        );
    }
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attrs))
        .set_key_schema(Some(key_schema(name, p.get("KeySchema"))?))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .set_local_secondary_indexes((!lsis.is_empty()).then_some(lsis))
        .send()
        .await;
    if let Err(e) = created {
        let text = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
        // A developer's own DynamoDB may already hold the table from a previous run.
        if !text.contains("ResourceInUseException") && !text.contains("already exists") {
            return Err(TableError::Create {
                table: name.into(),
                detail: text,
            });
        }
    }
    if let Some(ttl) = p.get("TimeToLiveSpecification") {
        if ttl.get("Enabled") == Some(&Value::Bool(true)) {
            let attr = ttl.get("AttributeName").and_then(Value::as_str).unwrap_or_default();
            let spec = TimeToLiveSpecification::builder()
                .attribute_name(attr)
                .enabled(true)
                .build()
                .map_err(|e| shape(name, e.to_string()))?;
            // Enabling TTL twice is an error we can ignore.
            let _ = client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(spec)
                .send()
                .await;
        }
    }
    Ok(())
}
