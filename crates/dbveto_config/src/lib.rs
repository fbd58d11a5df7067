//! The configuration, read from the checked root: `.dbveto.toml`, else
//! `dbveto.toml`, else the `[tool.dbveto]` table of `pyproject.toml` (a
//! `pyproject.toml` without it is not a configuration). The first found
//! is the only one read.
//!
//! Invariant: a configuration that says something dbveto does not
//! understand (an unknown key, rule, tool or dialect, an invalid glob) is
//! an error naming the file, never ignored.

use std::path::{Path, PathBuf};

use dbveto_discover::{DeclaredSet, MigrationTool, Options, PathFilter};
use serde::Deserialize;

/// The files looked for, in order.
pub const FILE_NAMES: &[&str] = &[".dbveto.toml", "dbveto.toml", "pyproject.toml"];

/// The one SQL dialect dbveto understands today.
pub const DIALECTS: &[&str] = &["postgresql"];

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Globs of the paths to read (all when empty).
    pub include: Vec<String>,
    /// Globs of the paths never to read.
    pub exclude: Vec<String>,
    /// The rules to run (all when empty).
    pub select: Vec<String>,
    /// Rules not to run.
    pub ignore: Vec<String>,
    pub dialect: Option<String>,
    /// Migration folders declared by hand.
    pub migrations: Vec<DeclaredMigrations>,
    /// The project's Python virtual environment (or its `site-packages`),
    /// where model bases from libraries are read.
    pub python_environment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredMigrations {
    /// The folder, relative to the root.
    pub path: String,
    /// `golang-migrate`, `goose`, `dbmate`, `flyway`, `numbered` or `schema-dump`.
    pub tool: String,
    /// Sets naming the same database are one database.
    pub database: Option<String>,
}

/// `pyproject.toml`: only `[tool.dbveto]` is dbveto's; the rest is not read.
#[derive(Deserialize)]
struct Pyproject {
    tool: Option<Tools>,
}

#[derive(Deserialize)]
struct Tools {
    dbveto: Option<Config>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// A configuration and the file it came from.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub config: Config,
}

/// The configuration of the repository at `root`, if it has one.
pub fn find(root: &Path) -> Result<Option<Loaded>, ConfigError> {
    for name in FILE_NAMES {
        let path = root.join(name);
        if path.is_file() {
            if let Some(config) = read(&path)? {
                return Ok(Some(Loaded { path, config }));
            }
        }
    }
    Ok(None)
}

/// Reads one file (`--config`); `None` for a `pyproject.toml` without
/// `[tool.dbveto]`.
pub fn read(path: &Path) -> Result<Option<Config>, ConfigError> {
    let error = |message: String| ConfigError { path: path.display().to_string(), message };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("could not read: {e}")))?;
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let config = if is_pyproject {
        toml::from_str::<Pyproject>(&text).map_err(|e| error(e.to_string().trim_end().to_string()))?.tool.and_then(|t| t.dbveto)
    } else {
        Some(toml::from_str::<Config>(&text).map_err(|e| error(e.to_string().trim_end().to_string()))?)
    };
    match config {
        Some(c) => c.validate().map(|()| Some(c)).map_err(error),
        None => Ok(None),
    }
}

impl Config {
    fn validate(&self) -> Result<(), String> {
        for id in self.select.iter().chain(&self.ignore) {
            if dbveto_rules::by_id(id).is_none() {
                return Err(format!("unknown rule `{id}`; `dbveto rules` lists them"));
            }
        }
        if let Some(d) = &self.dialect {
            if !DIALECTS.contains(&d.as_str()) {
                return Err(format!("dialect `{d}` is not supported; dbveto supports only `postgresql`"));
            }
        }
        for m in &self.migrations {
            if MigrationTool::from_name(&m.tool).is_none() {
                let tools: Vec<&str> = MigrationTool::declarable().iter().map(|t| t.name()).collect();
                return Err(format!("unknown migration tool `{}` for `{}`; one of: {}", m.tool, m.path, tools.join(", ")));
            }
        }
        PathFilter::new(&self.include, &self.exclude)?;
        Ok(())
    }

    /// What the configuration changes about discovery. The folders are
    /// normalised to relative paths with `/` separators.
    pub fn discover_options(&self) -> Options {
        let declared = self
            .migrations
            .iter()
            .filter_map(|m| {
                Some(DeclaredSet { dir: normalize_dir(&m.path), tool: MigrationTool::from_name(&m.tool)?, database: m.database.clone() })
            })
            .collect();
        // Validated when read.
        let filter = PathFilter::new(&self.include, &self.exclude).unwrap_or_default();
        Options { filter, declared, python_environment: self.python_environment.as_ref().map(std::path::PathBuf::from) }
    }
}

fn normalize_dir(path: &str) -> String {
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() { ".".to_string() } else { parts.join("/") }
}

