use std::collections::BTreeSet;

use dbveto_source::Severity;

use crate::{Atomicity, Check, ColumnWriters, Finding, ProjectFacts, Related, Rule, WriterSite};

pub const RULE: Rule = Rule {
    id: "racing-writers",
    summary: "A column written from entry points that run at the same time, at least once by a read-modify-write",
    docs: r#"## What it does
Finds every column written from two or more entry points (HTTP views,
Celery tasks, RQ jobs, scheduled jobs, management commands, signal
handlers; Go HTTP handlers, cron and ticker jobs, goroutines), following
calls between the repository's functions, where at least one of the
writes loads the row, changes it in Python and saves it. A row loaded with
`select_for_update()` where no transaction is open (no
`transaction.atomic()` around the load or around every call that leads to
it, and not a Django view under `ATOMIC_REQUESTS`) counts as such a write:
outside a transaction the lock ends with the SELECT, and Django refuses
the query on PostgreSQL (`TransactionManagementError`). One SQL UPDATE
(`QuerySet.update()`, or an UPDATE in Go or Python) is atomic.

## Why is this bad?
Entry points run in different processes at the same time: a request, a
worker, a scheduler. Between `obj = Model.objects.get(...)` and
`obj.save()` another writer may change the row; the save writes back what
was loaded and the other change is lost. A plain `save()` rewrites every
column, not just the one assigned. The status ends up as whichever writer
saved last:

```
# a view (manual sync)                 # a scheduled job, 60 s
fabric.sync_status = "syncing"
fabric.save()                           fabric = Fabric.objects.get(pk=35)
fabric.sync_status = "synced"           fabric.sync_status = "error"
fabric.save()                           fabric.save()   # "synced" is lost
```

## Example
```python
class KubernetesSync:
    def sync_all_crds(self):
        self.fabric.sync_status = "syncing"
        self.fabric.save()
```
run from `FabricSyncView.post`, a Celery task and an RQ job.

## Use instead
One UPDATE, which the database applies atomically and which writes only
that column:

```python
Fabric.objects.filter(pk=fabric.pk).update(sync_status="syncing")
```

Or, when the new value depends on the old one, an `F()` expression, or
`select_for_update()` inside `transaction.atomic()` to lock the row until
the save. Better still, give the work one entry point.
"#,
    check: Check::Project(check),
};

/// Distinct functions, for people: `HTTP view FabricSyncView.post`.
fn entry_functions(sites: &[&WriterSite]) -> BTreeSet<(String, String, dbveto_source::Location)> {
    let mut out = BTreeSet::new();
    for site in sites {
        for e in &site.entry_points {
            out.insert((e.name.clone(), e.kind.describe().to_string(), e.location.clone()));
        }
    }
    out
}

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    for column in &facts.jobs.columns {
        check_column(column, out);
    }
}

