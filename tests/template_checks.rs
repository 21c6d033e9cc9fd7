//! Checks on the deployment truth: template.yaml, the state machine
//! definitions it points at, and the function crates it builds. No AWS is
//! needed. Each checker returns every problem it finds (not just the
//! first), and the negative tests feed them broken copies to prove they can
//! fail.

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use zb_tests::template::{get, intrinsic, repo_root, scalar_text, untag, Intrinsic, Template};

const FUNCTION: &str = "AWS::Serverless::Function";
const STATE_MACHINE: &str = "AWS::Serverless::StateMachine";
const HTTP_API: &str = "AWS::Serverless::HttpApi";
const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// What a Task may retry: Lambda service hiccups, timeouts, and our own
/// TransientDependencyError. Anything else (a bad feed, a missing format)
/// fails the same way every time and must go to the Catch instead.
const TRANSIENT_ERRORS: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "States.Timeout",
    "TransientDependencyError",
];

/// The pipeline steps whose failures are caught and recorded.
const CAUGHT_STEPS: &[&str] = &["Validate", "Transform", "Persist"];
const RECORD_ERRORS: &str = "RecordErrors";
const FAILURE_PATH: &str = "$.failure";

/// States that end an execution (no Next, no End).
const TERMINAL_TYPES: &[&str] = &["Succeed", "Fail"];
/// States that must have exactly one of Next or End.
const FLOW_TYPES: &[&str] = &["Task", "Pass", "Wait", "Parallel", "Map"];

// ---------------------------------------------------------------- loading

/// A state machine resource and what it substitutes into its definition.
struct StateMachine {
    logical_id: String,
    definition_uri: String,
    substitutions: BTreeMap<String, Yaml>,
}

fn state_machines(template: &Template) -> Vec<StateMachine> {
    template
        .resources_of_type(STATE_MACHINE)
        .into_iter()
        .map(|(id, r)| {
            let definition_uri = get(r, &["Properties", "DefinitionUri"])
                .and_then(scalar_text)
                .unwrap_or_else(|| panic!("{id} has no local DefinitionUri file"));
            let substitutions = get(r, &["Properties", "DefinitionSubstitutions"])
                .and_then(|s| untag(s).as_mapping())
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            StateMachine {
                logical_id: id.to_string(),
                definition_uri,
                substitutions,
            }
        })
        .collect()
}

fn load_asl(machine: &StateMachine) -> Json {
    let path = repo_root().join(&machine.definition_uri);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: DefinitionUri {} cannot be read: {e}",
            machine.logical_id,
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", machine.definition_uri))
}

fn pipeline() -> (Template, StateMachine, Json) {
    let template = Template::load();
    let machine = state_machines(&template)
        .into_iter()
        .find(|m| m.logical_id == "OrderPipelineStateMachine")
        .expect("template.yaml has the OrderPipelineStateMachine state machine");
    let asl = load_asl(&machine);
    (template, machine, asl)
}

fn report(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
}

// ---------------------------------------------------------------- ASL checks

/// Every state (with its path, for messages) of a definition, nested
/// Parallel branches and Map processors included.
fn visit_machines<'a>(machine: &'a Json, at: &str, out: &mut Vec<(String, &'a Json)>) {
    out.push((at.to_string(), machine));
    if let Some(states) = machine.get("States").and_then(Json::as_object) {
        for (name, state) in states {
            if let Some(branches) = state.get("Branches").and_then(Json::as_array) {
                for (i, b) in branches.iter().enumerate() {
                    visit_machines(b, &format!("{at}{name}.Branches[{i}]/"), out);
                }
            }
            for key in ["Iterator", "ItemProcessor"] {
                if let Some(p) = state.get(key) {
                    visit_machines(p, &format!("{at}{name}.{key}/"), out);
                }
            }
        }
    }
}

/// The states one state can go to.
fn transitions(state: &Json) -> Vec<(&'static str, &Json)> {
    let mut out = Vec::new();
    if let Some(next) = state.get("Next") {
        out.push(("Next", next));
    }
    if let Some(default) = state.get("Default") {
        out.push(("Default", default));
    }
    for rule in state.get("Choices").and_then(Json::as_array).into_iter().flatten() {
        if let Some(next) = rule.get("Next") {
            out.push(("Choices[].Next", next));
        }
    }
    for catcher in state.get("Catch").and_then(Json::as_array).into_iter().flatten() {
        if let Some(next) = catcher.get("Next") {
            out.push(("Catch[].Next", next));
        }
    }
    out
}

/// StartAt, transitions, Next/End and reachability of one (sub)machine.
fn graph_problems(machine: &Json, at: &str, problems: &mut Vec<String>) {
    let Some(states) = machine
        .get("States")
        .and_then(Json::as_object)
        .filter(|s| !s.is_empty())
    else {
        problems.push(format!("{at}: States is missing or empty"));
        return;
    };
    let start = match machine.get("StartAt").and_then(Json::as_str) {
        Some(s) if states.contains_key(s) => Some(s),
        Some(s) => {
            problems.push(format!("{at}StartAt names {s:?}, which is not a state"));
            None
        }
        None => {
            problems.push(format!("{at}: StartAt is missing"));
            None
        }
    };
    for (name, state) in states {
        let ty = state.get("Type").and_then(Json::as_str).unwrap_or_default();
        for (field, target) in transitions(state) {
            match target.as_str() {
                Some(t) if states.contains_key(t) => {}
                Some(t) => problems.push(format!("{at}{name}.{field} names {t:?}, which is not a state")),
                None => problems.push(format!("{at}{name}.{field} is not a state name: {target}")),
            }
        }
        let has_next = state.get("Next").is_some();
        let ends = state.get("End").and_then(Json::as_bool) == Some(true);
        if FLOW_TYPES.contains(&ty) && has_next == ends {
            problems.push(format!("{at}{name} ({ty}) needs exactly one of Next or End"));
        } else if ty == "Choice" {
            if has_next || ends {
                problems.push(format!(
                    "{at}{name}: a Choice state has no Next/End, only Choices and Default"
                ));
            }
            let rules = state.get("Choices").and_then(Json::as_array);
            if rules.is_none_or(|r| r.is_empty()) {
                problems.push(format!("{at}{name}: a Choice state needs Choices"));
            }
            for (i, rule) in rules.into_iter().flatten().enumerate() {
                if rule.get("Next").is_none() {
                    problems.push(format!("{at}{name}.Choices[{i}] has no Next"));
                }
            }
        } else if TERMINAL_TYPES.contains(&ty) && (has_next || ends) {
            problems.push(format!("{at}{name} ({ty}) is terminal and takes no Next/End"));
        } else if !FLOW_TYPES.contains(&ty) && !TERMINAL_TYPES.contains(&ty) && ty != "Choice" {
            problems.push(format!("{at}{name} has unknown Type {ty:?}"));
        }
    }
    // Reachability: a state nothing leads to is dead code or a broken edge.
    let Some(start) = start else { return };
    let mut seen = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(name) = queue.pop_front() {
        for (_, target) in transitions(&states[name]) {
            if let Some(t) = target.as_str().filter(|t| states.contains_key(*t)) {
                if seen.insert(t) {
                    queue.push_back(t);
                }
            }
        }
    }
    for name in states.keys() {
        if !seen.contains(name.as_str()) {
            problems.push(format!("{at}{name} is not reachable from StartAt {start:?}"));
        }
    }
}

