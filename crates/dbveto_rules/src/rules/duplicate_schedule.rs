use dbveto_source::Severity;

use crate::{Check, Finding, ProjectFacts, Related, Rule, ScheduledJob};

pub const RULE: Rule = Rule {
    id: "duplicate-schedule",
    summary: "The same job, or two jobs that write the same columns, run periodically by more than one schedule",
    docs: r#"## What it does
Reads every periodic schedule of the repository (Celery beat
`beat_schedule` / `CELERY_BEAT_SCHEDULE` / `add_periodic_task`,
rq-scheduler `schedule(interval=...)` and `cron(...)`, APScheduler
`add_job` and `@scheduled_job`; in Go, robfig/cron `AddFunc` / `AddJob`,
gocron `Every(...).Do(f)` and `NewJob`, loops over a `time.Ticker` or
`time.Tick`, and `for { ...; time.Sleep(d) }` loops that only a `select`
leaves) and finds a job scheduled by more than one entry with the same
arguments, or two jobs of different schedulers that write the same
columns (through any chain of calls, and through the tasks a job sends:
`.delay()`, `.apply_async()`, `.s()`/`.si()`, `send_task("name")`,
`enqueue(f)`; in Go the goroutines it starts).

## Why is this bad?
Two timers firing the same work run it twice per period, at times that
drift against each other; when both write the same rows they race, and
the last one to finish decides the state. Stopping "the" scheduler then
stops only half of it.

## Example
```python
# Celery beat, every 60 s
app.conf.beat_schedule = {"master-sync": {"task": "app.tasks.master_sync", "schedule": 60.0}}

# rq-scheduler, every 60 s, writing the same fabric.sync_status
scheduler.schedule(scheduled_time=now, func=FabricSyncJob.execute_fabric_sync, interval=60)
```

In Go, the same mistake:

```go
// The syncer's own loop, started with `go syncer.Loop(ctx)`.
func (s *Syncer) Loop(ctx context.Context) {
    t := time.NewTicker(60 * time.Second)
    for range t.C {
        s.SyncAll(ctx)
    }
}

// A cron entry added later for the same sync.
c.AddFunc("@every 1m", func() { syncer.SyncAll(ctx) })
```

## Use instead
Keep one schedule for the work, in one scheduler, and remove the other.
"#,
    check: Check::Project(check),
};

fn described(s: &ScheduledJob) -> String {
    format!("{} `{}` ({})", s.scheduler, s.entry, s.interval)
}

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    let schedules: Vec<&ScheduledJob> = facts.jobs.schedules.iter().filter(|s| s.function.is_some()).collect();
    let mut reported: Vec<(usize, usize)> = Vec::new();
    // The same function, scheduled twice with the same arguments.
    for (i, a) in schedules.iter().enumerate() {
        let twins: Vec<usize> = (i + 1..schedules.len())
            .filter(|&j| schedules[j].function == a.function && schedules[j].args == a.args)
            .collect();
        if twins.is_empty() || reported.iter().any(|(_, j)| *j == i) {
            continue;
        }
        let mut related = Vec::new();
        for &j in &twins {
            reported.push((i, j));
            related.push(Related { location: schedules[j].location.clone(), message: format!("also scheduled here: {}", described(schedules[j])) });
        }
        let all: Vec<String> = std::iter::once(i).chain(twins.iter().copied()).map(|k| described(schedules[k])).collect();
        out.push(finding(
            a,
            format!("`{}` is scheduled {} times: {}", a.function.as_deref().unwrap_or_default(), all.len(), all.join(", ")),
            related,
            None,
        ));
    }
    // Different jobs of different schedulers writing the same columns.
    for (i, a) in schedules.iter().enumerate() {
        for (j, b) in schedules.iter().enumerate().skip(i + 1) {
            if a.function == b.function || a.scheduler == b.scheduler {
                continue;
            }
            let shared: Vec<&String> = a.columns.iter().filter(|c| b.columns.contains(c)).collect();
            if shared.is_empty() || reported.contains(&(i, j)) {
                continue;
            }
            let names: Vec<String> = shared.iter().map(|c| format!("`{c}`")).collect();
            out.push(finding(
                a,
                format!(
                    "{} and {} both write {}: two schedulers run the same work",
                    described(a),
                    described(b),
                    names.join(", ")
                ),
                vec![Related { location: b.location.clone(), message: format!("{} runs `{}` here", b.scheduler, b.function.as_deref().unwrap_or_default()) }],
                shared.first().map(|c| c.to_string()),
            ));
        }
    }
}

fn finding(a: &ScheduledJob, message: String, related: Vec<Related>, column: Option<String>) -> Finding {
    let (table, column) = match column.as_deref().and_then(|c| c.rsplit_once('.')) {
        Some((t, c)) => (t.to_string(), Some(c.to_string())),
        None => (String::new(), None),
    };
    Finding {
        rule: RULE.id,
        message,
        location: a.location.clone(),
        table,
        column,
        constraint: None,
        value: None,
        related,
        help: Some("keep one schedule for this work, in one scheduler, and remove the others".into()),
        sqlstate: None,
        severity: Severity::Warning,
        verification: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobFacts;
    use dbveto_source::Location;

    fn entry(scheduler: &'static str, function: &str, line: u32, columns: &[&str]) -> ScheduledJob {
        ScheduledJob {
            scheduler,
            entry: format!("entry-{line}"),
            function: Some(function.into()),
            every: Some(60),
            interval: "every 60 s".into(),
            args: None,
            location: Location { path: "app/celery.py".into(), line, column: 1 },
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn run(schedules: Vec<ScheduledJob>) -> Vec<Finding> {
        let facts = ProjectFacts { jobs: JobFacts { schedules, ..Default::default() }, ..Default::default() };
        let mut out = Vec::new();
        check(&facts, &mut out);
        out
    }

    #[test]
    fn same_job_twice() {
        let out = run(vec![entry("Celery beat", "sync", 3, &[]), entry("Celery beat", "sync", 9, &[])]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "`sync` is scheduled 2 times: Celery beat `entry-3` (every 60 s), Celery beat `entry-9` (every 60 s)");
    }

    #[test]
    fn two_schedulers_writing_one_column() {
        let out = run(vec![
            entry("Celery beat", "master_sync", 3, &["fabric.sync_status"]),
            entry("rq-scheduler", "execute_fabric_sync", 9, &["fabric.sync_status", "fabric.last_sync"]),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].column.as_deref(), Some("sync_status"));
    }

    #[test]
    fn distinct_work_is_fine() {
        let mut other_args = entry("Celery beat", "sync", 9, &[]);
        other_args.args = Some("['eu']".into());
        assert!(run(vec![entry("Celery beat", "sync", 3, &[]), other_args]).is_empty());
        // One scheduler, two jobs touching one column: ordinary design.
        assert!(run(vec![entry("Celery beat", "a", 3, &["t.c"]), entry("Celery beat", "b", 9, &["t.c"])]).is_empty());
        assert!(run(vec![entry("Celery beat", "a", 3, &["t.c"]), entry("rq-scheduler", "b", 9, &["t.d"])]).is_empty());
    }
}
