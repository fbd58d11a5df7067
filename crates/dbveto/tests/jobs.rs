//! Seed 004 end to end: job systems, schedules, decorator mismatches and
//! racing writers, and `dbveto writers`; the negatives give nothing.

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
fn negatives_give_no_job_findings() {
    for dir in ["tests/fixtures/django-jobs-celery-only", "tests/fixtures/django-jobs-rq-only"] {
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
