//! The functions' real EventBridge and Step Functions adapters for handler
//! tests, pointed at the test binary's shared local cloud
//! ([`crate::cloud::shared_cloud`]) the way the functions' `from_env` points
//! them at AWS, and what the cloud saw of them: the events its EventBridge
//! accepted, the runs of its webhook-delivery state machine. No fakes: the
//! SDK sends real requests, and a test that wants the bus down gets a real
//! connection failure.

use crate::cloud::{shared_cloud, SharedCloud};
use crate::wiring::Env;
use serde_json::Value;
use std::collections::HashSet;
use zb_shared::events::EventBridgeSink;
use zb_shared::workflow::SfnStarter;

/// The bus handler tests publish on: the default bus, which no rule of the
/// template watches, so the shared cloud's own pipeline never picks up a
/// feed stored in a test's private tables.
pub const BUS: &str = "default";

/// The template's webhook-delivery state machine (Standard), which notify starts.
pub const WEBHOOK_DELIVERY: &str = "WebhookDeliveryStateMachine";

/// An event as the local cloud's EventBridge accepted it.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub source: String,
    pub detail_type: String,
    pub detail: Value,
}

/// What the local cloud accepted from one [`EventBridgeSink`]: the
/// accepted PutEvents entries signed with that sink's own access key id.
pub struct Journal {
    caller: String,
    cloud: &'static SharedCloud,
}

impl Journal {
    /// The events accepted so far, in the order the bus accepted them.
    pub fn events(&self) -> Vec<Published> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        self.cloud
            .services
            .events
            .accepted()
            .into_iter()
            .filter(|a| a.caller.as_deref() == Some(self.caller.as_str()))
            .map(|a| Published {
                source: text(&a.event["source"]),
                detail_type: text(&a.event["detail-type"]),
                detail: a.event["detail"].clone(),
            })
            .collect()
    }
}

/// SDK configuration for the shared cloud's AWS endpoint, signing as `caller`.
async fn sdk_as(cloud: &SharedCloud, caller: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&cloud.aws_url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            caller, "local", None, None, "zb-tests",
        ))
        .load()
        .await
}

/// A fresh access key id, so that a sink's events can be told apart.
fn new_caller() -> String {
    format!("AKIDZBTEST{}", uuid::Uuid::new_v4().simple()).to_uppercase()
}

impl Env {
    /// The real EventBridge adapter on the shared local cloud, with an
    /// access key of its own, and the journal of what the cloud accepted
    /// from it. Clone the sink to give several apps the same journal.
    pub async fn event_bridge(&self) -> (EventBridgeSink, Journal) {
        let cloud = shared_cloud().await;
        let caller = new_caller();
        let sdk = sdk_as(cloud, &caller).await;
        let sink = EventBridgeSink::new(aws_sdk_eventbridge::Client::new(&sdk), BUS);
        (sink, Journal { caller, cloud })
    }

    /// The real EventBridge adapter with the bus unreachable: its endpoint
    /// is a closed port on 127.0.0.1, so every PutEvents fails to connect
    /// (after the SDK's own retries), as when EventBridge is down.
    pub async fn event_bridge_down(&self) -> EventBridgeSink {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("a free port: {e}"));
        let cloud = shared_cloud().await;
        let sdk = sdk_as(cloud, &new_caller()).await;
        let config = aws_sdk_eventbridge::config::Builder::from(&sdk)
            .endpoint_url(format!("http://{closed}"))
            .build();
        EventBridgeSink::new(aws_sdk_eventbridge::Client::from_conf(config), BUS)
    }

    /// The real Step Functions starter of the shared cloud's
    /// webhook-delivery state machine, as notify's `from_env` builds it.
    pub async fn starter(&self) -> SfnStarter {
        let cloud = shared_cloud().await;
        let sdk = sdk_as(cloud, &new_caller()).await;
        SfnStarter::new(aws_sdk_sfn::Client::new(&sdk), webhook_delivery_arn(cloud))
    }

    /// The webhook-delivery runs started for this env's deliveries (named
    /// after a delivery in its table, or `<deliveryId>-r<n>` for a replay),
    /// oldest first: (execution name, input), read back from the local
    /// cloud with ListExecutions and DescribeExecution.
    pub async fn runs(&self) -> Vec<(String, String)> {
        let cloud = shared_cloud().await;
        let sdk = sdk_as(cloud, &new_caller()).await;
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        let ids = self.delivery_ids().await;
        let mine = |name: &str| {
            ids.iter()
                .any(|id| name == id || name.strip_prefix(id.as_str()).is_some_and(|r| r.starts_with("-r")))
        };
        let listed: Vec<_> = sfn
            .list_executions()
            .state_machine_arn(webhook_delivery_arn(cloud))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap_or_else(|e| panic!("ListExecutions: {}", aws_sdk_sfn::error::DisplayErrorContext(&e)));
        let mut runs = Vec::new();
        // ListExecutions lists the newest first.
        for e in listed.iter().rev().filter(|e| mine(e.name())) {
            let described = sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .unwrap_or_else(|err| {
                    panic!(
                        "DescribeExecution {}: {}",
                        e.execution_arn(),
                        aws_sdk_sfn::error::DisplayErrorContext(&err)
                    )
                });
            runs.push((e.name().to_string(), described.input().unwrap_or_default().to_string()));
        }
        runs
    }

    /// The deliveryId of every item in this env's deliveries table.
    async fn delivery_ids(&self) -> HashSet<String> {
        let mut ids = HashSet::new();
        let mut start = None;
        loop {
            let out = self
                .ddb
                .scan()
                .table_name(&self.tables.deliveries)
                .projection_expression("deliveryId")
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| panic!("scan the deliveries: {e}"));
            for item in out.items() {
                if let Some(Ok(id)) = item.get("deliveryId").map(|v| v.as_s()) {
                    ids.insert(id.clone());
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return ids;
            }
        }
    }
}

fn webhook_delivery_arn(cloud: &SharedCloud) -> String {
    cloud
        .model
        .state_machines
        .iter()
        .find(|m| m.logical_id == WEBHOOK_DELIVERY)
        .map(|m| m.arn.clone())
        .unwrap_or_else(|| panic!("template.yaml has no {WEBHOOK_DELIVERY}"))
}
