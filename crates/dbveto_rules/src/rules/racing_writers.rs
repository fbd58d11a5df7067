use std::collections::BTreeSet;

use dbveto_source::Severity;

use crate::{Atomicity, Check, ColumnWriters, Finding, ProjectFacts, Related, Rule, WriterSite};

pub const RULE: Rule = Rule {
    id: "racing-writers",
    summary: "A column written from entry points that run at the same time, at least once by a read-modify-write",
    docs: r#"## What it does
Finds every column written from two or more entry points (HTTP views,
Celery tasks, RQ jobs, scheduled jobs; Go HTTP handlers, cron, ticker and
sleep-loop jobs, goroutines), following calls between the repository's
functions, the tasks they send, and the signals they send (a
`post_save` handler of a model runs inside each `save()` and `create()`
of it, in that entry point; a handler none of whose senders dbveto sees
counts as an entry point of its own), where at least one of the writes loads the row,
changes it in Python and saves it, and the writers do not all write one
constant, nor one copy of the value of the object whose method saves
(`child.site = self.site` in `Device.save()`), nor all pick their row by
the requesting user (`filter(owner=request.user)`, a key no other entry
point holds: they never touch one row). A management command is
not counted: it runs when a person or a scheduler dbveto does not see runs
it. Nor is a view class that nothing in the repository names (no
`path(..., SyncView.as_view())`, no `router.register(..., SyncViewSet)`,
no list of views, no decorator on the class that may register it): it
serves no request. The handlers a named subclass
inherits are counted; when dbveto sees no view named at all, every view
is. Code in a test folder (`tests/`, `testing/`) and generated code hold
no entry points of the application. The columns one statement writes
from the same entry points are one finding. A row loaded with
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
    // One finding per statement: the columns one `save()` writes from the
    // same entry points are one race, reported at the first of them.
    let mut found: Vec<(String, Vec<(Finding, String)>)> = Vec::new();
    for column in &facts.jobs.columns {
        let Some((statement, finding)) = check_column(column) else { continue };
        let entry = (finding, column.column.clone());
        match found.iter_mut().find(|(s, group)| *s == statement && group[0].0.table == entry.0.table) {
            Some((_, group)) => group.push(entry),
            None => found.push((statement, vec![entry])),
        }
    }
    for (_, mut group) in found {
        group.sort_by(|a, b| (&a.0.location.path, a.0.location.line).cmp(&(&b.0.location.path, b.0.location.line)));
        let mut columns = group.iter().map(|(_, c)| c.clone());
        let (Some(first), rest) = (columns.next(), columns.collect::<Vec<_>>()) else { continue };
        let Some((mut finding, _)) = group.into_iter().next() else { continue };
        if !rest.is_empty() {
            let more: Vec<String> = rest.iter().map(|c| format!("`{c}`")).collect();
            finding.message = finding.message.replacen(&format!("`{}.{first}` is written", finding.table), &format!("`{}.{first}` (and {} of the same statement) is written", finding.table, more.join(", ")), 1);
        }
        out.push(finding);
    }
}

/// Whether a value is copied from the model object whose method saves
/// another one (`device.site = self.site` in `Device.save()`, propagating
/// a parent's value to its children): every writer writes what that one
/// row holds. A per-call object's value (`request.user`) is not one value.
fn is_copied(value: &str, receiver: &str) -> bool {
    let Some(attribute) = value.strip_prefix("self.") else { return false };
    !attribute.is_empty() && attribute.chars().all(|c| c.is_alphanumeric() || c == '_') && receiver != "self"
}

/// Whether a value as the code spells it is a constant: a plain string
/// literal, a number, a boolean or NULL, as Python or SQL spells them (not
/// `timezone.now()`).
fn is_constant(value: &str) -> bool {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q) && !value[1..value.len() - 1].contains(q);
    quoted('\'') || quoted('"') || matches!(value, "True" | "False" | "None" | "true" | "false" | "NULL") || value.parse::<f64>().is_ok()
}

/// Whether an entry point runs at the same time as others by itself. A
/// management command is run by a person or by a scheduler dbveto does not
/// see (a one-off `createadmin`, a deploy step): not known to be concurrent.
fn runs_concurrently(entry: &crate::EntryPoint) -> bool {
    entry.kind != crate::EntryKind::ManagementCommand
}

