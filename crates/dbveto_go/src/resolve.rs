//! The merged index: packages (directories) with their constants and types,
//! each file's imports resolved to packages, and every struct literal and
//! field assignment keyed by the struct type it builds.

use std::collections::HashMap;

use crate::facts::{ConstDef, FieldDef, FileFacts, TypeBody, TypeRef};
use crate::gomod;
use dbveto_source::SourceFile;

/// A struct type: its package and name.
pub(crate) type StructKey<'t> = (usize, &'t str);

/// A package-level name, or a name defined twice (build-tagged files): unusable.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry {
    One { file: usize, item: usize },
    Ambiguous,
}

#[derive(Debug)]
pub(crate) struct Package<'t> {
    pub dir: &'t str,
    pub name: Option<&'t str>,
    pub consts: HashMap<&'t str, Entry>,
    pub types: HashMap<&'t str, Entry>,
}

#[derive(Debug, Default)]
pub(crate) struct FileImports {
    /// Local name → package, `None` for a package outside the repository.
    pub names: HashMap<String, Option<usize>>,
    pub dot: Vec<usize>,
    /// Local names of `github.com/jmoiron/sqlx`.
    pub sqlx: Vec<String>,
}

pub(crate) struct Index<'t> {
    pub sources: &'t [SourceFile],
    pub files: Vec<FileFacts<'t>>,
    pub packages: Vec<Package<'t>>,
    pub file_pkg: Vec<usize>,
    pub imports: Vec<FileImports>,
    /// Struct literals of each type: (file, index in its `literals`).
    pub literals: HashMap<StructKey<'t>, Vec<(usize, usize)>>,
    /// Field assignments by type and field: (file, index in its `assigns`).
    pub assigns: HashMap<(StructKey<'t>, &'t str), Vec<(usize, usize)>>,
}

pub(crate) enum Lookup<'a, 't> {
    Missing,
    /// Defined twice, or unreadable: known to exist, value unknown.
    Ambiguous,
    Found(usize, &'a ConstDef<'t>),
}

/// Aliases are followed this many times at most (`type A = B` cycles).
const MAX_ALIAS_HOPS: usize = 8;

impl<'t> Index<'t> {
    pub fn build(sources: &'t [SourceFile], files: Vec<FileFacts<'t>>, go_mods: &[SourceFile]) -> Self {
        let mut packages: Vec<Package<'t>> = Vec::new();
        let mut by_dir: HashMap<(&'t str, bool), usize> = HashMap::new();
        let mut file_pkg = Vec::with_capacity(files.len());
        for (file, (facts, source)) in files.iter().zip(sources).enumerate() {
            let dir = gomod::dir_of(&source.path);
            // An external test package (`package x_test`) is its own package.
            let test = facts.package.is_some_and(|n| n.ends_with("_test"));
            let id = *by_dir.entry((dir, test)).or_insert_with(|| {
                packages.push(Package { dir, name: None, consts: HashMap::new(), types: HashMap::new() });
                packages.len() - 1
            });
            let package = &mut packages[id];
            package.name = package.name.or(facts.package);
            for (item, c) in facts.consts.iter().enumerate() {
                define(&mut package.consts, c.name, Entry::One { file, item });
            }
            for (item, t) in facts.types.iter().enumerate() {
                define(&mut package.types, t.name, Entry::One { file, item });
            }
            file_pkg.push(id);
        }

        let modules = gomod::Modules::new(go_mods);
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (id, p) in packages.iter().enumerate() {
            if let Some(name) = p.name.filter(|n| !n.ends_with("_test")) {
                by_name.entry(name).or_default().push(id);
            }
        }
        let resolve = |path: &str| modules.resolve(path, |dir| by_dir.get(&(dir, false)).copied(), &by_name);
        let imports = files
            .iter()
            .map(|facts| {
                let mut imports = FileImports::default();
                for import in &facts.imports {
                    let target = resolve(&import.path);
                    let local = match import.alias {
                        Some("_") => continue,
                        Some(".") => {
                            imports.dot.extend(target);
                            continue;
                        }
                        Some(alias) => alias,
                        None => {
                            target.and_then(|t| packages[t].name).unwrap_or(gomod::default_name(&import.path))
                        }
                    };
                    if import.path == "github.com/jmoiron/sqlx" || import.path.ends_with("/sqlx") {
                        imports.sqlx.push(local.to_string());
                    }
                    imports.names.insert(local.to_string(), target);
                }
                imports
            })
            .collect();

        let mut index = Index {
            sources,
            files,
            packages,
            file_pkg,
            imports,
            literals: HashMap::new(),
            assigns: HashMap::new(),
        };
        let mut literals: HashMap<StructKey<'t>, Vec<(usize, usize)>> = HashMap::new();
        let mut assigns: HashMap<(StructKey<'t>, &'t str), Vec<(usize, usize)>> = HashMap::new();
        for (file, facts) in index.files.iter().enumerate() {
            for (item, lit) in facts.literals.iter().enumerate() {
                if let Some(key) = index.resolve_struct(file, &lit.ty) {
                    literals.entry(key).or_default().push((file, item));
                }
            }
            for (item, assign) in facts.assigns.iter().enumerate() {
                if let Some(key) = index.resolve_struct(file, &assign.ty) {
                    assigns.entry((key, assign.field)).or_default().push((file, item));
                }
            }
        }
        index.literals = literals;
        index.assigns = assigns;
        index
    }

    pub fn src(&self, file: usize) -> &'t str {
        let sources: &'t [SourceFile] = self.sources;
        sources.get(file).map_or("", |s| &s.text)
    }

