//! What the local cloud saw IAM decide, per role: the grants that allowed calls and the calls that
//! were denied. It is kept across runs (serialized to the state folder, merged) so `zb iam report`
//! can tell what a template denies and what it grants but nothing used, "since the last reset".
//!
//! Pure bookkeeping: the caller evaluates ([`crate::eval`]), persists and prints.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::eval::{grants, Decision, Grant};
use crate::message;
use crate::model::{Check, Role};

/// The decisions recorded, per role ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub roles: BTreeMap<String, RoleUsage>,
}

/// One role's record. Both lists are kept sorted, so a saved ledger is stable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleUsage {
    /// The grants that allowed at least one call.
    pub used: Vec<GrantUse>,
    /// The denied calls, by action and resource.
    pub denied: Vec<Denial>,
}

/// A grant and how many checks it allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantUse {
    pub grant: Grant,
    pub calls: u64,
}

/// Denied checks of one action on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub action: String,
    pub resource: String,
    /// How many times it was denied.
    pub count: u64,
    /// How many of those the IAM mode let through anyway (soft mode).
    pub allowed_by_mode: u64,
    /// The AccessDeniedException text of the first one.
    pub message: String,
}

impl Ledger {
    /// Records one evaluated check of the role `role_arn`, made as `principal`. `mode_allowed`: a
    /// denial that the mode let through (soft), not returned to the caller.
    pub fn record(&mut self, role_arn: &str, principal: &str, check: &Check, decision: &Decision, mode_allowed: bool) {
        let usage = self.roles.entry(role_arn.to_owned()).or_default();
        match decision {
            Decision::Allowed { grants } => {
                for grant in grants {
                    usage.add_use(grant.clone(), 1);
                }
            }
            Decision::ImplicitDeny | Decision::ExplicitDeny { .. } => usage.add_denial(Denial {
                action: check.action.clone(),
                resource: check.resource.clone(),
                count: 1,
                allowed_by_mode: u64::from(mode_allowed),
                message: message::denied(principal, check, decision),
            }),
        }
    }

    /// Adds `other`'s counts to this ledger. For a denial recorded in both, this ledger's message
    /// is kept (merge a newer ledger into the older one to keep the first).
    pub fn merge(&mut self, other: &Ledger) {
        for (role, theirs) in &other.roles {
            let ours = self.roles.entry(role.clone()).or_default();
            for u in &theirs.used {
                ours.add_use(u.grant.clone(), u.calls);
            }
            for d in &theirs.denied {
                ours.add_denial(d.clone());
            }
        }
    }

    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty()
    }
}

impl RoleUsage {
    fn add_use(&mut self, grant: Grant, calls: u64) {
        match self.used.binary_search_by(|u| u.grant.cmp(&grant)) {
            Ok(i) => self.used[i].calls += calls,
            Err(i) => self.used.insert(i, GrantUse { grant, calls }),
        }
    }

    fn add_denial(&mut self, denial: Denial) {
        let key = |d: &Denial| (d.action.clone(), d.resource.clone());
        match self.denied.binary_search_by(|d| key(d).cmp(&key(&denial))) {
            Ok(i) => {
                self.denied[i].count += denial.count;
                self.denied[i].allowed_by_mode += denial.allowed_by_mode;
            }
            Err(i) => self.denied.insert(i, denial),
        }
    }

    fn calls(&self, grant: &Grant) -> u64 {
        self.used
            .binary_search_by(|u| u.grant.cmp(grant))
            .map_or(0, |i| self.used[i].calls)
    }
}

/// `zb iam report`: per role, what was denied and what was granted but never used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub roles: Vec<RoleReport>,
    pub totals: Totals,
}

/// One role's part of the report. Grant counts leave out the AWS managed policies SAM attaches on
/// its own (`platform`), which the template author did not write: those are only counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleReport {
    /// The function, state machine or rule the role belongs to (or the role ARN when the ledger
    /// holds a role the template no longer has).
    pub who: String,
    pub role: String,
    pub role_arn: String,
    pub denied: Vec<Denial>,
    /// The template's grants that allowed no call.
    pub unused: Vec<Grant>,
    /// The template's grants (platform ones excluded), and how many allowed a call.
    pub granted: usize,
    pub used: usize,
    /// Grants of the platform policies, and how many of them allowed no call.
    pub platform_granted: usize,
    pub platform_unused: usize,
}

/// Sums over every role of the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub granted: usize,
    pub used: usize,
    pub unused: usize,
    /// Denied checks, and how many distinct action × resource pairs.
    pub denied_calls: u64,
    pub denied_distinct: usize,
    pub platform_unused: usize,
}

