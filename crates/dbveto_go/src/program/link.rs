//! The files' facts put together: packages by directory, imports resolved
//! through the go.mod files, and every call, method value and `go`
//! statement resolved to the functions of the module it may run. A method
//! is found through the static type of its receiver (a parameter, a local
//! made by a literal, `new` or a call whose result type is declared, a
//! field of a struct, embedded fields); a method of an interface runs the
//! methods of that name of every type of the module that has all the
//! interface's methods. Anything else is unknown and adds nothing.

use std::collections::{HashMap, HashSet, VecDeque};

use dbveto_source::SourceFile;

use super::collect::{Ex, FileFacts, Func, RegKind, Registration, Source, TypeBody, TypeDecl, TypeExpr, Use, SLEEP_LOOP};
use super::value::{self, Const, ConstExpr};
use super::{GoEntry, GoEntryKind, GoFunction, GoProgram, GoSchedule};
use crate::gomod;

const MAX_DEPTH: u32 = 10;

/// A named type: its package and name.
type TypeKey<'a> = (usize, &'a str);

struct Linker<'a> {
    files: &'a [SourceFile],
    facts: &'a [Option<FileFacts>],
    /// Package of each file.
    package: Vec<usize>,
    package_names: Vec<Option<&'a str>>,
    /// Per file: import name → package of the module (`None`: outside it).
    imports: Vec<HashMap<&'a str, Option<usize>>>,
    /// Function ids: (file, index in its facts).
    ids: Vec<(usize, usize)>,
    first_id: Vec<usize>,
    functions: HashMap<(usize, &'a str), Vec<usize>>,
    methods: HashMap<(usize, &'a str, &'a str), Vec<usize>>,
    methods_by_name: HashMap<&'a str, Vec<(usize, &'a str)>>,
    types: HashMap<(usize, &'a str), (usize, &'a TypeDecl)>,
    vars: HashMap<(usize, &'a str), (usize, &'a Source)>,
    consts: HashMap<(usize, &'a str), (usize, &'a ConstExpr)>,
    literals: HashMap<(usize, usize), usize>,
}

pub(super) fn link(files: &[SourceFile], go_mods: &[SourceFile], facts: Vec<Option<FileFacts>>) -> GoProgram {
    let linker = Linker::new(files, go_mods, &facts);
    linker.program()
}

/// An HTTP pattern: `/path`, `POST /path`, `host/path`.
fn looks_like_route(route: &str) -> bool {
    let path = match route.split_once(' ') {
        Some((method, rest)) if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()) => rest.trim_start(),
        _ => route,
    };
    path.starts_with('/') || (path.contains('/') && !path.contains(char::is_whitespace))
}

impl<'a> Linker<'a> {
    fn new(files: &'a [SourceFile], go_mods: &[SourceFile], facts: &'a [Option<FileFacts>]) -> Self {
        let mut by_dir: HashMap<&'a str, usize> = HashMap::new();
        let mut package = Vec::with_capacity(files.len());
        let mut package_names: Vec<Option<&'a str>> = Vec::new();
        for (file, f) in files.iter().zip(facts) {
            let dir = gomod::dir_of(&file.path);
            let next = by_dir.len();
            let id = *by_dir.entry(dir).or_insert(next);
            if id == package_names.len() {
                package_names.push(None);
            }
            if let Some(name) = f.as_ref().and_then(|f| f.package.as_deref()) {
                package_names[id] = package_names[id].or(Some(name));
            }
            package.push(id);
        }
        let modules = gomod::Modules::new(go_mods);
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (id, name) in package_names.iter().enumerate() {
            if let Some(name) = name {
                by_name.entry(name).or_default().push(id);
            }
        }
        let resolve = |path: &str| modules.resolve(path, |dir| by_dir.get(dir).copied(), &by_name);
        let imports = facts
            .iter()
            .map(|f| {
                f.iter().flat_map(|f| f.imports.iter()).map(|(local, path)| (local.as_str(), resolve(path))).collect()
            })
            .collect();
        let mut linker = Linker {
            files,
            facts,
            package,
            package_names,
            imports,
            ids: Vec::new(),
            first_id: Vec::with_capacity(files.len()),
            functions: HashMap::new(),
            methods: HashMap::new(),
            methods_by_name: HashMap::new(),
            types: HashMap::new(),
            vars: HashMap::new(),
            consts: HashMap::new(),
            literals: HashMap::new(),
        };
        for (file, f) in facts.iter().enumerate() {
            linker.first_id.push(linker.ids.len());
            let Some(f) = f else { continue };
            let pkg = linker.package[file];
            for (i, func) in f.funcs.iter().enumerate() {
                let id = linker.ids.len();
                linker.ids.push((file, i));
                match (&func.name, &func.receiver) {
                    (Some(name), Some(receiver)) => {
                        linker.methods.entry((pkg, receiver.as_str(), name.as_str())).or_default().push(id);
                        let types = linker.methods_by_name.entry(name.as_str()).or_default();
                        if !types.contains(&(pkg, receiver.as_str())) {
                            types.push((pkg, receiver.as_str()));
                        }
                    }
                    (Some(name), None) => linker.functions.entry((pkg, name.as_str())).or_default().push(id),
                    (None, _) => {
                        linker.literals.insert((file, func.offset), id);
                    }
                }
            }
            for t in &f.types {
                linker.types.entry((pkg, t.name.as_str())).or_insert((file, t));
            }
            for (name, source) in &f.vars {
                linker.vars.entry((pkg, name.as_str())).or_insert((file, source));
            }
            for (name, value) in &f.consts {
                linker.consts.entry((pkg, name.as_str())).or_insert((file, value));
            }
        }
        linker
    }