/// Every `${Name}` placeholder in a string.
fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else { break };
        out.push(&after[..j]);
        rest = &after[j + 1..];
    }
    out
}

fn collect_placeholders<'a>(v: &'a Json, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Json::String(s) => out.extend(placeholders(s).into_iter().map(|p| (at.clone(), p))),
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_placeholders(item, format!("{at}[{i}]"), out);
            }
        }
        Json::Object(map) => {
            for (k, item) in map {
                collect_placeholders(item, format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// The function a substitution value points at: `!GetAtt <Function>.Arn`
/// of an existing AWS::Serverless::Function.
fn substituted_function(template: &Template, key: &str, value: &Yaml) -> Result<String, String> {
    match intrinsic(value) {
        Some(Intrinsic::GetAtt { resource, attribute }) if attribute == "Arn" => {
            match template.resource_type(&resource) {
                Some(FUNCTION) => Ok(resource),
                Some(other) => Err(format!(
                    "DefinitionSubstitutions.{key} is the Arn of {resource}, a {other}, not an {FUNCTION}"
                )),
                None => Err(format!(
                    "DefinitionSubstitutions.{key} is the Arn of {resource}, which is not in the template"
                )),
            }
        }
        _ => Err(format!(
            "DefinitionSubstitutions.{key} is {value:?}, not !GetAtt <Function>.Arn"
        )),
    }
}

/// The `${X}` a Task invokes, if it invokes a substituted Lambda function.
fn task_function(state: &Json) -> Option<&str> {
    let resource = state.get("Resource").and_then(Json::as_str)?;
    let target = if resource.starts_with(LAMBDA_INVOKE) {
        state.get("Parameters")?.get("FunctionName")?.as_str()?
    } else {
        resource
    };
    target.strip_prefix("${")?.strip_suffix('}')
}

/// Every problem of one state machine definition, given the template.
fn asl_problems(asl: &Json, machine: &StateMachine, template: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let mut machines = Vec::new();
    visit_machines(asl, "", &mut machines);
    for (at, m) in &machines {
        graph_problems(m, at, &mut problems);
    }

    // Placeholders <-> DefinitionSubstitutions.
    let mut used = Vec::new();
    collect_placeholders(asl, String::new(), &mut used);
    for (at, name) in &used {
        if !machine.substitutions.contains_key(*name) {
            problems.push(format!(
                "{at} uses ${{{name}}}, which is not a DefinitionSubstitutions key of {}",
                machine.logical_id
            ));
        }
    }
    for key in machine.substitutions.keys() {
        if !used.iter().any(|(_, n)| n == key) {
            problems.push(format!(
                "{}.DefinitionSubstitutions.{key} is not used by {}",
                machine.logical_id, machine.definition_uri
            ));
        }
    }

    // Tasks: a substituted function, and a retry policy for transient errors only.
    for (at, m) in &machines {
        let Some(states) = m.get("States").and_then(Json::as_object) else {
            continue;
        };
        for (name, state) in states {
            if state.get("Type").and_then(Json::as_str) != Some("Task") {
                continue;
            }
            match task_function(state) {
                None => problems.push(format!(
                    "{at}{name} invokes no ${{...}} placeholder (Parameters.FunctionName or Resource)"
                )),
                Some(key) => {
                    if let Some(value) = machine.substitutions.get(key) {
                        if let Err(e) = substituted_function(template, key, value) {
                            problems.push(format!("{at}{name}: {e}"));
                        }
                    }
                }
            }
            let retried: Vec<&str> = state
                .get("Retry")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .flat_map(|r| r.get("ErrorEquals").and_then(Json::as_array).into_iter().flatten())
                .filter_map(Json::as_str)
                .collect();
            if !retried.contains(&"TransientDependencyError") {
                problems.push(format!("{at}{name}.Retry does not retry TransientDependencyError"));
            }
            for error in retried.iter().filter(|e| !TRANSIENT_ERRORS.contains(e)) {
                problems.push(format!(
                    "{at}{name}.Retry retries {error:?}, which is not transient (only {TRANSIENT_ERRORS:?})"
                ));
            }
        }
    }
    problems
}

/// Validate/Transform/Persist: every failure is caught into $.failure and recorded.
fn catch_problems(asl: &Json) -> Vec<String> {
    let mut problems = Vec::new();
    for step in CAUGHT_STEPS {
        let Some(state) = asl.get("States").and_then(|s| s.get(*step)) else {
            problems.push(format!("the pipeline has no {step} state"));
            continue;
        };
        let catchers = state
            .get("Catch")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if catchers.is_empty() {
            problems.push(format!(
                "{step} has no Catch: its failures would fail the execution unrecorded"
            ));
        }
        for (i, c) in catchers.iter().enumerate() {
            let path = c.get("ResultPath").and_then(Json::as_str);
            if path != Some(FAILURE_PATH) {
                problems.push(format!(
                    "{step}.Catch[{i}].ResultPath is {path:?}, not {FAILURE_PATH:?}"
                ));
            }
            let next = c.get("Next").and_then(Json::as_str);
            if next != Some(RECORD_ERRORS) {
                problems.push(format!("{step}.Catch[{i}].Next is {next:?}, not {RECORD_ERRORS:?}"));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------- function checks

/// `[package] name` of a Cargo.toml (a line scan: no toml crate needed).
fn package_name(cargo_toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line
                .strip_prefix("name")
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix('='))
            {
                return Some(value.trim().trim_matches('"').to_string());
            }
        }
    }
    None
}

/// A function property, from the function or else from Globals.Function.
fn function_property<'a>(template: &'a Template, function: &'a Yaml, name: &str) -> Option<&'a Yaml> {
    get(function, &["Properties", name]).or_else(|| template.function_globals().and_then(|g| get(g, &[name])))
}

/// Build metadata, runtime and crate of every function.
fn build_problems(template: &Template, functions_dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut binaries = BTreeSet::new();
    let functions = template.resources_of_type(FUNCTION);
    if functions.is_empty() {
        problems.push(format!("template.yaml has no {FUNCTION}"));
    }
    for (id, f) in functions {
        let text_of = |path: &[&str]| get(f, path).and_then(scalar_text);
        let method = text_of(&["Metadata", "BuildMethod"]);
        if method.as_deref() != Some("rust-cargolambda") {
            problems.push(format!(
                "{id}.Metadata.BuildMethod is {method:?}, not \"rust-cargolambda\""
            ));
        }
        for (prop, want) in [("Runtime", "provided.al2023"), ("Handler", "bootstrap")] {
            let got = function_property(template, f, prop).and_then(scalar_text);
            if got.as_deref() != Some(want) {
                problems.push(format!("{id}: {prop} is {got:?}, not {want:?}"));
            }
        }
        match function_property(template, f, "CodeUri").and_then(scalar_text) {
            Some(uri) if repo_root().join(&uri).join("Cargo.toml").is_file() => {}
            other => problems.push(format!("{id}: CodeUri {other:?} is not the cargo workspace")),
        }
        let Some(binary) = text_of(&["Metadata", "BuildProperties", "Binary"]) else {
            problems.push(format!("{id}.Metadata.BuildProperties.Binary is missing"));
            continue;
        };
        if !binaries.insert(binary.clone()) {
            problems.push(format!("{id}: binary {binary:?} is deployed by more than one function"));
        }
        let manifest = functions_dir.join(&binary).join("Cargo.toml");
        match std::fs::read_to_string(&manifest) {
            Err(_) => problems.push(format!(
                "{id}: Binary {binary:?} has no crate ({} does not exist)",
                manifest.display()
            )),
            Ok(text) => {
                let name = package_name(&text);
                if name.as_deref() != Some(binary.as_str()) {
                    problems.push(format!(
                        "{id}: Binary {binary:?} but {} names the package {name:?}",
                        manifest.display()
                    ));
                }
                if !functions_dir.join(&binary).join("src/main.rs").is_file() {
                    problems.push(format!(
                        "{id}: crate {binary} has no src/main.rs, so no {binary} binary"
                    ));
                }
            }
        }
    }
    // And the other way round: no function crate is left undeployed.
    for entry in std::fs::read_dir(functions_dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().join("Cargo.toml").is_file() && !binaries.contains(&name) {
            problems.push(format!("functions/{name} is not deployed by any {FUNCTION}"));
        }
    }
    problems
}

/// The names a crate's sources pass to `required_env("...")`.
fn required_env_names(sources: &[(PathBuf, String)]) -> BTreeMap<String, PathBuf> {
    let mut names = BTreeMap::new();
    for (path, text) in sources {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("required_env(\"") {
            let after = &rest[i + "required_env(\"".len()..];
            let Some(j) = after.find('"') else { break };
            names.entry(after[..j].to_string()).or_insert_with(|| path.clone());
            rest = &after[j..];
        }
    }
    names
}

fn rust_sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.push((path, text));
        }
    }
}

/// The environment a function gets: Globals.Function's, then its own.
fn function_env<'a>(template: &'a Template, function: &'a Yaml) -> BTreeMap<String, &'a Yaml> {
    let mut env = BTreeMap::new();
    let globals = template
        .function_globals()
        .and_then(|g| get(g, &["Environment", "Variables"]));
    let own = get(function, &["Properties", "Environment", "Variables"]);
    for vars in [globals, own].into_iter().flatten() {
        for (k, v) in untag(vars).as_mapping().into_iter().flatten() {
            if let Some(k) = k.as_str() {
                env.insert(k.to_string(), v);
            }
        }
    }
    env
}

/// Every variable the function's crate requires is set, to something real.
fn env_problems(template: &Template, function_id: &str, sources: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(function) = template.resource(function_id) else {
        return vec![format!("{function_id} is not in the template")];
    };
    let env = function_env(template, function);
    for (name, path) in required_env_names(sources) {
        match env.get(&name) {
            None => problems.push(format!(
                "{function_id}: {} reads required_env({name:?}), but the template does not set {name} \
                 for this function (Globals.Function or its own Environment)",
                path.display()
            )),
            Some(value) => match intrinsic(value) {
                Some(Intrinsic::Ref(target))
                    if template.resource(target).is_none() && !template.has_parameter(target) =>
                {
                    problems.push(format!("{function_id}: {name} is !Ref {target}, which does not exist"))
                }
                Some(_) => {}
                None if scalar_text(value).is_none_or(|v| v.trim().is_empty()) => {
                    problems.push(format!("{function_id}: {name} is empty"))
                }
                None => {}
            },
        }
    }
    problems
}

// ---------------------------------------------------------------- tests

#[test]
fn the_pipeline_definition_is_a_sound_state_machine_wired_to_the_template() {
    let (template, machine, asl) = pipeline();
    assert_eq!(machine.definition_uri, "statemachines/order-pipeline.asl.json");
    report(&machine.definition_uri, &asl_problems(&asl, &machine, &template));
}

#[test]
fn every_state_machine_in_the_template_passes_the_same_checks() {
    let template = Template::load();
    let machines = state_machines(&template);
    assert!(!machines.is_empty(), "template.yaml has no {STATE_MACHINE}");
    for machine in &machines {
        let asl = load_asl(machine);
        report(&machine.definition_uri, &asl_problems(&asl, machine, &template));
    }
}

#[test]
fn pipeline_failures_are_caught_into_failure_and_recorded() {
    let (_, _, asl) = pipeline();
    report("Catch on the pipeline steps", &catch_problems(&asl));
    // And the recording step is where a caught failure ends the execution.
    let after = &asl["States"]["AfterRecordErrors"];
    assert_eq!(asl["States"][RECORD_ERRORS]["Next"], "AfterRecordErrors");
    assert_eq!(after["Choices"][0]["Variable"], FAILURE_PATH);
    assert_eq!(after["Choices"][0]["IsPresent"], true);
    assert_eq!(
        asl["States"][after["Choices"][0]["Next"].as_str().unwrap_or_default()]["Type"],
        "Fail"
    );
}

#[test]
fn every_function_is_built_by_cargo_lambda_from_its_own_crate() {
    let template = Template::load();
    report("functions", &build_problems(&template, &repo_root().join("functions")));
}

#[test]
fn every_function_gets_the_environment_its_crate_requires() {
    let template = Template::load();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (id, f) in template.resources_of_type(FUNCTION) {
        let Some(binary) = get(f, &["Metadata", "BuildProperties", "Binary"]).and_then(scalar_text) else {
            continue; // build_problems reports it
        };
        let mut sources = Vec::new();
        rust_sources(&repo_root().join("functions").join(&binary).join("src"), &mut sources);
        checked += required_env_names(&sources).len();
        problems.extend(env_problems(&template, id, &sources));
    }
    assert!(
        checked > 0,
        "no required_env(\"...\") call found in functions/*/src: is the scan broken?"
    );
    report("function environments", &problems);
}

#[test]
fn the_authorizer_reads_the_header_the_api_sends_it() {
    let template = Template::load();
    let apis = template.resources_of_type(HTTP_API);
    assert!(!apis.is_empty(), "template.yaml has no {HTTP_API}");
    for (id, api) in apis {
        let auth = get(api, &["Properties", "Auth"]).unwrap_or_else(|| panic!("{id} has no Auth"));
        let default = get(auth, &["DefaultAuthorizer"])
            .and_then(scalar_text)
            .unwrap_or_default();
        let authorizer = get(auth, &["Authorizers", &default])
            .unwrap_or_else(|| panic!("{id}: DefaultAuthorizer {default:?} is not defined"));
        if let Some(jwt) = get(authorizer, &["JwtConfiguration"]) {
            // The admin API's JWT authorizer: API Gateway reads the bearer
            // token from the Authorization header, and the only scope asked
            // for is the one Cognito puts in access tokens, never in ID tokens.
            assert_eq!(
                get(authorizer, &["IdentitySource"]).and_then(scalar_text).as_deref(),
                Some("$request.header.Authorization"),
                "{id}: the JWT authorizer reads the bearer token"
            );
            assert!(
                get(jwt, &["issuer"]).is_some() && get(jwt, &["audience"]).is_some(),
                "{id}: issuer and audience"
            );
            continue;
        }
        match intrinsic(get(authorizer, &["FunctionArn"]).unwrap_or(&Yaml::Null)) {
            Some(Intrinsic::GetAtt { resource, .. }) => {
                let binary = template
                    .resource(&resource)
                    .and_then(|r| get(r, &["Metadata", "BuildProperties", "Binary"]))
                    .and_then(scalar_text);
                assert_eq!(binary.as_deref(), Some("authorizer"), "{id}'s authorizer is {resource}");
            }
            other => panic!("{id}: the authorizer's FunctionArn is {other:?}"),
        }
        let headers: Vec<String> = get(authorizer, &["Identity", "Headers"])
            .and_then(|h| untag(h).as_sequence())
            .into_iter()
            .flatten()
            .filter_map(scalar_text)
            .collect();
        assert_eq!(
            headers,
            [authorizer::API_KEY_HEADER],
            "{id}: API Gateway must hand the authorizer the header it reads"
        );
    }
}

// ------------------------------------------------------ the checks can fail

#[test]
fn the_asl_checker_reports_a_dangling_next_and_an_unsubstituted_function() {
    let (template, machine, asl) = pipeline();
    let mut broken = asl.clone();
    broken["States"]["Transform"]["Next"] = Json::from("Persit");
    broken["States"]["Persist"]["Parameters"]["FunctionName"] = Json::from("${PersistFnArn}");
    let problems = asl_problems(&broken, &machine, &template);
    let mentions = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        mentions("\"Persit\", which is not a state"),
        "dangling Next not reported: {problems:#?}"
    );
    assert!(
        mentions("${PersistFnArn}, which is not a DefinitionSubstitutions key"),
        "unsubstituted placeholder not reported: {problems:#?}"
    );
    assert!(
        mentions("Persist is not reachable"),
        "unreachable state not reported: {problems:#?}"
    );
    assert!(
        mentions("DefinitionSubstitutions.PersistFunctionArn is not used"),
        "unused substitution not reported: {problems:#?}"
    );
}

