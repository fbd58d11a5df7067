//! Seed 004 end to end, in Django and in Go: job systems, schedules,
//! decorator mismatches and racing writers, and `dbveto writers`; the
//! negatives give nothing.

mod support;

use support::cli::dbveto;

const JOB_RULES: &str = "competing-job-systems,duplicate-schedule,job-decorator-mismatch,racing-writers";

#[test]
fn seed_004_check() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/django-seed004");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_004_writers_of_sync_status() {
    let (code, out) = dbveto(&["writers", "netbox_hedgehog_fabric.sync_status"], "tests/fixtures/django-seed004");
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_004_writers_by_model_name_as_json() {
    let (code, out) = dbveto(&["writers", "Fabric.sync_error", "--format", "json"], "tests/fixtures/django-seed004");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    insta::assert_json_snapshot!(v);
}

#[test]
fn writers_of_an_unknown_column() {
    let (code, out) = dbveto(&["writers", "nowhere.nothing"], "tests/fixtures/django-seed004");
    assert_eq!((code, out.as_str()), (0, "no write of `nowhere.nothing` found\n"));
}

#[test]
fn a_schedule_that_only_dispatches_is_followed_to_its_tasks() {
    // Seed 004's shape: beat's master sends one task per row and writes
    // nothing; a second scheduler runs the same sync at the same interval.
    let (code, out) = dbveto(&["check", "--format", "json", "--select", "duplicate-schedule,racing-writers"], "tests/fixtures/django-jobs-dispatch");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let messages: Vec<&str> = v["findings"].as_array().into_iter().flatten().filter_map(|f| f["message"].as_str()).collect();
    assert_eq!(
        messages,
        ["Celery beat `sync-all-switches` (every 60 s) and rq-scheduler `resync_switches` (every 60 s) both write `fleet_switch.sync_status`: two schedulers run the same work"]
    );
    assert_eq!(code, 1);
}

#[test]
fn negatives_give_no_job_findings() {
    for dir in [
        "tests/fixtures/django-jobs-celery-only",
        "tests/fixtures/django-jobs-rq-only",
        "tests/fixtures/django-jobs-transactions-ok",
        "tests/fixtures/go-fabric-sync-one-scheduler",
    ] {
        let (code, out) = dbveto(&["check", "--format", "json", "--select", JOB_RULES], dir);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["findings"], serde_json::json!([]), "{dir}");
        assert_eq!(code, 0, "{dir}");
    }
}

#[test]
fn negatives_still_see_their_writers() {
    // The negatives are negative for the right reason: the writes are seen
    // and judged atomic, not missed.
    let (_, out) = dbveto(&["writers", "fleet_device.last_seen", "--format", "json"], "tests/fixtures/django-jobs-celery-only");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let kinds: Vec<&str> =
        v["columns"][0]["sites"].as_array().into_iter().flatten().filter_map(|s| s["atomicity"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k != "insert").collect::<Vec<_>>(), [&"locked", &"locked"]);
    let (_, out) = dbveto(&["writers", "fleet_device.notes", "--format", "json"], "tests/fixtures/django-jobs-celery-only");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let site = &v["columns"][0]["sites"][0];
    assert_eq!(site["atomicity"], "read-modify-write");
    assert_eq!(site["entry_points"].as_array().map(Vec::len), Some(1));
}

#[test]
fn go_ticker_and_cron_running_one_sync() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/go-fabric-sync");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn go_master_loop_dispatching_goroutines_and_cron_running_one_sync() {
    // Seed 004's shape in Go: a loop that sleeps starts one goroutine per
    // fabric; a cron entry does the same. A loop that retries is no schedule.
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/go-fabric-dispatch");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn go_writers_of_sync_status() {
    let (code, out) = dbveto(&["writers", "fabric.sync_status"], "tests/fixtures/go-fabric-sync");
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn go_negative_still_sees_its_writers_and_entry_points() {
    let (_, out) = dbveto(&["writers", "fabric.sync_status", "--format", "json"], "tests/fixtures/go-fabric-sync-one-scheduler");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let sites = v["columns"][0]["sites"].as_array().cloned().unwrap_or_default();
    assert_eq!(sites.len(), 4);
    assert!(sites.iter().all(|s| s["atomicity"] == "single-update"));
    let mut kinds: Vec<String> = sites
        .iter()
        .flat_map(|s| s["entry_points"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["goroutine", "http-handler", "scheduled-job"]);
}

#[test]
fn lock_outside_a_transaction_and_delay_on_a_plain_function() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/django-jobs-transactions");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn locks_inside_transactions_are_atomic() {
    let atomicity = |dir: &str| -> Vec<String> {
        let (_, out) = dbveto(&["writers", "Fabric.sync_status", "--format", "json"], dir);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["columns"][0]["sites"].as_array().into_iter().flatten().filter_map(|s| s["atomicity"].as_str().map(str::to_string)).collect()
    };
    assert_eq!(atomicity("tests/fixtures/django-jobs-transactions"), ["lock-outside-transaction", "single-update"]);
    assert_eq!(atomicity("tests/fixtures/django-jobs-transactions-ok"), ["locked", "locked", "single-update"]);
}
