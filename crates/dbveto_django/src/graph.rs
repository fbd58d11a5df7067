//! Django's migration graph (`django/db/migrations/loader.py`, `graph.py`):
//! the migration modules of every app, their dependencies, `run_before`
//! and squashed `replaces`, and the order `migrate` applies them in on an
//! empty database.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dbveto_python_semantic::{Evaluator, ModuleId, ProjectIndex};
use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::apps::{migration_app_dir, split, Apps};
use crate::field::Resolve;
use crate::read::{class_attribute, elements};
use crate::resolver::Resolver;

pub type Key = (String, String);

pub struct MigrationModule<'a> {
    pub key: Key,
    pub module: ModuleId,
    pub file: &'a SourceFile,
    pub dependencies: Vec<Key>,
    pub run_before: Vec<Key>,
    pub replaces: Vec<Key>,
    pub operations: &'a [Expr],
    /// The `Migration` class: lists its operations name
    /// (`state_operations=state_operations`) are attributes of it.
    pub class: &'a ast::StmtClassDef,
    /// Part of the app's first install: `initial = True`, or no
    /// `initial` and no dependency in its own app (Django's own test).
    pub initial: bool,
    pub location: Location,
}

/// `[("app", "0001_initial"), ...]`; entries that are not known (such as
/// `swappable_dependency(settings.AUTH_USER_MODEL)`) are left out.
fn keys<'a>(expr: Option<&'a Expr>, resolver: &mut Resolver<'_, '_, 'a>) -> Vec<Key> {
    let Some(items) = expr.and_then(elements) else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let [app, name] = elements(item)? else { return None };
            match (resolver.literal(app), resolver.literal(name)) {
                (Some(Literal::Str(app)), Some(Literal::Str(name))) => Some((app, name)),
                _ => None,
            }
        })
        .collect()
}