/// The report of `ledger` for `roles` (who, role), in that order; roles the ledger holds but the
/// list lacks follow, so no denial goes unreported.
pub fn report(roles: &[(String, Role)], ledger: &Ledger) -> Report {
    let empty = RoleUsage::default();
    let mut out = Vec::new();
    for (who, role) in roles {
        let usage = ledger.roles.get(&role.arn).unwrap_or(&empty);
        let platform: Vec<&str> = role
            .policies
            .iter()
            .filter(|p| p.platform)
            .map(|p| p.name.as_str())
            .collect();
        let (platform_grants, own): (Vec<Grant>, Vec<Grant>) = grants(role)
            .into_iter()
            .partition(|g| platform.contains(&g.policy.as_str()));
        let unused: Vec<Grant> = own.iter().filter(|g| usage.calls(g) == 0).cloned().collect();
        out.push(RoleReport {
            who: who.clone(),
            role: role.name.clone(),
            role_arn: role.arn.clone(),
            denied: usage.denied.clone(),
            granted: own.len(),
            used: own.len() - unused.len(),
            unused,
            platform_granted: platform_grants.len(),
            platform_unused: platform_grants.iter().filter(|g| usage.calls(g) == 0).count(),
        });
    }
    for (arn, usage) in &ledger.roles {
        if roles.iter().any(|(_, r)| &r.arn == arn) {
            continue;
        }
        out.push(RoleReport {
            who: arn.clone(),
            role: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
            role_arn: arn.clone(),
            denied: usage.denied.clone(),
            unused: Vec::new(),
            granted: 0,
            used: 0,
            platform_granted: 0,
            platform_unused: 0,
        });
    }
    let mut totals = Totals::default();
    for r in &out {
        totals.granted += r.granted;
        totals.used += r.used;
        totals.unused += r.unused.len();
        totals.platform_unused += r.platform_unused;
        totals.denied_distinct += r.denied.len();
        totals.denied_calls += r.denied.iter().map(|d| d.count).sum::<u64>();
    }
    Report { roles: out, totals }
}

