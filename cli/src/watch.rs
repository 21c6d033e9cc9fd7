//! What `executions watch` reports between two polls. Pure: the caller polls
//! (ListExecutions or the log group) and prints; this decides what is new.

use crate::history::ExecutionSummary;
use std::collections::{HashMap, VecDeque};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    Started(ExecutionSummary),
    Ended(ExecutionSummary),
}

/// Remembers the most recent executions (bounded: a long watch on a busy
/// pipeline must not grow without limit) and whether each has ended.
#[derive(Debug)]
pub struct Tracker {
    capacity: usize,
    order: VecDeque<String>,
    ended: HashMap<String, bool>,
}

impl Tracker {
    pub fn new(capacity: usize) -> Tracker {
        Tracker {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            ended: HashMap::new(),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }

    fn remember(&mut self, arn: &str, ended: bool) {
        if self.ended.insert(arn.to_string(), ended).is_none() {
            self.order.push_back(arn.to_string());
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.ended.remove(&old);
                }
            }
        }
    }

    /// The executions already there when watching starts: not reported as
    /// new, but those still running are reported when they end.
    pub fn baseline(&mut self, rows: &[ExecutionSummary]) {
        for r in rows.iter().rev() {
            self.remember(&r.execution_arn, r.status.is_final());
        }
    }

    /// Executions seen running and not yet seen ending (to look up directly
    /// when they fall off the first page of the listing).
    pub fn running(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|a| self.ended.get(*a) == Some(&false))
            .cloned()
            .collect()
    }

    /// Compares one poll with what was seen before. `rows` may be in any
    /// order; events come out oldest start first. An execution that started
    /// and ended between two polls gives both events.
    pub fn observe(&mut self, rows: &[ExecutionSummary]) -> Vec<WatchEvent> {
        let mut rows: Vec<&ExecutionSummary> = rows.iter().collect();
        rows.sort_by_key(|r| r.started);
        let mut out = Vec::new();
        for r in rows {
            let done = r.status.is_final();
            match self.ended.get(&r.execution_arn).copied() {
                None => {
                    out.push(WatchEvent::Started(r.clone()));
                    if done {
                        out.push(WatchEvent::Ended(r.clone()));
                    }
                    self.remember(&r.execution_arn, done);
                }
                Some(false) if done => {
                    out.push(WatchEvent::Ended(r.clone()));
                    self.remember(&r.execution_arn, true);
                }
                Some(_) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::ExecutionStatus;
    use chrono::{TimeZone, Utc};

    fn row(name: &str, status: ExecutionStatus, start_ms: i64) -> ExecutionSummary {
        let start = Utc.timestamp_millis_opt(start_ms).single();
        let stop = status
            .is_final()
            .then(|| Utc.timestamp_millis_opt(start_ms + 250).single())
            .flatten();
        ExecutionSummary::new(
            &format!("arn:aws:states:us-east-1:1:execution:sm:{name}"),
            name,
            status,
            start,
            stop,
        )
    }

    fn kinds(events: &[WatchEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                WatchEvent::Started(s) => format!("start {}", s.name),
                WatchEvent::Ended(s) => format!("end {} {}", s.name, s.status.as_str()),
            })
            .collect()
    }

    #[test]
    fn reports_starts_and_ends_once() {
        use ExecutionStatus::*;
        let mut t = Tracker::new(100);
        t.baseline(&[row("old-done", Succeeded, 1), row("old-running", Running, 2)]);
        assert_eq!(t.running(), ["arn:aws:states:us-east-1:1:execution:sm:old-running"]);

        let poll1 = [
            row("new", Running, 10),
            row("old-done", Succeeded, 1),
            row("old-running", Running, 2),
        ];
        assert_eq!(kinds(&t.observe(&poll1)), ["start new"]);

        let poll2 = [
            row("quick", Failed, 20),
            row("new", Succeeded, 10),
            row("old-running", Failed, 2),
        ];
        assert_eq!(
            kinds(&t.observe(&poll2)),
            [
                "end old-running FAILED",
                "end new SUCCEEDED",
                "start quick",
                "end quick FAILED"
            ]
        );

        assert!(t.observe(&poll2).is_empty(), "nothing new on an identical poll");
        assert!(t.running().is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let mut t = Tracker::new(3);
        let rows: Vec<ExecutionSummary> = (0..10)
            .map(|i| row(&format!("e{i}"), ExecutionStatus::Succeeded, i))
            .collect();
        t.observe(&rows);
        assert_eq!(t.len(), 3);
        // The oldest were forgotten; the newest are still known.
        assert!(t.observe(&rows[7..]).is_empty());
    }
}
