use dbveto_source::Severity;

use crate::{Check, Finding, Framework, JobFunction, ProjectFacts, Related, Rule};

pub const RULE: Rule = Rule {
    id: "job-decorator-mismatch",
    summary: "A function decorated for one job framework and registered or run through another",
    docs: r#"## What it does
Finds functions that two job frameworks claim: decorated for both (a
django-rq `@job` stacked on a Celery `@shared_task`), or decorated for one
and registered or sent through the other (a Celery beat entry or
`task_routes` naming an RQ `@job`, `.apply_async()`, `.s()` or `.si()` on
an RQ job, `queue.enqueue(...)` of a Celery task); and functions called
as tasks (`.delay()`, `.apply_async()`) that no decorator makes one.
`.delay()` on a django-rq `@job` is RQ's own API (the decorator adds it)
and is not reported; a `task_routes` pattern (`"sync.*"`) only routes
Celery's own tasks and claims nothing.

## Why is this bad?
Each framework only runs what it registered. Celery beat sends a task by
name; if the function is an RQ job, no Celery worker knows the name
(`Received unregistered task`, or `NotRegistered`), and the sync never
runs. Stacked decorators give one function two meanings: which one
`.delay()` reaches depends on decorator order, and a worker of the other
system never sees it. An RQ queue given a Celery task runs it directly in
the RQ worker, bypassing Celery's routing, retries and rate limits. A
plain function has no `.delay()`: the call fails with `AttributeError`.

## Example
```python
@job("default", timeout=300)
def master_sync_scheduler(): ...

app.conf.beat_schedule = {
    "master-sync-scheduler": {"task": "app.tasks.master_sync_scheduler", "schedule": 60.0},
}
```

## Use instead
Choose one framework for the function, decorate it for that one, and
register, schedule and call it only through it (`@shared_task` with Celery
beat; `@job` with rq-scheduler).
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    for function in &facts.jobs.functions {
        check_function(function, out);
    }
}

fn decorator_name(framework: Framework) -> &'static str {
    match framework {
        Framework::Celery => "a Celery task",
        Framework::Rq => "an RQ job (`@job`)",
        Framework::Apscheduler => "an APScheduler job",
    }
}

