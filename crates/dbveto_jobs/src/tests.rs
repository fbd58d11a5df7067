//! Small repositories inline: entry points, call chains, atomicity.

use dbveto_facts::{Atomicity, EntryKind, JobFacts};
use dbveto_source::SourceFile;

const MODELS: &str = "from django.db import models\n\n\
class Fabric(models.Model):\n    status = models.CharField(max_length=20)\n    count = models.IntegerField(default=0)\n";

fn facts_of(files: &[(&str, &str)]) -> JobFacts {
    let mut all: Vec<SourceFile> = vec![SourceFile::new("app/models.py", MODELS)];
    all.extend(files.iter().map(|(p, t)| SourceFile::new(*p, *t)));
    let project = dbveto_python_semantic::ParsedProject::parse(&all);
    let index = project.index();
    let django = dbveto_django::analyze(&index, &dbveto_python_semantic::Environment::default());
    let mut jobs = crate::analyze(&index, &django.models);
    jobs.connect_signals(&django.writes);
    crate::facts(&jobs, &django.writes)
}

/// `atomicity function [entry kinds]` for each site of `app_fabric.column`.
fn sites(facts: &JobFacts, column: &str) -> Vec<String> {
    facts
        .columns
        .iter()
        .filter(|c| c.table == "app_fabric" && c.column == column)
        .flat_map(|c| &c.sites)
        .map(|s| {
            let mut entries: Vec<String> = s.entry_points.iter().map(|e| format!("{:?} {}", e.kind, e.name)).collect();
            entries.sort();
            format!("{:?} {} [{}]", s.atomicity, s.function.as_deref().unwrap_or("-"), entries.join(", "))
        })
        .collect()
}

#[test]
fn a_helper_is_attributed_to_every_entry_point_through_cycles() {
    let source = "from celery import shared_task\nfrom django.views import View\nfrom .models import Fabric\n\n\
def helper(fabric_id, depth=0):\n    fabric = Fabric.objects.get(pk=fabric_id)\n    fabric.status = 'syncing'\n    fabric.save()\n    again(fabric_id, depth)\n\n\
def again(fabric_id, depth):\n    if depth < 3:\n        helper(fabric_id, depth + 1)\n\n\
@shared_task\ndef sync(fabric_id):\n    again(fabric_id, 0)\n\n\
class SyncView(View):\n    def post(self, request, pk):\n        helper(pk)\n        self.note()\n\n    def note(self):\n        pass\n";
    let facts = facts_of(&[("app/sync.py", source)]);
    assert_eq!(sites(&facts, "status"), ["ReadModifyWrite helper [CeleryTask sync, HttpView SyncView.post]"]);
}

#[test]
fn new_objects_copies_f_expressions_and_update_fields_are_not_read_modify_writes() {
    let source = "from django.db.models import F\nfrom .models import Fabric\n\n\
def make():\n    fabric = Fabric(status='new')\n    fabric.count = 1\n    fabric.save()\n\n\
def copy(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.pk = None\n    fabric.status = 'copy'\n    fabric.save()\n\n\
def bump(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.count = F('count') + 1\n    fabric.save()\n\n\
def mark(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.status = 'done'\n    fabric.save(update_fields=['status'])\n\n\
def increment(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.count += 1\n    fabric.save(update_fields=['count'])\n\n\
def locked(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'locked'\n    fabric.save()\n";
    let facts = facts_of(&[("app/ops.py", source)]);
    let mut status = sites(&facts, "status");
    status.retain(|s| !s.starts_with("Insert"));
    assert_eq!(status, ["SavedFields mark []", "Locked locked []"]);
    let mut count = sites(&facts, "count");
    count.retain(|s| !s.starts_with("Insert"));
    assert_eq!(count, ["FExpression bump []", "ReadModifyWrite increment []"]);
}

#[test]
fn an_object_passed_in_is_judged_by_what_callers_pass() {
    let source = "from .models import Fabric\n\n\
class Syncer:\n    def __init__(self, fabric: Fabric):\n        self.fabric = fabric\n\n    def run(self):\n        self.fabric.status = 'synced'\n        self.fabric.save()\n\n\
def finish(fabric: Fabric):\n    fabric.status = 'done'\n    fabric.save()\n\n\
def from_database(pk):\n    Syncer(Fabric.objects.get(pk=pk)).run()\n\n\
def from_python():\n    finish(Fabric(status='x'))\n";
    let facts = facts_of(&[("app/passing.py", source)]);
    assert_eq!(sites(&facts, "status").iter().filter(|s| !s.starts_with("Insert")).cloned().collect::<Vec<_>>(), [
        "ReadModifyWrite Syncer.run []",
        "PassedIn finish []",
    ]);
}

