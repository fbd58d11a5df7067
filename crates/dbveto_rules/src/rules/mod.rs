//! One rule per file.

pub mod add_not_null_without_default;
pub mod check_value_rejected;
pub mod competing_job_systems;
pub mod duplicate_schedule;
pub mod fk_insert_order;
pub mod identifier_too_long;
pub mod job_decorator_mismatch;
pub mod missing_rollback;
pub mod model_drift;
pub mod not_null_omitted;
pub mod racing_writers;
pub mod value_too_long;

use dbveto_schema::Provenance;
use dbveto_writes::{KnownValue, Write};

use crate::{Related, Rule};

pub static ALL: &[Rule] = &[
    not_null_omitted::RULE,
    check_value_rejected::RULE,
    value_too_long::RULE,
    identifier_too_long::RULE,
    add_not_null_without_default::RULE,
    model_drift::RULE,
    fk_insert_order::RULE,
    missing_rollback::RULE,
    competing_job_systems::RULE,
    duplicate_schedule::RULE,
    job_decorator_mismatch::RULE,
    racing_writers::RULE,
];

/// Where a known value is written (its origin, else the statement), and
/// the other places a reader needs: the statement and the call that runs it.
fn value_site(write: &Write, value: &KnownValue) -> (dbveto_source::Location, Vec<Related>) {
    let mut related = Vec::new();
    let primary = value.origin.clone().unwrap_or_else(|| write.location.clone());
    let same_line = |a: &dbveto_source::Location, b: &dbveto_source::Location| a.path == b.path && a.line == b.line;
    if !same_line(&primary, &write.location) {
        related.push(Related { location: write.location.clone(), message: format!("sent by `{}`", write.statement) });
    }
    if let Some(call) = &write.call {
        if !same_line(call, &primary) && !same_line(call, &write.location) {
            related.push(Related { location: call.clone(), message: "run here".into() });
        }
    }
    (primary, related)
}

fn schema_related(p: &Provenance, what: String) -> Related {
    Related { location: p.location.clone(), message: what }
}
