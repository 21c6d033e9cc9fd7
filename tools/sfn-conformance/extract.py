#!/usr/bin/env python3
"""Derive Step Functions conformance cases from LocalStack's AWS-recorded parity tests.

LocalStack (Apache-2.0) records its Step Functions tests against AWS into `*.snapshot.json`
files; `*.validation.json` marks the tests whose recording was verified on AWS. This script takes
only the facts out of them: for every recorded execution history of a validated test, the
definition the test created (its json5 template), the execution input (from the recorded
ExecutionStarted event), the recorded outcome (status, output or error and cause) and what each
Lambda task returned (so the harness can answer the same way without LocalStack's functions).

It is run by hand, not by `make test`, on a LocalStack checkout:

    python3 tools/sfn-conformance/extract.py /path/to/localstack local/asl/tests/conformance

and writes `cases.json` (one object per case, each citing its source test and snapshot key) and
`SOURCE.md`. Cases whose definition cannot be derived statically (the test rewrites it beyond
placing a Lambda function's ARN) are left out and counted in SOURCE.md.

Needs the `json5` package (`pip install json5`). LOCALSTACK_COMMIT names the commit when the
checkout is an export without .git.
"""

import ast
import json
import os
import subprocess
import sys
from collections import Counter

import json5

SFN_TESTS = "tests/aws/services/stepfunctions"
# (template class, constant) -> string constants such as "%CONTEXT_OBJECT_LITERAL_PLACEHOLDER%".
PLACEHOLDERS = {}
# A Lambda function ARN in the recordings' shape; the harness answers for every function.
LAMBDA_ARN = "arn:aws:lambda:us-east-1:111111111111:function:{name}"


def template_constants(root):
    """Maps (module path, class name) -> {constant: json5 path} for every templates/*.py class."""
    out = {}
    tdir = os.path.join(root, SFN_TESTS, "templates")
    for dirpath, _, files in os.walk(tdir):
        for fname in files:
            if not fname.endswith(".py"):
                continue
            path = os.path.join(dirpath, fname)
            module = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
            tree = ast.parse(open(path).read())
            for node in tree.body:
                if not isinstance(node, ast.ClassDef):
                    continue
                consts = {}
                for stmt in node.body:
                    target = getattr(stmt, "target", None)
                    value = getattr(stmt, "value", None)
                    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                        target = stmt.targets[0]
                    if not isinstance(target, ast.Name) or value is None:
                        continue
                    rel = join_literal(value)
                    if rel and rel.endswith(".json5"):
                        consts[target.id] = os.path.join(dirpath, rel)
                    elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                        PLACEHOLDERS[(node.name, target.id)] = value.value
                out[(module, node.name)] = consts
    return out


def join_literal(value):
    """The relative file of `os.path.join(_THIS_FOLDER, "a/b.json5")`, else None."""
    if (
        isinstance(value, ast.Call)
        and getattr(value.func, "attr", None) == "join"
        and len(value.args) == 2
        and isinstance(value.args[1], ast.Constant)
        and isinstance(value.args[1].value, str)
    ):
        return value.args[1].value
    return None


def aliases(tree, classes):
    """Import aliases in a test module -> the template class's constants."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for name in node.names:
                consts = classes.get((node.module, name.name))
                if consts is not None:
                    out[name.asname or name.name] = consts
                    ALIAS_CLASSES[name.asname or name.name] = name.name
    return out


# Import alias -> template class name, for the placeholder constants.
ALIAS_CLASSES = {}


def placeholder(node):
    """The string behind `T.SOME_PLACEHOLDER`, or a string literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return PLACEHOLDERS.get((ALIAS_CLASSES.get(node.value.id), node.attr))
    return None


def template_refs(node, alias_map):
    """Every template constant referenced under an AST node, as json5 paths in source order."""
    refs = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
            consts = alias_map.get(sub.value.id)
            if consts and sub.attr in consts:
                refs.append((sub.lineno, sub.col_offset, consts[sub.attr]))
    return [path for _, _, path in sorted(refs)]