fn check_column(column: &ColumnWriters, out: &mut Vec<Finding>) {
    let sites: Vec<&WriterSite> =
        column.sites.iter().filter(|s| s.atomicity != Atomicity::Insert && !s.entry_points.is_empty()).collect();
    let Some(first_rmw) = sites.iter().find(|s| s.atomicity.loses_updates()) else { return };
    let entries = entry_functions(&sites);
    // Several kinds on one function (an RQ job that is also scheduled) are one entry point.
    let mut functions: Vec<(&String, &dbveto_source::Location)> = entries.iter().map(|(n, _, l)| (n, l)).collect();
    functions.dedup();
    if functions.len() < 2 {
        return;
    }
    let rmw = sites.iter().filter(|s| s.atomicity.loses_updates()).count();
    let names: Vec<String> = functions.iter().map(|(n, _)| format!("`{n}`")).collect();
    let mut related: Vec<Related> = Vec::new();
    for site in &sites {
        if std::ptr::eq(*site, *first_rmw) {
            continue;
        }
        let how = site.atomicity.describe();
        let within = site.function.as_deref().map(|f| format!(" in `{f}`")).unwrap_or_default();
        related.push(Related { location: site.location.clone(), message: format!("also written here{within}: {how}") });
    }
    for (name, location) in &functions {
        let kinds: Vec<&str> = entries.iter().filter(|(n, _, l)| n == *name && l == *location).map(|(_, k, _)| k.as_str()).collect();
        related.push(Related { location: (*location).clone(), message: format!("entry point: {} `{name}`", kinds.join(" + ")) });
    }
    let model = column.model.as_deref().unwrap_or("Model");
    let value = first_rmw.value.as_deref().filter(|v| v.starts_with('\'') || v.parse::<f64>().is_ok()).unwrap_or("...");
    let receiver = first_rmw.statement.split(".save(").next().unwrap_or("obj");
    out.push(Finding {
        rule: RULE.id,
        message: format!(
            "`{}.{}` is written from {} entry points that can run at the same time ({}); {} that can lose a concurrent update",
            column.table,
            column.column,
            functions.len(),
            names.join(", "),
            match (rmw, sites.len()) {
                (1, 1) => "its one write is a read-modify-write".to_string(),
                (r, n) if r == n => format!("all {n} of its writes are read-modify-writes"),
                (1, n) => format!("1 of its {n} writes is a read-modify-write"),
                (r, n) => format!("{r} of its {n} writes are read-modify-writes"),
            },
        ),
        location: first_rmw.location.clone(),
        table: column.table.clone(),
        column: Some(column.column.clone()),
        constraint: None,
        value: None,
        related,
        help: Some(format!(
            "write the column in one UPDATE: `{model}.objects.filter(pk={receiver}.pk).update({}={value})`; use `F()` when the new value depends on the old, or `select_for_update()` inside `transaction.atomic()`",
            column.column
        )),
        sqlstate: None,
        severity: Severity::Warning,
        verification: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EntryKind, EntryPoint, JobFacts};
    use dbveto_source::Location;

    fn at(path: &str, line: u32) -> Location {
        Location { path: path.into(), line, column: 1 }
    }

    fn entry(name: &str, kind: EntryKind, line: u32) -> EntryPoint {
        EntryPoint { kind, name: name.into(), location: at("app/entry.py", line), detail: None }
    }

    fn site(line: u32, atomicity: Atomicity, entries: Vec<EntryPoint>) -> WriterSite {
        WriterSite {
            location: at("app/sync.py", line),
            statement: "fabric.save()".into(),
            statement_location: None,
            value: Some("'syncing'".into()),
            atomicity,
            function: Some("sync".into()),
            entry_points: entries,
        }
    }

    fn findings(sites: Vec<WriterSite>) -> Vec<Finding> {
        let column = ColumnWriters { table: "app_fabric".into(), column: "sync_status".into(), model: Some("Fabric".into()), sites };
        let facts = ProjectFacts { jobs: JobFacts { columns: vec![column], ..Default::default() }, ..Default::default() };
        let mut out = Vec::new();
        check(&facts, &mut out);
        out
    }

    #[test]
    fn read_modify_write_from_two_entry_points_races() {
        let view = entry("FabricSyncView.post", EntryKind::HttpView, 1);
        let task = entry("sync_fabric_task", EntryKind::CeleryTask, 9);
        let out = findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view]), site(7, Atomicity::SingleUpdate, vec![task])]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].location.line, 3);
        assert!(out[0].message.contains("2 entry points"), "{}", out[0].message);
        assert!(out[0].help.as_deref().unwrap_or_default().contains("Fabric.objects.filter(pk=fabric.pk).update(sync_status='syncing')"));
    }

    #[test]
    fn one_helper_reached_from_two_entry_points_races() {
        let view = entry("FabricSyncView.post", EntryKind::HttpView, 1);
        let job = entry("execute_fabric_sync", EntryKind::RqJob, 5);
        assert_eq!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view, job])]).len(), 1);
    }

    #[test]
    fn atomic_writers_and_single_entry_points_do_not_race() {
        let view = entry("FabricSyncView.post", EntryKind::HttpView, 1);
        let task = entry("sync_fabric_task", EntryKind::CeleryTask, 9);
        let all_atomic = vec![
            site(3, Atomicity::SingleUpdate, vec![view.clone()]),
            site(7, Atomicity::FExpression, vec![task.clone()]),
            site(8, Atomicity::Locked, vec![task.clone()]),
            site(9, Atomicity::SavedFields, vec![view.clone()]),
        ];
        assert!(findings(all_atomic).is_empty());
        // An RQ job that is also scheduled is one entry point.
        let scheduled = EntryPoint { kind: EntryKind::ScheduledJob, ..entry("sync_fabric_task", EntryKind::CeleryTask, 9) };
        assert!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![task, scheduled])]).is_empty());
        // Inserts make new rows: nothing to lose.
        assert!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view.clone()]), site(5, Atomicity::Insert, vec![entry("other", EntryKind::HttpView, 2)])]).is_empty());
        // A write no entry point reaches is not counted.
        assert!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view]), site(5, Atomicity::SingleUpdate, vec![])]).is_empty());
    }

    #[test]
    fn a_lock_outside_a_transaction_protects_nothing() {
        let view = entry("FabricSyncView.post", EntryKind::HttpView, 1);
        let handler = entry("Server.handleSync", EntryKind::HttpHandler, 9);
        let out = findings(vec![site(3, Atomicity::LockOutsideTransaction, vec![view]), site(7, Atomicity::SingleUpdate, vec![handler])]);
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("1 of its 2 writes is a read-modify-write"), "{}", out[0].message);
    }
}