    fn func(&self, id: usize) -> Option<&'a Func> {
        let (file, i) = *self.ids.get(id)?;
        self.facts.get(file)?.as_ref()?.funcs.get(i)
    }

    fn file_of(&self, id: usize) -> usize {
        self.ids.get(id).map_or(usize::MAX, |(f, _)| *f)
    }

    /// The module package an import name of `file` names.
    fn imported(&self, file: usize, name: &str) -> Option<Option<usize>> {
        self.imports.get(file)?.get(name).copied()
    }

    /// The sources of a name local to function `id` (its own, then those of
    /// the functions a literal is written in); `None` when it is not local.
    fn local(&self, id: usize, name: &str) -> Option<Vec<&'a Source>> {
        let mut at = Some(id);
        let mut hops = 0;
        while let Some(f) = at.and_then(|i| self.func(i)) {
            let found: Vec<&'a Source> = f.locals.iter().filter(|(n, _)| n == name).map(|(_, s)| s).collect();
            if !found.is_empty() {
                return Some(found);
            }
            hops += 1;
            if hops > MAX_DEPTH {
                return None;
            }
            let file = self.file_of(at.unwrap_or(usize::MAX));
            at = f.parent.map(|p| self.first_id.get(file).copied().unwrap_or(0) + p);
        }
        None
    }

    /// The functions an expression written in `id` (or at the top level of
    /// `file` when `id` is `None`) may name.
    fn callees(&self, file: usize, id: Option<usize>, ex: &'a Ex, depth: u32) -> Vec<usize> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        match ex {
            Ex::Ident(name) => {
                if let Some(sources) = id.and_then(|id| self.local(id, name)) {
                    return sources
                        .into_iter()
                        .flat_map(|s| match s {
                            Source::Value(value @ (Ex::Literal(_) | Ex::Ident(_) | Ex::Select(..))) => {
                                self.callees(file, id, value, depth + 1)
                            }
                            _ => Vec::new(),
                        })
                        .collect();
                }
                self.functions.get(&(self.package[file], name.as_str())).cloned().unwrap_or_default()
            }
            Ex::Select(base, name) => {
                if let Ex::Ident(q) = base.as_ref() {
                    let is_local = id.is_some_and(|id| self.local(id, q).is_some());
                    if !is_local {
                        if let Some(package) = self.imported(file, q) {
                            return package.and_then(|p| self.functions.get(&(p, name.as_str())).cloned()).unwrap_or_default();
                        }
                    }
                }
                match self.type_of(file, id, base, depth + 1) {
                    Some(key) => self.methods_of(key, name, depth + 1),
                    None => Vec::new(),
                }
            }
            Ex::Literal(offset) => self.literals.get(&(file, *offset)).copied().into_iter().collect(),
            Ex::Call(..) | Ex::Value(_) | Ex::Other => Vec::new(),
        }
    }

    fn type_of(&self, file: usize, id: Option<usize>, ex: &'a Ex, depth: u32) -> Option<TypeKey<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match ex {
            Ex::Ident(name) => {
                if let Some(sources) = id.and_then(|id| self.local(id, name)) {
                    return self.one(sources.into_iter().map(|s| self.source_type(file, id, s, depth + 1)));
                }
                let (var_file, source) = *self.vars.get(&(self.package[file], name.as_str()))?;
                self.source_type(var_file, None, source, depth + 1)
            }
            Ex::Select(base, name) => {
                if let Ex::Ident(q) = base.as_ref() {
                    let is_local = id.is_some_and(|id| self.local(id, q).is_some());
                    if !is_local {
                        if let Some(package) = self.imported(file, q) {
                            let (var_file, source) = *self.vars.get(&(package?, name.as_str()))?;
                            return self.source_type(var_file, None, source, depth + 1);
                        }
                    }
                }
                let base = self.type_of(file, id, base, depth + 1)?;
                self.field_type(base, name, depth + 1)
            }
            Ex::Call(callee, _) => {
                // A conversion: `Store(x)`.
                if let Ex::Ident(name) = callee.as_ref() {
                    if id.is_none_or(|id| self.local(id, name).is_none()) {
                        if let Some(key) = self.named(self.package[file], name, 0) {
                            return Some(key);
                        }
                    }
                }
                let callees = self.callees(file, id, callee, depth + 1);
                self.one(callees.into_iter().map(|c| {
                    let f = self.func(c)?;
                    self.resolve_type(self.file_of(c), f.results.first()?, depth + 1)
                }))
            }
            Ex::Value(ty) => self.resolve_type(file, ty, depth + 1),
            Ex::Literal(_) | Ex::Other => None,
        }
    }

    /// The one type all of `types` agree on.
    fn one(&self, types: impl Iterator<Item = Option<TypeKey<'a>>>) -> Option<TypeKey<'a>> {
        let mut found = None;
        for t in types.flatten() {
            match found {
                None => found = Some(t),
                Some(f) if f == t => {}
                Some(_) => return None,
            }
        }
        found
    }

    fn source_type(&self, file: usize, id: Option<usize>, source: &'a Source, depth: u32) -> Option<TypeKey<'a>> {
        match source {
            Source::Type(ty) => self.resolve_type(file, ty, depth + 1),
            Source::Value(ex) => self.type_of(file, id, ex, depth + 1),
        }
    }

    fn resolve_type(&self, file: usize, ty: &'a TypeExpr, depth: u32) -> Option<TypeKey<'a>> {
        let TypeExpr::Named { qualifier, name } = ty else { return None };
        let package = match qualifier {
            None => self.package[file],
            Some(q) => self.imported(file, q)??,
        };
        self.named(package, name, depth)
    }

    /// A type declared in `package`, through aliases.
    fn named(&self, package: usize, name: &'a str, depth: u32) -> Option<TypeKey<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (file, decl) = *self.types.get(&(package, name))?;
        match &decl.body {
            TypeBody::Alias(target) => self.resolve_type(file, target, depth + 1),
            _ => Some((package, decl.name.as_str())),
        }
    }

    fn decl(&self, key: TypeKey<'a>) -> Option<(usize, &'a TypeDecl)> {
        self.types.get(&key).copied()
    }

    fn field_type(&self, key: TypeKey<'a>, name: &str, depth: u32) -> Option<TypeKey<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (file, decl) = self.decl(key)?;
        let TypeBody::Struct { fields, embedded } = &decl.body else { return None };
        if let Some((_, ty)) = fields.iter().find(|(n, _)| n == name) {
            return self.resolve_type(file, ty, depth + 1);
        }
        for ty in embedded {
            let Some(inner) = self.resolve_type(file, ty, depth + 1) else { continue };
            if inner.1 == name {
                return Some(inner);
            }
            if let Some(found) = self.field_type(inner, name, depth + 1) {
                return Some(found);
            }
        }
        None
    }

    /// The methods `name` of a type: its own, promoted from embedded
    /// fields, or for an interface those of every type that implements it.
    fn methods_of(&self, key: TypeKey<'a>, name: &str, depth: u32) -> Vec<usize> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        if let Some(own) = self.methods.get(&(key.0, key.1, name)) {
            return own.clone();
        }
        let Some((file, decl)) = self.decl(key) else { return Vec::new() };
        match &decl.body {
            TypeBody::Struct { embedded, .. } => embedded
                .iter()
                .filter_map(|ty| self.resolve_type(file, ty, depth + 1))
                .map(|inner| self.methods_of(inner, name, depth + 1))
                .find(|found| !found.is_empty())
                .unwrap_or_default(),
            TypeBody::Interface { .. } => self.implementations(key, name, depth + 1),
            _ => Vec::new(),
        }
    }

    /// The method names an interface requires, as far as the module declares them.
    fn interface_methods(&self, key: TypeKey<'a>, depth: u32, out: &mut Vec<&'a str>) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some((file, decl)) = self.decl(key) else { return };
        let TypeBody::Interface { methods, embedded } = &decl.body else { return };
        out.extend(methods.iter().map(String::as_str));
        for ty in embedded {
            if let Some(inner) = self.resolve_type(file, ty, depth + 1) {
                self.interface_methods(inner, depth + 1, out);
            }
        }
    }

    fn implementations(&self, interface: TypeKey<'a>, name: &str, depth: u32) -> Vec<usize> {
        let mut required = Vec::new();
        self.interface_methods(interface, depth, &mut required);
        if !required.contains(&name) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for &candidate in self.methods_by_name.get(name).into_iter().flatten() {
            if candidate == interface {
                continue;
            }
            let implements = required.iter().all(|m| !self.methods_of(candidate, m, depth + 1).is_empty());
            if implements {
                out.extend(self.methods_of(candidate, name, depth + 1));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn eval(&self, file: usize, expr: &'a ConstExpr, depth: u32) -> Option<Const> {
        let mut lookup = |qualifier: Option<&str>, name: &str, depth: u32| -> Option<Const> {
            let package = match qualifier {
                None => self.package[file],
                Some(q) => self.imported(file, q)??,
            };
            let (other, value) = *self.consts.get(&(package, name))?;
            self.eval(other, value, depth + 1)
        };
        expr.eval(&mut lookup, depth)
    }

    /// The functions a registration's handler runs: functions and method
    /// values; for a call, what it calls and the functions it is given
    /// (`withAuth(s.handleSync)`, `s.handleSync()` returning a handler);
    /// else the method `method` of the value's type (`ServeHTTP`, `Run`).
    fn handlers(&self, file: usize, id: usize, handler: &'a Ex, method: &str, depth: u32) -> Vec<usize> {
        if depth > 3 {
            return Vec::new();
        }
        let mut found = self.callees(file, Some(id), handler, 0);
        if found.is_empty() {
            if let Ex::Call(callee, args) = handler {
                found.extend(self.callees(file, Some(id), callee, 0));
                for arg in args {
                    found.extend(self.handlers(file, id, arg, method, depth + 1));
                }
            }
        }
        if found.is_empty() {
            if let Some(key) = self.type_of(file, Some(id), handler, 0) {
                found = self.methods_of(key, method, 0);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    fn interval(&self, file: usize, kind: &'a RegKind) -> (&'static str, Option<u64>, String) {
        match kind {
            RegKind::Http { .. } => ("", None, String::new()),
            RegKind::Cron { scheduler, spec } => match self.eval(file, spec, 0) {
                Some(Const::Str(spec)) => match value::cron_every(&spec) {
                    Some(s) => (scheduler, Some(s), format!("every {s} s")),
                    None => (scheduler, None, format!("cron `{spec}`")),
                },
                _ => (scheduler, None, "cron spec not known statically".to_string()),
            },
            RegKind::Every { scheduler, count, unit_seconds } => {
                let nanos = match (self.eval(file, count, 0), unit_seconds) {
                    (Some(Const::Int(n)), Some(unit)) => n.checked_mul(i128::from(*unit)).and_then(|s| s.checked_mul(1_000_000_000)),
                    (Some(Const::Int(n)), None) => Some(n),
                    (Some(Const::Str(s)), _) => value::parse_duration(&s),
                    _ => None,
                };
                match nanos {
                    Some(n) => {
                        let (every, text) = value::every_nanos(n);
                        (scheduler, every, text)
                    }
                    None => (scheduler, None, "interval not known statically".to_string()),
                }
            }
            RegKind::Scheduled { scheduler, shown } => (scheduler, None, format!("`{shown}`")),
        }
    }

    fn program(&self) -> GoProgram {
        let mut program = GoProgram::default();
        for &(file, i) in &self.ids {
            let Some(f) = self.facts[file].as_ref().and_then(|f| f.funcs.get(i)) else { continue };
            program.functions.push(GoFunction { name: f.display.clone(), location: f.location.clone(), last_line: f.last_line });
        }
        let mut calls: HashSet<(usize, usize)> = HashSet::new();
        let mut goroutines: Vec<(usize, usize)> = Vec::new();
        for (id, &(file, _)) in self.ids.iter().enumerate() {
            let Some(f) = self.func(id) else { continue };
            for u in &f.uses {
                match u {
                    Use::Call(ex) | Use::Ref(ex) => {
                        for callee in self.callees(file, Some(id), ex, 0) {
                            if callee != id {
                                calls.insert((id, callee));
                            }
                        }
                    }
                    Use::Go(ex) => {
                        for callee in self.callees(file, Some(id), ex, 0) {
                            goroutines.push((id, callee));
                            if callee != id {
                                calls.insert((id, callee));
                            }
                        }
                    }
                    Use::Register(registration) => self.register(file, id, registration, &mut program),
                }
            }
            for ticker in &f.tickers {
                let (every, interval) = match self.eval(file, &ticker.every, 0) {
                    Some(Const::Int(n)) => value::every_nanos(n),
                    _ => (None, "interval not known statically".to_string()),
                };
                let detail = format!("{interval} ({} `{}`)", ticker.kind, f.display);
                program.entries.push(GoEntry { function: id, kind: GoEntryKind::Scheduled, detail: Some(detail) });
                program.schedules.push(GoSchedule {
                    // `time.NewTicker` and `time.Tick` are one scheduler; a loop that sleeps another.
                    scheduler: if ticker.kind == SLEEP_LOOP { "time.Sleep" } else { "time.Ticker" },
                    entry: f.display.clone(),
                    function: id,
                    every,
                    interval,
                    location: self.files[file].location(ticker.at),
                });
            }
        }
        let mut calls: Vec<(usize, usize)> = calls.into_iter().collect();
        calls.sort_unstable();
        self.goroutine_entries(&calls, &goroutines, &mut program);
        program.calls = calls;
        program
    }

    fn register(&self, file: usize, id: usize, registration: &'a Registration, program: &mut GoProgram) {
        let method = if matches!(registration.kind, RegKind::Http { .. }) { "ServeHTTP" } else { "Run" };
        let handlers = self.handlers(file, id, &registration.handler, method, 0);
        let location = self.files[file].location(registration.at);
        match &registration.kind {
            RegKind::Http { method, route } => {
                let route = route.as_ref().and_then(|r| match self.eval(file, r, 0) {
                    Some(Const::Str(s)) => Some(s),
                    _ => None,
                });
                // `Handle`/`HandleFunc` are common names: an event bus's
                // `Handle("fabric.synced", h)` is no route.
                if method.is_none() && route.as_deref().is_some_and(|r| !looks_like_route(r)) {
                    return;
                }
                let detail = match (method, route) {
                    (Some(m), Some(r)) => Some(format!("route `{m} {r}`")),
                    (None, Some(r)) => Some(format!("route `{r}`")),
                    (Some(m), None) => Some(format!("method `{m}`")),
                    (None, None) => None,
                };
                for h in handlers {
                    program.entries.push(GoEntry { function: h, kind: GoEntryKind::Http, detail: detail.clone() });
                }
            }
            kind => {
                let (scheduler, every, interval) = self.interval(file, kind);
                for h in handlers {
                    let detail = format!("{interval} ({scheduler} `{}`)", registration.shown);
                    program.entries.push(GoEntry { function: h, kind: GoEntryKind::Scheduled, detail: Some(detail) });
                    program.schedules.push(GoSchedule {
                        scheduler,
                        entry: registration.shown.clone(),
                        function: h,
                        every,
                        interval: interval.clone(),
                        location: location.clone(),
                    });
                }
            }
        }
    }

    /// Functions started with `go` by `main` of a `main` package, or by
    /// what it calls, are entry points; a ticker loop is one already.
    fn goroutine_entries(&self, calls: &[(usize, usize)], goroutines: &[(usize, usize)], program: &mut GoProgram) {
        let n = self.ids.len();
        let mut callees: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(a, b) in calls {
            callees[a].push(b);
        }
        let mut from_main = vec![false; n];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for (id, reached) in from_main.iter_mut().enumerate() {
            let Some(f) = self.func(id) else { continue };
            let package = self.package[self.file_of(id)];
            if f.name.as_deref() == Some("main") && f.receiver.is_none() && self.package_names[package] == Some("main") {
                *reached = true;
                queue.push_back(id);
            }
        }
        while let Some(f) = queue.pop_front() {
            for &g in &callees[f] {
                if !from_main[g] {
                    from_main[g] = true;
                    queue.push_back(g);
                }
            }
        }
        for &(starter, started) in goroutines {
            if !from_main[starter] || self.func(started).is_none_or(|f| !f.tickers.is_empty()) {
                continue;
            }
            let name = self.func(starter).map_or("", |f| f.display.as_str());
            let detail = format!("started with `go` in `{name}`");
            program.entries.push(GoEntry { function: started, kind: GoEntryKind::Goroutine, detail: Some(detail) });
        }
    }
}
