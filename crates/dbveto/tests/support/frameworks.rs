//! The pinned frameworks tests run for real: Django, and SQLAlchemy with
//! Alembic, each in a virtual environment from `venv::cached`; and
//! `manage.py` of a Django project against a test server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::postgres::Postgres;

pub const DJANGO_VERSION: &str = "5.2.19";

/// Exact pins, Django's own dependencies included, so every run migrates
/// with the same code.
pub const DJANGO_REQUIREMENTS: &[&str] = &["Django==5.2.19", "asgiref==3.13.0", "sqlparse==0.6.1", "psycopg2-binary==2.9.13"];

pub const SQLALCHEMY_VERSION: &str = "2.0.44";

/// Exact pins, dependencies included.
pub const SQLALCHEMY_REQUIREMENTS: &[&str] = &[
    "SQLAlchemy==2.0.44",
    "alembic==1.17.2",
    "Mako==1.4.3",
    "MarkupSafe==3.0.4",
    "greenlet==3.5.6",
    "typing_extensions==4.16.0",
    "psycopg2-binary==2.9.13",
];

/// A virtual environment with the pinned Django and psycopg2, reused across runs.
pub fn django_venv() -> PathBuf {
    let probe = format!("import sys, django, psycopg2; sys.exit(0 if django.get_version() == '{DJANGO_VERSION}' else 1)");
    super::venv::cached("django-venv", DJANGO_REQUIREMENTS, &probe)
}

/// A Django project's `manage.py`, run by `python` against `database` of `pg`.
pub struct Project<'a> {
    pub python: &'a Path,
    pub dir: &'a Path,
    pub pg: &'a Postgres,
    pub database: String,
}

impl Project<'_> {
    /// `python manage.py ARGS` against this project's database; `Err`
    /// carries the output's last lines.
    pub fn manage(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.python)
            .arg("manage.py")
            .args(args)
            .current_dir(self.dir)
            .env("DBVETO_PG_HOST", self.pg.socket_dir())
            .env("DBVETO_PG_PORT", self.pg.port().to_string())
            .env("DBVETO_PG_DB", &self.database)
            .env("DBVETO_PG_USER", self.pg.user())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run manage.py: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).to_string())
        } else {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let lines: Vec<&str> = text.lines().collect();
            Err(lines[lines.len().saturating_sub(12)..].join("\n"))
        }
    }

    /// Applies every migration. System checks are skipped: a fixture may
    /// carry a model that fails them on purpose (django-seed001's index
    /// name, models.E034), and the database is what is compared here.
    pub fn migrate(&self) -> Result<(), String> {
        self.manage(&["migrate", "--noinput", "--skip-checks"]).map(|_| ())
    }

    /// Applies the migrations one at a time in plan order, writing each
    /// one's `sqlmigrate` output, taken just before it runs (Django
    /// introspects the database for some names), to `out/<app>_<name>.sql`.
    pub fn migrate_recording(&self, out: &Path) -> Result<(), String> {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let plan = self.manage(&["migrate", "--plan", "--skip-checks"])?;
        for line in plan.lines() {
            // "app.migration_name" at the start of a line; operations are indented.
            let Some((app, name)) = line.trim_end().split_once('.') else { continue };
            let is_label = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if line.starts_with(char::is_whitespace) || !is_label(app) || !is_label(name) {
                continue;
            }
            let sql = self.manage(&["sqlmigrate", "--skip-checks", app, name])?;
            std::fs::write(out.join(format!("{app}_{name}.sql")), sql).map_err(|e| e.to_string())?;
            self.manage(&["migrate", "--noinput", "--skip-checks", app, name])?;
        }
        Ok(())
    }
}

/// A virtual environment with the pinned SQLAlchemy, Alembic and psycopg2, reused across runs.
pub fn sqlalchemy_venv() -> PathBuf {
    let probe = format!("import sys, sqlalchemy, alembic, psycopg2; sys.exit(0 if sqlalchemy.__version__ == '{SQLALCHEMY_VERSION}' else 1)");
    super::venv::cached("sqlalchemy-venv", SQLALCHEMY_REQUIREMENTS, &probe)
}


/// The URL SQLAlchemy connects to `database` of `pg` with.
pub fn sqlalchemy_url(pg: &Postgres, database: &str) -> String {
    format!("postgresql+psycopg2://{}@/{database}?host={}&port={}", pg.user(), pg.socket_dir().display(), pg.port())
}

/// `python -m alembic ARGS` in `project` (its `env.py` reads `DATABASE_URL`)
/// against `database` of `pg`; `Err` carries the output's last lines.
pub fn alembic(python: &Path, project: &Path, pg: &Postgres, database: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(python)
        .args(["-m", "alembic"])
        .args(args)
        .current_dir(project)
        .env("DATABASE_URL", sqlalchemy_url(pg, database))
        .env("PYTHONPATH", project)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run alembic: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        return Ok(text);
    }
    let lines: Vec<&str> = text.lines().collect();
    Err(lines[lines.len().saturating_sub(12)..].join("\n"))
}
