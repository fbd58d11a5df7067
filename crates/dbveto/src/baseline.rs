//! Baselines: `--write-baseline FILE` records the findings a repository
//! has today, `--baseline FILE` hides them, so that a check can be adopted
//! at once and fail only on new findings. A finding is recognised by its
//! fingerprint (rule, path, table, column, constraint and the text of its
//! line, not its line number), so edits elsewhere in the file keep it
//! recognised; editing the line itself makes it new.

use std::collections::HashMap;
use std::path::Path;

use dbveto_report::{fingerprint, Sources};
use dbveto_rules::Finding;
use serde::{Deserialize, Serialize};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Baseline {
    version: u32,
    findings: Vec<Entry>,
}

/// One recorded finding; all but the fingerprint are there for people
/// reading the file in review.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    fingerprint: String,
    rule: String,
    path: String,
    table: String,
    column: Option<String>,
    constraint: Option<String>,
    message: String,
}

pub fn write(path: &Path, findings: &[Finding], sources: &Sources) -> Result<(), String> {
    let baseline = Baseline {
        version: VERSION,
        findings: findings
            .iter()
            .map(|f| Entry {
                fingerprint: fingerprint(f, sources),
                rule: f.rule.to_string(),
                path: f.location.path.to_string(),
                table: f.table.clone(),
                column: f.column.clone(),
                constraint: f.constraint.clone(),
                message: f.message.clone(),
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&baseline).map_err(|e| e.to_string())?;
    std::fs::write(path, format!("{text}\n")).map_err(|e| format!("could not write the baseline `{}`: {e}", path.display()))
}

/// The findings that the baseline at `path` does not record, and how many
/// it hid. A fingerprint recorded n times hides n findings.
pub fn filter(path: &Path, findings: Vec<Finding>, sources: &Sources) -> Result<(Vec<Finding>, usize), String> {
    let error = |message: String| format!("baseline `{}`: {message}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("could not read: {e}")))?;
    let baseline: Baseline = serde_json::from_str(&text).map_err(|e| error(format!("not a dbveto baseline: {e}")))?;
    if baseline.version != VERSION {
        return Err(error(format!("version {} is not one this dbveto reads ({VERSION})", baseline.version)));
    }
    let mut recorded: HashMap<String, usize> = HashMap::new();
    for e in baseline.findings {
        *recorded.entry(e.fingerprint).or_default() += 1;
    }
    let before = findings.len();
    let kept: Vec<Finding> = findings
        .into_iter()
        .filter(|f| match recorded.get_mut(&fingerprint(f, sources)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect();
    let hidden = before - kept.len();
    Ok((kept, hidden))
}
