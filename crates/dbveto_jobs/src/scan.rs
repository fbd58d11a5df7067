//! One walk over each module: what calls what, what a framework makes of
//! each function (decorators, queues, schedules, URL patterns, signals),
//! where job frameworks are configured, and the objects loaded, changed
//! and saved in Python.

use dbveto_python_semantic::{ConstValue, Evaluator, ModuleIndex, Scope, Value};
use dbveto_facts::{EntryKind, Framework, Related};
use dbveto_source::Location;
use dbveto_writes::Literal;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::FxHashMap;

use crate::defs::FnId;
use crate::resolve::{Context, Origin, Resolver, Target};
use crate::saves::{Assigned, Pending, Saves};

const MAX_DEPTH: u32 = 200;

/// Methods Django and DRF call on a class-based view for a request.
const VIEW_HANDLERS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "dispatch", "form_valid", "form_invalid",
    "list", "create", "retrieve", "update", "partial_update", "destroy", "perform_create", "perform_update",
    "perform_destroy", "save_model", "delete_model", "save_formset", "save_related",
];

/// Methods of a Celery task class that its worker runs around `run`.
const TASK_HOOKS: &[&str] = &["__call__", "before_start", "on_success", "on_failure", "on_retry", "after_return"];

/// Methods of a Celery task that send it to a worker, and only Celery has.
const CELERY_ONLY_DISPATCH: &[&str] = &["apply_async", "s", "si", "signature", "map", "starmap", "chunks"];

/// What one module says.
#[derive(Default)]
pub struct ModuleScan {
    pub calls: Vec<(FnId, FnId)>,
    /// Signal handlers: the signal's name (`post_save`), the sender's
    /// model class when `sender=` names one, and how they are connected,
    /// for people. They run in the entry point that sends the signal.
    pub signal_receivers: Vec<(FnId, String, Option<String>, String)>,
    pub decorated: Vec<(FnId, Framework, Location)>,
    pub entries: Vec<(FnId, EntryKind, Option<String>)>,
    pub uses: Vec<(FnId, Framework, Location, String)>,
    /// Calls made outside any `transaction.atomic()`: caller, callee.
    pub calls_outside_transaction: Vec<(FnId, FnId)>,
    /// Functions decorated with `transaction.atomic`.
    pub atomic_functions: Vec<FnId>,
    /// Django views (not Flask's or FastAPI's), and those exempt from
    /// `ATOMIC_REQUESTS` (`transaction.non_atomic_requests`).
    pub django_views: Vec<FnId>,
    pub non_atomic_views: Vec<FnId>,
    /// Handlers of view classes, with their class.
    pub view_handlers: Vec<(FnId, ClassKey)>,
    /// Classes named as a value somewhere (routed, registered, listed)
    /// outside their own body, with the repository classes they derive from.
    pub named_classes: Vec<ClassKey>,
    /// What each assignment to `DATABASES` says of `ATOMIC_REQUESTS`
    /// (`None`: not known statically).
    pub atomic_requests: Vec<Option<bool>>,
    /// `.delay()`, `.apply_async()`, ... on functions no decorator makes a task.
    pub bare_dispatches: Vec<(FnId, Related)>,
    /// Functions sent to a worker (`.delay()`, `.apply_async()`, `enqueue()`) from `FnId`.
    pub dispatches: Vec<(Option<FnId>, FnId, Location)>,
    /// Tasks sent by their registered name (`app.send_task("app.tasks.sync")`) from `FnId`.
    pub sent_by_name: Vec<(Option<FnId>, String)>,
    pub schedules: Vec<RawSchedule>,
    pub configs: Vec<(Framework, Related)>,
    /// Celery task names (or glob patterns) routed by `task_routes`, their
    /// queue when it is a constant, and where.
    pub routes: Vec<(String, Option<String>, Location)>,
    /// Celery task names given explicitly (`@shared_task(name=...)`, a task class's `name`).
    pub task_names: Vec<(String, FnId)>,
    /// Task classes registered with an app: (module, class offset) and their `run`.
    pub task_classes: Vec<((dbveto_python_semantic::ModuleId, u32), FnId)>,
    pub saves: Saves,
    /// Model objects passed to functions of the repository: callee,
    /// parameter position (`self` is 0), where the object comes from, and
    /// whether it was locked.
    pub flows: Vec<(FnId, usize, Origin, bool)>,
}

pub struct RawSchedule {
    pub scheduler: &'static str,
    pub framework: Framework,
    pub entry: String,
    pub function: Option<FnId>,
    /// A Celery task named by string, resolved once every module is read.
    pub task_name: Option<String>,
    pub every: Option<u64>,
    pub interval: String,
    pub args: Option<String>,
    pub location: Location,
}

pub struct Walker<'r, 'p, 'a> {
    pub resolver: &'r Resolver<'p, 'a>,
    pub ev: Evaluator<'p, 'a>,
    pub module: &'p ModuleIndex<'a>,
    pub out: ModuleScan,
    scopes: Vec<Scope<'a>>,
    /// Per function entered: its id, what the walker knows of its names,
    /// and the assignments to loaded objects not yet saved.
    frames: Vec<Frame<'a>>,
    classes: Vec<ClassKind>,
    /// The classes being defined, innermost last.
    class_defs: Vec<&'a ast::StmtClassDef>,
    /// Inside the bases of a `class` statement.
    in_bases: u32,
    depth: u32,
}

struct Frame<'a> {
    function: Option<FnId>,
    locals: FxHashMap<&'a str, Target<'a>>,
    pending: Pending,
    /// Inside this many `transaction.atomic()`s (the decorator counts).
    atomic: u32,
}

/// A class of the repository: its module and the offset of its `class` statement.
pub type ClassKey = (dbveto_python_semantic::ModuleId, u32);

#[derive(Clone, Copy, PartialEq)]
enum ClassKind {
    /// `django`: a Django or DRF view (`ATOMIC_REQUESTS` applies), and
    /// `non_atomic`: exempt from it. `routed`: the class, when it is routed
    /// by naming it (an admin class is registered by its model instead).
    View { django: bool, non_atomic: bool, routed: Option<ClassKey> },
    Command,
    Other,
}

impl<'r, 'p, 'a> Walker<'r, 'p, 'a> {
    pub fn new(resolver: &'r Resolver<'p, 'a>, module: &'p ModuleIndex<'a>) -> Self {
        let frame = Frame { function: None, locals: FxHashMap::default(), pending: Pending::default(), atomic: 0 };
        Walker {
            resolver,
            ev: Evaluator::new(resolver.index),
            module,
            out: ModuleScan::default(),
            scopes: Vec::new(),
            frames: vec![frame],
            classes: Vec::new(),
            class_defs: Vec::new(),
            in_bases: 0,
            depth: 0,
        }
    }