def parametrized_templates(func, alias_map):
    """{param id: json5 path} from `@pytest.mark.parametrize(..., [T.A, T.B], ids=[...])`."""
    out = {}
    for deco in func.decorator_list:
        if not (isinstance(deco, ast.Call) and getattr(deco.func, "attr", None) == "parametrize"):
            continue
        if len(deco.args) < 2 or not isinstance(deco.args[1], (ast.List, ast.Tuple)):
            continue
        ids = next((k.value for k in deco.keywords if k.arg == "ids"), None)
        values = deco.args[1].elts
        if not isinstance(ids, (ast.List, ast.Tuple)) or len(ids.elts) != len(values):
            continue
        for id_node, value in zip(ids.elts, values):
            refs = template_refs(value, alias_map)
            if isinstance(id_node, ast.Constant) and len(refs) == 1:
                out[id_node.value] = refs[0]
    return out


def parametrized_values(func, param_id):
    """{argument: value} for the constant parameters behind a test id such as `[$.items[0]]`."""
    out = {}
    for deco in func.decorator_list:
        if not (isinstance(deco, ast.Call) and getattr(deco.func, "attr", None) == "parametrize"):
            continue
        if len(deco.args) < 2 or not isinstance(deco.args[0], ast.Constant):
            continue
        if not isinstance(deco.args[1], (ast.List, ast.Tuple)):
            continue
        values = deco.args[1].elts
        if not all(isinstance(v, ast.Constant) for v in values):
            continue
        ids = next((k.value for k in deco.keywords if k.arg == "ids"), None)
        if isinstance(ids, (ast.List, ast.Tuple)) and len(ids.elts) == len(values):
            names = [i.value if isinstance(i, ast.Constant) else None for i in ids.elts]
        else:
            names = [str(v.value) for v in values]
        for name, value in zip(names, values):
            if name == param_id:
                out[deco.args[0].value] = value.value
    return out


MUTATORS = ("append", "extend", "insert", "update", "pop", "clear", "setdefault")


def definition_edits(func, params):
    """The test's edits of its definition as (key path, value) pairs, or None when the test
    changes it in a way this script does not follow. Placing a function's ARN in Resource or
    FunctionName is not an edit (every Lambda placeholder gets an ARN); setting a field to a
    constant test parameter is followed."""
    edits = []
    for sub in ast.walk(func):
        if isinstance(sub, ast.Assign):
            for target in sub.targets:
                if not isinstance(target, ast.Subscript):
                    continue
                key = target.slice
                if isinstance(key, ast.Constant) and key.value in ("Resource", "FunctionName"):
                    if "activit" in ast.unparse(sub.value):
                        return None  # an activity, not a Lambda function
                    path = subscript_keys(target)
                    if key.value == "Resource" and path and len(path) >= 2:
                        # The test puts a created function's ARN there, over whatever the
                        # template held (sometimes the lambda:invoke integration).
                        edits.append((path, LAMBDA_ARN.format(name=path[-2])))
                    continue
                if subscript_root(target) not in ("definition", "template", "sm_template"):
                    continue
                path = subscript_keys(target)
                if path is None or not isinstance(sub.value, ast.Name) or sub.value.id not in params:
                    return None
                edits.append((path, params[sub.value.id]))
        if isinstance(sub, ast.Call) and getattr(sub.func, "attr", None) in MUTATORS:
            if subscript_root(sub.func.value) in ("definition", "template", "sm_template"):
                return None
        if isinstance(sub, ast.Call) and getattr(sub.func, "attr", None) == "replace":
            root = sub.func.value
            if isinstance(root, ast.Name) and root.id in ("definition", "definition_str", "template"):
                # `definition.replace(T.PLACEHOLDER, value)`, value a literal or a constant parameter.
                old = placeholder(sub.args[0]) if len(sub.args) == 2 else None
                new = sub.args[1] if len(sub.args) == 2 else None
                if isinstance(new, ast.Name) and new.id in params and isinstance(params[new.id], str):
                    new = params[new.id]
                elif isinstance(new, ast.Constant) and isinstance(new.value, str):
                    new = new.value
                else:
                    return None
                if old is None:
                    return None
                edits.append((REPLACE, (old, new)))
    return edits


# An edit of the definition's JSON text rather than of one field.
REPLACE = "replace-in-text"


def subscript_keys(node):
    keys = []
    while isinstance(node, ast.Subscript):
        if not isinstance(node.slice, ast.Constant):
            return None
        keys.append(node.slice.value)
        node = node.value
    return list(reversed(keys))


def apply_edits(definition, edits):
    for path, value in edits:
        if path == REPLACE:
            old, new = value
            definition = json.loads(json.dumps(definition).replace(old, new))
            continue
        target = definition
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return definition