/// Every migration module of the repository.
pub fn load<'a>(index: &'a ProjectIndex<'a>, apps: &Apps, diagnostics: &mut Vec<Diagnostic>) -> Vec<MigrationModule<'a>> {
    let mut eval = Evaluator::new(index);
    let mut out = Vec::new();
    for module in &index.modules {
        let Some(app_dir) = migration_app_dir(&module.file.path) else { continue };
        let Some(app) = apps.apps.iter().find(|a| a.dir == app_dir) else { continue };
        let class = module.body.iter().find_map(|s| match s {
            Stmt::ClassDef(c) if c.name.as_str() == "Migration" => Some(c),
            _ => None,
        });
        let Some(class) = class else {
            // Django refuses such a module; helpers in the package are common.
            if split(&module.file.path).1.starts_with(|c: char| c.is_ascii_digit()) {
                diagnostics.push(Diagnostic::file(
                    module.file.path.clone(),
                    Severity::Warning,
                    format!("Django migration module has no `Migration` class (app `{}`); skipped", app.label),
                ));
            }
            continue;
        };
        let name = split(&module.file.path).1.trim_end_matches(".py").to_string();
        let mut resolver = Resolver { eval: &mut eval, module: module.id, apps, scopes: &[] };
        let dependencies = keys(class_attribute(class, "dependencies"), &mut resolver);
        let run_before = keys(class_attribute(class, "run_before"), &mut resolver);
        let replaces = keys(class_attribute(class, "replaces"), &mut resolver);
        let operations = class_attribute(class, "operations").and_then(elements).unwrap_or(&[]);
        let initial = match class_attribute(class, "initial") {
            Some(Expr::BooleanLiteral(b)) => b.value,
            Some(_) => false,
            None => !dependencies.iter().any(|(a, _)| *a == app.label),
        };
        out.push(MigrationModule {
            key: (app.label.clone(), name),
            module: module.id,
            file: module.file,
            dependencies,
            run_before,
            replaces,
            operations,
            class,
            initial,
            location: module.file.location(class.start().to_usize()),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn show(key: &Key) -> String {
    format!("{}.{}", key.0, key.1)
}

/// The order `migrate` applies the migrations in, as indexes into
/// `migrations`. Problems (missing parents, cycles, two leaves in one app)
/// give diagnostics, and the rest is still ordered.
pub fn plan(migrations: &[MigrationModule<'_>], diagnostics: &mut Vec<Diagnostic>) -> Vec<usize> {
    let mut by_key: BTreeMap<&Key, usize> = migrations.iter().enumerate().map(|(i, m)| (&m.key, i)).collect();
    // A squashed migration stands in for the ones it replaces: on an empty
    // database none of them is applied.
    let mut replaced_by: HashMap<Key, Key> = HashMap::new();
    for m in migrations {
        for r in &m.replaces {
            if *r != m.key {
                replaced_by.insert(r.clone(), m.key.clone());
            }
        }
    }
    for r in replaced_by.keys() {
        by_key.remove(r);
    }
    let apps: BTreeSet<&str> = by_key.keys().map(|k| k.0.as_str()).collect();
    let mut parents: BTreeMap<usize, BTreeSet<usize>> = by_key.values().map(|&i| (i, BTreeSet::new())).collect();
    let resolve = |key: &Key, parents: &BTreeMap<usize, BTreeSet<usize>>| -> Option<usize> {
        let mut key = key.clone();
        let mut hops = 0;
        while let Some(next) = replaced_by.get(&key) {
            key = next.clone();
            hops += 1;
            if hops > replaced_by.len() {
                break;
            }
        }
        match key.1.as_str() {
            "__first__" | "__latest__" => {
                let of_app: Vec<usize> =
                    by_key.iter().filter(|(k, _)| k.0 == key.0).map(|(_, &i)| i).collect();
                let first = key.1 == "__first__";
                of_app.iter().copied().find(|i| {
                    if first {
                        parents.get(i).is_none_or(|p| p.iter().all(|p| migrations[*p].key.0 != key.0))
                    } else {
                        !of_app.iter().any(|j| parents.get(j).is_some_and(|p| p.contains(i)))
                    }
                })
            }
            _ => by_key.get(&key).copied(),
        }
    };
    // Ordinary dependencies first, then `__first__`/`__latest__` and
    // `run_before`, which depend on the shape of the graph.
    for pass in 0..2 {
        for (&key, &i) in &by_key {
            let m = &migrations[i];
            for dep in &m.dependencies {
                let special = dep.1.starts_with("__");
                if special != (pass == 1) || !apps.contains(dep.0.as_str()) {
                    continue;
                }
                match resolve(dep, &parents) {
                    Some(p) if p != i => {
                        parents.entry(i).or_default().insert(p);
                    }
                    Some(_) => {}
                    None => diagnostics.push(Diagnostic {
                        location: m.location.clone(),
                        severity: Severity::Warning,
                        message: format!(
                            "Django migration {} depends on {}, which does not exist; the dependency is ignored",
                            show(key),
                            show(dep)
                        ),
                    }),
                }
            }
            if pass == 1 {
                for before in &m.run_before {
                    if let Some(child) = resolve(before, &parents).filter(|&c| c != i) {
                        parents.entry(child).or_default().insert(i);
                    }
                }
            }
        }
    }
    // Leaves: migrations no migration of the same app depends on.
    let mut leaves: Vec<usize> = by_key
        .values()
        .copied()
        .filter(|&i| !parents.iter().any(|(c, ps)| ps.contains(&i) && migrations[*c].key.0 == migrations[i].key.0))
        .collect();
    leaves.sort_by(|a, b| migrations[*a].key.cmp(&migrations[*b].key));
    let mut per_app: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &l in &leaves {
        per_app.entry(&migrations[l].key.0).or_default().push(&migrations[l].key.1);
    }
    for (app, names) in per_app.iter().filter(|(_, n)| n.len() > 1) {
        let first = leaves.iter().find(|&&l| migrations[l].key.0 == *app).copied().unwrap_or(0);
        diagnostics.push(Diagnostic {
            location: migrations[first].location.clone(),
            severity: Severity::Warning,
            message: format!(
                "Conflicting migrations detected; multiple leaf nodes in the migration graph: ({} in {app}); `migrate` refuses to run until they are merged",
                names.join(", ")
            ),
        });
    }
    // `forwards_plan` of each leaf, in Django's depth-first order.
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut on_path: BTreeSet<usize> = BTreeSet::new();
    let mut order = Vec::new();
    let mut cycle_reported = false;
    for leaf in leaves.iter().copied().chain(by_key.values().copied()) {
        let mut stack = vec![(leaf, false)];
        while let Some((node, processed)) = stack.pop() {
            if done.contains(&node) {
                continue;
            }
            if processed {
                on_path.remove(&node);
                done.insert(node);
                order.push(node);
                continue;
            }
            if on_path.contains(&node) {
                if !cycle_reported {
                    cycle_reported = true;
                    diagnostics.push(Diagnostic {
                        location: migrations[node].location.clone(),
                        severity: Severity::Warning,
                        message: format!(
                            "Django migration {} is part of a dependency cycle; the cycle is broken here",
                            show(&migrations[node].key)
                        ),
                    });
                }
                continue;
            }
            on_path.insert(node);
            stack.push((node, true));
            for &p in parents.get(&node).into_iter().flatten() {
                if !done.contains(&p) {
                    stack.push((p, false));
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        file: SourceFile,
        parsed: ruff_python_parser::Parsed<ast::ModModule>,
    }

    impl Fixture {
        fn new() -> Self {
            let parsed = ruff_python_parser::parse_module("class Migration:\n    pass\n").expect("parse");
            Fixture { file: SourceFile::new("app/migrations/0001_initial.py", ""), parsed }
        }

        fn class(&self) -> &ast::StmtClassDef {
            self.parsed.syntax().body[0].as_class_def_stmt().expect("class")
        }

        /// `app.name` depending on `deps` (`"app.name"` each).
        fn node(&self, key: &str, deps: &[&str], run_before: &[&str], replaces: &[&str]) -> MigrationModule<'_> {
            MigrationModule {
                key: k(key),
                module: 0,
                file: &self.file,
                dependencies: deps.iter().map(|d| k(d)).collect(),
                run_before: run_before.iter().map(|d| k(d)).collect(),
                replaces: replaces.iter().map(|d| k(d)).collect(),
                operations: &[],
                class: self.class(),
                initial: false,
                location: self.file.location(0),
            }
        }
    }

    fn k(s: &str) -> Key {
        let (app, name) = s.split_once('.').expect("app.name");
        (app.to_string(), name.to_string())
    }

    fn planned(migrations: &[MigrationModule<'_>]) -> (Vec<String>, Vec<String>) {
        let mut diagnostics = Vec::new();
        let order = plan(migrations, &mut diagnostics);
        (order.iter().map(|&i| show(&migrations[i].key)).collect(), diagnostics.into_iter().map(|d| d.message).collect())
    }

    #[test]
    fn parents_come_first_across_apps() {
        let f = Fixture::new();
        let (order, diagnostics) = planned(&[
            f.node("shop.0001_initial", &[], &[], &[]),
            f.node("shop.0002_order_customer", &["shop.0001_initial", "crm.0001_initial"], &[], &[]),
            f.node("crm.0001_initial", &[], &[], &[]),
        ]);
        assert_eq!(order, ["crm.0001_initial", "shop.0001_initial", "shop.0002_order_customer"]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn a_squashed_migration_stands_in_for_those_it_replaces() {
        let f = Fixture::new();
        let (order, diagnostics) = planned(&[
            f.node("shop.0001_initial", &[], &[], &[]),
            f.node("shop.0002_price", &["shop.0001_initial"], &[], &[]),
            f.node("shop.0001_squashed_0002_price", &[], &[], &["shop.0001_initial", "shop.0002_price"]),
            // A dependency on a replaced migration means the squashed one.
            f.node("crm.0001_initial", &["shop.0002_price"], &[], &[]),
        ]);
        assert_eq!(order, ["shop.0001_squashed_0002_price", "crm.0001_initial"]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }

    #[test]
    fn first_latest_and_run_before() {
        let f = Fixture::new();
        let (order, _) = planned(&[
            f.node("shop.0001_initial", &[], &[], &[]),
            f.node("shop.0002_price", &["shop.0001_initial"], &[], &[]),
            f.node("crm.0001_initial", &["shop.__latest__"], &[], &[]),
            f.node("audit.0001_initial", &["shop.__first__"], &["shop.0002_price"], &[]),
        ]);
        let at = |name: &str| order.iter().position(|o| o == name).expect(name);
        assert!(at("shop.0002_price") < at("crm.0001_initial"), "__latest__: {order:?}");
        assert!(at("shop.0001_initial") < at("audit.0001_initial"), "__first__: {order:?}");
        assert!(at("audit.0001_initial") < at("shop.0002_price"), "run_before: {order:?}");
    }

    #[test]
    fn problems_are_reported_and_everything_is_still_ordered() {
        let f = Fixture::new();
        let (order, diagnostics) = planned(&[
            f.node("shop.0001_initial", &["shop.0002_price"], &[], &[]),
            f.node("shop.0002_price", &["shop.0001_initial"], &[], &[]),
            f.node("crm.0001_initial", &["billing.0001_initial"], &[], &[]),
            f.node("crm.0002_a", &["crm.0001_initial"], &[], &[]),
            f.node("crm.0002_b", &["crm.0001_initial"], &[], &[]),
        ]);
        assert_eq!(order.len(), 5, "{order:?}");
        assert_eq!(
            diagnostics,
            [
                // `billing` is not an app of this repository: not a missing parent.
                "Conflicting migrations detected; multiple leaf nodes in the migration graph: (0002_a, 0002_b in crm); `migrate` refuses to run until they are merged",
                "Django migration shop.0001_initial is part of a dependency cycle; the cycle is broken here",
            ]
        );
        let (_, diagnostics) = planned(&[f.node("shop.0002_price", &["shop.0001_initial"], &[], &[])]);
        assert_eq!(diagnostics, ["Django migration shop.0002_price depends on shop.0001_initial, which does not exist; the dependency is ignored"]);
    }
}
