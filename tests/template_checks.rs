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