#[test]
fn schedules_decorators_and_enqueued_functions() {
    let celery = "from datetime import timedelta\nfrom celery import Celery\n\napp = Celery('proj')\n\
app.conf.beat_schedule = {'every-minute': {'task': 'app.tasks.tick', 'schedule': timedelta(minutes=1)}}\n";
    let tasks = "import django_rq\nfrom django_rq import job\nfrom .models import Fabric\nfrom .celery import app\n\n\
@app.task(name='custom.tock')\ndef tock():\n    Fabric.objects.update(status='a')\n\n\
def tick():\n    Fabric.objects.update(count=0)\n\n\
@job('default')\ndef rq_job():\n    pass\n\n\
def enqueue():\n    django_rq.get_queue('default').enqueue(tick)\n    tock.apply_async()\n";
    let facts = facts_of(&[("app/celery.py", celery), ("app/tasks.py", tasks)]);
    let schedule = &facts.schedules[0];
    assert_eq!((schedule.function.as_deref(), schedule.every), (Some("tick"), Some(60)));
    assert_eq!(schedule.columns, ["app_fabric.count"]);
    let tick = facts.columns.iter().find(|c| c.column == "count").map(|c| &c.sites[0]);
    let mut kinds: Vec<EntryKind> = tick.map(|s| s.entry_points.iter().map(|e| e.kind).collect()).unwrap_or_default();
    kinds.sort();
    assert_eq!(kinds, [EntryKind::RqJob, EntryKind::ScheduledJob]);
    let status = facts.columns.iter().find(|c| c.column == "status").map(|c| &c.sites[0]);
    assert_eq!(status.map(|s| s.atomicity), Some(Atomicity::SingleUpdate));
    assert_eq!(status.map(|s| s.entry_points[0].kind), Some(EntryKind::CeleryTask));
    let names: Vec<&str> = facts.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["tock", "tick", "rq_job"]);
}

#[test]
fn unparsable_and_unresolvable_code_adds_nothing() {
    let broken = "def f(:\n    x.status = 'a'\n    x.save()\n";
    let unknown = "from somewhere import thing\n\ndef g():\n    thing.status = 'b'\n    thing.save()\n    thing.delay()\n";
    let facts = facts_of(&[("app/broken.py", broken), ("app/unknown.py", unknown)]);
    assert!(facts.columns.is_empty());
    assert!(facts.functions.is_empty());
}

#[test]
fn select_for_update_locks_only_inside_a_transaction() {
    let source = "import threading\nfrom celery import shared_task\nfrom django.db import transaction\nfrom .models import Fabric\n\n\
@shared_task\ndef unguarded(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'a'\n    fabric.save()\n\n\
@shared_task\ndef guarded(pk):\n    with transaction.atomic():\n        fabric = Fabric.objects.select_for_update().get(pk=pk)\n        fabric.status = 'b'\n        fabric.save()\n\n\
@transaction.atomic\ndef decorated(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'c'\n    fabric.save()\n\n\
def helper(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'd'\n    fabric.save()\n\n\
def only_in_transaction(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'e'\n    fabric.save()\n\n\
@shared_task\ndef callers(pk):\n    decorated(pk)\n    with transaction.atomic():\n        helper(pk)\n        only_in_transaction(pk)\n\n\
@shared_task\ndef bare_caller(pk):\n    helper(pk)\n\n\
def nobody_calls(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'f'\n    fabric.save()\n\n\
def in_helper_block(pk):\n    with locked_section():\n        fabric = Fabric.objects.select_for_update().get(pk=pk)\n        fabric.status = 'g'\n        fabric.save()\n\n\
@retrying\ndef under_helper_decorator(pk):\n    fabric = Fabric.objects.select_for_update().get(pk=pk)\n    fabric.status = 'h'\n    fabric.save()\n\n\
def in_library_block(pk):\n    with threading.Lock():\n        fabric = Fabric.objects.select_for_update().get(pk=pk)\n        fabric.status = 'i'\n        fabric.save()\n\n\
@shared_task\ndef more_callers(pk):\n    in_helper_block(pk)\n    under_helper_decorator(pk)\n    in_library_block(pk)\n";
    let facts = facts_of(&[("app/tasks.py", source)]);
    let status: Vec<String> = sites(&facts, "status").into_iter().map(|s| s.split(" [").next().unwrap_or("").to_string()).collect();
    assert_eq!(status, [
        "LockOutsideTransaction unguarded",
        "Locked guarded",
        "Locked decorated",
        // Called inside `atomic()` by one task, outside it by another.
        "LockOutsideTransaction helper",
        "Locked only_in_transaction",
        // Reached from no entry point: not judged.
        "Locked nobody_calls",
        // A context manager or decorator that is not known may open one.
        "Locked in_helper_block",
        "Locked under_helper_decorator",
        // A library's context manager opens none.
        "LockOutsideTransaction in_library_block",
    ]);
}

