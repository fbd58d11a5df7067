//! The project's Python environment: a virtual environment beside the
//! repository (`.venv`, `venv`), one the configuration names, or the one
//! `$VIRTUAL_ENV` names. Classes imported from the libraries installed
//! there are read from their source, with the same parser, index and
//! evaluator as the repository's own code.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use dbveto_source::SourceFile;
use rustc_hash::FxHashMap;

use crate::eval::{Evaluator, Value};
use crate::parse::ParsedProject;
use crate::ProjectIndex;

/// Rounds of loading the modules a class's bases are imported from.
const MAX_ROUNDS: usize = 8;
/// Library modules read at most, and the largest one read.
const MAX_FILES: usize = 400;
const MAX_FILE_BYTES: u64 = 4 << 20;
/// Bases followed from a class at most (the MRO of real libraries is
/// rarely deeper than ten).
const MAX_BASE_DEPTH: u32 = 32;

/// Where the project's libraries are installed; empty when it has none.
#[derive(Debug, Default, Clone)]
pub struct Environment {
    site_packages: Vec<PathBuf>,
    /// How the environment is named in messages (`.venv`, `$VIRTUAL_ENV`).
    pub name: String,
}

/// A library class as its source declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryClass {
    /// Every name the class body and its bases assign.
    pub attributes: Vec<String>,
    /// The file that defines it, from the environment's `site-packages`.
    pub file: String,
}

impl Environment {
    /// The first environment found: `configured` (relative to `root`),
    /// `root/.venv`, `root/venv`, then `virtual_env`.
    pub fn find(root: &Path, configured: Option<&Path>, virtual_env: Option<&Path>) -> Environment {
        let mut candidates: Vec<(PathBuf, String)> = Vec::new();
        if let Some(path) = configured {
            candidates.push((root.join(path), path.display().to_string()));
        }
        candidates.push((root.join(".venv"), ".venv".to_string()));
        candidates.push((root.join("venv"), "venv".to_string()));
        if let Some(path) = virtual_env {
            candidates.push((path.to_path_buf(), "$VIRTUAL_ENV".to_string()));
        }
        for (dir, name) in candidates {
            let site_packages = site_packages(&dir);
            if !site_packages.is_empty() {
                return Environment { site_packages, name };
            }
        }
        Environment::default()
    }

    pub fn is_empty(&self) -> bool {
        self.site_packages.is_empty()
    }

    /// The file of module `dotted` (`pkg/mod.py` or `pkg/mod/__init__.py`),
    /// read, named by its path from `site-packages`.
    fn module_file(&self, dotted: &str) -> Option<SourceFile> {
        let relative = dotted.replace('.', "/");
        for dir in &self.site_packages {
            for path in [format!("{relative}.py"), format!("{relative}/__init__.py")] {
                let full = dir.join(&path);
                let Ok(meta) = std::fs::metadata(&full) else { continue };
                if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
                    continue;
                }
                let Ok(bytes) = std::fs::read(&full) else { continue };
                let text = String::from_utf8_lossy(&bytes).into_owned();
                return Some(SourceFile::new(path, text));
            }
        }
        None
    }

    /// Reads each class of `classes` (dotted paths, `pkg.models.Base`) and
    /// its bases from the environment. A class is left out when it or one
    /// of its bases cannot be read, unless `root` says the base adds
    /// nothing to know (`django.db.models.Model`).
    pub fn classes(&self, classes: &[String], root: &dyn Fn(&str) -> bool) -> FxHashMap<String, LibraryClass> {
        let mut found = FxHashMap::default();
        if self.is_empty() || classes.is_empty() {
            return found;
        }
        let mut files: Vec<SourceFile> = Vec::new();
        let mut tried: HashSet<String> = HashSet::new();
        let mut wanted: Vec<String> = classes.to_vec();
        for _ in 0..MAX_ROUNDS {
            let mut loaded_any = false;
            for dotted in std::mem::take(&mut wanted) {
                loaded_any |= self.load_module_of(&dotted, &mut files, &mut tried);
            }
            if !loaded_any && !files.is_empty() {
                break;
            }
            let project = ParsedProject::parse(&files);
            let index = project.index();
            let mut eval = Evaluator::new(&index);
            for class in classes {
                if found.contains_key(class) {
                    continue;
                }
                match read_class(&index, &mut eval, class, root) {
                    Read::Class(library) => {
                        found.insert(class.clone(), library);
                    }
                    Read::Needs(modules) => wanted.extend(modules),
                    Read::Unknown => {}
                }
            }
            if wanted.is_empty() {
                break;
            }
        }
        found
    }

    /// Loads the longest prefix of `dotted` that is a module not tried
    /// yet; whether one was loaded.
    fn load_module_of(&self, dotted: &str, files: &mut Vec<SourceFile>, tried: &mut HashSet<String>) -> bool {
        let parts: Vec<&str> = dotted.split('.').collect();
        for end in (1..=parts.len()).rev() {
            let module = parts[..end].join(".");
            if files.len() >= MAX_FILES {
                return false;
            }
            if !tried.insert(module.clone()) {
                continue;
            }
            if let Some(file) = self.module_file(&module) {
                files.push(file);
                return true;
            }
        }
        false
    }
}

/// `lib/python3.X/site-packages` (POSIX) or `Lib/site-packages` (Windows)
/// of a virtual environment, or the folder itself if it is one.
fn site_packages(env: &Path) -> Vec<PathBuf> {
    if env.file_name().is_some_and(|n| n == "site-packages") && env.is_dir() {
        return vec![env.to_path_buf()];
    }
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(env.join("lib")) {
        let mut pythons: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
            .map(|e| e.path().join("site-packages"))
            .filter(|p| p.is_dir())
            .collect();
        pythons.sort();
        found.extend(pythons);
    }
    let windows = env.join("Lib").join("site-packages");
    if windows.is_dir() {
        found.push(windows);
    }
    found
}