def subscript_root(node):
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def place_functions(definition):
    """Gives every Lambda placeholder a function ARN named after its state."""

    def walk(states):
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            resource = state.get("Resource")
            if isinstance(resource, str) and (resource.startswith("_") or resource == ""):
                state["Resource"] = LAMBDA_ARN.format(name=name)
            params = state.get("Parameters") or state.get("Arguments")
            if isinstance(params, dict):
                fn = params.get("FunctionName")
                if isinstance(fn, str) and fn.startswith("_"):
                    params["FunctionName"] = LAMBDA_ARN.format(name=name)
            for key in ("Iterator", "ItemProcessor"):
                if isinstance(state.get(key), dict):
                    walk(state[key].get("States", {}))
            for branch in state.get("Branches", []) or []:
                if isinstance(branch, dict):
                    walk(branch.get("States", {}))

    walk(definition.get("States", {}))
    return definition


def histories(content):
    """(snapshot key, events) for every recorded execution history in a test's recording."""
    found = []

    def walk(value, key):
        if isinstance(value, dict):
            events = value.get("events")
            if (
                isinstance(events, list)
                and events
                and isinstance(events[0], dict)
                and events[0].get("type") == "ExecutionStarted"
            ):
                found.append((key, events))
                return
            for k, v in value.items():
                walk(v, k if key is None else f"{key}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}[{i}]")

    walk(content, None)
    return found


def json_text(value):
    """A recorded input or output as the JSON value it was. The recorder parsed objects into the
    snapshot but left every other value as its JSON text (an output `[1,2,3]` is recorded as the
    string "[1,2,3]"); a string that is not JSON text is a masked value and stays as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# Masked values an outcome can depend on. Masked names and ARNs (functions, queues, buckets) are
# identifiers the replayed calls do not look at, and the recorded outputs mask them alike.
TIME_MASKS = ("timestamp", "<timestamp>", "date", "<date>")


def masked(value):
    """Whether the recorder replaced a time in the input (the run would not be reproducible)."""
    if isinstance(value, dict):
        return any(masked(v) for v in value.values())
    if isinstance(value, list):
        return any(masked(v) for v in value)
    return isinstance(value, str) and value in TIME_MASKS


def outcome(events):
    """The recorded terminal event as {status, output | error, cause}, or None if not terminal."""
    last = events[-1]
    kind = last.get("type")
    if kind == "ExecutionSucceeded":
        details = last.get("executionSucceededEventDetails", {})
        return {"status": "SUCCEEDED", "output": json_text(details.get("output"))}
    terminal = {
        "ExecutionFailed": ("FAILED", "executionFailedEventDetails"),
        "ExecutionTimedOut": ("TIMED_OUT", "executionTimedOutEventDetails"),
        "ExecutionAborted": ("ABORTED", "executionAbortedEventDetails"),
    }
    if kind in terminal:
        status, key = terminal[kind]
        details = last.get(key, {})
        result = {"status": status}
        for field in ("error", "cause"):
            if field in details:
                result[field] = details[field]
        return result
    return None


def task_results(events):
    """What each Lambda call returned, in history order: {state, payload, output | error, cause}."""
    by_id = {e["id"]: e for e in events if isinstance(e.get("id"), int)}
    results = []
    for event in events:
        kind = event.get("type")
        if kind in (
            "LambdaFunctionSucceeded",
            "LambdaFunctionFailed",
            "LambdaFunctionTimedOut",
            "TaskSucceeded",
            "TaskFailed",
            "TaskTimedOut",
        ):
            scheduled = previous_of(by_id, event, ("LambdaFunctionScheduled", "TaskScheduled"))
            entered = previous_of(by_id, event, ("TaskStateEntered",))
            entry = {"state": entered["stateEnteredEventDetails"]["name"] if entered else None}
            if scheduled and "lambdaFunctionScheduledEventDetails" in scheduled:
                entry["payload"] = json_text(scheduled["lambdaFunctionScheduledEventDetails"].get("input"))
            elif scheduled and "taskScheduledEventDetails" in scheduled:
                details = scheduled["taskScheduledEventDetails"]
                if details.get("resourceType") != "lambda":
                    entry["service"] = details.get("resourceType")
                params = details.get("parameters")
                entry["payload"] = (params or {}).get("Payload") if isinstance(params, dict) else None
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            if kind.endswith("TimedOut"):
                entry["timed_out"] = True
            elif kind.endswith("Succeeded"):
                output = json_text(details.get("output"))
                if kind == "TaskSucceeded" and isinstance(output, dict) and "Payload" in output:
                    output = output["Payload"]
                entry["output"] = output
            else:
                entry["error"] = details.get("error")
                entry["cause"] = details.get("cause")
            results.append(entry)
    return results


def previous_of(by_id, event, kinds):
    seen = 0
    current = by_id.get(event.get("previousEventId"))
    while current is not None and seen < 1000:
        if current.get("type") in kinds:
            return current
        current = by_id.get(current.get("previousEventId"))
        seen += 1
    return None


def state_names(definition):
    names = set()

    def walk(states):
        for name, state in states.items():
            names.add(name)
            if isinstance(state, dict):
                for key in ("Iterator", "ItemProcessor"):
                    if isinstance(state.get(key), dict):
                        walk(state[key].get("States", {}))
                for branch in state.get("Branches", []) or []:
                    walk(branch.get("States", {}))

    walk(definition.get("States", {}))
    return names


def entered_names(events):
    return {
        e["stateEnteredEventDetails"]["name"]
        for e in events
        if "stateEnteredEventDetails" in e and "name" in e["stateEnteredEventDetails"]
    }


def mask_tokens(root):
    """The replacement strings of the tests' snapshot transformers (`RegexTransformer(x, "tok")`,
    `JsonpathTransformer(path, "tok")`): recorded values they replaced are not facts about AWS,
    so the harness accepts any value there. `<...>` placeholders are recognised by shape."""
    # Replacements of LocalStack's shared sfn transformers (localstack-core, not the tests).
    tokens = {"timestamp", "start-time", "entered-time", "date"}
    for dirpath, _, files in os.walk(os.path.join(root, SFN_TESTS, "v2")):
        for fname in files:
            if not fname.endswith(".py"):
                continue
            for node in ast.walk(ast.parse(open(os.path.join(dirpath, fname)).read())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("RegexTransformer", "JsonpathTransformer") and len(node.args) >= 2:
                    arg = node.args[1]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        tokens.add(arg.value)
    return sorted(tokens)


def comparison_call(func):
    """(operator, literal value?) of a choice-operator test's `create_and_test_comparison_function`."""
    for sub in ast.walk(func):
        if isinstance(sub, ast.Call) and getattr(sub.func, "id", None) == "create_and_test_comparison_function":
            operator = next(
                (a.value for a in sub.args if isinstance(a, ast.Constant) and isinstance(a.value, str)),
                None,
            )
            literal = next((k.value.value for k in sub.keywords if k.arg == "add_literal_value"), True)
            return operator, literal
    return None, None


