//! Reload on save. While the local cloud runs, a change to template.yaml or
//! to a state machine definition is re-read and, if it is good, installed:
//! new executions use the new definitions, running ones finish with theirs,
//! and the template's rules are replaced. A change that breaks the template
//! or a definition is reported (file and problem) and the last good version
//! keeps running. A rebuilt function binary replaces its warm instances.
//!
//! File events come from the `notify` crate; they only say "look now": what
//! changed is decided by comparing each watched source's content (and each
//! binary's size and modification time) with the last look, so editor temp
//! files, bursts of events during a build and atomic renames all come down to
//! one comparison. The first look and the watches are taken before
//! [`spawn`] returns, so a save made right after it is never mistaken for the
//! starting state. Only state
//! machines, rules and function binaries are reloaded; functions' settings,
//! tables and routes are read at start-up.

use crate::cloud::Services;
use crate::eventbridge::RuleSwap;
use crate::sfn::{SfnError, StepFunctions, TemplateSwap};
use crate::template::{self, Model, TemplateError};
use notify::{RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

/// How long the files must stay quiet before they are read: an editor's
/// save or a linker's write is several events.
const QUIET: Duration = Duration::from_millis(150);
/// When no file events can be had, how often to look.
const POLL: Duration = Duration::from_millis(300);
/// A binary must keep its size and time this long before it is used.
const SETTLE: Duration = Duration::from_millis(100);
const SETTLE_TRIES: u32 = 50;

/// What the watcher reads: the same template, stack and parameters the cloud started with.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub template: PathBuf,
    pub stack: String,
    pub parameters: BTreeMap<String, String>,
    pub binaries: PathBuf,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadEvent {
    /// The changed files were read and installed.
    Reloaded {
        files: Vec<PathBuf>,
        machines: TemplateSwap,
        rules: RuleSwap,
    },
    /// A change was refused; the last good version keeps running.
    Refused { file: PathBuf, problem: String },
    /// A rebuilt binary replaced the function's instances.
    BinaryReplaced { function: String, binary: PathBuf },
    /// A rebuilt binary could not be used.
    BinaryFailed { function: String, problem: String },
}

/// "state machines updated: A; rules added: R" for one kind of resource.
fn describe(what: &str, [updated, added, removed]: [&[String]; 3], parts: &mut Vec<String>) {
    for (verb, list) in [("updated", updated), ("added", added), ("removed", removed)] {
        if !list.is_empty() {
            parts.push(format!("{what} {verb}: {}", list.join(", ")));
        }
    }
}

impl fmt::Display for ReloadEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reloaded { files, machines, rules } => {
                let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                let mut parts = Vec::new();
                describe(
                    "state machines",
                    [&machines.updated, &machines.added, &machines.removed],
                    &mut parts,
                );
                describe("rules", [&rules.updated, &rules.added, &rules.removed], &mut parts);
                if parts.is_empty() {
                    parts.push("no state machine or rule changed".to_owned());
                }
                write!(f, "reloaded {}: {}", files.join(", "), parts.join("; "))
            }
            Self::Refused { file, problem } => write!(
                f,
                "refused {}: {problem} (the last good version keeps running)",
                file.display()
            ),
            Self::BinaryReplaced { function, binary } => {
                write!(
                    f,
                    "{function}: new binary {}, warm instances replaced",
                    binary.display()
                )
            }
            Self::BinaryFailed { function, problem } => write!(f, "{function}: new binary not used: {problem}"),
        }
    }
}

/// A binary's identity for change detection (None: absent).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// A source file's identity: its content's hash (None: absent or unreadable).
/// Content, not size and time: two saves of the same length within one tick
/// of the file system's coarse clock would otherwise look alike.
type Content = Option<u64>;

fn content(path: &Path) -> Content {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).ok()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    Some(hasher.finish())
}

/// The files that matter for the current model.
struct Watched {
    sources: BTreeMap<PathBuf, Content>,
    /// function name → (binary, stamp)
    binaries: BTreeMap<String, (PathBuf, Stamp)>,
}

impl Watched {
    fn of(config: &WatchConfig, model: &Model) -> Self {
        let mut sources = BTreeMap::new();
        sources.insert(config.template.clone(), content(&config.template));
        for sm in &model.state_machines {
            if let Some(path) = &sm.definition_path {
                sources.insert(path.clone(), content(path));
            }
        }
        let binaries = model
            .functions
            .iter()
            .map(|f| {
                let path = config.binaries.join(&f.binary);
                let s = stamp(&path);
                (f.name.clone(), (path, s))
            })
            .collect();
        Self { sources, binaries }
    }

    /// The folders whose events can mean a watched file changed.
    fn folders(&self) -> BTreeSet<PathBuf> {
        self.sources
            .keys()
            .chain(self.binaries.values().map(|(p, _)| p))
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p
                }
            })
            .filter(|p| p.is_dir())
            .collect()
    }

    fn changed_sources(&self) -> Vec<PathBuf> {
        self.sources
            .iter()
            .filter(|(path, old)| content(path) != **old)
            .map(|(path, _)| path.clone())
            .collect()
    }
}

