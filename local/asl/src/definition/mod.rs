//! Loading a state machine definition: parsing, refusing what the local cloud cannot run, and the
//! structural checks AWS makes at CreateStateMachine time.

mod fields;
mod jsonata;
mod references;
mod states;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use serde_json::Value;

pub(crate) use states::{
    FailSource, IoPath, MapState, ParallelState, Recovery, Seconds, State, StateKind, TaskState, Transition, WaitFor,
};

use fields::Fields;

/// AWS writes the definition's root as `/`.
fn root_if_empty(pointer: &str) -> String {
    if pointer.is_empty() {
        "/".to_owned()
    } else {
        pointer.to_owned()
    }
}

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

/// A refusal as Step Functions reports it: an error code from AWS's list (`SCHEMA_VALIDATION_FAILED`,
/// `MISSING_TRANSITION_TARGET`, ...), a message, and where, as a JSON pointer into the definition
/// (`/States/Validate/Next`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub message: String,
    pub location: String,
}

/// AWS's diagnostic codes (ValidateStateMachineDefinition's list), plus one of our own for
/// valid ASL the local cloud does not run.
pub(crate) mod code {
    pub(crate) const INVALID_JSON: &str = "INVALID_JSON_DESCRIPTION";
    pub(crate) const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";
    pub(crate) const MISSING_TARGET: &str = "MISSING_TRANSITION_TARGET";
    pub(crate) const MISSING_END: &str = "MISSING_END_STATE";
    pub(crate) const DUPLICATE_STATE: &str = "DUPLICATE_STATE_NAME";
    pub(crate) const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    pub(crate) const UNSUPPORTED: &str = "UNSUPPORTED_BY_LOCAL_CLOUD";
}

/// Why a definition was refused. The message always says where (state and field); [`Self::diagnostic`]
/// says it the way CreateStateMachine does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("the definition is not valid JSON: {0}")]
    Json(String),
    /// The definition breaks the Amazon States Language rules.
    #[error("{location}: {message}")]
    Invalid {
        location: Location,
        message: String,
        diagnostic: Diagnostic,
    },
    /// Valid ASL that uses a feature the local cloud does not implement.
    #[error("{location}: {message}")]
    Unsupported {
        location: Location,
        message: String,
        diagnostic: Diagnostic,
    },
}

impl DefinitionError {
    /// An ASL violation at `pointer`, reported under AWS's `code` with AWS's wording `aws_message`.
    pub(crate) fn invalid(
        location: Location,
        message: impl Into<String>,
        code: &'static str,
        aws_message: impl Into<String>,
        pointer: &str,
    ) -> Self {
        Self::Invalid {
            location,
            message: message.into(),
            diagnostic: Diagnostic {
                code,
                message: aws_message.into(),
                location: root_if_empty(pointer),
            },
        }
    }

    /// The refusal as AWS words it.
    pub fn diagnostic(&self) -> Diagnostic {
        match self {
            Self::Json(detail) => Diagnostic {
                code: code::INVALID_JSON,
                message: format!("The definition is not valid JSON: {detail}"),
                location: "/".to_owned(),
            },
            Self::Invalid { diagnostic, .. } | Self::Unsupported { diagnostic, .. } => diagnostic.clone(),
        }
    }

    /// CreateStateMachine's InvalidDefinition message:
    /// `Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: X at /States/A/Next'`.
    pub fn aws_message(&self) -> String {
        let d = self.diagnostic();
        format!(
            "Invalid State Machine Definition: '{}: {} at {}'",
            d.code, d.message, d.location
        )
    }

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

    /// The sets nested in one state: Parallel branches and a Map's item processor.
    fn children(state: &State) -> Vec<&StateSet> {
        match &state.kind {
            StateKind::Parallel(p) => p.branches.iter().collect(),
            StateKind::Map(m) => vec![&m.processor],
            _ => Vec::new(),
        }
    }

    fn find(&self, name: &str) -> Option<&State> {
        self.get(name).or_else(|| {
            self.states
                .iter()
                .flat_map(Self::children)
                .find_map(|set| set.find(name))
        })
    }

    fn collect_names(&self, out: &mut Vec<String>) {
        for state in &self.states {
            out.push(state.name.clone());
            for set in Self::children(state) {
                set.collect_names(out);
            }
        }
    }
}

/// Parses a definition that is a single state (TestState without a state name): the state's own
/// rules apply, its transitions are not resolved.
pub(crate) fn parse_lone_state(
    name: &str,
    body: &Value,
    names: &mut HashSet<String>,
) -> Result<State, DefinitionError> {
    names.insert(name.to_owned());
    states::parse_state(name, "", body, names, false)
}