def choice_cases(root, key, entry, func, validated, skipped):
    """Choice-operator recordings are lists of {input, output}: each ran the base template with
    the test's operator and, unless it is a *Path operator, the input's Value as a literal
    (v2/choice_operators/utils.py)."""
    if key not in validated or func is None:
        return []
    operator, literal = comparison_call(func)
    if operator is None:
        return []
    template = os.path.join(root, SFN_TESTS, "templates/choiceoperators/statemachines/template.json5")
    base = json.dumps(json5.load(open(template)))
    base = base.replace("%ComparisonOperatorType%", operator)
    out = []
    for i, case in enumerate(entry.get("recorded-content", {}).get("cases", [])):
        exec_input = json_text(case.get("input"))
        if masked(exec_input):
            skipped["a time in the input masked by the recording"] += 1
            continue
        text = base.replace('"$.Value"', json.dumps(exec_input.get("Value"))) if literal else base
        output = case.get("output")
        if isinstance(output, list) and len(output) == 1:
            output = output[0]
        out.append(
            {
                "id": f"{key.split('/v2/')[-1].split('.py::')[0]}::{key.split('::')[-1]}::cases[{i}]",
                "source": {
                    "test": key,
                    "snapshot": key.split("::")[0].replace(".py", ".snapshot.json"),
                    "key": f"cases[{i}]",
                    "template": os.path.relpath(template, root),
                },
                "definition": json.loads(text),
                "input": exec_input,
                "expected": {"status": "SUCCEEDED", "output": json_text(output)},
                "tasks": [],
            }
        )
    return out


