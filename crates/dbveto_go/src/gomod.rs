//! Module paths from go.mod files, and how import paths name directories.

/// The module path declared by a go.mod file (`module example.com/app`).
pub(crate) fn module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or("").trim();
        let rest = line.strip_prefix("module")?;
        if !rest.starts_with([' ', '\t', '"', '`']) {
            return None;
        }
        let path = rest.trim().trim_matches(['"', '`']).trim();
        (!path.is_empty()).then(|| path.to_string())
    })
}

/// The repository's modules: (module path, directory), longest path first,
/// since the longest module path is the one that owns an import.
pub(crate) struct Modules(Vec<(String, String)>);

impl Modules {
    pub(crate) fn new(go_mods: &[dbveto_source::SourceFile]) -> Modules {
        let mut modules: Vec<(String, String)> =
            go_mods.iter().filter_map(|m| Some((module_path(&m.text)?, dir_of(&m.path).to_string()))).collect();
        modules.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
        Modules(modules)
    }

    /// The package an import path names: the one in the directory a module
    /// of the repository maps it to (`in_dir`), else, outside the standard
    /// library, the only package of its default name.
    pub(crate) fn resolve(
        &self,
        import: &str,
        in_dir: impl Fn(&str) -> Option<usize>,
        by_name: &std::collections::HashMap<&str, Vec<usize>>,
    ) -> Option<usize> {
        if let Some(dir) = self.0.iter().find_map(|(module, dir)| module_dir(import, module, dir)) {
            if let Some(id) = in_dir(&dir) {
                return Some(id);
            }
        }
        if is_standard(import) {
            return None;
        }
        match by_name.get(default_name(import))?.as_slice() {
            [only] => Some(*only),
            _ => None,
        }
    }
}

/// The directory of a `/`-separated path, `""` for the repository root.
pub(crate) fn dir_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The directory an import path names inside a module rooted at `module_dir`.
pub(crate) fn module_dir(import: &str, module: &str, module_dir: &str) -> Option<String> {
    let rel = if import == module { "" } else { import.strip_prefix(module)?.strip_prefix('/')? };
    Some(match (module_dir.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (false, true) => module_dir.to_string(),
        (false, false) => format!("{module_dir}/{rel}"),
    })
}

/// The name a package usually has: the last element of its import path,
/// skipping a major-version suffix (`.../v2`, `gopkg.in/yaml.v3`).
pub(crate) fn default_name(import: &str) -> &str {
    let mut parts = import.rsplit('/');
    let last = parts.next().unwrap_or(import);
    let is_version =
        |s: &str| s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit());
    let name = if is_version(last) { parts.next().unwrap_or(last) } else { last };
    match name.rsplit_once('.') {
        Some((base, version)) if is_version(version) => base,
        _ => name,
    }
}

/// Standard library paths have no dot in their first element; they are
/// never matched to a package of the repository by name.
pub(crate) fn is_standard(import: &str) -> bool {
    !import.split('/').next().unwrap_or("").contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_path_reads_the_module_directive() {
        assert_eq!(
            module_path("// c\nmodule example.com/app // x\n\ngo 1.22\n").as_deref(),
            Some("example.com/app")
        );
        assert_eq!(module_path("module \"example.com/q\"\n").as_deref(), Some("example.com/q"));
        assert_eq!(module_path("modules x\n"), None);
    }

    #[test]
    fn import_paths_map_to_directories() {
        assert_eq!(module_dir("example.com/app/models", "example.com/app", "").as_deref(), Some("models"));
        assert_eq!(module_dir("example.com/app", "example.com/app", "svc").as_deref(), Some("svc"));
        assert_eq!(module_dir("example.com/app/x", "example.com/app", "svc").as_deref(), Some("svc/x"));
        assert_eq!(module_dir("example.com/application", "example.com/app", ""), None);
        assert_eq!(default_name("github.com/a/b/v2"), "b");
        assert_eq!(default_name("gopkg.in/yaml.v3"), "yaml");
        assert!(is_standard("database/sql"));
        assert!(!is_standard("example.com/app"));
    }
}