#[test]
fn the_asl_checker_reports_broken_graphs_and_substitutions() {
    let (template, machine, asl) = pipeline();

    let mut no_start = asl.clone();
    no_start["StartAt"] = Json::from("Begin");
    let problems = asl_problems(&no_start, &machine, &template);
    assert!(
        problems.iter().any(|p| p.contains("StartAt names \"Begin\"")),
        "{problems:#?}"
    );

    let mut bad_choice = asl.clone();
    bad_choice["States"]["HasRejections"]["Choices"][0]["Next"] = Json::from("RecordError");
    bad_choice["States"]["HasRejections"]["Default"] = Json::from("Finish");
    bad_choice["States"]["Validate"]["Catch"][0]["Next"] = Json::from("Recorderrors");
    let problems = asl_problems(&bad_choice, &machine, &template);
    for needle in [
        "Choices[].Next names \"RecordError\"",
        "Default names \"Finish\"",
        "Catch[].Next names \"Recorderrors\"",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{needle} not reported: {problems:#?}"
        );
    }

    let mut no_end = asl.clone();
    if let Some(done) = no_end["States"]["Persist"].as_object_mut() {
        done.remove("Next");
    }
    let problems = asl_problems(&no_end, &machine, &template);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("Persist (Task) needs exactly one of Next or End")),
        "{problems:#?}"
    );

    // A substitution that points at something other than a function.
    let mut wrong_target = StateMachine {
        logical_id: machine.logical_id.clone(),
        definition_uri: machine.definition_uri.clone(),
        substitutions: machine.substitutions.clone(),
    };
    wrong_target.substitutions.insert(
        "PersistFunctionArn".into(),
        serde_yaml::from_str("!GetAtt OrdersTable.Arn").expect("YAML"),
    );
    let problems = asl_problems(&asl, &wrong_target, &template);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("the Arn of OrdersTable, a AWS::DynamoDB::Table")),
        "{problems:#?}"
    );
}

