//! Loading a state machine definition: parsing, refusing what the local cloud cannot run, and the
//! structural checks AWS makes at CreateStateMachine time.

mod fields;
mod states;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::Value;

pub(crate) use states::{
    FailSource, IoPath, MapState, ParallelState, Recovery, Seconds, State, StateKind, TaskState, Transition, WaitFor,
};

use fields::Fields;

// AWS's limit on state name length.
const MAX_STATE_NAME_CHARS: usize = 80;

/// Where in the definition a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    TopLevel,
    State(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::TopLevel => f.write_str("top level"),
            Location::State(name) => write!(f, "state \"{name}\""),
        }
    }
}

/// Why a definition was refused. The message always says where (state and field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("the definition is not valid JSON: {0}")]
    Json(String),
    /// The definition breaks the Amazon States Language rules.
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    /// Valid ASL that uses a feature the local cloud does not implement.
    #[error("{location}: {message}")]
    Unsupported { location: Location, message: String },
}

impl DefinitionError {
    /// The state the error is about, if it is about one.
    pub fn state(&self) -> Option<&str> {
        match self {
            Self::Invalid {
                location: Location::State(name),
                ..
            }
            | Self::Unsupported {
                location: Location::State(name),
                ..
            } => Some(name),
            _ => None,
        }
    }

    /// True when the definition is valid ASL but uses something the local cloud refuses.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Self::Unsupported { .. })
    }
}

/// A parsed, validated state machine.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub(crate) root: StateSet,
    pub(crate) timeout_seconds: Option<u64>,
}

/// The states of the machine, of a Parallel branch or of a Map item processor.
#[derive(Debug, Clone)]
pub(crate) struct StateSet {
    pub(crate) start_at: String,
    pub(crate) states: Vec<State>,
    index: HashMap<String, usize>,
}

impl StateSet {
    pub(crate) fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).and_then(|i| self.states.get(*i))
    }
}

impl StateMachine {
    /// Parses and validates a definition. Anything outside the supported set is refused with an error
    /// naming the state and the feature.
    pub fn parse(definition: &str) -> Result<Self, DefinitionError> {
        let value: Value = serde_json::from_str(definition).map_err(|e| DefinitionError::Json(e.to_string()))?;
        let top = Fields::new(Location::TopLevel, &value)?;
        top.check_allowed(
            "the top level",
            &["Comment", "StartAt", "States", "TimeoutSeconds", "Version"],
        )?;
        if let Some(version) = top.get("Version") {
            if version.as_str() != Some("1.0") {
                return Err(top.invalid("field \"Version\" must be \"1.0\""));
            }
        }
        let timeout_seconds = top.positive_int("TimeoutSeconds")?;
        let mut names = HashSet::new();
        let root = parse_state_set(&top, "", &mut names)?;
        Ok(Self { root, timeout_seconds })
    }

    /// The top-level state names, for tooling.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.root.states.iter().map(|s| s.name.as_str())
    }

    /// The machine-wide TimeoutSeconds, if any.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }
}

/// Parses `StartAt` + `States` from `owner` (the top level, a branch or an item processor);
/// `prefix` names the enclosing field in messages (e.g. `Branches[1].`).
pub(crate) fn parse_state_set(
    owner: &Fields<'_>,
    prefix: &str,
    names: &mut HashSet<String>,
) -> Result<StateSet, DefinitionError> {
    let start_at = owner
        .str("StartAt")?
        .ok_or_else(|| owner.invalid(&format!("field \"{prefix}StartAt\" is required")))?
        .to_owned();
    let states_value = owner
        .get("States")
        .and_then(Value::as_object)
        .ok_or_else(|| owner.invalid(&format!("field \"{prefix}States\" must be an object of states")))?;
    if states_value.is_empty() {
        return Err(owner.invalid(&format!("field \"{prefix}States\" must contain at least one state")));
    }

    let mut states = Vec::with_capacity(states_value.len());
    let mut index = HashMap::new();
    for (name, body) in states_value {
        let location = Location::State(name.clone());
        if name.is_empty() || name.chars().count() > MAX_STATE_NAME_CHARS {
            return Err(DefinitionError::Invalid {
                location,
                message: format!("a state name must be 1 to {MAX_STATE_NAME_CHARS} characters long"),
            });
        }
        if !names.insert(name.clone()) {
            return Err(DefinitionError::Invalid {
                location,
                message: "state names must be unique across the whole state machine".to_owned(),
            });
        }
        let state = states::parse_state(name, body, names)?;
        index.insert(name.clone(), states.len());
        states.push(state);
    }
    let set = StateSet {
        start_at,
        states,
        index,
    };

    if set.get(&set.start_at).is_none() {
        return Err(owner.invalid(&format!(
            "field \"{prefix}StartAt\": \"{}\" does not name a state{}",
            set.start_at,
            scope_hint(prefix)
        )));
    }
    for state in &set.states {
        for (field, target) in state.transitions() {
            if set.get(target).is_none() {
                return Err(DefinitionError::Invalid {
                    location: Location::State(state.name.clone()),
                    message: format!(
                        "field \"{field}\": \"{target}\" does not name a state{}",
                        scope_hint(prefix)
                    ),
                });
            }
        }
    }
    check_reachable(&set)?;
    Ok(set)
}

fn scope_hint(prefix: &str) -> &'static str {
    if prefix.is_empty() {
        ""
    } else {
        " in the same branch or item processor"
    }
}

// AWS refuses definitions with states that can never run.
fn check_reachable(set: &StateSet) -> Result<(), DefinitionError> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([set.start_at.as_str()]);
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name) {
            continue;
        }
        if let Some(state) = set.get(name) {
            queue.extend(state.transitions().into_iter().map(|(_, target)| target));
        }
    }
    if !set.states.iter().any(State::is_terminal) {
        return Err(DefinitionError::Invalid {
            location: Location::State(set.start_at.clone()),
            message: "the workflow has no terminal state (End: true, Succeed or Fail), so it can never finish"
                .to_owned(),
        });
    }
    match set.states.iter().find(|s| !seen.contains(s.name.as_str())) {
        Some(state) => Err(DefinitionError::Invalid {
            location: Location::State(state.name.clone()),
            message: "the state is not reachable from StartAt".to_owned(),
        }),
        None => Ok(()),
    }
}
