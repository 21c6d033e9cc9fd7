//! InputPath, Parameters/ResultSelector, ResultPath and OutputPath, applied in AWS's order by the
//! state runners.

use serde_json::{Map, Value};

use super::{Halt, Runtime, Scope, Stage};
use crate::definition::{IoPath, StateKind};
use crate::env::Env;
use crate::path::Path;
use crate::retry::ResultPath;
use crate::task::TaskInvoker;
use crate::template::Template;

impl<I: TaskInvoker> Runtime<'_, I> {
    /// The context object for the current state and attempt.
    pub(super) fn context_for(&self, scope: &Scope<'_>, retries: u64) -> Value {
        let can_retry = matches!(
            scope.state.kind,
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_)
        );
        self.context
            .for_state(&scope.state.name, scope.entered_at, can_retry.then_some(retries))
    }

    /// Reads a path from the state input, or from the context object for `$$` paths.
    pub(super) fn read(&self, scope: &Scope<'_>, path: &Path, input: &Value) -> Result<Value, Halt> {
        let context = self.context_for(scope, 0);
        let env = Env {
            vars: &scope.vars,
            ..Env::plain(input, &context)
        };
        path.select_in(&env).map_err(|e| scope.runtime(e))
    }

    /// InputPath: absent keeps the raw input, null gives `{}`.
    pub(super) fn input_path(&self, scope: &Scope<'_>, raw: &Value) -> Result<Value, Halt> {
        let effective = match &scope.state.input_path {
            IoPath::Default => raw.clone(),
            IoPath::Null => Value::Object(Map::new()),
            IoPath::Path(path) => self.read(scope, path, raw)?,
        };
        self.note(scope, Stage::AfterInputPath, &effective);
        Ok(effective)
    }

    /// OutputPath: absent keeps the value, null gives `{}`.
    pub(super) fn output_path(&self, scope: &Scope<'_>, value: Value) -> Result<Value, Halt> {
        match &scope.state.output_path {
            IoPath::Default => Ok(value),
            IoPath::Null => Ok(Value::Object(Map::new())),
            IoPath::Path(path) => self.read(scope, path, &value),
        }
    }

    /// ResultPath: combines the result with the state's raw input.
    pub(super) fn result_path(
        &self,
        scope: &Scope<'_>,
        result_path: &ResultPath,
        raw: Value,
        result: Value,
    ) -> Result<Value, Halt> {
        match result_path {
            ResultPath::Replace => Ok(result),
            ResultPath::Discard => Ok(raw),
            ResultPath::At(path) => path.set(raw, result).map_err(|e| scope.runtime(e)),
        }
    }

    /// Parameters, ResultSelector or ItemSelector, when present; in a JSONata state, Arguments or
    /// ItemSelector, with `input` as `$states.input` and `context` as `$states.context`.
    pub(super) fn fill(
        &self,
        scope: &Scope<'_>,
        template: Option<&Template>,
        input: Value,
        context: &Value,
    ) -> Result<Value, Halt> {
        match template {
            Some(template) if scope.state.jsonata => {
                let bindings = self.bindings(scope, &input, context, None, None);
                let env = Env {
                    bindings: Some(&bindings),
                    ..Env::plain(&input, context)
                };
                template.evaluate_in(&env).map_err(|e| scope.template_halt(e))
            }
            Some(template) => {
                let env = Env {
                    vars: &scope.vars,
                    ..Env::plain(&input, context)
                };
                template.evaluate_in(&env).map_err(|e| scope.template_halt(e))
            }
            None => Ok(input),
        }
    }
}