fn check_function(function: &JobFunction, out: &mut Vec<Finding>) {
    let mut decorated: Vec<Framework> = function.decorated.iter().map(|(f, _)| *f).collect();
    decorated.sort();
    decorated.dedup();
    let finding = |location, message: String, related: Vec<Related>, help: String| Finding {
        rule: RULE.id,
        message,
        location,
        table: String::new(),
        column: None,
        constraint: None,
        value: None,
        related,
        help: Some(help),
        sqlstate: None,
        severity: Severity::Warning,
        verification: None,
    };
    if decorated.len() >= 2 {
        let names: Vec<&str> = decorated.iter().map(|f| f.name()).collect();
        let related = function
            .decorated
            .iter()
            .map(|(f, at)| Related { location: at.clone(), message: format!("{} decorator", f.name()) })
            .collect();
        out.push(finding(
            function.location.clone(),
            format!("`{}` is decorated for two job frameworks: {}", function.name, names.join(" and ")),
            related,
            "keep the decorator of the framework that runs it and remove the other".into(),
        ));
        return;
    }
    if decorated.is_empty() && !function.undecorated_dispatch.is_empty() {
        let calls: Vec<&str> = function.undecorated_dispatch.iter().map(|r| r.message.as_str()).collect();
        let mut related = function.undecorated_dispatch.clone();
        related.extend(function.used.iter().map(|u| Related { location: u.location.clone(), message: format!("{} uses it here: {}", u.framework.name(), u.how) }));
        let method = calls.first().and_then(|c| c.split('`').nth(1)).unwrap_or("`.delay()`");
        out.push(finding(
            function.location.clone(),
            format!(
                "`{}` is called as a task (`{method}`) but no decorator makes it one: a plain function has no such method (AttributeError)",
                function.name
            ),
            related,
            "decorate it for the framework that should run it (`@shared_task`, or django-rq's `@job`), or enqueue it on an RQ queue (`queue.enqueue(f)`)".into(),
        ));
        return;
    }
    let Some(&own) = decorated.first() else { return };
    let mut foreign: Vec<Framework> = function.used.iter().map(|u| u.framework).filter(|f| *f != own).collect();
    foreign.sort();
    foreign.dedup();
    for other in foreign {
        let uses: Vec<&crate::JobUse> = function.used.iter().filter(|u| u.framework == other).collect();
        let hows: Vec<&str> = uses.iter().map(|u| u.how.as_str()).collect();
        let mut related: Vec<Related> =
            uses.iter().map(|u| Related { location: u.location.clone(), message: format!("{} uses it here", other.name()) }).collect();
        related.extend(function.decorated.iter().map(|(f, at)| Related { location: at.clone(), message: format!("{} decorator", f.name()) }));
        let consequence = match (own, other) {
            // RQ needs no registration: its worker calls the task object itself.
            (Framework::Celery, Framework::Rq) => {
                "the RQ worker calls the task object directly, without Celery's queues, retries or `self.request`".to_string()
            }
            _ => format!("{} has no such job registered", other.name()),
        };
        out.push(finding(
            function.location.clone(),
            format!("`{}` is {} but {} runs it ({}): {consequence}", function.name, decorator_name(own), other.name(), hows.join(", ")),
            related,
            format!("decorate it for {} only, or register and run it through {} only", other.name(), own.name()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobFacts, JobUse};
    use dbveto_source::Location;

    fn at(line: u32) -> Location {
        Location { path: "app/tasks.py".into(), line, column: 1 }
    }

    fn run(function: JobFunction) -> Vec<Finding> {
        let facts = ProjectFacts { jobs: JobFacts { functions: vec![function], ..Default::default() }, ..Default::default() };
        let mut out = Vec::new();
        check(&facts, &mut out);
        out
    }

    fn function(decorated: Vec<Framework>, used: Vec<(Framework, &str)>) -> JobFunction {
        JobFunction {
            name: "sync".into(),
            location: at(5),
            decorated: decorated.into_iter().map(|f| (f, at(4))).collect(),
            used: used.into_iter().map(|(framework, how)| JobUse { framework, location: at(20), how: how.into() }).collect(),
            undecorated_dispatch: Vec::new(),
        }
    }

    #[test]
    fn stacked_decorators_of_two_frameworks() {
        let out = run(function(vec![Framework::Celery, Framework::Rq], vec![]));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "`sync` is decorated for two job frameworks: Celery and RQ");
    }

    #[test]
    fn rq_job_scheduled_by_celery_beat() {
        let out = run(function(vec![Framework::Rq], vec![(Framework::Celery, "Celery beat entry `sync-all`")]));
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("is an RQ job (`@job`) but Celery runs it (Celery beat entry `sync-all`)"), "{}", out[0].message);
    }

    #[test]
    fn one_framework_throughout_is_fine() {
        assert!(run(function(vec![Framework::Celery], vec![(Framework::Celery, "`.apply_async()`")])).is_empty());
        assert!(run(function(vec![Framework::Rq], vec![(Framework::Rq, "`enqueue()`")])).is_empty());
        // Not decorated at all: enqueuing a plain function is how RQ works.
        assert!(run(function(vec![], vec![(Framework::Rq, "`enqueue()`")])).is_empty());
    }

    #[test]
    fn a_celery_task_enqueued_on_rq_bypasses_celery() {
        let out = run(function(vec![Framework::Celery], vec![(Framework::Rq, "`enqueue()` on an RQ queue")]));
        assert_eq!(out.len(), 1);
        assert!(out[0].message.ends_with("the RQ worker calls the task object directly, without Celery's queues, retries or `self.request`"), "{}", out[0].message);
    }

    #[test]
    fn delay_on_a_function_without_decorators() {
        let mut bare = function(vec![], vec![(Framework::Rq, "`enqueue()` on an RQ queue")]);
        bare.undecorated_dispatch.push(Related { location: at(30), message: "`.delay()` called here".into() });
        let out = run(bare);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "`sync` is called as a task (`.delay()`) but no decorator makes it one: a plain function has no such method (AttributeError)");
        // django-rq's `@job` gives a function `.delay()`: nothing recorded, nothing found.
        assert!(run(function(vec![Framework::Rq], vec![])).is_empty());
    }
}