impl StateMachine {
    /// Parses and validates a definition. Anything outside the supported set is refused with an error
    /// naming the state and the feature.
    pub fn parse(definition: &str) -> Result<Self, DefinitionError> {
        let value: Value = serde_json::from_str(definition).map_err(|e| DefinitionError::Json(e.to_string()))?;
        let top = Fields::new(Location::TopLevel, String::new(), &value)?;
        top.check_allowed(
            "the top level",
            &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ],
        )?;
        // The top level's QueryLanguage is every state's default ("QueryLanguage", JSONPath if absent).
        let jsonata = match top.str("QueryLanguage")? {
            None | Some("JSONPath") => false,
            Some("JSONata") => true,
            Some(_) => {
                return Err(top.invalid_at(
                    "QueryLanguage",
                    "field \"QueryLanguage\" must be \"JSONPath\" or \"JSONata\"",
                ))
            }
        };
        if let Some(version) = top.get("Version") {
            if version.as_str() != Some("1.0") {
                return Err(top.invalid("field \"Version\" must be \"1.0\""));
            }
        }
        let timeout_seconds = top.positive_int("TimeoutSeconds")?;
        if let Some(states) = top.get("States") {
            references::check_states(states, "/States", jsonata)?;
        }
        let mut names = HashSet::new();
        let root = parse_state_set(&top, "", &mut names, jsonata)?;
        Ok(Self { root, timeout_seconds })
    }

    /// The top-level state names, for tooling.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.root.states.iter().map(|s| s.name.as_str())
    }

    /// A state by name, at any depth (state names are unique across the whole machine).
    pub(crate) fn find_state(&self, name: &str) -> Option<&State> {
        self.root.find(name)
    }

    /// Every state name, at any depth, in definition order.
    pub fn all_state_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.root.collect_names(&mut names);
        names
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
    jsonata: bool,
) -> Result<StateSet, DefinitionError> {
    let start_at = owner
        .str("StartAt")?
        .ok_or_else(|| {
            owner.invalid_as(
                &format!("field \"{prefix}StartAt\" is required"),
                code::SCHEMA,
                "These fields are required: [StartAt]",
                "",
            )
        })?
        .to_owned();
    let states_value = owner.get("States").and_then(Value::as_object).ok_or_else(|| {
        owner.invalid_as(
            &format!("field \"{prefix}States\" must be an object of states"),
            code::SCHEMA,
            "These fields are required: [States]",
            "",
        )
    })?;
    if states_value.is_empty() {
        return Err(owner.invalid(&format!("field \"{prefix}States\" must contain at least one state")));
    }

    let mut states = Vec::with_capacity(states_value.len());
    let mut index = HashMap::new();
    for (name, body) in states_value {
        let location = Location::State(name.clone());
        let pointer = format!("{}/States/{name}", owner.pointer());
        if name.is_empty() || name.chars().count() > MAX_STATE_NAME_CHARS {
            let message = format!("a state name must be 1 to {MAX_STATE_NAME_CHARS} characters long");
            return Err(DefinitionError::invalid(
                location,
                message.clone(),
                code::INVALID_STATE_NAME,
                format!("Invalid State name: {message}"),
                &pointer,
            ));
        }
        if !names.insert(name.clone()) {
            return Err(DefinitionError::invalid(
                location,
                "state names must be unique across the whole state machine",
                code::DUPLICATE_STATE,
                format!("Duplicate State name: {name}"),
                &pointer,
            ));
        }
        let state = states::parse_state(name, &pointer, body, names, jsonata)?;
        index.insert(name.clone(), states.len());
        states.push(state);
    }
    let set = StateSet {
        start_at,
        states,
        index,
    };

    if set.get(&set.start_at).is_none() {
        return Err(owner.invalid_as(
            &format!(
                "field \"{prefix}StartAt\": \"{}\" does not name a state{}",
                set.start_at,
                scope_hint(prefix)
            ),
            code::MISSING_TARGET,
            &format!("Missing 'Next' target: {}", set.start_at),
            "StartAt",
        ));
    }
    for state in &set.states {
        for (field, target) in state.transitions() {
            if set.get(target).is_none() {
                return Err(DefinitionError::invalid(
                    Location::State(state.name.clone()),
                    format!(
                        "field \"{field}\": \"{target}\" does not name a state{}",
                        scope_hint(prefix)
                    ),
                    code::MISSING_TARGET,
                    format!("Missing 'Next' target: {target}"),
                    &format!("{}/States/{}/{}", owner.pointer(), state.name, field_pointer(&field)),
                ));
            }
        }
    }
    check_reachable(&set, owner.pointer())?;
    Ok(set)
}

/// `Choices[0].Next` as a JSON pointer tail: `Choices/0/Next`.
pub(crate) fn field_pointer(field: &str) -> String {
    field
        .replace("].", "/")
        .replace('[', "/")
        .replace(']', "")
        .replace('.', "/")
}

fn scope_hint(prefix: &str) -> &'static str {
    if prefix.is_empty() {
        ""
    } else {
        " in the same branch or item processor"
    }
}

// AWS refuses definitions with states that can never run.
fn check_reachable(set: &StateSet, pointer: &str) -> Result<(), DefinitionError> {
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
        return Err(DefinitionError::invalid(
            Location::State(set.start_at.clone()),
            "the workflow has no terminal state (End: true, Succeed or Fail), so it can never finish",
            code::MISSING_END,
            "Workflow has no terminal state",
            &format!("{pointer}/States"),
        ));
    }
    match set.states.iter().find(|s| !seen.contains(s.name.as_str())) {
        Some(state) => Err(DefinitionError::invalid(
            Location::State(state.name.clone()),
            "the state is not reachable from StartAt",
            code::MISSING_TARGET,
            format!("State \"{}\" is not reachable.", state.name),
            &format!("{pointer}/States/{}", state.name),
        )),
        None => Ok(()),
    }
}
