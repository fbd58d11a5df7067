//! Running the `dbveto` binary on a fixture of this repository.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A path of the repository (`tests/fixtures/...`).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// `dbveto ARGS DIR`: the exit code and standard output. The caller's
/// virtual environment is not the fixture's.
pub fn dbveto(args: &[&str], dir: &str) -> (i32, String) {
    dbveto_at(args, &repo(dir))
}

/// [`dbveto`] on a folder anywhere.
pub fn dbveto_at(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto"))
        .args(args)
        .arg(dir)
        .env_remove("VIRTUAL_ENV")
        .output()
        .expect("run dbveto");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `severity rule path:line column value` for each finding of `dbveto
/// check`, then the diagnostics.
pub fn summary(dir: &str) -> (i32, Vec<String>) {
    let (code, out) = dbveto(&["check", "--format", "json"], dir);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mut lines: Vec<String> = v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{} {} {}:{} {} {}",
                f["severity"].as_str().unwrap_or_default(),
                f["rule"].as_str().unwrap_or_default(),
                f["location"]["path"].as_str().unwrap_or_default(),
                f["location"]["line"],
                f["column"].as_str().unwrap_or("-"),
                f["value"]
            )
        })
        .collect();
    lines.extend(v["diagnostics"].as_array().into_iter().flatten().map(|d| format!("diagnostic {}", d["message"])));
    (code, lines)
}

/// Each diagnostic of a JSON report as `severity path:line message`, sorted.
pub fn diagnostic_lines(v: &serde_json::Value) -> Vec<String> {
    let mut lines: Vec<String> = v["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| format!("{} {}:{} {}", d["severity"].as_str().unwrap_or(""), d["location"]["path"].as_str().unwrap_or(""), d["location"]["line"], d["message"].as_str().unwrap_or("")))
        .collect();
    lines.sort();
    lines
}
