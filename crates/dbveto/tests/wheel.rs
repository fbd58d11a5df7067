//! `pip install .` installs the `dbveto` command, as it does ruff: the
//! root `pyproject.toml` builds a wheel with maturin (pinned, from the
//! package registry), which a fresh virtual environment installs; the
//! installed command then checks the example.
//!
//! The wheel is built with Cargo's dev profile (`MATURIN_PEP517_ARGS`) in
//! this test run's target directory, so that it reuses what `cargo test`
//! compiled instead of building everything again in release mode.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const MATURIN: &[&str] = &["maturin==1.16.0"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn pip_installs_the_dbveto_command() {
    let build_venv = support::venv::cached("maturin-venv", MATURIN, "import maturin");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let target_dir = tmp.parent().expect("target dir").to_path_buf();
    let work = tmp.join(format!("wheel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let wheels = work.join("wheels");
    std::fs::create_dir_all(&wheels).expect("work dir");

    let path = format!("{}:{}", build_venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let (ok, log) = output(
        Command::new(support::venv::bin(&build_venv, "python"))
            .args(["-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--disable-pip-version-check", "--wheel-dir"])
            .arg(&wheels)
            .arg(repo_root())
            .env("MATURIN_PEP517_ARGS", "--profile dev")
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("PATH", path),
    );
    assert!(ok, "building the wheel failed:\n{log}");
    let wheel = std::fs::read_dir(&wheels)
        .expect("wheels")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .unwrap_or_else(|| panic!("no wheel built:\n{log}"));
    assert!(wheel.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("dbveto-{}-", env!("CARGO_PKG_VERSION")))), "{}", wheel.display());

    let fresh = work.join("venv");
    support::venv::create(&fresh);
    let (ok, log) = output(Command::new(support::venv::bin(&fresh, "python")).args(["-m", "pip", "install", "--no-index", "--no-deps", "--disable-pip-version-check"]).arg(&wheel));
    assert!(ok, "installing the wheel failed:\n{log}");

    let dbveto = support::venv::bin(&fresh, "dbveto");
    let (ok, version) = output(Command::new(&dbveto).arg("--version"));
    assert!(ok && version.trim() == format!("dbveto {}", env!("CARGO_PKG_VERSION")), "{version}");
    let out = Command::new(&dbveto).args(["check", "--color", "never"]).arg(repo_root().join("examples/timeout-service")).output().expect("run installed dbveto");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[check-value-rejected]: 'timed_out' written to `update_logs.result`"));
    let _ = std::fs::remove_dir_all(&work);
}
