//! Which file an import names. Files are named by their path from the
//! repository root (`app/queries.py` and `app/queries/__init__.py` are
//! `app.queries`); an absolute import may also name a file by a suffix of
//! its path, as when `backend/` or `src/` is on `sys.path`.

use std::collections::HashMap;

use dbveto_source::SourceFile;

/// Index of a file in the slice given to [`crate::ParsedProject::parse`].
pub type ModuleId = u32;

/// A module's dotted name from the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleName {
    pub parts: Vec<String>,
    /// An `__init__.py`: relative imports start from the module itself.
    pub is_package: bool,
}

impl ModuleName {
    /// The module name of a `.py` path, `None` for paths no import names.
    pub fn from_path(path: &str) -> Option<Self> {
        let stem = path.strip_suffix(".py")?;
        let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
        let is_package = parts.last().is_some_and(|p| p == "__init__");
        if is_package {
            parts.pop();
        }
        if parts.is_empty() || parts.iter().any(|p| p.is_empty() || p.contains('.')) {
            return None;
        }
        Some(ModuleName { parts, is_package })
    }

    /// The full name a relative import (`from ..db import x` is level 2,
    /// module `db`) refers to, `None` when it climbs above the root.
    pub fn resolve_relative(&self, level: u32, module: Option<&str>) -> Option<String> {
        let mut base: &[String] = &self.parts;
        if !self.is_package {
            base = base.split_last()?.1;
        }
        let up = usize::try_from(level).ok()?.checked_sub(1)?;
        base = base.get(..base.len().checked_sub(up)?)?;
        let mut name = base.join(".");
        if let Some(module) = module.filter(|m| !m.is_empty()) {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(module);
        }
        (!name.is_empty()).then_some(name)
    }
}

/// The module names of every file of the repository.
#[derive(Debug, Default)]
pub struct ModuleTable {
    names: Vec<Option<ModuleName>>,
    paths: Vec<String>,
    /// Full dotted name → module.
    full: HashMap<String, ModuleId>,
    /// Every dotted suffix of a full name → the modules it names, each with
    /// the directory it is relative to (a trailing `src/` dropped).
    suffixes: HashMap<String, Vec<(ModuleId, String)>>,
}

impl ModuleTable {
    pub fn new(files: &[SourceFile]) -> Self {
        let names: Vec<Option<ModuleName>> = files.iter().map(|f| ModuleName::from_path(&f.path)).collect();
        let mut full: HashMap<String, ModuleId> = HashMap::new();
        for (id, name) in names.iter().enumerate() {
            let (Some(name), Ok(id)) = (name, ModuleId::try_from(id)) else { continue };
            let key = name.parts.join(".");
            // `a/b/__init__.py` wins over `a/b.py`, as in Python.
            let keep_existing = full
                .get(&key)
                .and_then(|&other| names.get(other as usize)?.as_ref())
                .is_some_and(|other| other.is_package);
            if !keep_existing {
                full.insert(key, id);
            }
        }
        let mut suffixes: HashMap<String, Vec<(ModuleId, String)>> = HashMap::new();
        for &id in full.values() {
            let Some(Some(name)) = names.get(id as usize) else { continue };
            for start in 0..name.parts.len() {
                let suffix = name.parts[start..].join(".");
                let mut root: String = name.parts[..start].iter().map(|p| format!("{p}/")).collect();
                if root == "src/" || root.ends_with("/src/") {
                    root.truncate(root.len() - "src/".len());
                }
                suffixes.entry(suffix).or_default().push((id, root));
            }
        }
        let paths = files.iter().map(|f| f.path.to_string()).collect();
        ModuleTable { names, paths, full, suffixes }
    }

    pub fn name(&self, id: ModuleId) -> Option<&ModuleName> {
        self.names.get(id as usize)?.as_ref()
    }

    /// The module `dotted` names when imported from `importer`: by full
    /// name if `exact` (a resolved relative import), otherwise the module
    /// whose root directory contains the importer, the nearest root winning.
    /// `None` when no file matches, or several do equally well.
    pub fn lookup(&self, dotted: &str, exact: bool, importer: ModuleId) -> Option<ModuleId> {
        if exact {
            return self.full.get(dotted).copied();
        }
        let importer_path = self.paths.get(importer as usize)?;
        let mut best: Option<(usize, ModuleId)> = None;
        let mut tie = false;
        for (id, root) in self.suffixes.get(dotted)? {
            if !importer_path.starts_with(root.as_str()) {
                continue;
            }
            match best {
                Some((len, _)) if len > root.len() => {}
                Some((len, _)) if len == root.len() => tie = true,
                _ => {
                    best = Some((root.len(), *id));
                    tie = false;
                }
            }
        }
        if tie {
            None
        } else {
            best.map(|(_, id)| id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(paths: &[&str]) -> ModuleTable {
        let files: Vec<SourceFile> = paths.iter().map(|p| SourceFile::new(*p, "")).collect();
        ModuleTable::new(&files)
    }

    #[test]
    fn modules_are_named_by_path_packages_and_src_dirs() {
        let t = table(&["app/queries.py", "app/views.py", "lib/src/db/__init__.py", "lib/x.py"]);
        assert_eq!(t.lookup("app.queries", false, 1), Some(0));
        assert_eq!(t.lookup("db", false, 3), Some(2));
        assert_eq!(t.lookup("db", false, 1), None);
        assert_eq!(t.lookup("lib.src.db", true, 0), Some(2));
    }

    #[test]
    fn the_nearest_root_wins_and_ties_are_unknown() {
        let t = table(&["app/q.py", "svc/app/q.py", "svc/app/v.py", "a/m.py", "b/m.py", "c.py"]);
        assert_eq!(t.lookup("app.q", false, 2), Some(1));
        assert_eq!(t.lookup("app.q", false, 5), Some(0));
        assert_eq!(t.lookup("m", false, 5), None);
    }

    #[test]
    fn relative_imports_climb_packages() {
        let name = ModuleName::from_path("app/db/queries.py").unwrap();
        assert_eq!(name.resolve_relative(1, Some("models")).as_deref(), Some("app.db.models"));
        assert_eq!(name.resolve_relative(2, None).as_deref(), Some("app"));
        assert_eq!(name.resolve_relative(3, None), None);
        let package = ModuleName::from_path("app/__init__.py").unwrap();
        assert_eq!(package.resolve_relative(1, Some("q")).as_deref(), Some("app.q"));
    }
}