#[test]
fn the_retry_and_catch_checkers_report_permanent_errors_and_lost_failures() {
    let (template, machine, asl) = pipeline();
    let mut broken = asl.clone();
    broken["States"]["Validate"]["Retry"][0]["ErrorEquals"] = serde_json::json!(["States.ALL"]);
    broken["States"]["Persist"]["Retry"][0]["ErrorEquals"]
        .as_array_mut()
        .expect("Persist retries a list")
        .push(Json::from("FeedNotFound"));
    let problems = asl_problems(&broken, &machine, &template);
    let mentions = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        mentions("Validate.Retry does not retry TransientDependencyError"),
        "{problems:#?}"
    );
    assert!(mentions("Validate.Retry retries \"States.ALL\""), "{problems:#?}");
    assert!(mentions("Persist.Retry retries \"FeedNotFound\""), "{problems:#?}");

    broken["States"]["Transform"]["Catch"][0]["ResultPath"] = Json::from("$.error");
    broken["States"]["Persist"]["Catch"][0]["Next"] = Json::from("Done");
    if let Some(validate) = broken["States"]["Validate"].as_object_mut() {
        validate.remove("Catch");
    }
    let problems = catch_problems(&broken);
    let mentions = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(mentions("Validate has no Catch"), "{problems:#?}");
    assert!(
        mentions("Transform.Catch[0].ResultPath is Some(\"$.error\")"),
        "{problems:#?}"
    );
    assert!(mentions("Persist.Catch[0].Next is Some(\"Done\")"), "{problems:#?}");
}

