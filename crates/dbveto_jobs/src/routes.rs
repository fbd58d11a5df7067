//! Celery `task_routes` keys with a `*`: glob patterns over task names, as
//! Celery 5 compiles them (`fnmatch`). A pattern names no function: it
//! gives the Celery tasks it matches their queue, and claims nothing else
//! for Celery (an RQ job whose module a pattern happens to cover is not
//! sent through Celery by it).

use std::collections::HashMap;

use dbveto_python_semantic::ProjectIndex;
use dbveto_facts::EntryKind;

use crate::defs::Defs;
use crate::graph::Graph;

/// Celery reads a key as a pattern when it holds a `*`.
pub fn is_pattern(key: &str) -> bool {
    key.contains('*')
}

/// `fnmatch` of the whole name: `*` any run of characters, `?` one. A
/// pattern with a `[...]` set is not understood and matches nothing.
pub fn matches(pattern: &str, name: &str) -> bool {
    if pattern.contains('[') {
        return false;
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut i, mut j) = (0, 0);
    // The last `*` seen and where in the name it started matching.
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        match p.get(i) {
            Some('*') => {
                star = Some((i, j));
                i += 1;
            }
            Some(&c) if c == '?' || c == n[j] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((s, from)) => {
                    i = s + 1;
                    j = from + 1;
                    star = Some((s, from + 1));
                }
                None => return false,
            },
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// The names Celery may give a task function: the explicit one, else its
/// module's dotted path (from any folder that may be on `sys.path`) and
/// its name (a task class's name for its `run`).
fn task_names(f: usize, explicit: &[&str], index: &ProjectIndex<'_>, defs: &Defs<'_>) -> Vec<String> {
    let mut names: Vec<String> = explicit.iter().map(|n| n.to_string()).collect();
    let Some(function) = defs.functions.get(f) else { return names };
    let own = function.qualname.split('.').next().unwrap_or_default();
    if let Some(module) = index.module(function.module).and_then(|m| m.name) {
        for start in 0..module.parts.len() {
            names.push(format!("{}.{own}", module.parts[start..].join(".")));
        }
    }
    names
}

/// Gives each Celery task the queue of the first pattern that matches one
/// of its names, unless an exact route gave it one already.
pub fn route_patterns(
    graph: &mut Graph,
    routes: &[(String, Option<String>)],
    explicit: &HashMap<String, usize>,
    index: &ProjectIndex<'_>,
    defs: &Defs<'_>,
) {
    if routes.is_empty() {
        return;
    }
    let mut explicit_of: HashMap<usize, Vec<&str>> = HashMap::new();
    for (name, f) in explicit {
        explicit_of.entry(*f).or_default().push(name);
    }
    for f in 0..defs.functions.len() {
        if !graph.entry_kinds(f).any(|k| k == EntryKind::CeleryTask) {
            continue;
        }
        let given = explicit_of.get(&f).map(Vec::as_slice).unwrap_or_default();
        let names = task_names(f, given, index, defs);
        let route = routes.iter().find(|(pattern, _)| names.iter().any(|n| matches(pattern, n)));
        if let Some((pattern, Some(queue))) = route {
            graph.entry(f, EntryKind::CeleryTask, Some(format!("Celery queue `{queue}` (task_routes `{pattern}`)")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs_as_fnmatch_reads_them() {
        assert!(matches("sync.*", "sync.fabric"));
        assert!(matches("sync.*", "sync."));
        assert!(matches("*.tasks.*", "app.tasks.sync"));
        assert!(matches("app.?asks.*", "app.tasks.x"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("sync.*", "resync.fabric"));
        assert!(!matches("sync.*", "sync"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(!matches("app.[tx]asks.*", "app.tasks.x"));
    }
}
