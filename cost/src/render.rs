//! Report and what-if output: an aligned table for people, CSV for
//! spreadsheets, JSON for programs (money as decimal strings, as AWS Cost
//! Explorer returns amounts, so no digit is lost to floating point).

use crate::price::Service;
use crate::report::{CostReport, Row};
use crate::whatif::{WhatIf, WhatIfRow};
use rust_decimal::Decimal;
use std::fmt::Write;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write CSV: {0}")]
    CsvBuffer(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

fn usd(d: Decimal, dp: u32) -> String {
    format!("{:.*}", dp as usize, d.round_dp(dp))
}

fn percent(share: Decimal) -> String {
    format!("{:.1}%", (share * Decimal::ONE_HUNDRED).round_dp(1))
}

fn opt_usd(d: Option<Decimal>, dp: u32) -> String {
    d.map_or("-".to_string(), |d| usd(d, dp))
}

/// Aligns columns: the first `left` columns to the left, the rest to the
/// right. Hand-written: a few columns of text do not need a table crate.
fn table(header: &[String], rows: &[Vec<String>], left: usize) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < left {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn service_cells(by_service: &std::collections::BTreeMap<Service, Decimal>, dp: u32) -> Vec<String> {
    Service::ALL
        .iter()
        .map(|s| by_service.get(s).map_or("-".to_string(), |v| usd(*v, dp)))
        .collect()
}

fn service_headers() -> Vec<String> {
    Service::ALL.iter().map(|s| s.name().to_string()).collect()
}

fn report_row(label: &str, partner: &str, r: &Row) -> Vec<String> {
    let mut cells = vec![
        label.to_string(),
        partner.to_string(),
        r.orders.to_string(),
        usd(r.usd, 8),
        opt_usd(r.usd_per_order, 8),
        percent(r.share),
    ];
    cells.extend(service_cells(&r.by_service, 8));
    cells
}

pub fn report(r: &CostReport, format: Format) -> Result<String, RenderError> {
    render(r, format, report_csv, report_table)
}

/// JSON is the serialized value for every output; CSV and table are per type.
fn render<T: serde::Serialize>(
    r: &T,
    format: Format,
    csv: fn(&T) -> Result<String, RenderError>,
    table: fn(&T) -> String,
) -> Result<String, RenderError> {
    match format {
        Format::Json => Ok(serde_json::to_string_pretty(r)? + "\n"),
        Format::Csv => csv(r),
        Format::Table => Ok(table(r)),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn report_table(r: &CostReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cost of {} feeds, {} orders: ${} (${} per order); prices {} {}, {} Lambda, {} API",
        r.feeds.len(),
        r.total.orders,
        usd(r.total.usd, 8),
        opt_usd(r.total.usd_per_order, 8),
        r.pricing.region,
        r.pricing.version,
        r.choices.arch,
        r.choices.api,
    );
    let mut header = strings(&["feed", "partner", "orders", "USD", "USD/order", "share"]);
    header.extend(service_headers());
    let mut rows: Vec<Vec<String>> = r
        .feeds
        .iter()
        .map(|f| {
            report_row(
                f.feed_id.as_deref().unwrap_or("?"),
                f.partner_id.as_deref().unwrap_or("-"),
                f,
            )
        })
        .collect();
    rows.push(report_row("(unattributed)", "-", &r.unattributed));
    rows.push(report_row("total", "", &r.total));
    out.push('\n');
    out.push_str(&table(&header, &rows, 2));

    let mut header = strings(&["partner", "orders", "USD", "USD/order", "share"]);
    header.extend(service_headers());
    let rows: Vec<Vec<String>> = r
        .partners
        .iter()
        .map(|p| {
            let mut cells = report_row(p.partner_id.as_deref().unwrap_or("?"), "", p);
            cells.remove(1);
            cells
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&header, &rows, 1));

    let header = strings(&["service", "USD", "USD/order", "share"]);
    let rows: Vec<Vec<String>> = r
        .services
        .iter()
        .map(|s| {
            vec![
                s.service.name().to_string(),
                usd(s.usd, 8),
                opt_usd(s.usd_per_order, 8),
                percent(s.share),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(&header, &rows, 1));

    let header = strings(&["service", "item", "quantity", "unit", "USD"]);
    let rows: Vec<Vec<String>> = r
        .total
        .charges
        .iter()
        .map(|c| {
            vec![
                c.service.name().to_string(),
                c.item.to_string(),
                c.quantity.round_dp(9).normalize().to_string(),
                c.unit.to_string(),
                usd(c.usd, 8),
            ]
        })
        .collect();
    out.push_str("\nWhat the total is made of:\n");
    out.push_str(&table(&header, &rows, 2));
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn csv_text(write: impl FnOnce(&mut csv::Writer<Vec<u8>>) -> Result<(), csv::Error>) -> Result<String, RenderError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    write(&mut w)?;
    let bytes = w.into_inner().map_err(|e| RenderError::CsvBuffer(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| RenderError::CsvBuffer(e.to_string()))
}

/// A CSV header: the given columns, then one USD column per service.
fn csv_header(w: &mut csv::Writer<Vec<u8>>, columns: &[&str]) -> Result<(), csv::Error> {
    let mut header = strings(columns);
    header.extend(service_columns());
    w.write_record(&header)
}

fn service_columns() -> Vec<String> {
    Service::ALL
        .iter()
        .map(|s| format!("{}_usd", s.name().to_ascii_lowercase().replace(' ', "_")))
        .collect()
}

fn plain(d: Decimal) -> String {
    d.normalize().to_string()
}

fn report_csv(r: &CostReport) -> Result<String, RenderError> {
    csv_text(|w| {
        csv_header(
            w,
            &[
                "scope",
                "id",
                "partner_id",
                "orders",
                "orders_persisted",
                "orders_rejected",
                "usd",
                "usd_per_order",
                "share",
            ],
        )?;
        let mut put = |scope: &str, id: &str, row: &Row| -> Result<(), csv::Error> {
            let mut cells = vec![
                scope.to_string(),
                id.to_string(),
                row.partner_id.clone().unwrap_or_default(),
                row.orders.to_string(),
                row.orders_persisted.to_string(),
                row.orders_rejected.to_string(),
                plain(row.usd),
                row.usd_per_order.map(plain).unwrap_or_default(),
                plain(row.share),
            ];
            cells.extend(
                Service::ALL
                    .iter()
                    .map(|s| row.by_service.get(s).map(|v| plain(*v)).unwrap_or_default()),
            );
            w.write_record(&cells)
        };
        for f in &r.feeds {
            put("feed", f.feed_id.as_deref().unwrap_or_default(), f)?;
        }
        put("unattributed", "", &r.unattributed)?;
        for p in &r.partners {
            put("partner", p.partner_id.as_deref().unwrap_or_default(), p)?;
        }
        put("total", "", &r.total)?;
        for s in &r.services {
            let mut cells = vec![
                "service".to_string(),
                s.service.name().to_string(),
                String::new(),
                r.total.orders.to_string(),
                String::new(),
                String::new(),
                plain(s.usd),
                s.usd_per_order.map(plain).unwrap_or_default(),
                plain(s.share),
            ];
            cells.extend(
                Service::ALL
                    .iter()
                    .map(|x| if *x == s.service { plain(s.usd) } else { String::new() }),
            );
            w.write_record(&cells)?;
        }
        Ok(())
    })
}

pub fn what_if(r: &WhatIf, format: Format) -> Result<String, RenderError> {
    render(r, format, what_if_csv, what_if_table)
}

fn memory_label(row: &WhatIfRow) -> String {
    row.choices
        .memory_mb
        .map_or("measured".to_string(), |m| format!("{m} MB"))
}

fn workflow_label(row: &WhatIfRow) -> String {
    row.choices.workflow.map_or("measured".to_string(), |w| w.to_string())
}

/// The scenario and its choices, the first columns of every what-if row.
fn choice_cells(row: &WhatIfRow) -> Vec<String> {
    vec![
        row.scenario.clone(),
        workflow_label(row),
        row.choices.arch.to_string(),
        memory_label(row),
        row.choices.api.to_string(),
    ]
}

fn what_if_table(r: &WhatIf) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "USD per million orders, repricing {} feeds / {} orders measured{}; prices {} {}",
        r.feeds,
        r.orders,
        r.measured_workflow.map_or(String::new(), |w| format!(" as {w}")),
        r.pricing.region,
        r.pricing.version
    );
    let mut header = strings(&["scenario", "workflow", "arch", "memory", "API", "total", "x floor"]);
    header.extend(service_headers());
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let mut cells = choice_cells(row);
            cells.push(usd(row.usd_per_million_orders, 2));
            cells.push(row.times_floor.map_or("-".to_string(), |t| format!("{t:.2}")));
            cells.extend(service_cells(&row.by_service, 2));
            cells
        })
        .collect();
    let mut floor = vec![
        "floor".to_string(),
        "-".to_string(),
        "-".to_string(),
        "-".to_string(),
        "HTTP".to_string(),
        usd(r.floor.usd_per_million_orders, 2),
        "1.00".to_string(),
    ];
    floor.extend(service_cells(&r.floor.by_service, 2));
    rows.push(floor);
    out.push('\n');
    out.push_str(&table(&header, &rows, 5));
    if let Some(u) = r.unattributed_usd_per_million_orders {
        let _ = writeln!(
            out,
            "\nnot in the rows: usage that belongs to no feed, ${} per million orders",
            usd(u, 2)
        );
    }
    out.push_str(&logging_table(&r.logging));
    for a in &r.assumptions {
        let _ = writeln!(out, "assumption: {a}");
    }
    out
}

/// The order pipeline's execution logs per LoggingConfiguration choice.
fn logging_table(l: &crate::whatif::Logging) -> String {
    let Some(level) = l.measured_level else {
        return "\nexecution logging: no execution log lines were read; run with the pipeline logging to see each \
                choice's cost\n"
            .to_string();
    };
    let mut out = format!(
        "\nexecution logs per million orders, from the lines written (level {}, execution data {}):\n",
        level.as_str(),
        if l.measured_with_data { "included" } else { "excluded" }
    );
    let header = strings(&["level", "execution data", "events", "bytes", "USD"]);
    let rows: Vec<Vec<String>> = l
        .rows
        .iter()
        .map(|r| {
            vec![
                r.level.as_str().to_string(),
                if r.include_execution_data {
                    "included"
                } else {
                    "excluded"
                }
                .to_string(),
                r.log_events.map_or("-".to_string(), |n| n.to_string()),
                r.log_bytes.map_or("-".to_string(), |n| n.to_string()),
                r.usd_per_million_orders
                    .map_or("not measured".to_string(), |u| usd(u, 2)),
            ]
        })
        .collect();
    out.push_str(&table(&header, &rows, 2));
    out
}

fn what_if_csv(r: &WhatIf) -> Result<String, RenderError> {
    csv_text(|w| {
        csv_header(
            w,
            &[
                "scenario",
                "workflow",
                "arch",
                "memory",
                "api",
                "usd_per_million_orders",
                "times_floor",
            ],
        )?;
        for row in r.rows.iter().chain([&r.floor]) {
            let mut cells = choice_cells(row);
            cells.push(plain(row.usd_per_million_orders));
            cells.push(row.times_floor.map(plain).unwrap_or_default());
            cells.extend(
                Service::ALL
                    .iter()
                    .map(|s| row.by_service.get(s).map(|v| plain(*v)).unwrap_or_default()),
            );
            w.write_record(&cells)?;
        }
        Ok(())
    })
}