def main(root, out_dir):
    classes = template_constants(root)
    masks = mask_tokens(root)
    commit = os.environ.get("LOCALSTACK_COMMIT") or subprocess.run(
        ["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    cases, skipped = [], Counter()
    v2 = os.path.join(root, SFN_TESTS, "v2")
    for dirpath, _, files in sorted(os.walk(v2)):
        for fname in sorted(files):
            if not fname.endswith(".snapshot.json"):
                continue
            base = os.path.join(dirpath, fname[: -len(".snapshot.json")])
            validated = load_json(base + ".validation.json")
            snapshot = load_json(base + ".snapshot.json")
            tree = ast.parse(open(base + ".py").read())
            alias_map = aliases(tree, classes)
            funcs = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            for key, entry in snapshot.items():
                func = funcs.get(key.split("::")[-1].partition("[")[0])
                if "choice_operators" in base:
                    cases.extend(choice_cases(root, key, entry, func, validated, skipped))
                    continue
                recorded = histories(entry.get("recorded-content", {}))
                if not recorded:
                    continue
                if key not in validated:
                    skipped["not validated on AWS"] += len(recorded)
                    continue
                test = key.split("::")[-1]
                name, _, param = test.partition("[")
                param = param[:-1] if param else None
                func = funcs.get(name)
                if func is None:
                    skipped["test function not found"] += len(recorded)
                    continue
                template = parametrized_templates(func, alias_map).get(param)
                if template is None:
                    refs = sorted(set(template_refs(func, alias_map)))
                    template = refs[0] if len(refs) == 1 else None
                if template is None:
                    skipped["definition not derivable (no single template)"] += len(recorded)
                    continue
                params = parametrized_values(func, param) if param is not None else {}
                edits = definition_edits(func, params)
                if edits is None:
                    skipped["definition rewritten by the test"] += len(recorded)
                    continue
                definition = apply_edits(json5.load(open(template)), edits)
                definition = place_functions(definition)
                for snap_key, events in recorded:
                    if not entered_names(events) <= state_names(definition):
                        skipped["recorded states not in the template"] += 1
                        continue
                    expected = outcome(events)
                    if expected is None:
                        skipped["execution not finished in the recording"] += 1
                        continue
                    if expected["status"] == "ABORTED":
                        skipped["execution stopped by the test"] += 1
                        continue
                    started = events[0].get("executionStartedEventDetails", {})
                    if masked(started.get("input")):
                        skipped["a time in the input masked by the recording"] += 1
                        continue
                    cases.append(
                        {
                            "id": f"{os.path.relpath(base, v2)}::{test}::{snap_key}",
                            "source": {
                                "test": key,
                                "snapshot": os.path.relpath(base, root) + ".snapshot.json",
                                "key": snap_key,
                                "template": os.path.relpath(template, root),
                            },
                            "definition": definition,
                            "input": json_text(started.get("input")),
                            "expected": expected,
                            "tasks": task_results(events),
                            "events": [e.get("type") for e in events],
                        }
                    )
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        document = {"localstack_commit": commit, "masks": masks, "cases": cases}
        json.dump(document, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(out_dir, "SOURCE.md"), "w") as f:
        f.write(source_md(commit, len(cases), skipped))
    print(f"{len(cases)} cases; left out: {dict(skipped)}")


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def source_md(commit, count, skipped):
    lines = [
        "# Where these cases come from",
        "",
        f"`cases.json` holds {count} executions recorded on AWS by LocalStack's Step Functions parity",
        f"tests (https://github.com/localstack/localstack, commit `{commit}`, `{SFN_TESTS}/v2`),",
        "derived by `tools/sfn-conformance/extract.py`. Only facts are taken: each case's",
        "definition (the test's json5 template, Lambda placeholders given a function ARN), the",
        "recorded input, the recorded outcome and what each Lambda call returned. Every case cites",
        "its test, snapshot file and key.",
        "",
        "LocalStack is licensed under the Apache License 2.0",
        "(https://www.apache.org/licenses/LICENSE-2.0); the recordings and templates are its",
        "contributors' work.",
        "",
        "Recorded executions left out by the extractor:",
        "",
    ]
    for reason, n in sorted(skipped.items()):
        lines.append(f"- {reason}: {n}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: extract.py <localstack checkout> <output dir>")
    main(sys.argv[1], sys.argv[2])
