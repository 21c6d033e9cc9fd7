//! Express executions seen as ops see them on AWS: through the state
//! machine's log group (FilterLogEvents). The code lives in
//! `zb_shared::executions::logs`, so the admin function (which cannot
//! depend on this crate) reads executions the same way; this module keeps
//! the names `zb demo` and the tests use.

pub use zb_shared::executions::logs::{
    execution_lines, finished, finished_for_feed, lines, lines_since, log_group_of, runs_for_feed, ExpressLogError,
    ExpressRun, LoggedRun,
};