#[test]
fn atomic_requests_puts_django_views_in_a_transaction() {
    let views = "from django.db import transaction\nfrom django.utils.decorators import method_decorator\nfrom django.views import View\nfrom .models import Fabric\n\n\
class LockView(View):\n    def post(self, request, pk):\n        fabric = Fabric.objects.select_for_update().get(pk=pk)\n        fabric.status = 'v'\n        fabric.save()\n\n\
@method_decorator(transaction.non_atomic_requests, name='dispatch')\nclass StreamView(View):\n    def post(self, request, pk):\n        fabric = Fabric.objects.select_for_update().get(pk=pk)\n        fabric.status = 'w'\n        fabric.save()\n";
    let on = "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'ATOMIC_REQUESTS': True}}\n";
    let off = "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n";
    let judged = |settings: &str| -> Vec<String> {
        let facts = facts_of(&[("app/views.py", views), ("proj/settings.py", settings)]);
        sites(&facts, "status").into_iter().map(|s| s.split(" [").next().unwrap_or("").to_string()).collect()
    };
    assert_eq!(judged(on), ["Locked LockView.post", "LockOutsideTransaction StreamView.post"]);
    assert_eq!(judged(off), ["LockOutsideTransaction LockView.post", "LockOutsideTransaction StreamView.post"]);
    let subscript = "DATABASES = {'default': {}}\nDATABASES['default']['ATOMIC_REQUESTS'] = True\n";
    assert_eq!(judged(subscript)[0], "Locked LockView.post");
    // Settings that cannot be read, or none: the views are not judged,
    // unless they say they run outside a transaction.
    for unknown in ["import environ\nDATABASES = {'default': environ.Env().db()}\n", "DATABASES = {'default': {}}\nDATABASES['default'].update(OPTIONS={})\n", ""] {
        assert_eq!(judged(unknown), ["Locked LockView.post", "LockOutsideTransaction StreamView.post"], "{unknown}");
    }
}

#[test]
fn class_based_tasks_base_hooks_and_routes_by_pattern() {
    let celery = "from celery import Celery\n\napp = Celery('proj')\n\
app.conf.task_routes = {'sync.*': {'queue': 'sync'}, 'app.tasks.SyncTask': 'classes', 'other.*': 'other'}\n\
app.conf.beat_schedule = {'sync-all': {'task': 'sync.fabric', 'schedule': 60.0}, 'by-class': {'task': 'app.tasks.SyncTask', 'schedule': 60.0}}\n";
    let tasks = "from celery import Task\nfrom .celery import app\nfrom .models import Fabric\n\n\
class Tracked(Task):\n    def on_failure(self, exc, task_id, args, kwargs, einfo):\n        Fabric.objects.filter(pk=args[0]).update(status='failed')\n\n\
@app.task(base=Tracked, name='sync.fabric')\ndef sync_fabric(pk):\n    Fabric.objects.filter(pk=pk).update(count=0)\n\n\
class SyncTask(app.Task):\n    def run(self, pk):\n        fabric = Fabric.objects.get(pk=pk)\n        fabric.status = 'synced'\n        fabric.save()\n\n\
app.register_task(SyncTask())\n\n\
class Unregistered(Task):\n    def run(self, pk):\n        Fabric.objects.filter(pk=pk).update(status='never')\n";
    let facts = facts_of(&[("app/celery.py", celery), ("app/tasks.py", tasks)]);
    let entries = |column: &str, line: u32| -> Vec<String> {
        let site = facts.columns.iter().filter(|c| c.column == column).flat_map(|c| &c.sites).find(|s| s.location.line == line);
        let mut out: Vec<String> = site
            .map(|s| s.entry_points.iter().map(|e| format!("{:?} {} {}", e.kind, e.name, e.detail.as_deref().unwrap_or("-"))).collect())
            .unwrap_or_default();
        out.sort();
        out
    };
    // The base's hook runs under the task that uses it.
    assert_eq!(entries("status", 7), [
        "CeleryTask sync_fabric Celery queue `sync` (task_routes `sync.*`)",
        "ScheduledJob sync_fabric every 60 s (Celery beat `sync-all`)",
    ]);
    // A registered task class: its `run`, routed and scheduled by its dotted name.
    assert_eq!(entries("status", 16), [
        "CeleryTask SyncTask.run Celery queue `classes` (task_routes)",
        "ScheduledJob SyncTask.run every 60 s (Celery beat `by-class`)",
    ]);
    assert!(entries("status", 23).is_empty());
    // A pattern claims nothing: only the exact route is a use by Celery.
    let uses: Vec<String> = facts.functions.iter().flat_map(|f| f.used.iter().map(move |u| format!("{} {}", f.name, u.how))).collect();
    assert!(uses.iter().all(|u| !u.contains("sync.*")), "{uses:?}");
}