/// Which rules run: ruff's layering. The configuration's `select`
/// replaces the full set when given, and its `ignore` removes from it;
/// then the command line does the same on top: `--select` replaces
/// (configuration's `ignore` included), `--extend-select` adds,
/// `--ignore` removes.
pub fn selected_rules<'a>(config: &Config, select: &'a [String], extend_select: &'a [String], ignore: &'a [String]) -> Result<Vec<&'static dbveto_rules::Rule>, String> {
    for id in select.iter().chain(extend_select).chain(ignore) {
        if dbveto_rules::by_id(id).is_none() {
            return Err(format!("unknown rule `{id}`; `dbveto rules` lists them"));
        }
    }
    let all = dbveto_rules::all();
    let mut enabled: Vec<&str> = all.iter().map(|r| r.id).collect();
    let layers = [(&config.select[..], &[][..], &config.ignore[..]), (select, extend_select, ignore)];
    for (select, extend, ignore) in layers {
        if !select.is_empty() {
            enabled = select.iter().map(String::as_str).collect();
        }
        enabled.extend(extend.iter().map(String::as_str));
        enabled.retain(|id| !ignore.iter().any(|i| i == id));
    }
    Ok(all.iter().filter(|r| enabled.contains(&r.id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// A scratch directory, removed when the test ends.
    struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn temp_dir(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("dbveto-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn ids(rules: Vec<&dbveto_rules::Rule>) -> Vec<&str> {
        rules.iter().map(|r| r.id).collect()
    }

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_key_is_read() {
        let dir = temp_dir("keys");
        write(
            &dir,
            "dbveto.toml",
            r#"
include = ["services"]
exclude = ["legacy"]
select = ["check-value-rejected"]
ignore = ["model-drift"]
dialect = "postgresql"

[[migrations]]
path = "./db/migrations/"
tool = "golang-migrate"
database = "billing"
"#,
        );
        let loaded = find(&dir).expect("valid").expect("found");
        assert!(loaded.path.ends_with("dbveto.toml"));
        let options = loaded.config.discover_options();
        assert_eq!(options.declared, [DeclaredSet { dir: "db/migrations".into(), tool: MigrationTool::GolangMigrate, database: Some("billing".into()) }]);
        assert!(!options.filter.accepts_file("services/legacy/a.py"));
        assert!(options.filter.accepts_file("services/a.py"));
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key_and_the_file() {
        let dir = temp_dir("unknown");
        write(&dir, ".dbveto.toml", "exclude = []\nexlude = [\"x\"]\n");
        let err = find(&dir).expect_err("unknown key").to_string();
        assert!(err.contains(".dbveto.toml") && err.contains("unknown field `exlude`") && err.contains("line 2"), "{err}");
        let dir = temp_dir("unknown-migrations");
        write(&dir, "dbveto.toml", "[[migrations]]\npath = \"db\"\ntool = \"goose\"\ndb = \"x\"\n");
        let err = find(&dir).expect_err("unknown key").to_string();
        assert!(err.contains("unknown field `db`"), "{err}");
    }

    #[test]
    fn values_dbveto_does_not_know_are_errors() {
        let dir = temp_dir("values");
        let cases = [
            ("dialect = \"mysql\"", "dialect `mysql` is not supported"),
            ("select = [\"no-such-rule\"]", "unknown rule `no-such-rule`"),
            ("[[migrations]]\npath = \"db\"\ntool = \"django\"", "unknown migration tool `django`"),
            ("exclude = [\"a/[b\"]", "invalid glob `a/[b`"),
            ("include = \"services\"", "invalid type"),
        ];
        for (text, expected) in cases {
            write(&dir, "dbveto.toml", text);
            let err = find(&dir).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn pyproject_is_read_only_for_its_tool_dbveto_table() {
        let dir = temp_dir("pyproject");
        write(&dir, "pyproject.toml", "[project]\nname = \"x\"\n[tool.ruff]\nline-length = 100\n");
        assert!(find(&dir).expect("valid").is_none());
        write(&dir, "pyproject.toml", "[project]\nname = \"x\"\n[tool.maturin]\nbindings = \"bin\"\n[tool.dbveto]\nexclude = [\"tests\"]\n");
        assert_eq!(find(&dir).expect("valid").expect("found").config.exclude, ["tests"]);
        write(&dir, "pyproject.toml", "[tool.dbveto]\nexclud = []\n");
        let err = find(&dir).expect_err("unknown key").to_string();
        assert!(err.contains("pyproject.toml") && err.contains("unknown field `exclud`"), "{err}");
        // A dedicated file wins over pyproject.toml.
        write(&dir, "dbveto.toml", "exclude = [\"other\"]\n");
        assert_eq!(find(&dir).expect("valid").expect("found").config.exclude, ["other"]);
    }

    #[test]
    fn command_line_selection_layers_over_the_configuration() {
        let config = Config { select: strings(&["check-value-rejected", "value-too-long"]), ignore: strings(&["value-too-long"]), ..Config::default() };
        assert_eq!(ids(selected_rules(&config, &[], &[], &[]).expect("ok")), ["check-value-rejected"]);
        let extended = selected_rules(&config, &[], &strings(&["not-null-omitted"]), &[]).expect("ok");
        assert_eq!(ids(extended), ["not-null-omitted", "check-value-rejected"]);
        // `--select` replaces the configuration's choice, its ignore included.
        assert_eq!(ids(selected_rules(&config, &strings(&["value-too-long"]), &[], &[]).expect("ok")), ["value-too-long"]);
        let ignored = selected_rules(&Config::default(), &[], &[], &strings(&["model-drift"])).expect("ok");
        assert!(!ids(ignored).contains(&"model-drift"));
        assert!(selected_rules(&config, &strings(&["nope"]), &[], &[]).is_err());
    }
}
