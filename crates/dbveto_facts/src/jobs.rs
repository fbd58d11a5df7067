//! What the job rules read: the job frameworks a repository uses, what it
//! schedules, and every write of each column with the entry points that
//! reach it. `dbveto_jobs` computes them.

use dbveto_source::Location;
use serde::Serialize;

use crate::Related;

#[derive(Debug, Default, Clone)]
pub struct JobFacts {
    pub systems: Vec<JobSystem>,
    pub schedules: Vec<ScheduledJob>,
    /// Functions a job framework decorates, registers or calls.
    pub functions: Vec<JobFunction>,
    /// The writers of each column that is updated somewhere.
    pub columns: Vec<ColumnWriters>,
}

/// A job framework that runs code outside requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Framework {
    Celery,
    #[serde(rename = "RQ")]
    Rq,
    #[serde(rename = "APScheduler")]
    Apscheduler,
}

impl Framework {
    pub fn name(self) -> &'static str {
        match self {
            Framework::Celery => "Celery",
            Framework::Rq => "RQ",
            Framework::Apscheduler => "APScheduler",
        }
    }
}

/// One framework as a repository configures and uses it.
#[derive(Debug, Clone)]
pub struct JobSystem {
    pub framework: Framework,
    /// Where it is configured: an app, settings, queues.
    pub config: Vec<Related>,
    /// The functions it runs, each with where it is declared.
    pub jobs: Vec<Related>,
    /// The tables its jobs write, through any call chain.
    pub tables: Vec<String>,
}

/// One entry of a scheduler: a job run periodically.
#[derive(Debug, Clone)]
pub struct ScheduledJob {
    /// `Celery beat`, `rq-scheduler`, `APScheduler`.
    pub scheduler: &'static str,
    /// The job as the schedule names it (`sync-all-fabrics`, `cron(...)`).
    pub entry: String,
    /// The function it runs (`jobs.fabric_sync.FabricSyncJob.execute_fabric_sync`),
    /// `None` when it is not a function of the repository.
    pub function: Option<String>,
    /// Seconds between runs when the schedule is a fixed interval.
    pub every: Option<u64>,
    /// The schedule as written, for people: `every 60 s`, `crontab(minute='*')`.
    pub interval: String,
    /// The arguments as written, when the entry gives any.
    pub args: Option<String>,
    pub location: Location,
    /// `table.column` written by the job through any call chain.
    pub columns: Vec<String>,
}

/// A function and the frameworks that claim it.
#[derive(Debug, Clone)]
pub struct JobFunction {
    pub name: String,
    pub location: Location,
    /// The decorators that make it a job, and of which framework.
    pub decorated: Vec<(Framework, Location)>,
    /// Places that register or run it as a job of a framework: a schedule
    /// entry, a route, `.apply_async()`, `queue.enqueue(...)`.
    pub used: Vec<JobUse>,
    /// Calls of a task's methods (`.delay()`, `.apply_async()`) on it
    /// although it has no decorator at all: a plain function has none.
    pub undecorated_dispatch: Vec<Related>,
}

#[derive(Debug, Clone)]
pub struct JobUse {
    pub framework: Framework,
    pub location: Location,
    /// How: "Celery beat entry `sync-all`", "`.apply_async()`".
    pub how: String,
}

/// Every write of one column.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnWriters {
    pub table: String,
    pub column: String,
    /// The ORM model of the table, when one writes it (`Fabric`).
    pub model: Option<String>,
    pub sites: Vec<WriterSite>,
}

/// One place that writes a column, and what runs it.
#[derive(Debug, Clone, Serialize)]
pub struct WriterSite {
    pub location: Location,
    /// The statement or call, shortened: `fabric.save()`, `Fabric.objects.update(...)`.
    pub statement: String,
    /// Where the statement runs when it is not where the value is set.
    pub statement_location: Option<Location>,
    /// The value written, as SQL when known, else as written in the code.
    pub value: Option<String>,
    pub atomicity: Atomicity,
    /// The enclosing function, qualified (`KubernetesSync.sync_all_crds`).
    pub function: Option<String>,
    pub entry_points: Vec<EntryPoint>,
    /// The row was chosen by a key only its entry point holds (the
    /// requesting user: `get(owner=request.user)`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub own_row: bool,
}

/// Whether a write can lose a concurrent writer's update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Atomicity {
    /// A new row.
    Insert,
    /// One UPDATE statement (`QuerySet.update()`, SQL, `update_or_create`).
    SingleUpdate,
    /// `F()` expression: the database computes the new value.
    FExpression,
    /// `save(update_fields=[...])` of values that do not depend on the row loaded.
    SavedFields,
    /// Loaded with `select_for_update()`: the row is locked until commit.
    Locked,
    /// Loaded with `select_for_update()` where no transaction is open (no
    /// `transaction.atomic()` around it or its callers, not a view under
    /// `ATOMIC_REQUESTS`): nothing is locked, and Django refuses it on
    /// PostgreSQL (`TransactionManagementError`).
    LockOutsideTransaction,
    /// Loaded, changed in Python, saved: a concurrent change in between is lost.
    ReadModifyWrite,
    /// An object passed in, changed and saved, that no call site is seen
    /// to load from the database (it may be new): not judged.
    PassedIn,
}

impl Atomicity {
    pub fn describe(self) -> &'static str {
        match self {
            Atomicity::Insert => "insert",
            Atomicity::SingleUpdate => "atomic (single UPDATE)",
            Atomicity::FExpression => "atomic (F() expression)",
            Atomicity::SavedFields => "atomic (save(update_fields=...) of values not read from the row)",
            Atomicity::Locked => "atomic (row locked with select_for_update())",
            Atomicity::LockOutsideTransaction => {
                "read-modify-write (select_for_update() outside a transaction locks nothing; Django raises TransactionManagementError)"
            }
            Atomicity::ReadModifyWrite => "read-modify-write",
            Atomicity::PassedIn => "save() of an object passed in, not seen loaded (read-modify-write if it was)",
        }
    }

    /// Whether a concurrent update of the row can be lost.
    pub fn loses_updates(self) -> bool {
        matches!(self, Atomicity::ReadModifyWrite | Atomicity::LockOutsideTransaction)
    }
}

/// What starts the code that writes: a request, a worker, a scheduler.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EntryPoint {
    pub kind: EntryKind,
    /// The function (`FabricSyncView.post`) or command (`hedgehog_sync`).
    pub name: String,
    pub location: Location,
    /// More about it: `every 60 s (Celery beat entry sync-all)`, `post_save of Fabric`.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    HttpView,
    CeleryTask,
    RqJob,
    ScheduledJob,
    ManagementCommand,
    SignalHandler,
    /// A Go function registered with an HTTP router.
    HttpHandler,
    /// A Go function started with `go` from `main`.
    Goroutine,
}

impl EntryKind {
    pub fn describe(self) -> &'static str {
        match self {
            EntryKind::HttpView => "HTTP view",
            EntryKind::CeleryTask => "Celery task",
            EntryKind::RqJob => "RQ job",
            EntryKind::ScheduledJob => "scheduled job",
            EntryKind::ManagementCommand => "management command",
            EntryKind::SignalHandler => "signal handler",
            EntryKind::HttpHandler => "HTTP handler",
            EntryKind::Goroutine => "goroutine",
        }
    }
}