#[test]
fn task_methods_on_functions_without_decorators() {
    let source = "import functools\nimport django_rq\nfrom django_rq import job\n\n\
def plain(pk):\n    pass\n\n\
@job('default')\ndef rq_job(pk):\n    pass\n\n\
@functools.lru_cache\ndef other_decorator(pk):\n    pass\n\n\
def caller():\n    plain.delay(1)\n    rq_job.delay(1)\n    other_decorator.delay(1)\n    django_rq.enqueue(plain, 2)\n";
    let facts = facts_of(&[("app/jobs.py", source)]);
    let bare: Vec<(&str, usize)> =
        facts.functions.iter().filter(|f| !f.undecorated_dispatch.is_empty()).map(|f| (f.name.as_str(), f.undecorated_dispatch.len())).collect();
    assert_eq!(bare, [("plain", 1)]);
}

#[test]
fn fields_saved_after_the_lock_ends_are_judged_as_saved_fields() {
    let source = "from celery import shared_task\nfrom django.db import transaction\nfrom .models import Fabric\n\n\
@shared_task\ndef transmit(pk):\n    with transaction.atomic():\n        fabric = Fabric.objects.select_for_update().get(pk=pk)\n        fabric.status = 'inflight'\n        fabric.save(update_fields=['status'])\n    fabric.status = 'done'\n    fabric.save(update_fields=['status'])\n    fabric.count = fabric.count + 1\n    fabric.save(update_fields=['count'])\n";
    let facts = facts_of(&[("app/tasks.py", source)]);
    let judged = |column: &str| -> Vec<String> { sites(&facts, column).into_iter().map(|s| s.split(' ').next().unwrap_or("").to_string()).collect() };
    assert_eq!(judged("status"), ["SavedFields", "SavedFields"]);
    // A value read from the row, saved after the lock ended: lost updates.
    assert_eq!(judged("count"), ["LockOutsideTransaction"]);
}

#[test]
fn a_go_handler_and_a_python_task_write_one_column() {
    let task = "from celery import shared_task\nfrom .models import Fabric\n\n\
@shared_task\ndef sync(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.status = 'synced'\n    fabric.save()\n";
    let go = "package api\n\nimport \"net/http\"\n\nfunc Routes(mux *http.ServeMux) {\n\tmux.HandleFunc(\"POST /sync\", handleSync)\n}\n\n\
func handleSync(w http.ResponseWriter, r *http.Request) {\n\tdb.Exec(`UPDATE app_fabric SET status = 'queued' WHERE id = $1`, 1)\n}\n";
    let python = [SourceFile::new("app/models.py", MODELS), SourceFile::new("app/tasks.py", task)];
    let project = dbveto_python_semantic::ParsedProject::parse(&python);
    let index = project.index();
    let django = dbveto_django::analyze(&index, &dbveto_python_semantic::Environment::default());
    let mut jobs = crate::analyze(&index, &django.models);
    // The UPDATE the SQL frontend reads from the Go file.
    let at = |line, column| dbveto_source::Location { path: "api/api.go".into(), line, column };
    let mut writes = django.writes.clone();
    writes.push(dbveto_writes::Write {
        kind: dbveto_writes::WriteKind::Update,
        table: dbveto_writes::TableRef { schema: None, name: "app_fabric".into() },
        columns: Some(vec!["status".into()]),
        values: vec![dbveto_writes::Arg::unknown()],
        location: at(10, 10),
        call: Some(at(10, 2)),
        statement: "UPDATE app_fabric SET status = 'queued' WHERE id = $1".into(),
        model: None,
        partial: false,
        known_omitted: Vec::new(),
    });
    let go_files = [SourceFile::new("api/api.go", go)];
    jobs.add_go(&go_files, &[], &Default::default(), &writes);
    let facts = crate::facts(&jobs, &writes);
    assert_eq!(sites(&facts, "status"), [
        "SingleUpdate handleSync [HttpHandler handleSync]",
        "ReadModifyWrite sync [CeleryTask sync]",
    ]);
}