#[test]
fn the_environment_checker_reports_a_variable_the_template_does_not_set() {
    let template = Template::load();
    let sources = vec![(
        PathBuf::from("functions/validate/src/lib.rs"),
        "let t = required_env(\"FEEDS_TABLE\")?; let u = zb_shared::config::required_env(\"WEBHOOK_QUEUE_URL\")?;"
            .to_string(),
    )];
    let problems = env_problems(&template, "ValidateFunction", &sources);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("WEBHOOK_QUEUE_URL"), "{problems:#?}");
}

#[test]
fn the_build_checker_reports_a_binary_without_a_crate() {
    let mut template = Template::load();
    let metadata = template.doc["Resources"]["QueryFunction"]["Metadata"]
        .as_mapping_mut()
        .expect("QueryFunction has Metadata");
    metadata.insert("BuildMethod".into(), "go1.x".into());
    metadata.insert(
        "BuildProperties".into(),
        serde_yaml::from_str("{Binary: queries}").expect("YAML"),
    );
    let problems = build_problems(&template, &repo_root().join("functions"));
    let mentions = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(
        mentions("QueryFunction.Metadata.BuildMethod is Some(\"go1.x\")"),
        "{problems:#?}"
    );
    assert!(
        mentions("QueryFunction: Binary \"queries\" has no crate"),
        "{problems:#?}"
    );
    assert!(mentions("functions/query is not deployed"), "{problems:#?}");
}

#[test]
fn cargo_package_names_are_read_from_the_package_section() {
    let manifest = "[package]\nname = \"record-error\"\nversion = \"0.1.0\"\n\n[dependencies]\nname = \"x\"\n";
    assert_eq!(package_name(manifest).as_deref(), Some("record-error"));
    assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
    assert_eq!(placeholders("${A}:${B} and $.c"), ["A", "B"]);
}

// ---------------------------------------------------------------- the ops dashboard
//
// OpsDashboard's DashboardBody is a `!Sub` of JSON in the structure of
// "Dashboard Body Structure and Syntax"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
// a `widgets` array of objects with type, x, y, width, height (a grid 24
// units wide) and properties; metric widgets need `metrics` and `region`
// (each metric an array [Namespace, MetricName, Dim, Value, ..., {options}]
// or [{expression, id}]), log widgets a `query` that starts with its
// `SOURCE 'log group'`s. CloudFormation passes it on untouched after the
// substitution, so the checks below run on the substituted text.

const DASHBOARD: &str = "OpsDashboard";
const NAMESPACE: &str = "ZeroBeta";
const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Fn::Sub's substitution with stand-ins: `${X}` becomes `ref:X`,
/// `${X.Attr}` `getatt:X.Attr`, `${AWS::Region}` `us-east-1`, other pseudo
/// parameters `pseudo:<name>`, `${!Literal}` `${Literal}`. Names that are
/// neither a resource, a parameter nor a pseudo parameter are returned.
fn substitute(template: &Template, text: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            unknown.push(format!("an unclosed ${{ at {:?}", &rest[i..rest.len().min(i + 40)]));
            out.push_str(&rest[i..]);
            return (out, unknown);
        };
        let name = &after[..j];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str(&format!("${{{literal}}}"));
        } else if name == "AWS::Region" {
            out.push_str("us-east-1");
        } else if PSEUDO_PARAMETERS.contains(&name) {
            out.push_str(&format!("pseudo:{name}"));
        } else if let Some((resource, _)) = name.split_once('.') {
            if template.resource(resource).is_none() {
                unknown.push(name.to_string());
            }
            out.push_str(&format!("getatt:{name}"));
        } else {
            if template.resource(name).is_none() && !template.has_parameter(name) {
                unknown.push(name.to_string());
            }
            out.push_str(&format!("ref:{name}"));
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    (out, unknown)
}