/// The finding for one column, with the statement it is reported at.
fn check_column(column: &ColumnWriters) -> Option<(String, Finding)> {
    let concurrent: Vec<WriterSite> = column
        .sites
        .iter()
        .map(|s| WriterSite { entry_points: s.entry_points.iter().filter(|e| runs_concurrently(e)).cloned().collect(), ..s.clone() })
        .collect();
    let sites: Vec<&WriterSite> =
        concurrent.iter().filter(|s| s.atomicity != Atomicity::Insert && !s.entry_points.is_empty()).collect();
    let first_rmw = sites.iter().find(|s| s.atomicity.loses_updates())?;
    // Each writer picks its row by the requesting user: no two of them
    // touch one row (but the same user's own two requests).
    if sites.iter().all(|s| s.own_row) {
        return None;
    }
    let receiver = first_rmw.statement.split(".save(").next().unwrap_or("obj");
    // Writers that all write one constant, or one copy of another object's
    // value, cannot lose each other's.
    if let Some(Some(value)) = sites.first().map(|s| &s.value) {
        let same = sites.iter().all(|s| s.value.as_ref() == Some(value));
        if same && (is_constant(value) || is_copied(value, receiver)) {
            return None;
        }
    }
    let entries = entry_functions(&sites);
    // Several kinds on one function (an RQ job that is also scheduled) are one entry point.
    let mut functions: Vec<(&String, &dbveto_source::Location)> = entries.iter().map(|(n, _, l)| (n, l)).collect();
    functions.dedup();
    if functions.len() < 2 {
        return None;
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
    let statement = first_rmw.statement_location.as_ref().unwrap_or(&first_rmw.location);
    let key = format!("{}:{}:{}", statement.path, statement.line, names.join(","));
    Some((key, Finding {
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
    }))
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
            // Different values, so that no two sites write the same constant.
            value: Some(if line == 3 { "'syncing'".to_string() } else { format!("'state {line}'") }),
            atomicity,
            function: Some("sync".into()),
            entry_points: entries,
            own_row: false,
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
    fn writers_that_each_pick_the_requesting_users_row_touch_no_common_row() {
        let rename = entry("RenameView.post", EntryKind::HttpView, 1);
        let reset = entry("ResetView.post", EntryKind::HttpView, 5);
        let task = entry("recount", EntryKind::CeleryTask, 9);
        let own = |line, entry| WriterSite { own_row: true, ..site(line, Atomicity::ReadModifyWrite, vec![entry]) };
        assert!(findings(vec![own(3, rename.clone()), own(7, reset)]).is_empty());
        // A task that may pick any row can touch the user's.
        assert_eq!(findings(vec![own(3, rename), site(11, Atomicity::SingleUpdate, vec![task])]).len(), 1);
    }

    #[test]
    fn one_helper_reached_from_two_entry_points_races() {
        let view = entry("FabricSyncView.post", EntryKind::HttpView, 1);
        let job = entry("execute_fabric_sync", EntryKind::RqJob, 5);
        let computed = WriterSite { value: Some("state_of(fabric)".into()), ..site(3, Atomicity::ReadModifyWrite, vec![view.clone(), job.clone()]) };
        assert_eq!(findings(vec![computed]).len(), 1);
        // Both runs write the same constant: this column loses nothing.
        assert!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view, job])]).is_empty());
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
    fn writers_of_one_known_value_do_not_race() {
        let view = entry("UserPage.post", EntryKind::HttpView, 1);
        let task = entry("disable_expired", EntryKind::CeleryTask, 12);
        let same = |line, entries| WriterSite { value: Some("False".into()), ..site(line, Atomicity::ReadModifyWrite, entries) };
        assert!(findings(vec![same(3, vec![view.clone()]), same(7, vec![task.clone()])]).is_empty());
        let unknown = WriterSite { value: None, ..site(7, Atomicity::ReadModifyWrite, vec![task]) };
        assert_eq!(findings(vec![same(3, vec![view]), unknown]).len(), 1);
    }

    #[test]
    fn a_copy_of_another_objects_value_does_not_race() {
        let view = entry("DeviceEdit.post", EntryKind::HttpView, 1);
        let task = entry("sync_devices", EntryKind::CeleryTask, 12);
        let copied = |value: &str| WriterSite { value: Some(value.into()), statement: "device.save()".into(), ..site(3, Atomicity::ReadModifyWrite, vec![view.clone(), task.clone()]) };
        assert!(findings(vec![copied("self.site")]).is_empty());
        // The object's own value, read and written back, and a per-call value are not one copy.
        assert_eq!(findings(vec![copied("device.site")]).len(), 1);
        assert_eq!(findings(vec![copied("request.user")]).len(), 1);
    }

    #[test]
    fn the_columns_of_one_statement_are_one_finding() {
        let view = entry("FabricSyncView.post", EntryKind::HttpView, 1);
        let task = entry("sync_fabric_task", EntryKind::CeleryTask, 9);
        let save = at("app/sync.py", 20);
        let column = |name: &str, line| ColumnWriters {
            table: "app_fabric".into(),
            column: name.into(),
            model: Some("Fabric".into()),
            sites: vec![WriterSite { statement_location: Some(save.clone()), value: Some(format!("compute_{name}()")), ..site(line, Atomicity::ReadModifyWrite, vec![view.clone(), task.clone()]) }],
        };
        let facts = ProjectFacts { jobs: JobFacts { columns: vec![column("status", 3), column("error", 4)], ..Default::default() }, ..Default::default() };
        let mut out = Vec::new();
        check(&facts, &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("`app_fabric.status` (and `error` of the same statement)"), "{}", out[0].message);
    }

    #[test]
    fn a_management_command_is_not_known_to_run_concurrently() {
        let view = entry("UserPage.post", EntryKind::HttpView, 1);
        let command = entry("Command.handle", EntryKind::ManagementCommand, 9);
        assert!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view.clone()]), site(7, Atomicity::ReadModifyWrite, vec![command])]).is_empty());
        let task = entry("disable_expired", EntryKind::CeleryTask, 12);
        assert_eq!(findings(vec![site(3, Atomicity::ReadModifyWrite, vec![view]), site(7, Atomicity::ReadModifyWrite, vec![task])]).len(), 1);
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