enum Read {
    Class(LibraryClass),
    /// Modules to load before the class can be read.
    Needs(Vec<String>),
    Unknown,
}

fn read_class<'a>(index: &ProjectIndex<'a>, eval: &mut Evaluator<'_, 'a>, dotted: &str, root: &dyn Fn(&str) -> bool) -> Read {
    let Some((module, name)) = dotted.rsplit_once('.') else { return Read::Unknown };
    let Some(id) = index.table.lookup(module, true, 0) else { return Read::Needs(vec![dotted.to_string()]) };
    let start = match eval.global(id, name) {
        Some(Value::Class { module, class }) if !root(&class_path(index, module, class)) => (module, class),
        Some(Value::Class { .. }) => return Read::Class(LibraryClass { attributes: Vec::new(), file: String::new() }),
        Some(Value::Module(m)) if root(&m.path.dotted) => {
            return Read::Class(LibraryClass { attributes: Vec::new(), file: String::new() })
        }
        Some(Value::Module(m)) => return Read::Needs(vec![m.path.dotted]),
        _ => return Read::Unknown,
    };
    let file = index.module(start.0).map(|m| m.file.path.to_string()).unwrap_or_default();
    let mut attributes: Vec<String> = Vec::new();
    let mut needs: Vec<String> = Vec::new();
    let mut stack = vec![(start.0, start.1, 0u32)];
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    while let Some((module, class, depth)) = stack.pop() {
        if depth > MAX_BASE_DEPTH {
            return Read::Unknown;
        }
        if !seen.insert((module, ruff_text_size::Ranged::start(class).to_u32())) {
            continue;
        }
        let Some(owner) = index.module(module) else { return Read::Unknown };
        let scope = owner.class_body_scope(class);
        if scope.bindings.incomplete {
            return Read::Unknown;
        }
        attributes.extend(scope.bindings.names().map(str::to_string));
        for base in class.bases() {
            match eval.eval(module, &[], base) {
                Some(Value::Class { module, class }) if root(&class_path(index, module, class)) => {}
                Some(Value::Class { module, class }) => stack.push((module, class, depth + 1)),
                Some(Value::Module(m)) if root(&m.path.dotted) => {}
                Some(Value::Module(m)) => needs.push(m.path.dotted),
                _ => return Read::Unknown,
            }
        }
    }
    if !needs.is_empty() {
        return Read::Needs(needs);
    }
    attributes.sort();
    attributes.dedup();
    Read::Class(LibraryClass { attributes, file })
}

/// The dotted path of a class defined at a module's top level.
fn class_path(index: &ProjectIndex<'_>, module: u32, class: &ruff_python_ast::StmtClassDef) -> String {
    let module = index.module(module).and_then(|m| m.name).map(|n| n.parts.join(".")).unwrap_or_default();
    format!("{module}.{}", class.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, path: &str, text: &str) {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().expect("a parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dbveto-env-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn classes_are_read_through_reexports_and_bases_in_other_modules() {
        let root = temp("reexport");
        let site = ".venv/lib/python3.12/site-packages";
        write(&root, &format!("{site}/host/models/__init__.py"), "from .base import HostModel\n");
        write(&root, &format!("{site}/host/models/base.py"), "from django.db import models\nfrom host.models.features import Tagged\n\nclass HostModel(Tagged, models.Model):\n    created = models.DateTimeField()\n\n    class Meta:\n        abstract = True\n");
        write(&root, &format!("{site}/host/models/features.py"), "from django.db import models\n\nclass Tagged(models.Model):\n    tags = models.JSONField()\n");
        let env = Environment::find(&root, None, None);
        assert_eq!(env.name, ".venv");
        let found = env.classes(&["host.models.HostModel".to_string()], &|d| d.starts_with("django."));
        let class = found.get("host.models.HostModel").expect("read");
        assert_eq!(class.attributes, ["Meta", "created", "tags"]);
        assert_eq!(class.file, "host/models/base.py");
        // With the framework itself installed, its root class is still where reading stops.
        write(&root, &format!("{site}/django/db/models/__init__.py"), "from django.db.models.base import Model\n");
        write(&root, &format!("{site}/django/db/models/base.py"), "class Model:\n    def save(self):\n        pass\n");
        let env = Environment::find(&root, None, None);
        let found = env.classes(&["host.models.HostModel".to_string()], &|d| d == "django.db.models.base.Model");
        assert_eq!(found.get("host.models.HostModel").map(|c| c.attributes.clone()), Some(vec!["Meta".to_string(), "created".to_string(), "tags".to_string()]));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_base_that_cannot_be_read_leaves_the_class_unknown() {
        let root = temp("unknown");
        write(&root, "venv/lib/python3.11/site-packages/host/models.py", "from elsewhere import Mixin\nfrom django.db import models\n\nclass HostModel(Mixin, models.Model):\n    created = models.DateTimeField()\n\nclass Made(make_base()):\n    pass\n");
        let env = Environment::find(&root, None, None);
        let wanted = ["host.models.HostModel".to_string(), "host.models.Made".to_string(), "host.models.Missing".to_string()];
        assert!(env.classes(&wanted, &|d| d.starts_with("django.")).is_empty());
        assert!(Environment::find(&root.join("nothing"), None, None).is_empty());
        let _ = std::fs::remove_dir_all(&root);
    }
}
