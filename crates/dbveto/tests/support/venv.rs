//! Python virtual environments for tests that need a Python package
//! (a JSON-schema validator, maturin): pinned requirements from the
//! package registry, kept under Cargo's target directory and rebuilt when
//! missing or broken. `DBVETO_PYTHON` chooses the interpreter (default
//! `python3`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn python() -> String {
    std::env::var("DBVETO_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

pub fn bin(venv: &Path, name: &str) -> PathBuf {
    venv.join("bin").join(name)
}

/// The venv imports what `probe` (Python code) checks.
fn healthy(venv: &Path, probe: &str) -> bool {
    Command::new(bin(venv, "python")).args(["-c", probe]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Creates a virtual environment at `at` (with pip), panicking with what to install when it cannot.
pub fn create(at: &Path) {
    let python = python();
    let out = Command::new(&python)
        .args(["-m", "venv"])
        .arg(at)
        .output()
        .unwrap_or_else(|e| panic!("could not run {python} to create a virtual environment: {e} (set DBVETO_PYTHON to a Python 3 interpreter)"));
    assert!(
        out.status.success(),
        "`{python} -m venv` failed (on Debian, install python3-venv): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A virtual environment named `name` with `requirements` (exact pins,
/// binary wheels only), reused across runs while `probe` succeeds in it.
pub fn cached(name: &str, requirements: &[&str], probe: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let key = format!("{name}-{}", requirements.join("-").replace("==", "-").to_lowercase());
    let venv = root.join(&key);
    if healthy(&venv, probe) {
        return venv;
    }
    // Built beside the final place and renamed into it, so that a run that
    // is interrupted, or one running at the same time, never sees half a venv.
    let building = root.join(format!("{key}.building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&root).expect("target tmp dir");
    create(&building);
    let out = Command::new(bin(&building, "python"))
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--only-binary=:all:"])
        .args(requirements)
        .output()
        .expect("run pip");
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&building);
        panic!(
            "pip could not install {} from the package registry (is it reachable?):\n{}{}",
            requirements.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&venv);
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(healthy(&venv, probe), "the virtual environment at {} does not pass `{probe}`", venv.display());
    venv
}