    /// A package-level constant and the file defining it.
    pub fn constant(&self, pkg: usize, name: &str) -> Lookup<'_, 't> {
        match self.packages.get(pkg).and_then(|p| p.consts.get(name)) {
            None => Lookup::Missing,
            Some(Entry::Ambiguous) => Lookup::Ambiguous,
            Some(&Entry::One { file, item }) => match self.files.get(file).and_then(|f| f.consts.get(item)) {
                Some(def) => Lookup::Found(file, def),
                None => Lookup::Ambiguous,
            },
        }
    }

    pub fn is_type(&self, pkg: usize, name: &str) -> bool {
        self.packages.get(pkg).is_some_and(|p| p.types.contains_key(name))
    }

    /// The package a qualifier names in a file (`models` in `models.T`).
    pub fn import(&self, file: usize, qualifier: &str) -> Option<usize> {
        *self.imports.get(file)?.names.get(qualifier)?
    }

    /// The package and name of a named type, in a file.
    pub fn named_type(&self, file: usize, ty: &TypeRef<'t>) -> Option<StructKey<'t>> {
        match *ty {
            TypeRef::Local(name) => Some((*self.file_pkg.get(file)?, name)),
            TypeRef::Qualified(qualifier, name) => Some((self.import(file, qualifier)?, name)),
        }
    }

    /// The struct type a type names, through aliases.
    pub fn resolve_struct(&self, file: usize, ty: &TypeRef<'t>) -> Option<StructKey<'t>> {
        let (mut file, mut ty) = (file, *ty);
        for _ in 0..MAX_ALIAS_HOPS {
            let (pkg, name) = self.named_type(file, &ty)?;
            let Entry::One { file: def_file, item } = *self.packages.get(pkg)?.types.get(name)? else {
                return None;
            };
            match &self.files.get(def_file)?.types.get(item)?.body {
                TypeBody::Struct(_) => return Some((pkg, name)),
                TypeBody::Alias(target) => (file, ty) = (def_file, (*target)?),
                TypeBody::Other => return None,
            }
        }
        None
    }

    /// The fields of a struct type, with the file declaring it.
    pub fn struct_fields(&self, key: StructKey<'t>) -> Option<(usize, &[FieldDef<'t>])> {
        let Entry::One { file, item } = *self.packages.get(key.0)?.types.get(key.1)? else {
            return None;
        };
        match &self.files.get(file)?.types.get(item)?.body {
            TypeBody::Struct(fields) => Some((file, fields)),
            _ => None,
        }
    }

    /// `models.UpdateLog`, as people read it.
    pub fn display(&self, key: StructKey<'t>) -> String {
        match self.packages.get(key.0) {
            Some(Package { name: Some(pkg), .. }) => format!("{pkg}.{}", key.1),
            Some(Package { dir, .. }) if !dir.is_empty() => format!("{}.{}", gomod::default_name(dir), key.1),
            _ => key.1.to_string(),
        }
    }
}

fn define<'t>(names: &mut HashMap<&'t str, Entry>, name: &'t str, entry: Entry) {
    if name == "_" {
        return;
    }
    names.entry(name).and_modify(|e| *e = Entry::Ambiguous).or_insert(entry);
}