/// Seed 004's shape: a master task on Celery beat sends one task per
/// fabric to a worker; what the schedule does includes what those do.
#[test]
fn a_schedule_reaches_the_tasks_it_dispatches() {
    let celery = "from celery import Celery\n\napp = Celery('proj')\n\
app.conf.beat_schedule = {'master': {'task': 'app.tasks.master_sync', 'schedule': 60.0}}\n";
    let tasks = "from celery import shared_task, chain\nfrom .models import Fabric\nfrom .celery import app\n\n\
@shared_task\ndef sync_fabric(fabric_id):\n    fabric = Fabric.objects.get(pk=fabric_id)\n    fabric.status = 'synced'\n    fabric.save()\n\n\
@shared_task(name='app.count')\ndef count_fabric(fabric_id):\n    Fabric.objects.filter(pk=fabric_id).update(count=1)\n\n\
@shared_task\ndef master_sync():\n    for fabric in Fabric.objects.all():\n        sync_fabric.delay(fabric.pk)\n    chain(sync_fabric.si(1), sync_fabric.si(2))()\n    app.send_task('app.count', args=[1])\n\n\
@shared_task\ndef idle():\n    pass\n";
    let facts = facts_of(&[("app/celery.py", celery), ("app/tasks.py", tasks)]);
    let schedule = &facts.schedules[0];
    assert_eq!(schedule.function.as_deref(), Some("master_sync"));
    assert_eq!(schedule.columns, ["app_fabric.count", "app_fabric.status"]);
    // The task still runs in its own worker: the master is not its entry point.
    let status = facts.columns.iter().find(|c| c.column == "status").map(|c| &c.sites[0]);
    let entries: Vec<&str> = status.map(|s| s.entry_points.iter().map(|e| e.name.as_str()).collect()).unwrap_or_default();
    assert_eq!(entries, ["sync_fabric"]);
}

#[test]
fn views_nothing_routes_and_test_helpers_are_no_entry_points() {
    let views = "from django.views import View\nfrom .models import Fabric\n\n\
def touch(pk, value):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.status = value\n    fabric.save()\n\n\
class RoutedView(View):\n    def post(self, request, pk):\n        touch(pk, 'a')\n\n\
class BaseSyncView(View):\n    def post(self, request, pk):\n        touch(pk, 'b')\n\n\
class ChildSyncView(BaseSyncView):\n    pass\n\n\
class DeadView(View):\n    def post(self, request, pk):\n        super(DeadView, self).post(request, pk)\n        touch(pk, 'c')\n";
    let urls = "from django.urls import path\nfrom .views import RoutedView, ChildSyncView\n\n\
urlpatterns = [\n    path('a/', RoutedView.as_view()),\n    path('b/', ChildSyncView.as_view()),\n]\n";
    let harness = "from django_rq import job\nfrom app.views import touch\n\n@job('default')\ndef poke(pk):\n    touch(pk, 'd')\n";
    let routed = [("app/views.py", views), ("app/urls.py", urls), ("scripts/testing/jobs.py", harness)];
    // A subclass's route runs the handler it inherits; a view nothing
    // names (its own `super(DeadView, self)` aside) runs under no request.
    assert_eq!(sites(&facts_of(&routed), "status"), ["ReadModifyWrite touch [HttpView BaseSyncView.post, HttpView RoutedView.post]"]);
    // Without any routing dbveto can see, every view may be routed.
    let unseen = [("app/views.py", views)];
    assert_eq!(sites(&facts_of(&unseen), "status"), ["ReadModifyWrite touch [HttpView BaseSyncView.post, HttpView DeadView.post, HttpView RoutedView.post]"]);
}