/// Plain text: a section per role with its denied calls and unused grants in aligned columns.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "IAM report (calls recorded since the last reset)")?;
        for r in &self.roles {
            writeln!(f)?;
            writeln!(
                f,
                "{} (role {}): {} granted, {} used, {} unused; {} denied",
                r.who,
                r.role,
                r.granted,
                r.used,
                r.unused.len(),
                r.denied.iter().map(|d| d.count).sum::<u64>()
            )?;
            let mut rows: Vec<[String; 4]> = Vec::new();
            for d in &r.denied {
                let mode = if d.allowed_by_mode > 0 {
                    format!(" ({} let through)", d.allowed_by_mode)
                } else {
                    String::new()
                };
                rows.push([
                    "DENIED".into(),
                    d.action.clone(),
                    d.resource.clone(),
                    format!("{} calls{mode}", d.count),
                ]);
            }
            for g in &r.unused {
                rows.push([
                    "UNUSED".into(),
                    g.action.clone(),
                    g.resource.clone(),
                    format!("{} #{}", g.policy, g.statement),
                ]);
            }
            let width = |i: usize| rows.iter().map(|row| row[i].len()).max().unwrap_or(0);
            let (w0, w1, w2) = (width(0), width(1), width(2));
            for row in &rows {
                writeln!(f, "  {:w0$}  {:w1$}  {:w2$}  {}", row[0], row[1], row[2], row[3])?;
            }
            for d in &r.denied {
                writeln!(f, "  first denial: {}", d.message)?;
            }
            if r.platform_granted > 0 {
                writeln!(
                    f,
                    "  AWS managed policies SAM attaches: {} grants, {} unused (not listed)",
                    r.platform_granted, r.platform_unused
                )?;
            }
        }
        let t = &self.totals;
        writeln!(f)?;
        writeln!(
            f,
            "Total: {} granted, {} used, {} unused; {} denied calls ({} distinct)",
            t.granted, t.used, t.unused, t.denied_calls, t.denied_distinct
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::eval::evaluate;
    use crate::managed;
    use crate::model::NamedPolicy;

    const SESSION: &str = "arn:aws:sts::000000000000:assumed-role/zb-PersistFunctionRole/zb-persist";
    const ORDERS: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-OrdersTable";
    const FEEDS: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/zb-FeedsTable";

    fn persist_role() -> Role {
        Role {
            name: "zb-PersistFunctionRole".into(),
            arn: "arn:aws:iam::000000000000:role/zb-PersistFunctionRole".into(),
            trust: None,
            policies: vec![
                NamedPolicy {
                    name: managed::LAMBDA_BASIC_EXECUTION.into(),
                    document: managed::document(managed::LAMBDA_BASIC_EXECUTION).unwrap(),
                    platform: true,
                },
                NamedPolicy {
                    name: "PersistFunctionRolePolicy0".into(),
                    document: json!({"Statement": [
                        {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": ORDERS},
                        {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": FEEDS}
                    ]}),
                    platform: false,
                },
            ],
        }
    }

    fn check(action: &str, resource: &str) -> Check {
        Check {
            action: action.into(),
            resource: resource.into(),
            context: BTreeMap::new(),
        }
    }

    fn record(ledger: &mut Ledger, role: &Role, c: &Check, soft: bool) {
        let d = evaluate(role, SESSION, c);
        ledger.record(&role.arn, SESSION, c, &d, soft && !d.is_allowed());
    }

    #[test]
    fn the_report_lists_denials_and_unused_grants() {
        let role = persist_role();
        let mut ledger = Ledger::default();
        record(&mut ledger, &role, &check("dynamodb:PutItem", ORDERS), false);
        record(&mut ledger, &role, &check("dynamodb:PutItem", ORDERS), false);
        record(&mut ledger, &role, &check("dynamodb:BatchWriteItem", FEEDS), false);
        record(&mut ledger, &role, &check("dynamodb:BatchWriteItem", FEEDS), true);

        let report = report(&[("PersistFunction".to_owned(), role.clone())], &ledger);
        let r = &report.roles[0];
        assert_eq!((r.granted, r.used), (3, 1));
        let unused: Vec<(&str, &str)> = r
            .unused
            .iter()
            .map(|g| (g.action.as_str(), g.resource.as_str()))
            .collect();
        assert_eq!(
            unused,
            vec![("dynamodb:GetItem", ORDERS), ("dynamodb:UpdateItem", FEEDS)]
        );
        assert_eq!((r.platform_granted, r.platform_unused), (3, 3));
        assert_eq!(r.denied.len(), 1);
        assert_eq!((r.denied[0].count, r.denied[0].allowed_by_mode), (2, 1));
        assert!(r.denied[0].message.starts_with(&format!(
            "User: {SESSION} is not authorized to perform: dynamodb:BatchWriteItem"
        )));
        assert_eq!(
            report.totals,
            Totals {
                granted: 3,
                used: 1,
                unused: 2,
                denied_calls: 2,
                denied_distinct: 1,
                platform_unused: 3
            }
        );

        let text = report.to_string();
        assert!(
            text.contains("PersistFunction (role zb-PersistFunctionRole): 3 granted, 1 used, 2 unused; 2 denied"),
            "{text}"
        );
        assert!(text.contains("DENIED  dynamodb:BatchWriteItem"), "{text}");
        assert!(text.contains("2 calls (1 let through)"), "{text}");
        // Columns are aligned; compare the words of the row.
        let row = |prefix: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(prefix))
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
        };
        assert_eq!(
            row("UNUSED  dynamodb:UpdateItem"),
            Some(vec![
                "UNUSED",
                "dynamodb:UpdateItem",
                FEEDS,
                "PersistFunctionRolePolicy0",
                "#1"
            ])
        );
        assert!(
            text.contains("AWS managed policies SAM attaches: 3 grants, 3 unused"),
            "{text}"
        );
        assert!(
            text.ends_with("Total: 3 granted, 1 used, 2 unused; 2 denied calls (1 distinct)\n"),
            "{text}"
        );

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["roles"][0]["who"], "PersistFunction");
        assert_eq!(json["totals"]["unused"], 2);
    }

    #[test]
    fn merging_sums_counts_and_keeps_the_first_message() {
        let role = persist_role();
        let mut first = Ledger::default();
        record(&mut first, &role, &check("dynamodb:PutItem", ORDERS), false);
        let denied = check("dynamodb:DeleteItem", ORDERS);
        first.record(&role.arn, "first-principal", &denied, &Decision::ImplicitDeny, false);
        let mut second = Ledger::default();
        record(&mut second, &role, &check("dynamodb:PutItem", ORDERS), false);
        second.record(&role.arn, "second-principal", &denied, &Decision::ImplicitDeny, true);

        first.merge(&second);
        let usage = &first.roles[&role.arn];
        assert_eq!(usage.used.len(), 1);
        assert_eq!(usage.used[0].calls, 2);
        assert_eq!((usage.denied[0].count, usage.denied[0].allowed_by_mode), (2, 1));
        assert!(usage.denied[0].message.starts_with("User: first-principal "));
    }

    #[test]
    fn a_ledger_round_trips_through_json() {
        let role = persist_role();
        let mut ledger = Ledger::default();
        record(&mut ledger, &role, &check("dynamodb:GetItem", ORDERS), false);
        record(&mut ledger, &role, &check("dynamodb:Scan", ORDERS), false);
        let text = serde_json::to_string(&ledger).unwrap();
        assert_eq!(serde_json::from_str::<Ledger>(&text).unwrap(), ledger);
        assert!(!ledger.is_empty());
    }

    #[test]
    fn roles_only_in_the_ledger_are_still_reported() {
        let mut ledger = Ledger::default();
        let gone = "arn:aws:iam::000000000000:role/zb-GoneRole";
        ledger.record(
            gone,
            "p",
            &check("dynamodb:GetItem", ORDERS),
            &Decision::ImplicitDeny,
            false,
        );
        let report = report(&[("PersistFunction".to_owned(), persist_role())], &ledger);
        assert_eq!(report.roles.len(), 2);
        assert_eq!(report.roles[1].who, gone);
        assert_eq!(report.roles[1].role, "zb-GoneRole");
        assert_eq!(report.totals.denied_calls, 1);
    }
}