/// The dashboard body after substitution, parsed.
fn dashboard_body(template: &Template) -> Result<Json, Vec<String>> {
    let body = template
        .resource(DASHBOARD)
        .and_then(|r| get(r, &["Properties", "DashboardBody"]))
        .ok_or_else(|| vec![format!("{DASHBOARD} has no DashboardBody")])?;
    let text = match intrinsic(body) {
        Some(Intrinsic::Other(name, arg)) if name == "Sub" => scalar_text(arg)
            .ok_or_else(|| vec!["DashboardBody is a !Sub with variables; expected one string".into()])?,
        _ => scalar_text(body).ok_or_else(|| vec!["DashboardBody is neither a string nor a !Sub".into()])?,
    };
    let (text, unknown) = substitute(template, &text);
    if !unknown.is_empty() {
        return Err(unknown
            .into_iter()
            .map(|n| format!("DashboardBody substitutes ${{{n}}}, which the template does not define"))
            .collect());
    }
    serde_json::from_str(&text).map_err(|e| vec![format!("DashboardBody is not JSON after substitution: {e}")])
}

/// A metric a dashboard names: namespace, name, dimensions, options.
#[derive(Debug)]
struct DashMetric {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
    options: Json,
}

/// The metric arrays of a metric widget (`"."` repeats the previous entry's
/// value at that position, as the dashboard format allows).
fn widget_metrics(widget: &Json) -> (Vec<DashMetric>, Vec<String>) {
    let mut metrics: Vec<DashMetric> = Vec::new();
    let mut expressions = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for row in widget["properties"]["metrics"].as_array().into_iter().flatten() {
        let Some(items) = row.as_array() else { continue };
        let texts: Vec<String> = items
            .iter()
            .map_while(|v| v.as_str())
            .enumerate()
            .map(|(i, s)| {
                if s == "." {
                    previous.get(i).cloned().unwrap_or_default()
                } else {
                    s.to_string()
                }
            })
            .collect();
        let options = items.last().filter(|v| v.is_object()).cloned().unwrap_or(Json::Null);
        if texts.is_empty() {
            if let Some(e) = options["expression"].as_str() {
                expressions.push(e.to_string());
            }
            continue;
        }
        previous = texts.clone();
        let dimensions = texts[2.min(texts.len())..]
            .chunks(2)
            .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
            .collect();
        metrics.push(DashMetric {
            namespace: texts[0].clone(),
            name: texts.get(1).cloned().unwrap_or_default(),
            dimensions,
            options,
        });
    }
    (metrics, expressions)
}

/// The metric names a SEARCH() expression asks for in `namespace`, with the
/// dimension schema it names (`{Namespace,Dim,...}`).
fn search_metrics(expression: &str) -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    let mut rest = expression;
    while let Some(i) = rest.find("SEARCH('{") {
        let after = &rest[i + "SEARCH('{".len()..];
        let Some(j) = after.find('}') else { break };
        let schema: Vec<String> = after[..j].split(',').map(|s| s.trim().to_string()).collect();
        let tail = &after[j..];
        if let Some(k) = tail.find("MetricName=\"") {
            let name_start = &tail[k + "MetricName=\"".len()..];
            if let Some(end) = name_start.find('"') {
                found.push((schema, name_start[..end].to_string()));
            }
        }
        rest = tail;
    }
    found
}

/// The EMF metric names the functions emit: every `("Name", <n> as f64)`
/// pair (CostRecord.metrics, emit_platform_metrics) in their sources, and
/// deliver's own metrics.
fn emitted_metrics() -> BTreeSet<String> {
    let mut sources = Vec::new();
    rust_sources(&repo_root().join("functions"), &mut sources);
    let mut names = BTreeSet::new();
    for (_, text) in &sources {
        for line in text.lines().filter(|l| l.contains(" as f64)")) {
            let mut rest = line;
            while let Some(i) = rest.find("(\"") {
                let after = &rest[i + 2..];
                let Some(j) = after.find('"') else { break };
                let name = &after[..j];
                if after[j..].starts_with("\", ") && name.chars().all(|c| c.is_ascii_alphanumeric()) {
                    names.insert(name.to_string());
                }
                rest = &after[j..];
            }
        }
    }
    names.insert(deliver::DELIVERIES_DEAD.to_string());
    names.insert(deliver::WEBHOOK_ENDPOINTS_DISABLED.to_string());
    names
}

/// Log messages the functions write (the string literals of their sources
/// and shared's), for the Logs Insights query's filter.
fn logged_text() -> String {
    let mut sources = Vec::new();
    rust_sources(&repo_root().join("functions"), &mut sources);
    rust_sources(&repo_root().join("shared/src"), &mut sources);
    sources.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join("\n")
}