    pub fn run(mut self) -> ModuleScan {
        for stmt in self.module.body {
            self.visit_stmt(stmt);
        }
        self.out
    }

    fn location(&self, node: &impl Ranged) -> Location {
        self.module.file.location(node.start().to_usize())
    }

    fn source(&self, node: &impl Ranged) -> &'a str {
        self.module.file.text.get(node.start().to_usize()..node.end().to_usize()).unwrap_or_default()
    }

    fn current(&self) -> Option<FnId> {
        self.frames.last().and_then(|f| f.function)
    }

    /// Resolves `expr` where it is written.
    pub fn resolve(&self, expr: &'a Expr) -> Option<Target<'a>> {
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        let empty = FxHashMap::default();
        let locals = self.frames.last().map_or(&empty, |f| &f.locals);
        self.resolver.expr(&Context { module: self.module.id, scopes: &chain, locals }, expr)
    }

    fn library(&self, expr: &'a Expr) -> Option<String> {
        self.resolve(expr)?.library()
    }

    fn function_of(&self, expr: &'a Expr) -> Option<FnId> {
        match self.resolve(expr)? {
            Target::Function(id) => Some(id),
            Target::Library(_) => match expr {
                // `'app.tasks.sync'` given by name.
                Expr::StringLiteral(s) => self.resolver.dotted_function(s.value.to_str(), self.module.id),
                _ => None,
            },
            _ => None,
        }
    }

    fn const_value(&mut self, expr: &'a Expr) -> Option<ConstValue> {
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        match self.ev.eval(self.module.id, &chain, expr)? {
            Value::Const(c) => Some(c.value),
            _ => None,
        }
    }

    fn string(&mut self, expr: &'a Expr) -> Option<String> {
        match self.const_value(expr)? {
            ConstValue::Str(text) => Some(text.value()),
            ConstValue::Other(_) => None,
        }
    }

    /// Seconds of a number, `timedelta(...)` or `schedule(run_every=...)`.
    fn seconds(&mut self, expr: &'a Expr) -> Option<u64> {
        if let Expr::Call(call) = expr {
            let func = self.library(&call.func)?;
            if func.ends_with("timedelta") {
                let mut total = 0u64;
                for (i, arg) in call.arguments.args.iter().enumerate() {
                    let unit = [86_400, 1, 0][i.min(2)];
                    total = total.checked_add(self.number(arg)?.checked_mul(unit)?)?;
                }
                for kw in &call.arguments.keywords {
                    let unit = match kw.arg.as_ref()?.as_str() {
                        "weeks" => 604_800,
                        "days" => 86_400,
                        "hours" => 3_600,
                        "minutes" => 60,
                        "seconds" => 1,
                        _ => return None,
                    };
                    total = total.checked_add(self.number(&kw.value)?.checked_mul(unit)?)?;
                }
                return Some(total);
            }
            if func.starts_with("celery.") && func.ends_with(".schedule") {
                let every = call.arguments.find_argument_value("run_every", 0)?;
                return self.seconds(every);
            }
            return None;
        }
        self.number(expr)
    }

    fn number(&mut self, expr: &'a Expr) -> Option<u64> {
        match self.const_value(expr)? {
            ConstValue::Other(Literal::Int(n)) => u64::try_from(n).ok(),
            ConstValue::Other(Literal::Num(text)) => {
                let value: f64 = text.parse().ok()?;
                (value.fract() == 0.0 && (0.0..1e15).contains(&value)).then_some(value as u64)
            }
            _ => None,
        }
    }

    fn interval_text(&mut self, expr: &'a Expr) -> (Option<u64>, String) {
        match self.seconds(expr) {
            Some(s) => (Some(s), format!("every {s} s")),
            None => (None, squeeze(self.source(expr))),
        }
    }

    fn config(&mut self, framework: Framework, node: &impl Ranged, what: String) {
        let location = self.location(node);
        self.out.configs.push((framework, Related { location, message: what }));
    }

    fn edge_to(&mut self, callee: FnId) {
        if let Some(caller) = self.current() {
            if caller != callee {
                self.out.calls.push((caller, callee));
                if !self.in_transaction() {
                    self.out.calls_outside_transaction.push((caller, callee));
                }
            }
        }
    }

    fn edge_outside_transaction(&mut self, callee: FnId) {
        if let Some(caller) = self.current().filter(|caller| *caller != callee) {
            self.out.calls.push((caller, callee));
            self.out.calls_outside_transaction.push((caller, callee));
        }
    }

    fn in_transaction(&self) -> bool {
        self.frames.last().is_some_and(|f| f.atomic > 0)
    }

    /// Whether a context manager or decorator may open a transaction:
    /// `transaction.atomic`, and anything of the repository or not
    /// resolved (a helper may wrap `atomic()`). A library's other objects
    /// do not; nor do Python's own decorators.
    fn may_open_transaction(&self, expr: &'a Expr) -> bool {
        let func = match expr {
            Expr::Call(call) => &*call.func,
            other => other,
        };
        if matches!(func, Expr::Name(n) if matches!(n.id.as_str(), "staticmethod" | "classmethod" | "property" | "open")) {
            return false;
        }
        match self.resolve(func) {
            Some(Target::Library(path)) => path.replace("()", "") == "django.db.transaction.atomic",
            Some(Target::Module(_) | Target::QuerySet { .. }) => false,
            Some(Target::Function(_) | Target::Class(..) | Target::Instance { .. }) | None => true,
        }
    }

    /// Whether `expr` mentions `transaction.non_atomic_requests` (as a
    /// decorator, or given to `method_decorator`).
    fn mentions_non_atomic_requests(&self, expr: &'a Expr) -> bool {
        let mut found = false;
        walk_all(expr, &mut |e| {
            if matches!(e, Expr::Name(_) | Expr::Attribute(_))
                && self.library(e).as_deref() == Some("django.db.transaction.non_atomic_requests")
            {
                found = true;
            }
        });
        found
    }

    // ---- functions and classes ----

    fn function(&mut self, def: &'a ast::StmtFunctionDef) {
        let id = self.resolver.defs.of_def(self.module.id, def);
        if let Some(id) = id {
            self.decorators(id, def);
            self.class_entry(id, def);
            // A nested function runs when its parent calls or hands it on.
            self.edge_to(id);
        }
        let mut locals = FxHashMap::default();
        let class = self.resolver.defs.functions.get(id.unwrap_or(usize::MAX)).and_then(|f| f.class);
        let is_static = def.decorator_list.iter().any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "staticmethod"));
        let is_classmethod = def.decorator_list.iter().any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "classmethod"));
        let params: Vec<&'a ast::Parameter> = def
            .parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .chain(&def.parameters.kwonlyargs)
            .map(|p| &p.parameter)
            .collect();
        for (i, param) in params.iter().enumerate() {
            let origin = id.map_or(Origin::New, |id| Origin::Param(id, i));
            if i == 0 && !is_static {
                if let Some(class) = class {
                    let target = if is_classmethod {
                        Target::Class(self.module.id, class)
                    } else {
                        Target::Instance { module: self.module.id, class, locked: false, origin }
                    };
                    locals.insert(param.name.as_str(), target);
                    continue;
                }
            }
            if let Some(annotation) = &param.annotation {
                if let Some(Target::Class(module, class)) = self.resolve(annotation) {
                    locals.insert(param.name.as_str(), Target::Instance { module, class, locked: false, origin });
                }
            }
        }
        let atomic = u32::from(def.decorator_list.iter().any(|d| self.may_open_transaction(&d.expression)));
        if let (Some(id), 1) = (id, atomic) {
            self.out.atomic_functions.push(id);
        }
        self.scopes.push(self.module.function_scope(def));
        self.frames.push(Frame { function: id, locals, pending: Pending::default(), atomic });
        for stmt in &def.body {
            self.visit_stmt(stmt);
        }
        self.frames.pop();
        self.scopes.pop();
    }

    fn decorators(&mut self, id: FnId, def: &'a ast::StmtFunctionDef) {
        for decorator in &def.decorator_list {
            let (func, call) = match &decorator.expression {
                Expr::Call(call) => (call.func.as_ref(), Some(call)),
                other => (other, None),
            };
            let Some(path) = self.library(func) else { continue };
            let location = self.location(decorator);
            let last = path.rsplit('.').next().unwrap_or_default();
            let root = path.split('.').next().unwrap_or_default();
            if root == "celery" && matches!(last, "shared_task" | "task") {
                self.out.decorated.push((id, Framework::Celery, location));
                self.out.entries.push((id, EntryKind::CeleryTask, None));
                if let Some(name) = call.and_then(|c| c.arguments.find_keyword("name")) {
                    if let Some(name) = self.string(&name.value) {
                        self.out.task_names.push((name, id));
                    }
                }
                // `@app.task(base=Tracked)`: the worker runs the base's hooks around it.
                if let Some(base) = call.and_then(|c| c.arguments.find_keyword("base")) {
                    if let Some(Target::Class(module, class)) = self.resolve(&base.value) {
                        self.task_hooks(id, module, class);
                    }
                }
            } else if matches!(path.as_str(), "django_rq.job" | "django_rq.decorators.job" | "rq.decorators.job" | "rq.job") {
                self.out.decorated.push((id, Framework::Rq, location));
                let queue = call.and_then(|c| c.arguments.args.first()).and_then(|q| self.string(q));
                self.out.entries.push((id, EntryKind::RqJob, queue.map(|q| format!("RQ queue `{q}`"))));
            } else if root == "apscheduler" && last == "scheduled_job" {
                self.out.decorated.push((id, Framework::Apscheduler, location.clone()));
                let interval = call.map(|c| self.apscheduler_interval(c)).unwrap_or((None, "?".into()));
                self.schedule_entry("APScheduler", Framework::Apscheduler, def.name.to_string(), Some(id), interval, None, location);
            } else if matches!(root, "flask" | "fastapi")
                && matches!(last, "route" | "get" | "post" | "put" | "patch" | "delete" | "api_route" | "websocket")
            {
                let route = call.and_then(|c| c.arguments.args.first()).and_then(|r| self.string(r));
                self.out.entries.push((id, EntryKind::HttpView, route.map(|r| format!("route `{r}`"))));
            } else if matches!(path.as_str(), "rest_framework.decorators.api_view" | "rest_framework.decorators.action")
                || path.starts_with("django.views.decorators.http.")
            {
                self.out.entries.push((id, EntryKind::HttpView, None));
                self.out.django_views.push(id);
            } else if path == "django.db.transaction.non_atomic_requests" {
                self.out.non_atomic_views.push(id);
            } else if path == "django.dispatch.receiver" {
                if let Some(call) = call {
                    self.signal_receiver(id, call, 0);
                }
            }
        }
    }

    /// `@receiver(signal, sender=Model)` or `signal.connect(handler, sender=Model)`.
    fn signal_receiver(&mut self, handler: FnId, call: &'a ast::ExprCall, signal_position: usize) {
        let signal = match call.func.as_ref() {
            Expr::Attribute(connect) if connect.attr.as_str() == "connect" => Some(connect.value.as_ref()),
            _ => call.arguments.find_argument_value("signal", signal_position),
        };
        let detail = match (signal, call.arguments.find_keyword("sender")) {
            (Some(signal), Some(sender)) => format!("`{}` of `{}`", squeeze(self.source(signal)), squeeze(self.source(&sender.value))),
            (Some(signal), None) => format!("`{}`", squeeze(self.source(signal))),
            (None, _) => "a signal".to_string(),
        };
        let signal = signal.and_then(dbveto_python_semantic::last_name).unwrap_or_default().to_string();
        let sender = call.arguments.find_keyword("sender").and_then(|k| match self.resolve(&k.value) {
            Some(Target::Class(_, class)) => Some(class.name.to_string()),
            _ => None,
        });
        self.out.signal_receivers.push((handler, signal, sender, detail));
    }

    fn class_entry(&mut self, id: FnId, def: &'a ast::StmtFunctionDef) {
        let name = def.name.as_str();
        match self.classes.last() {
            Some(&ClassKind::View { django, non_atomic, routed }) if VIEW_HANDLERS.contains(&name) => {
                self.out.entries.push((id, EntryKind::HttpView, None));
                if let Some(class) = routed {
                    self.out.view_handlers.push((id, class));
                }
                if django {
                    self.out.django_views.push(id);
                }
                if non_atomic {
                    self.out.non_atomic_views.push(id);
                }
            }
            Some(ClassKind::Command) if name == "handle" => {
                let command = command_name(&self.module.file.path).map(|c| format!("`manage.py {c}`"));
                self.out.entries.push((id, EntryKind::ManagementCommand, command));
            }
            _ => {}
        }
    }

    fn class_kind(&self, class: &'a ast::StmtClassDef) -> ClassKind {
        // Only classes at module level or nested in classes are views.
        if self.frames.len() > 1 {
            return ClassKind::Other;
        }
        if class.name.as_str() == "Command" && command_name(&self.module.file.path).is_some() {
            return ClassKind::Command;
        }
        let mut bases = Vec::new();
        self.resolver.library_bases(self.module.id, class, 0, &mut bases);
        let is_view = bases.iter().any(|b| {
            let last = b.rsplit('.').next().unwrap_or_default();
            b.starts_with("django.views.")
                || b.starts_with("rest_framework.")
                || b.starts_with("django.contrib.admin.")
                || last.ends_with("View")
                || last.ends_with("ViewSet")
        });
        if !is_view {
            return ClassKind::Other;
        }
        let django = bases.iter().any(|b| b.starts_with("django.") || b.starts_with("rest_framework."));
        // `method_decorator(transaction.non_atomic_requests, name="dispatch")`
        // on the class, or on its `dispatch`: `as_view()` copies it.
        let dispatch_decorators = class.body.iter().filter_map(|stmt| match stmt {
            Stmt::FunctionDef(def) if def.name.as_str() == "dispatch" => Some(&def.decorator_list),
            _ => None,
        });
        let non_atomic = class
            .decorator_list
            .iter()
            .chain(dispatch_decorators.flatten())
            .any(|d| self.mentions_non_atomic_requests(&d.expression));
        let admin = bases.iter().any(|b| b.starts_with("django.contrib.admin."));
        // A class decorated by anything but a view decorator may be
        // registered by it (`@register_model_view(Device)`): it is not
        // judged unrouted.
        let registered = class.decorator_list.iter().any(|d| !is_view_decorator(&d.expression));
        let routed = (!admin && !registered).then(|| (self.module.id, class.start().to_u32()));
        ClassKind::View { django, non_atomic, routed }
    }

    /// A name or attribute that may name a class of the repository: the
    /// class, when it is not one being defined around it.
    fn named_class(&mut self, expr: &'a Expr) {
        let Some(name) = dbveto_python_semantic::last_name(expr) else { return };
        if self.in_bases > 0 || !self.resolver.class_names.contains(name) {
            return;
        }
        let Some(Target::Class(module, class)) = self.resolve(expr) else { return };
        if self.class_defs.iter().any(|c| std::ptr::eq(*c, class)) {
            return;
        }
        self.resolver.repository_classes(module, class, 0, &mut self.out.named_classes);
    }

    // ---- calls ----

    /// Records the model objects a call passes, by the callee's parameter position.
    fn flows(&mut self, call: &'a ast::ExprCall, callee: FnId, receiver: Option<&'a Expr>, offset: usize) {
        let Some(def) = self.resolver.defs.functions.get(callee).map(|f| f.def) else { return };
        let mut passed: Vec<(usize, &'a Expr)> = Vec::new();
        if let Some(receiver) = receiver {
            passed.push((0, receiver));
        }
        passed.extend(call.arguments.args.iter().enumerate().map(|(i, a)| (offset + i, a)));
        let names: Vec<&str> = def
            .parameters
            .posonlyargs
            .iter()
            .chain(&def.parameters.args)
            .chain(&def.parameters.kwonlyargs)
            .map(|p| p.parameter.name.as_str())
            .collect();
        for kw in &call.arguments.keywords {
            if let Some(position) = kw.arg.as_ref().and_then(|a| names.iter().position(|n| *n == a.as_str())) {
                passed.push((position, &kw.value));
            }
        }
        for (position, expr) in passed {
            if matches!(expr, Expr::Starred(_)) {
                break;
            }
            if let Some(Target::Instance { origin, locked, .. }) = self.resolve(expr) {
                if origin != Origin::New {
                    self.out.flows.push((callee, position, origin, locked));
                }
            }
        }
    }

    fn call(&mut self, call: &'a ast::ExprCall) {
        // `transaction.on_commit(f)`, `asyncio.to_thread(f)`, `Thread(target=f)`:
        // `f` runs in this entry point, after the commit or in another thread.
        if let Some((callable, _)) = dbveto_python_semantic::passed_callable(call) {
            if let Some(id) = self.function_of(callable) {
                self.edge_outside_transaction(id);
            }
        }
        let target = self.resolve(&call.func);
        match &target {
            Some(Target::Function(id)) => {
                self.edge_to(*id);
                let receiver = match call.func.as_ref() {
                    Expr::Attribute(a) => Some(&*a.value),
                    _ => None,
                };
                let bound = receiver.and_then(|r| self.resolve(r));
                match bound {
                    Some(Target::Instance { .. }) => self.flows(call, *id, receiver, 1),
                    // `Class.method(...)`: static (from 0) or class method (from 1).
                    Some(Target::Class(..)) => {
                        let first = self.resolver.defs.functions.get(*id).and_then(|f| f.def.parameters.args.first()).map(|p| p.parameter.name.as_str());
                        match first {
                            Some("self") => {}
                            Some("cls") => self.flows(call, *id, None, 1),
                            _ => self.flows(call, *id, None, 0),
                        }
                    }
                    _ => self.flows(call, *id, None, 0),
                }
            }
            Some(Target::Class(module, class)) => {
                if let Some(init) = self.resolver.method(*module, class, "__init__", 0) {
                    self.edge_to(init);
                    self.flows(call, init, None, 1);
                }
            }
            Some(Target::Library(path)) => {
                let path = path.replace("()", "");
                self.library_call(call, &path);
            }
            _ => {}
        }
        let Expr::Attribute(method) = call.func.as_ref() else { return };
        let name = method.attr.as_str();
        if name == "save" {
            self.save(call, &method.value);
            return;
        }
        if name == "update" && self.frames.len() == 1 && of_databases(&method.value) {
            self.out.atomic_requests.push(None);
        }
        // `app.send_task("app.tasks.sync_fabric", args=[...])`
        if name == "send_task" {
            if let Some(task) = call.arguments.find_argument_value("name", 0).and_then(|n| self.string(n)) {
                self.out.sent_by_name.push((self.current(), task));
            }
            return;
        }
        // `task.delay()`, `task.apply_async()`: sent to a worker.
        if name == "delay" || CELERY_ONLY_DISPATCH.contains(&name) {
            if let Some(Target::Function(task)) = self.resolve(&method.value) {
                let location = self.location(call);
                self.out.dispatches.push((self.current(), task, location.clone()));
                // Only a decorator gives a function these methods.
                let bare = self.resolver.defs.functions.get(task).is_some_and(|f| f.def.decorator_list.is_empty());
                if bare {
                    self.out.bare_dispatches.push((task, Related { location: location.clone(), message: format!("`.{name}()` called here") }));
                }
                if name != "delay" {
                    self.out.uses.push((task, Framework::Celery, location, format!("`.{name}()`")));
                }
            }
            return;
        }
        let Some(receiver) = self.library(&method.value) else { return };
        let root = receiver.split('.').next().unwrap_or_default();
        match (root, name) {
            ("rq" | "django_rq" | "rq_scheduler", "enqueue" | "enqueue_call" | "enqueue_at" | "enqueue_in") => {
                let position = usize::from(matches!(name, "enqueue_at" | "enqueue_in"));
                self.enqueued(call, position, name);
            }
            ("rq_scheduler" | "django_rq", "schedule" | "cron") => self.rq_schedule(call, name),
            ("apscheduler", "add_job") => {
                let Some(func) = call.arguments.find_argument_value("func", 0) else { return };
                let function = self.function_of(func);
                let interval = self.apscheduler_interval(call);
                let entry = call
                    .arguments
                    .find_keyword("id")
                    .and_then(|k| self.string(&k.value))
                    .unwrap_or_else(|| squeeze(self.source(func)));
                let location = self.location(call);
                self.schedule_entry("APScheduler", Framework::Apscheduler, entry, function, interval, None, location);
            }
            ("celery", "add_periodic_task") => {
                let (Some(every), Some(signature)) =
                    (call.arguments.find_argument_value("schedule", 0), call.arguments.find_argument_value("sig", 1))
                else {
                    return;
                };
                let task = match signature {
                    Expr::Call(c) => match c.func.as_ref() {
                        Expr::Attribute(a) if matches!(a.attr.as_str(), "s" | "si" | "signature") => self.function_of(&a.value),
                        _ => None,
                    },
                    _ => None,
                };
                let interval = self.interval_text(every);
                let entry = call
                    .arguments
                    .find_keyword("name")
                    .and_then(|k| self.string(&k.value))
                    .unwrap_or_else(|| squeeze(self.source(signature)));
                let location = self.location(call);
                let args = match signature {
                    Expr::Call(c) if !c.arguments.is_empty() => Some(squeeze(self.source(&c.arguments))),
                    _ => None,
                };
                self.schedule_entry("Celery beat", Framework::Celery, entry, task, interval, args, location);
            }
            // `app.register_task(SyncTask())`, `app.tasks.register(SyncTask())`.
            ("celery", "register_task") | ("celery", "register") if name == "register_task" || receiver.ends_with(".tasks") => {
                if let Some(task) = call.arguments.args.first() {
                    self.task_class(task, call);
                }
            }
            ("celery", "update") if receiver.ends_with(".conf") => {
                for kw in &call.arguments.keywords {
                    match kw.arg.as_ref().map(|a| a.as_str()) {
                        Some("beat_schedule") => self.beat_schedule(&kw.value),
                        Some("task_routes") => self.task_routes(&kw.value),
                        _ => {}
                    }
                }
            }
            ("celery", "update") if receiver.ends_with(".beat_schedule") => {
                if let Some(schedule) = call.arguments.args.first() {
                    self.beat_schedule(schedule);
                }
            }
            (_, "connect") if is_signal(&receiver) => {
                if let Some(id) = call.arguments.find_argument_value("receiver", 0).and_then(|h| self.function_of(h)) {
                    self.signal_receiver(id, call, 0);
                }
            }
            _ => {}
        }
    }

    /// A call of a library function: URL patterns, queues, job framework objects.
    fn library_call(&mut self, call: &'a ast::ExprCall, path: &str) {
        match path {
            "django.urls.path" | "django.urls.re_path" | "django.conf.urls.url" => {
                if let Some(view) = call.arguments.args.get(1) {
                    if let Some(id) = self.function_of(view) {
                        let route = call.arguments.args.first().and_then(|r| self.string(r));
                        self.out.entries.push((id, EntryKind::HttpView, route.map(|r| format!("route `{r}`"))));
                        self.out.django_views.push(id);
                    }
                }
            }
            "celery.Celery" => self.config(Framework::Celery, call, "Celery app created here".into()),
            "rq.Queue" | "django_rq.get_queue" => self.config(Framework::Rq, call, "RQ queue opened here".into()),
            "rq_scheduler.Scheduler" | "django_rq.get_scheduler" => self.config(Framework::Rq, call, "RQ scheduler opened here".into()),
            "django_rq.enqueue" => self.enqueued(call, 0, "enqueue"),
            _ if path.starts_with("apscheduler.schedulers.") => {
                self.config(Framework::Apscheduler, call, "APScheduler scheduler created here".into())
            }
            _ => {}
        }
    }

    /// A class-based Celery task registered with an app: its `run` is the task.
    fn task_class(&mut self, task: &'a Expr, call: &'a ast::ExprCall) {
        let (module, class) = match self.resolve(task) {
            Some(Target::Instance { module, class, .. } | Target::Class(module, class)) => (module, class),
            _ => return,
        };
        let mut bases = Vec::new();
        self.resolver.library_bases(module, class, 0, &mut bases);
        let is_task = bases.iter().any(|b| b.starts_with("celery.") && b.rsplit('.').next() == Some("Task"));
        let Some(run) = self.resolver.method(module, class, "run", 0).filter(|_| is_task) else { return };
        let location = self.location(call);
        self.out.decorated.push((run, Framework::Celery, location));
        self.out.entries.push((run, EntryKind::CeleryTask, None));
        self.out.task_classes.push(((module, class.start().to_u32()), run));
        let name = class.body.iter().find_map(|stmt| match stmt {
            Stmt::Assign(assign) if matches!(&assign.targets[..], [Expr::Name(n)] if n.id.as_str() == "name") => Some(&*assign.value),
            _ => None,
        });
        if let Some(name) = name.and_then(|n| self.string(n)) {
            self.out.task_names.push((name, run));
        }
        self.task_hooks(run, module, class);
    }

    /// The hooks a task class defines run under the task `task`.
    fn task_hooks(&mut self, task: FnId, module: dbveto_python_semantic::ModuleId, class: &'a ast::StmtClassDef) {
        for hook in TASK_HOOKS {
            if let Some(id) = self.resolver.method(module, class, hook, 0).filter(|id| *id != task) {
                self.out.calls.push((task, id));
                self.out.calls_outside_transaction.push((task, id));
            }
        }
    }

    fn enqueued(&mut self, call: &'a ast::ExprCall, position: usize, how: &str) {
        let Some(func) = call.arguments.find_argument_value("func", position) else { return };
        let Some(id) = self.function_of(func) else { return };
        let location = self.location(call);
        self.out.entries.push((id, EntryKind::RqJob, None));
        self.out.uses.push((id, Framework::Rq, location.clone(), format!("`{how}()` on an RQ queue")));
        self.out.dispatches.push((self.current(), id, location));
    }

    fn rq_schedule(&mut self, call: &'a ast::ExprCall, name: &str) {
        let Some(func) = call.arguments.find_argument_value("func", 1) else { return };
        let function = self.function_of(func);
        let location = self.location(call);
        if let Some(id) = function {
            self.out.entries.push((id, EntryKind::RqJob, None));
            self.out.uses.push((id, Framework::Rq, location.clone(), format!("rq-scheduler `{name}()`")));
        }
        let interval = if name == "cron" {
            let cron = call.arguments.find_argument_value("cron_string", 0).and_then(|c| self.string(c));
            (None, format!("cron `{}`", cron.unwrap_or_else(|| "?".into())))
        } else {
            match call.arguments.find_keyword("interval") {
                Some(kw) => self.interval_text(&kw.value),
                // Without an interval the job runs once.
                None => return,
            }
        };
        let entry = squeeze(self.source(func));
        let args = call.arguments.find_keyword("args").map(|a| squeeze(self.source(&a.value)));
        self.schedule_entry("rq-scheduler", Framework::Rq, entry, function, interval, args, location);
    }

    fn apscheduler_interval(&mut self, call: &'a ast::ExprCall) -> (Option<u64>, String) {
        let trigger = call.arguments.find_argument_value("trigger", 1).and_then(|t| self.string(t));
        if trigger.as_deref() == Some("interval") {
            let mut total = 0u64;
            for kw in &call.arguments.keywords {
                let unit = match kw.arg.as_ref().map(|a| a.as_str()) {
                    Some("weeks") => 604_800,
                    Some("days") => 86_400,
                    Some("hours") => 3_600,
                    Some("minutes") => 60,
                    Some("seconds") => 1,
                    _ => continue,
                };
                match self.number(&kw.value) {
                    Some(n) => total = total.saturating_add(n.saturating_mul(unit)),
                    None => return (None, squeeze(self.source(&call.arguments))),
                }
            }
            if total > 0 {
                return (Some(total), format!("every {total} s"));
            }
        }
        (None, squeeze(self.source(&call.arguments)))
    }

    #[allow(clippy::too_many_arguments)]
    fn schedule_entry(
        &mut self,
        scheduler: &'static str,
        framework: Framework,
        entry: String,
        function: Option<FnId>,
        (every, interval): (Option<u64>, String),
        args: Option<String>,
        location: Location,
    ) {
        if let Some(id) = function {
            self.out.entries.push((id, EntryKind::ScheduledJob, Some(format!("{interval} ({scheduler} `{entry}`)"))));
        }
        self.out.schedules.push(RawSchedule {
            scheduler,
            framework,
            entry,
            function,
            task_name: None,
            every,
            interval,
            args,
            location,
        });
    }

    // ---- Celery configuration ----

    /// A dict of beat entries, or a name bound to one.
    fn dict_of(&self, expr: &'a Expr) -> Option<&'a ast::ExprDict> {
        match expr {
            Expr::Dict(dict) => Some(dict),
            Expr::Name(name) => match self.module.bindings.get(name.id.as_str()) {
                Some(dbveto_python_semantic::Binding::Value(Expr::Dict(dict))) => Some(dict),
                _ => None,
            },
            _ => None,
        }
    }

    fn beat_schedule(&mut self, expr: &'a Expr) {
        let Some(dict) = self.dict_of(expr) else { return };
        self.config(Framework::Celery, expr, "Celery beat schedule defined here".into());
        for item in &dict.items {
            let (Some(key), Expr::Dict(entry)) = (&item.key, &item.value) else { continue };
            let name = self.string(key).unwrap_or_else(|| squeeze(self.source(key)));
            let mut task = None;
            let mut interval = (None, "?".to_string());
            let mut args = None;
            for field in &entry.items {
                let Some(field_key) = field.key.as_ref().and_then(|k| match k {
                    Expr::StringLiteral(s) => Some(s.value.to_str()),
                    _ => None,
                }) else {
                    continue;
                };
                match field_key {
                    "task" => task = self.string(&field.value),
                    "schedule" => interval = self.interval_text(&field.value),
                    "args" | "kwargs" => args = Some(squeeze(self.source(&field.value))),
                    _ => {}
                }
            }
            let Some(task) = task else { continue };
            let location = self.location(key);
            self.out.schedules.push(RawSchedule {
                scheduler: "Celery beat",
                framework: Framework::Celery,
                entry: name,
                function: None,
                task_name: Some(task),
                every: interval.0,
                interval: interval.1,
                args,
                location,
            });
        }
    }

    fn task_routes(&mut self, expr: &'a Expr) {
        let Some(dict) = self.dict_of(expr) else { return };
        self.config(Framework::Celery, expr, "Celery task routes defined here".into());
        for item in &dict.items {
            if let Some(Expr::StringLiteral(key)) = &item.key {
                let location = self.location(key);
                // `{"queue": "sync"}`, or the queue's name alone.
                let queue = match &item.value {
                    Expr::Dict(route) => route
                        .items
                        .iter()
                        .find(|i| matches!(&i.key, Some(Expr::StringLiteral(k)) if k.value.to_str() == "queue"))
                        .and_then(|i| self.string(&i.value)),
                    other => self.string(other),
                };
                self.out.routes.push((key.value.to_str().to_string(), queue, location));
            }
        }
    }

    fn assignment(&mut self, target: &'a Expr, value: &'a Expr) {
        match target {
            Expr::Name(name) if self.frames.len() == 1 => {
                let name = name.id.as_str();
                match name {
                    "CELERY_BEAT_SCHEDULE" | "CELERYBEAT_SCHEDULE" | "beat_schedule" => self.beat_schedule(value),
                    "CELERY_TASK_ROUTES" | "CELERY_ROUTES" | "task_routes" => self.task_routes(value),
                    "RQ_QUEUES" => self.config(Framework::Rq, target, "RQ queues configured here (`RQ_QUEUES`)".into()),
                    "DATABASES" => self.databases(value),
                    "INSTALLED_APPS" => self.installed_apps(value),
                    "CELERY_BROKER_URL" | "BROKER_URL" => {
                        self.config(Framework::Celery, target, format!("Celery broker configured here (`{name}`)"))
                    }
                    _ => {}
                }
            }
            Expr::Attribute(attribute) => {
                let receiver = self.library(&attribute.value).unwrap_or_default();
                if receiver.starts_with("celery.") {
                    match attribute.attr.as_str() {
                        "beat_schedule" => self.beat_schedule(value),
                        "task_routes" => self.task_routes(value),
                        _ => {}
                    }
                } else {
                    self.assigned_field(attribute, value, None);
                }
            }
            // `DATABASES["default"]["ATOMIC_REQUESTS"] = True`; any other
            // change of `DATABASES` leaves the setting unknown.
            Expr::Subscript(setting) if self.frames.len() == 1 && of_databases(target) => {
                let is_key = matches!(setting.slice.as_ref(), Expr::StringLiteral(k) if k.value.to_str() == "ATOMIC_REQUESTS");
                let observed = match value {
                    Expr::BooleanLiteral(b) if is_key => Some(b.value),
                    _ => None,
                };
                self.out.atomic_requests.push(observed);
            }
            _ => {}
        }
    }

    /// `DATABASES = {"default": {..., "ATOMIC_REQUESTS": True}}`: each
    /// Django view runs in a transaction. Known to be off only when every
    /// database is a dict written out without it (no `**`, no call).
    fn databases(&mut self, value: &'a Expr) {
        let Some(dict) = self.dict_of(value) else {
            self.out.atomic_requests.push(None);
            return;
        };
        let (mut on, mut unknown) = (false, false);
        for item in &dict.items {
            let Expr::Dict(database) = &item.value else {
                unknown = true;
                continue;
            };
            unknown |= item.key.is_none();
            for setting in &database.items {
                match &setting.key {
                    None => unknown = true,
                    Some(Expr::StringLiteral(k)) if k.value.to_str() == "ATOMIC_REQUESTS" => match &setting.value {
                        Expr::BooleanLiteral(b) => on |= b.value,
                        _ => unknown = true,
                    },
                    Some(_) => {}
                }
            }
        }
        self.out.atomic_requests.push(if on { Some(true) } else if unknown { None } else { Some(false) });
    }

    fn installed_apps(&mut self, value: &'a Expr) {
        let elements = match value {
            Expr::List(l) => &l.elts[..],
            Expr::Tuple(t) => &t.elts[..],
            _ => return,
        };
        for element in elements {
            if let Expr::StringLiteral(s) = element {
                match s.value.to_str() {
                    "django_rq" => self.config(Framework::Rq, element, "`django_rq` installed here".into()),
                    "django_celery_beat" | "django_celery_results" => {
                        self.config(Framework::Celery, element, format!("`{}` installed here", s.value.to_str()))
                    }
                    _ => {}
                }
            }
        }
    }

    // ---- objects loaded, changed and saved ----

    /// `obj.field = value` on an object of a model.
    fn assigned_field(&mut self, attribute: &'a ast::ExprAttribute, value: &'a Expr, augmented: Option<ast::Operator>) {
        let Some(key) = receiver_key(&attribute.value) else { return };
        let Some(Target::Instance { module, class, locked, origin }) = self.resolve(&attribute.value) else { return };
        if origin == Origin::New {
            // A new object's save is an insert, which the ORM frontend reads.
            return;
        }
        let Some(model) = self.resolver.models.of_class(module, class) else { return };
        let Some(column) = model.state.column_of(attribute.attr.as_str()) else { return };
        let is_key = attribute.attr.as_str() == "pk" || model.state.column_of("pk").as_deref() == Some(column.as_str());
        if is_key && matches!(value, Expr::NoneLiteral(_)) {
            if let Some(frame) = self.frames.last_mut() {
                frame.pending.clone_of(key);
            }
            return;
        }
        let depends = augmented.is_some() || mentions(value, &key);
        let f_expression = self.has_f(value);
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        let mut arg = self.ev.arg(self.module.id, &chain, value, "assigned");
        if arg.unknown {
            if let Some(member) = self.choices_member(value) {
                arg = member;
            }
        }
        let shown = match arg.known.as_slice() {
            [one] if !arg.unknown => one.literal.to_sql(),
            _ => squeeze(self.source(value)),
        };
        let shown = match augmented {
            Some(op) => format!("{}.{} {}= {shown}", key, attribute.attr, op.as_str()),
            None => shown,
        };
        let location = self.location(attribute);
        if let Some(frame) = self.frames.last_mut() {
            let assigned = Assigned {
                table: model.table.clone(),
                model: model.state.name.clone(),
                column,
                field: attribute.attr.to_string(),
                value: shown,
                location,
                depends,
                f_expression,
                locked,
                origin,
            };
            frame.pending.assign(key, assigned);
        }
    }

    /// `Status.SYNCING` of a `TextChoices`/`IntegerChoices` class: the value before the label.
    fn choices_member(&mut self, expr: &'a Expr) -> Option<dbveto_writes::Arg> {
        let Expr::Attribute(member) = expr else { return None };
        let Some(Target::Class(module, class)) = self.resolve(&member.value) else { return None };
        let is_choices = class.bases().iter().any(|b| match b {
            Expr::Name(n) => n.id.as_str().ends_with("Choices"),
            Expr::Attribute(a) => a.attr.as_str().ends_with("Choices"),
            _ => false,
        });
        if !is_choices {
            return None;
        }
        let index = self.resolver.index.module(module)?;
        let scope = index.class_scope(class)?;
        let Some(dbveto_python_semantic::Binding::Value(assigned)) = scope.bindings.get(member.attr.as_str()) else { return None };
        let value = match assigned {
            Expr::Tuple(t) => t.elts.first()?,
            other => other,
        };
        let arg = self.ev.arg(module, &[scope], value, "assigned");
        (!arg.unknown).then_some(arg)
    }

    fn has_f(&self, value: &'a Expr) -> bool {
        let mut found = false;
        let mut stack = vec![value];
        while let Some(expr) = stack.pop() {
            match expr {
                Expr::Call(call) => {
                    if self.library(&call.func).is_some_and(|p| p.starts_with("django.db.models") && p.rsplit('.').next() == Some("F")) {
                        found = true;
                    }
                    stack.push(&call.func);
                    stack.extend(call.arguments.args.iter());
                }
                Expr::BinOp(b) => {
                    stack.push(&b.left);
                    stack.push(&b.right);
                }
                _ => {}
            }
        }
        found
    }

    fn save(&mut self, call: &'a ast::ExprCall, receiver: &'a Expr) {
        let Some(key) = receiver_key(receiver) else { return };
        let update_fields = call.arguments.find_keyword("update_fields").map(|k| fields_list(&k.value));
        let location = self.location(call);
        let statement = format!("{}.save({})", squeeze(self.source(receiver)), if update_fields.is_some() { "update_fields=..." } else { "" });
        let function = self.current();
        let in_transaction = self.in_transaction();
        let saves = &mut self.out.saves;
        let before = saves.len();
        if let Some(frame) = self.frames.last_mut() {
            frame.pending.flush(&key, update_fields, location, statement, function, saves);
        }
        for save in &mut saves[before..] {
            save.in_transaction = in_transaction;
        }
    }

    fn lambda_or_comprehension(&mut self, expr: &'a Expr) {
        let mut names = Vec::new();
        match expr {
            Expr::Lambda(lambda) => {
                if let Some(parameters) = &lambda.parameters {
                    names.extend(parameters.iter().map(|p| p.name().as_str()));
                }
            }
            Expr::ListComp(ast::ExprListComp { generators, .. })
            | Expr::SetComp(ast::ExprSetComp { generators, .. })
            | Expr::Generator(ast::ExprGenerator { generators, .. })
            | Expr::DictComp(ast::ExprDictComp { generators, .. }) => {
                for generator in generators {
                    dbveto_python_semantic::target_names(&generator.target, &mut names);
                }
            }
            _ => {}
        }
        self.scopes.push(Scope::hidden(names));
        visitor::walk_expr(self, expr);
        self.scopes.pop();
    }
}

impl<'a> Visitor<'a> for Walker<'_, '_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match stmt {
            Stmt::FunctionDef(def) => {
                for decorator in &def.decorator_list {
                    self.visit_expr(&decorator.expression);
                }
                self.function(def);
            }
            Stmt::ClassDef(class) => {
                // A base is derived from, not routed.
                self.in_bases += 1;
                for base in class.bases() {
                    self.visit_expr(base);
                }
                self.in_bases -= 1;
                let kind = self.class_kind(class);
                self.classes.push(kind);
                self.class_defs.push(class);
                self.scopes.push(self.module.class_body_scope(class));
                for stmt in &class.body {
                    self.visit_stmt(stmt);
                }
                self.scopes.pop();
                self.class_defs.pop();
                self.classes.pop();
            }
            Stmt::Assign(assign) => {
                self.visit_expr(&assign.value);
                for target in &assign.targets {
                    self.assignment(target, &assign.value);
                    self.visit_expr(target);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.visit_expr(value);
                    self.assignment(&assign.target, value);
                }
            }
            Stmt::With(with) => {
                let mut atomic = false;
                for item in &with.items {
                    self.visit_expr(&item.context_expr);
                    if let Some(vars) = &item.optional_vars {
                        self.visit_expr(vars);
                    }
                    atomic |= self.may_open_transaction(&item.context_expr);
                }
                let step = u32::from(atomic);
                if let Some(frame) = self.frames.last_mut() {
                    frame.atomic += step;
                }
                for stmt in &with.body {
                    self.visit_stmt(stmt);
                }
                if let Some(frame) = self.frames.last_mut() {
                    frame.atomic -= step;
                }
            }
            Stmt::AugAssign(assign) => {
                self.visit_expr(&assign.value);
                if let Expr::Attribute(attribute) = assign.target.as_ref() {
                    self.assigned_field(attribute, &assign.value, Some(assign.op));
                }
            }
            Stmt::For(for_) => {
                self.visit_expr(&for_.iter);
                if let (Expr::Name(name), Some(Target::QuerySet { module, class, locked })) =
                    (for_.target.as_ref(), self.resolve(&for_.iter))
                {
                    if let Some(frame) = self.frames.last_mut() {
                        frame.locals.insert(name.id.as_str(), Target::Instance { module, class, locked, origin: Origin::Loaded { own: false } });
                    }
                }
                for stmt in for_.body.iter().chain(&for_.orelse) {
                    self.visit_stmt(stmt);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match expr {
            Expr::Call(call) => {
                self.call(call);
                visitor::walk_expr(self, expr);
            }
            Expr::Lambda(_) | Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                self.lambda_or_comprehension(expr)
            }
            Expr::Name(_) | Expr::Attribute(_) => {
                self.named_class(expr);
                visitor::walk_expr(self, expr);
            }
            _ => visitor::walk_expr(self, expr),
        }
        self.depth -= 1;
    }
}

/// A decorator that wraps a view and registers nothing:
/// `@method_decorator(login_required, name="dispatch")`, `@csrf_exempt`.
fn is_view_decorator(expr: &Expr) -> bool {
    let callee = match expr {
        Expr::Call(call) => call.func.as_ref(),
        other => other,
    };
    let Some(name) = dbveto_python_semantic::last_name(callee) else { return false };
    matches!(name, "method_decorator" | "login_required" | "csrf_exempt" | "permission_required" | "never_cache" | "cache_page" | "transaction_atomic")
        || name.starts_with("require_")
        || name.starts_with("vary_on_")
}

/// `DATABASES[...]`, `DATABASES[...][...]`.
fn of_databases(expr: &Expr) -> bool {
    let mut at = expr;
    for _ in 0..8 {
        match at {
            Expr::Subscript(s) => at = &s.value,
            Expr::Attribute(a) => at = &a.value,
            Expr::Name(n) => return n.id.as_str() == "DATABASES",
            _ => return false,
        }
    }
    false
}

/// `fabric` or `self.fabric`: a receiver whose assignments and save can be paired.
fn receiver_key(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(name) => Some(name.id.to_string()),
        Expr::Attribute(attribute) => match attribute.value.as_ref() {
            Expr::Name(base) => Some(format!("{}.{}", base.id, attribute.attr)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `expr` reads the object named `key` (`fabric.retries + 1`).
fn mentions(expr: &Expr, key: &str) -> bool {
    let mut found = false;
    let mut check = |e: &Expr| {
        if receiver_key(e).as_deref() == Some(key) {
            found = true;
        }
    };
    walk_all(expr, &mut check);
    found
}

fn walk_all<'a>(expr: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    struct All<'f, F> {
        f: &'f mut F,
        depth: u32,
    }
    impl<'a, F: FnMut(&'a Expr)> Visitor<'a> for All<'_, F> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.depth > MAX_DEPTH {
                return;
            }
            self.depth += 1;
            (self.f)(expr);
            visitor::walk_expr(self, expr);
            self.depth -= 1;
        }
    }
    All { f, depth: 0 }.visit_expr(expr);
}

/// `update_fields=['a', 'b']`: the names, `None` when not all are literals.
fn fields_list(expr: &Expr) -> Option<Vec<String>> {
    let elements = match expr {
        Expr::List(l) => &l.elts[..],
        Expr::Tuple(t) => &t.elts[..],
        Expr::Set(s) => &s.elts[..],
        _ => return None,
    };
    elements
        .iter()
        .map(|e| match e {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            _ => None,
        })
        .collect()
}

/// `app/management/commands/sync.py` → `sync`.
fn command_name(path: &str) -> Option<&str> {
    let (dir, file) = path.rsplit_once('/')?;
    let stem = file.strip_suffix(".py")?;
    (dir.ends_with("management/commands") && !stem.starts_with('_')).then_some(stem)
}

fn is_signal(path: &str) -> bool {
    path.starts_with("django.db.models.signals.")
        || path.starts_with("django.core.signals.")
        || path.starts_with("django.test.signals.")
        || path.ends_with("Signal")
}

/// Whitespace runs made one space, cut at 80 characters.
pub fn squeeze(text: &str) -> String {
    let mut shown = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = shown.char_indices().nth(80) {
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}