#[test]
fn callables_passed_to_on_commit_threads_and_executors_run_in_the_callers_entry_point() {
    let source = "import asyncio, threading\nfrom functools import partial\nfrom django.db import transaction\nfrom django.views import View\nfrom .models import Fabric\n\n\
def mark(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.status = 'marked'\n    fabric.save()\n\n\
def count(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.count += 1\n    fabric.save()\n\n\
def never(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.status = 'never'\n    fabric.save()\n\n\
class MarkView(View):\n    def post(self, request, pk):\n        with transaction.atomic():\n            transaction.on_commit(partial(mark, pk))\n        threading.Thread(target=count, args=(pk,)).start()\n\n\
class CountView(View):\n    async def post(self, request, pk):\n        await asyncio.to_thread(count, pk)\n        callbacks = [never]\n";
    let facts = facts_of(&[("app/views.py", source)]);
    assert_eq!(sites(&facts, "status"), ["ReadModifyWrite mark [HttpView MarkView.post]", "ReadModifyWrite never []"]);
    assert_eq!(sites(&facts, "count"), ["ReadModifyWrite count [HttpView CountView.post, HttpView MarkView.post]"]);
}

#[test]
fn a_signal_handler_runs_in_the_entry_points_that_send_its_signal() {
    let source = "from celery import shared_task\nfrom django.db.models.signals import post_save, post_delete\nfrom django.dispatch import receiver\nfrom django.views import View\nfrom .models import Fabric\n\n\
@receiver(post_save, sender=Fabric)\ndef recount(sender, instance, **kwargs):\n    fabric = Fabric.objects.get(pk=instance.pk)\n    fabric.count += 1\n    fabric.save()\n\n\
def renamed(sender, instance, **kwargs):\n    fabric = Fabric.objects.get(pk=instance.pk)\n    fabric.status = 'renamed'\n    fabric.save()\n\n\
post_delete.connect(renamed, sender=Fabric)\n\n\
class SaveView(View):\n    def post(self, request, pk):\n        fabric = Fabric.objects.get(pk=pk)\n        fabric.status = 'saved'\n        fabric.save(update_fields=['status'])\n\n\
@shared_task\ndef create_one():\n    Fabric.objects.create(status='new')\n\n\
@shared_task\ndef create_many():\n    Fabric.objects.bulk_create([Fabric(status='new')])\n";
    let facts = facts_of(&[("app/signals.py", source)]);
    // `post_save` runs inside the save and the create, not in `bulk_create`;
    // no `post_delete` sent is seen: that handler is an entry point of its own.
    let count: Vec<String> = sites(&facts, "count").into_iter().filter(|s| !s.starts_with("Insert")).collect();
    // (`renamed` saves a `Fabric` too.)
    assert_eq!(count, ["ReadModifyWrite recount [CeleryTask create_one, HttpView SaveView.post, SignalHandler renamed]"]);
    let status: Vec<String> = sites(&facts, "status").into_iter().filter(|s| !s.starts_with("Insert")).collect();
    assert_eq!(status, ["ReadModifyWrite renamed [SignalHandler renamed]", "SavedFields SaveView.post [HttpView SaveView.post]"]);
}

#[test]
fn rows_picked_by_the_requesting_user_are_their_own() {
    let source = "from celery import shared_task\nfrom django.views import View\nfrom .models import Fabric\n\n\
class RenameView(View):\n    def post(self, request, pk):\n        fabric = Fabric.objects.filter(owner=request.user).get(pk=pk)\n        fabric.status = 'renamed'\n        fabric.save()\n\n\
class ResetView(View):\n    def post(self, request):\n        fabric = Fabric.objects.get(owner=self.request.user.pk)\n        fabric.status = 'reset'\n        fabric.save()\n\n\
@shared_task\ndef recount(pk):\n    fabric = Fabric.objects.get(pk=pk)\n    fabric.count += 1\n    fabric.save()\n";
    let facts = facts_of(&[("app/own.py", source)]);
    let own: Vec<(u32, bool)> = facts
        .columns
        .iter()
        .filter(|c| c.table == "app_fabric")
        .flat_map(|c| &c.sites)
        .filter(|s| s.atomicity == Atomicity::ReadModifyWrite)
        .map(|s| (s.location.line, s.own_row))
        .collect();
    // Both views pick the requesting user's row; the task any row.
    assert!(own.contains(&(8, true)) && own.contains(&(14, true)), "{own:?}");
    assert!(own.iter().any(|&(line, own)| line >= 17 && !own), "{own:?}");
}