/// The widgets the ops dashboard must have, the ZeroBeta metrics it names
/// against `emitted`, and the grid.
fn dashboard_problems(template: &Template, body: &Json, emitted: &BTreeSet<String>, logged: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(widgets) = body["widgets"].as_array() else {
        return vec!["the dashboard has no widgets array".into()];
    };
    let mut all_metrics = Vec::new();
    let mut all_expressions = Vec::new();
    let mut cells = BTreeMap::new();
    for (n, w) in widgets.iter().enumerate() {
        let title = w["properties"]["title"].as_str().unwrap_or("").to_string();
        let at = format!("widget {n} ({title:?})");
        let kind = w["type"].as_str().unwrap_or("");
        if !["metric", "text", "log", "alarm", "explorer"].contains(&kind) {
            problems.push(format!("{at}: type {kind:?} is not a dashboard widget type"));
        }
        let [x, y, width, height] = ["x", "y", "width", "height"].map(|k| w[k].as_u64());
        match (x, y, width, height) {
            (Some(x), Some(y), Some(width), Some(height)) if x + width <= 24 && width > 0 && height > 0 => {
                for cx in x..x + width {
                    for cy in y..y + height {
                        if let Some(other) = cells.insert((cx, cy), n) {
                            problems.push(format!("{at} overlaps widget {other} at ({cx}, {cy})"));
                        }
                    }
                }
            }
            _ => problems.push(format!("{at}: x/y/width/height missing or wider than the 24-unit grid")),
        }
        if ["metric", "log"].contains(&kind) && w["properties"]["region"].as_str() != Some("us-east-1") {
            problems.push(format!("{at}: region is not ${{AWS::Region}}"));
        }
        if kind == "metric" {
            let (metrics, expressions) = widget_metrics(w);
            if metrics.is_empty() && expressions.is_empty() {
                problems.push(format!("{at}: no metrics"));
            }
            all_metrics.extend(metrics.into_iter().map(|m| (at.clone(), m)));
            all_expressions.extend(expressions.into_iter().map(|e| (at.clone(), e)));
        }
    }

    // Every ZeroBeta metric it names is one the code emits, with the
    // dimensions the code gives it: PartnerId for the order metrics
    // (CostRecord), none for the platform ones.
    for (at, m) in all_metrics.iter().filter(|(_, m)| m.namespace == NAMESPACE) {
        if !emitted.contains(&m.name) {
            problems.push(format!("{at}: {NAMESPACE}/{} is not emitted by any function", m.name));
        }
        if !m.dimensions.is_empty() {
            problems.push(format!(
                "{at}: {NAMESPACE}/{} has dimensions {:?}; the platform metrics have none",
                m.name, m.dimensions
            ));
        }
    }
    let mut searched = BTreeSet::new();
    for (at, e) in &all_expressions {
        for (schema, name) in search_metrics(e) {
            if schema.first().map(String::as_str) == Some(NAMESPACE) {
                if !emitted.contains(&name) {
                    problems.push(format!(
                        "{at}: SEARCH names {NAMESPACE}/{name}, which no function emits"
                    ));
                }
                if schema != [NAMESPACE, "PartnerId"] {
                    problems.push(format!(
                        "{at}: SEARCH schema {schema:?} is not {{{NAMESPACE},PartnerId}}"
                    ));
                }
                searched.insert(name);
            }
        }
    }

    // The widgets ops asked for.
    for name in ["OrdersReceived", "OrdersPersisted", "OrdersRejected"] {
        if !searched.contains(name) {
            problems.push(format!("no per-partner SEARCH() of {NAMESPACE}/{name}"));
        }
    }
    let names = |ns: &str, name: &str, dim: (&str, &str)| {
        all_metrics
            .iter()
            .filter(|(_, m)| {
                m.namespace == ns && m.name == name && m.dimensions.iter().any(|(k, v)| (k.as_str(), v.as_str()) == dim)
            })
            .map(|(_, m)| m)
            .collect::<Vec<_>>()
    };
    let pipeline = ("StateMachineArn", "ref:OrderPipelineStateMachine");
    for name in [
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
    ] {
        if names("AWS/States", name, pipeline).is_empty() {
            problems.push(format!("no AWS/States {name} of the order pipeline"));
        }
    }
    let has_expression = |needles: &[&str]| {
        all_expressions
            .iter()
            .any(|(_, e)| needles.iter().all(|n| e.contains(n)))
    };
    if !has_expression(&["100 *", "rejected", "received"]) {
        problems.push("no rejection-rate metric math (rejected / received)".into());
    }
    if !has_expression(&["100 *", "failed", "timedOut", "started"]) {
        problems.push("no pipeline failure-rate metric math ((failed + timedOut) / started)".into());
    }
    let duration = names("AWS/Lambda", "Duration", ("FunctionName", "ref:IngestFunction"));
    for stat in ["p50", "p95", "p99"] {
        if !duration.iter().any(|m| m.options["stat"] == stat) {
            problems.push(format!("no ingest Duration {stat}"));
        }
    }
    for api in ["ref:PartnerApi", "ref:AdminApi"] {
        for name in ["4xx", "5xx"] {
            if names("AWS/ApiGateway", name, ("ApiId", api)).is_empty() {
                problems.push(format!("no AWS/ApiGateway {name} of {api}"));
            }
        }
    }
    if names(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        ("QueueName", "getatt:EventsDeadLetterQueue.QueueName"),
    )
    .is_empty()
    {
        problems.push("no dead-letter queue depth".into());
    }
    if !all_metrics
        .iter()
        .any(|(_, m)| m.namespace == NAMESPACE && m.name == deliver::DELIVERIES_DEAD)
    {
        problems.push("no dead deliveries".into());
    }

    // The failed feeds: a Logs Insights table over record-error's and the
    // sweeper's log groups, filtering on messages the code really logs.
    let logs: Vec<&Json> = widgets.iter().filter(|w| w["type"] == "log").collect();
    match logs.as_slice() {
        [w] => {
            let query = w["properties"]["query"].as_str().unwrap_or("");
            for group in ["ref:RecordErrorFunctionLogGroup", "ref:SweeperFunctionLogGroup"] {
                if !query.contains(&format!("SOURCE '{group}'")) {
                    problems.push(format!("the failed-feeds query does not read {group}"));
                }
            }
            let filter = query
                .split_once("like /")
                .and_then(|(_, r)| r.split_once('/'))
                .map(|(f, _)| f)
                .unwrap_or("");
            if filter.is_empty() {
                problems.push("the failed-feeds query has no `filter message like /.../`".into());
            }
            for alternative in filter.split('|').filter(|a| !a.is_empty()) {
                if !logged.contains(alternative) {
                    problems.push(format!(
                        "the failed-feeds query looks for {alternative:?}, which no function logs"
                    ));
                }
            }
        }
        _ => problems.push(format!(
            "{} log widgets; expected one (latest failed feeds)",
            logs.len()
        )),
    }

    // Every alarm of the stack is on the dashboard.
    let listed: BTreeSet<String> = widgets
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| w["properties"]["alarms"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    for (id, _) in template.resources_of_type("AWS::CloudWatch::Alarm") {
        if !listed.contains(&format!("getatt:{id}.Arn")) {
            problems.push(format!("the alarm widget does not show {id}"));
        }
    }
    problems
}

/// The ZeroBeta metrics the alarms watch are emitted too, and the
/// dead-deliveries alarm is there, wired like the others.
fn alarm_problems(template: &Template, emitted: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, alarm) in template.resources_of_type("AWS::CloudWatch::Alarm") {
        let mut watched = Vec::new();
        if get(alarm, &["Properties", "Namespace"])
            .and_then(scalar_text)
            .as_deref()
            == Some(NAMESPACE)
        {
            watched.extend(get(alarm, &["Properties", "MetricName"]).and_then(scalar_text));
        }
        for m in get(alarm, &["Properties", "Metrics"])
            .and_then(|m| untag(m).as_sequence())
            .into_iter()
            .flatten()
        {
            if get(m, &["MetricStat", "Metric", "Namespace"])
                .and_then(scalar_text)
                .as_deref()
                == Some(NAMESPACE)
            {
                watched.extend(get(m, &["MetricStat", "Metric", "MetricName"]).and_then(scalar_text));
            }
        }
        for name in watched {
            if !emitted.contains(&name) {
                problems.push(format!("{id} watches {NAMESPACE}/{name}, which no function emits"));
            }
        }
    }
    match template.resource("DeadDeliveriesAlarm") {
        None => problems.push("DeadDeliveriesAlarm is missing".into()),
        Some(a) => {
            let text = |k: &str| get(a, &["Properties", k]).and_then(scalar_text);
            if text("MetricName").as_deref() != Some(deliver::DELIVERIES_DEAD) {
                problems.push("DeadDeliveriesAlarm does not watch DeliveriesDead".into());
            }
            if text("TreatMissingData").as_deref() != Some("notBreaching") {
                problems.push("DeadDeliveriesAlarm: no data must be OK (notBreaching)".into());
            }
            let actions = get(a, &["Properties", "AlarmActions"]).and_then(|v| untag(v).as_sequence());
            if !actions.is_some_and(|s| s.iter().any(|v| intrinsic(v) == Some(Intrinsic::Ref("AlarmTopic")))) {
                problems.push("DeadDeliveriesAlarm does not notify AlarmTopic".into());
            }
        }
    }
    problems
}

