use dbveto_source::Severity;

use crate::{Check, Finding, JobSystem, ProjectFacts, Related, Rule};

pub const RULE: Rule = Rule {
    id: "competing-job-systems",
    summary: "Two job frameworks configured and used in one codebase for overlapping work",
    docs: r#"## What it does
Finds a repository that runs jobs through two frameworks (Celery, RQ,
APScheduler) whose jobs write the same tables, or that claim the same
function. It names both, with where each is configured and used.

## Why is this bad?
Each framework needs its own workers, broker queues and scheduler, and
each runs its jobs without knowing the other's. When both do the same
work, a job is queued to workers that may not be running, the same rows
are written by two systems at once, and turning one off leaves half the
work running. Incidents look like hangs ("sync jobs stuck for 2 minutes")
and inconsistent state.

## Example
`app/celery.py` creates a Celery app with a beat schedule and
`app/jobs/fabric_sync.py` schedules the same fabric sync with
rq-scheduler; both write `fabric.sync_status`.

## Use instead
Choose one framework for the work, move its jobs there, and remove the
other's configuration and workers.
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    let systems: Vec<&JobSystem> = facts.jobs.systems.iter().filter(|s| !s.jobs.is_empty()).collect();
    for (i, a) in systems.iter().enumerate() {
        for b in systems.iter().skip(i + 1) {
            let tables: Vec<&String> = a.tables.iter().filter(|t| b.tables.contains(t)).collect();
            let shared_jobs: Vec<&Related> = a.jobs.iter().filter(|j| b.jobs.iter().any(|k| k.location == j.location)).collect();
            if tables.is_empty() && shared_jobs.is_empty() {
                continue;
            }
            let overlap = if tables.is_empty() {
                let names: Vec<&str> = shared_jobs.iter().map(|j| j.message.as_str()).collect();
                format!("both claim {}", names.join(", "))
            } else {
                let names: Vec<String> = tables.iter().map(|t| format!("`{t}`")).collect();
                format!("jobs of both write {}", names.join(", "))
            };
            let mut related = Vec::new();
            for system in [a, b] {
                for c in &system.config {
                    related.push(Related { location: c.location.clone(), message: format!("{}: {}", system.framework.name(), c.message) });
                }
                for j in system.jobs.iter().take(5) {
                    related.push(Related { location: j.location.clone(), message: format!("{} job {}", system.framework.name(), j.message) });
                }
            }
            let location = a.config.first().or(a.jobs.first()).map(|r| r.location.clone());
            let Some(location) = location else { continue };
            related.retain(|r| r.location != location);
            out.push(Finding {
                rule: RULE.id,
                message: format!(
                    "two job systems do overlapping work: {} ({} job{}) and {} ({} job{}); {overlap}",
                    a.framework.name(),
                    a.jobs.len(),
                    if a.jobs.len() == 1 { "" } else { "s" },
                    b.framework.name(),
                    b.jobs.len(),
                    if b.jobs.len() == 1 { "" } else { "s" },
                ),
                location,
                table: tables.first().map(|t| t.to_string()).unwrap_or_default(),
                column: None,
                constraint: None,
                value: None,
                related,
                help: Some(format!(
                    "choose one of {} and {} for this work, move its jobs there and remove the other's configuration",
                    a.framework.name(),
                    b.framework.name()
                )),
                sqlstate: None,
                severity: Severity::Warning,
                verification: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Framework, JobFacts};
    use dbveto_source::Location;

    fn system(framework: Framework, line: u32, tables: &[&str]) -> JobSystem {
        let at = Location { path: "app/jobs.py".into(), line, column: 1 };
        JobSystem {
            framework,
            config: vec![Related { location: at.clone(), message: "configured here".into() }],
            jobs: vec![Related { location: Location { line: line + 1, ..at }, message: "`sync`".into() }],
            tables: tables.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn run(systems: Vec<JobSystem>) -> Vec<Finding> {
        let facts = ProjectFacts { jobs: JobFacts { systems, ..Default::default() }, ..Default::default() };
        let mut out = Vec::new();
        check(&facts, &mut out);
        out
    }

    #[test]
    fn celery_and_rq_writing_one_table() {
        let out = run(vec![system(Framework::Celery, 1, &["fabric"]), system(Framework::Rq, 10, &["fabric", "vpc"])]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "two job systems do overlapping work: Celery (1 job) and RQ (1 job); jobs of both write `fabric`");
    }

    #[test]
    fn separate_work_or_one_system_is_fine() {
        assert!(run(vec![system(Framework::Celery, 1, &["fabric"]), system(Framework::Rq, 10, &["report"])]).is_empty());
        assert!(run(vec![system(Framework::Celery, 1, &["fabric"])]).is_empty());
        let mut configured_only = system(Framework::Rq, 10, &[]);
        configured_only.jobs.clear();
        assert!(run(vec![system(Framework::Celery, 1, &["fabric"]), configured_only]).is_empty());
    }
}
