//! Django apps of a repository: a folder with a `migrations` package or a
//! `models` module is an app; its label is the folder's name unless its
//! `apps.py` sets `label`.

use dbveto_python_semantic::ProjectIndex;
use ruff_python_ast::{Expr, Stmt};

use crate::read::class_attribute;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The app's folder, relative to the root (`""` for the root itself).
    pub dir: String,
    pub label: String,
}

#[derive(Debug, Default)]
pub struct Apps {
    pub apps: Vec<App>,
}

/// The folder of a path and its file name.
pub fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Whether `path` is a migration module: `<app>/migrations/<name>.py`,
/// the name not starting with `_` or `~` (Django's loader skips those).
pub fn migration_app_dir(path: &str) -> Option<&str> {
    let (dir, name) = split(path);
    let (app_dir, last) = split(dir);
    let stem = name.strip_suffix(".py")?;
    (last == "migrations" && !stem.starts_with('_') && !stem.starts_with('~') && !stem.is_empty()).then_some(app_dir)
}

fn models_app_dir(path: &str) -> Option<&str> {
    if let Some(dir) = path.strip_suffix("/models.py") {
        return Some(dir);
    }
    path.strip_suffix("/models/__init__.py")
}

impl Apps {
    pub fn find(index: &ProjectIndex<'_>) -> Apps {
        let mut dirs: Vec<String> = index
            .modules
            .iter()
            .filter_map(|m| migration_app_dir(&m.file.path).or_else(|| models_app_dir(&m.file.path)))
            .map(str::to_string)
            .collect();
        dirs.sort();
        dirs.dedup();
        let apps = dirs
            .into_iter()
            .map(|dir| {
                let apps_py = if dir.is_empty() { "apps.py".to_string() } else { format!("{dir}/apps.py") };
                let label = index
                    .modules
                    .iter()
                    .find(|m| *m.file.path == apps_py)
                    .and_then(|m| label_in(m.body))
                    .unwrap_or_else(|| split(&dir).1.to_string());
                App { dir, label }
            })
            .collect();
        Apps { apps }
    }

    /// The app a file belongs to: the deepest app folder that contains it.
    pub fn app_of(&self, path: &str) -> Option<&App> {
        self.apps
            .iter()
            .filter(|a| a.dir.is_empty() || path.strip_prefix(a.dir.as_str()).is_some_and(|rest| rest.starts_with('/')))
            .max_by_key(|a| a.dir.len())
    }
}

/// `label = "..."` in a class of `apps.py` (an `AppConfig`).
fn label_in(body: &[Stmt]) -> Option<String> {
    body.iter().find_map(|stmt| {
        let Stmt::ClassDef(class) = stmt else { return None };
        match class_attribute(class, "label")? {
            Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_modules_are_recognised() {
        assert_eq!(migration_app_dir("src/shop/migrations/0001_initial.py"), Some("src/shop"));
        assert_eq!(migration_app_dir("src/shop/migrations/__init__.py"), None);
        assert_eq!(migration_app_dir("src/shop/migrations/~0002.py"), None);
        assert_eq!(migration_app_dir("src/shop/models.py"), None);
        assert_eq!(models_app_dir("src/shop/models/__init__.py"), Some("src/shop"));
    }
}