#[test]
fn the_ops_dashboard_shows_what_ops_needs_from_metrics_the_code_emits() {
    let template = Template::load();
    let body = dashboard_body(&template).unwrap_or_else(|p| {
        report("OpsDashboard", &p);
        Json::Null
    });
    let emitted = emitted_metrics();
    for name in [
        "OrdersReceived",
        "OrdersPersisted",
        "OrdersRejected",
        "StuckFeedsRestarted",
        "StuckFeedsFailed",
    ] {
        assert!(emitted.contains(name), "the source scan missed {name}: {emitted:?}");
    }
    report(
        "OpsDashboard",
        &dashboard_problems(&template, &body, &emitted, &logged_text()),
    );
    report("alarms", &alarm_problems(&template, &emitted));
}

#[test]
fn the_dashboard_checker_reports_unknown_metrics_missing_widgets_and_bad_substitutions() {
    let template = Template::load();
    let emitted = emitted_metrics();
    let logged = logged_text();
    let mut body = dashboard_body(&template).unwrap_or_else(|p| panic!("{p:?}"));
    // A metric nobody emits, a SEARCH of one, a dimension the code never sets.
    body["widgets"]
        .as_array_mut()
        .expect("widgets")
        .push(serde_json::json!({
            "type": "metric", "x": 0, "y": 100, "width": 24, "height": 6,
            "properties": {"region": "us-east-1", "metrics": [
                ["ZeroBeta", "OrdersLost"],
                ["ZeroBeta", "DeliveriesDead", "PartnerId", "p"],
                [{"expression": "SEARCH('{ZeroBeta,PartnerId} MetricName=\"FeedsEaten\"', 'Sum', 300)", "id": "x"}]]}
        }));
    let problems = dashboard_problems(&template, &body, &emitted, &logged);
    let mentions = |s: &str| problems.iter().any(|p| p.contains(s));
    assert!(mentions("ZeroBeta/OrdersLost is not emitted"), "{problems:?}");
    assert!(mentions("ZeroBeta/FeedsEaten"), "{problems:?}");
    assert!(mentions("DeliveriesDead has dimensions"), "{problems:?}");

    // Without the log widget and the per-partner searches.
    let mut bare = body.clone();
    bare["widgets"]
        .as_array_mut()
        .expect("widgets")
        .retain(|w| w["type"] != "log" && !w.to_string().contains("SEARCH("));
    let problems = dashboard_problems(&template, &bare, &emitted, &logged);
    assert!(problems.iter().any(|p| p.contains("0 log widgets")), "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("no per-partner SEARCH() of ZeroBeta/OrdersRejected")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("no rejection-rate")), "{problems:?}");

    // A query filtering on a message nobody logs.
    let problems = dashboard_problems(&template, &body, &emitted, "the feed failed");
    assert!(
        problems.iter().any(|p| p.contains("which no function logs")),
        "{problems:?}"
    );

    // Substitution of names the template does not define.
    let (_, unknown) = substitute(
        &template,
        "${AWS::Region} ${Nope} ${Nope2.Arn} ${!Literal} ${IngestFunction}",
    );
    assert_eq!(unknown, vec!["Nope".to_string(), "Nope2.Arn".to_string()]);

    // An alarm on a metric nobody emits, and no DeadDeliveriesAlarm.
    let broken = Template::parse(
        "Resources:\n  A:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      Namespace: ZeroBeta\n      MetricName: Nothing\n",
    )
    .expect("yaml");
    let problems = alarm_problems(&broken, &emitted);
    assert!(problems.iter().any(|p| p.contains("ZeroBeta/Nothing")), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("DeadDeliveriesAlarm is missing")),
        "{problems:?}"
    );
}