/// Starts watching. Events go to the returned receiver (and to tracing).
/// The starting state is read and the folders are watched before this
/// returns: a save made after it is always seen as a change.
pub(crate) fn spawn(
    config: WatchConfig,
    model: Model,
    services: Arc<Services>,
) -> (JoinHandle<()>, UnboundedReceiver<ReloadEvent>) {
    let (events, receiver) = unbounded_channel();
    let (tx, rx) = unbounded_channel::<()>();
    let watcher = match notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
        let _ = tx.send(());
    }) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "no file events; looking for changes every 300 ms instead");
            None
        }
    };
    let mut reloader = Reloader {
        watched: Watched::of(&config, &model),
        config,
        services,
        events,
        watcher,
        watching: BTreeSet::new(),
    };
    reloader.watch_folders();
    let handle = tokio::spawn(reloader.run(rx));
    (handle, receiver)
}

struct Reloader {
    config: WatchConfig,
    services: Arc<Services>,
    watched: Watched,
    events: UnboundedSender<ReloadEvent>,
    /// None when the platform gives no file events (then: polling).
    watcher: Option<notify::RecommendedWatcher>,
    watching: BTreeSet<PathBuf>,
}

impl Reloader {
    /// Watches the folders of the files that matter now (the template may
    /// have come to name others).
    fn watch_folders(&mut self) {
        let Some(w) = self.watcher.as_mut() else {
            return;
        };
        for folder in self.watched.folders() {
            if !self.watching.contains(&folder) {
                match w.watch(&folder, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.watching.insert(folder);
                    }
                    Err(e) => tracing::warn!(folder = %folder.display(), error = %e, "cannot watch"),
                }
            }
        }
    }

    async fn run(mut self, mut rx: UnboundedReceiver<()>) {
        loop {
            // Wait for a first event (or the poll tick), then for quiet.
            if self.watcher.is_some() {
                if rx.recv().await.is_none() {
                    return;
                }
                while let Ok(Some(())) = tokio::time::timeout(QUIET, rx.recv()).await {}
            } else {
                tokio::time::sleep(POLL).await;
            }
            self.look().await;
            self.watch_folders();
        }
    }

    fn emit(&self, event: ReloadEvent) {
        match &event {
            ReloadEvent::Refused { .. } | ReloadEvent::BinaryFailed { .. } => tracing::warn!("{event}"),
            _ => tracing::info!("{event}"),
        }
        let _ = self.events.send(event);
    }

    async fn look(&mut self) {
        let changed = self.watched.changed_sources();
        if !changed.is_empty() {
            self.reload(changed);
        }
        let functions: Vec<String> = self.watched.binaries.keys().cloned().collect();
        for function in functions {
            self.check_binary(&function).await;
        }
    }

    fn reload(&mut self, files: Vec<PathBuf>) {
        // Whatever the outcome, these versions of the files have been looked at.
        for path in &files {
            if let Some(s) = self.watched.sources.get_mut(path) {
                *s = content(path);
            }
        }
        let refused = |file: PathBuf, problem: String| ReloadEvent::Refused { file, problem };
        let model = match template::load(&self.config.template, &self.config.stack, &self.config.parameters) {
            Ok(model) => model,
            Err(e) => {
                let file = match &e {
                    TemplateError::Io { path, .. } => PathBuf::from(path),
                    _ => self.config.template.clone(),
                };
                return self.emit(refused(file, e.to_string()));
            }
        };
        if let Err(SfnError::Definition { name, file, detail }) = StepFunctions::check_template(&model.state_machines) {
            let file = file.map_or_else(|| self.config.template.clone(), PathBuf::from);
            return self.emit(refused(file, format!("state machine {name}: {detail}")));
        }
        if let Err(e) = self.services.events.check_template(&model.rules) {
            return self.emit(refused(self.config.template.clone(), e.to_string()));
        }
        // Both checked: neither swap can fail now, but stay total.
        let machines = match self.services.sfn.swap_template(&model.state_machines) {
            Ok(swap) => swap,
            Err(e) => return self.emit(refused(self.config.template.clone(), e.to_string())),
        };
        let rules = match self.services.events.swap_template(&model.rules) {
            Ok(swap) => swap,
            Err(e) => return self.emit(refused(self.config.template.clone(), e.to_string())),
        };
        // The template may now name other definition files.
        let binaries = std::mem::take(&mut self.watched.binaries);
        self.watched = Watched::of(&self.config, &model);
        for (function, (path, old)) in binaries {
            if let Some(entry) = self.watched.binaries.get_mut(&function) {
                if entry.0 == path {
                    entry.1 = old;
                }
            }
        }
        self.emit(ReloadEvent::Reloaded { files, machines, rules });
    }

    async fn check_binary(&mut self, function: &str) {
        let Some((path, old)) = self.watched.binaries.get(function).cloned() else {
            return;
        };
        let mut now = stamp(&path);
        if now == old || now.is_none() {
            return;
        }
        // A binary still being written is not used until it stops changing.
        for _ in 0..SETTLE_TRIES {
            tokio::time::sleep(SETTLE).await;
            let again = stamp(&path);
            if again == now {
                break;
            }
            now = again;
        }
        if now.is_none() {
            return;
        }
        if let Some(entry) = self.watched.binaries.get_mut(function) {
            entry.1 = now;
        }
        match self.services.host.replace_binary(function, path.clone()).await {
            Ok(()) => self.emit(ReloadEvent::BinaryReplaced {
                function: function.to_string(),
                binary: path,
            }),
            Err(e) => self.emit(ReloadEvent::BinaryFailed {
                function: function.to_string(),
                problem: e.to_string(),
            }),
        }
    }
}
