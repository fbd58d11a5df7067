//! What a function says about its local names: each declaration with the
//! block it is visible in, its value when it is never written again, and
//! its static type.
//!
//! Uses and writes bind to the innermost declaration visible at their
//! position, as Go's block scoping does. Flow-insensitive otherwise: a
//! declaration written again anywhere (closures included) has no known
//! value, and a name declared where it is used never falls back to a
//! package-level constant of the same name.

use std::collections::HashMap;
use std::ops::Range;

use crate::cst::Node;

/// The value a declaration gives: `q := "..."`, `var q = ...`, `const q = ...`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Def<'n> {
    pub value: Node<'n>,
    /// The `iota` of a local constant.
    pub iota: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Decl<'t, 'n> {
    /// Which declaration of the scope this is.
    pub id: u32,
    /// The block the name is visible in.
    visible: Range<usize>,
    /// Uses before this offset are not of this declaration (they are of an
    /// outer name, or in the declaration's own right-hand side).
    from: usize,
    pub def: Option<Def<'n>>,
    /// Writes after the declaration: assignments, `x++`, `&x`.
    pub writes: u32,
    /// The declared or inferred type expression, and its text.
    ty: Option<(Node<'n>, &'t str)>,
}

#[derive(Debug, Default)]
pub(crate) struct FuncScope<'t, 'n> {
    decls: HashMap<&'t str, Vec<Decl<'t, 'n>>>,
    /// Declarations so far, for their ids.
    count: u32,
    /// Writes seen during the walk, bound to declarations by `finish`.
    writes: Vec<(&'t str, usize)>,
    /// Types declared in the function: they hide package-level types.
    types: Vec<&'t str>,
}

impl<'t, 'n> FuncScope<'t, 'n> {
    /// A declaration of `name` visible in `visible` from `from` on.
    pub fn declare(
        &mut self,
        name: &'t str,
        visible: Range<usize>,
        from: usize,
        def: Option<Def<'n>>,
        ty: Option<(Node<'n>, &'t str)>,
    ) {
        if name == "_" || name.is_empty() {
            return;
        }
        let decls = self.decls.entry(name).or_default();
        // `a, err := ...` assigns an `err` already declared in the same block.
        if let Some(same_block) = decls.iter_mut().find(|d| d.visible == visible) {
            same_block.writes = same_block.writes.saturating_add(1);
            return;
        }
        decls.push(Decl { id: self.count, visible, from, def, writes: 0, ty });
        self.count = self.count.saturating_add(1);
    }

    pub fn declare_type(&mut self, name: &'t str) {
        self.types.push(name);
    }

    pub fn has_type(&self, name: &str) -> bool {
        self.types.contains(&name)
    }

    /// A write to `name` at byte `at`: assignment, `x++`, `&x`.
    pub fn write(&mut self, name: &'t str, at: usize) {
        if name != "_" {
            self.writes.push((name, at));
        }
    }

    /// Binds the writes seen to the declarations they write.
    pub fn finish(&mut self) {
        for (name, at) in std::mem::take(&mut self.writes) {
            let decl = self.decls.get_mut(name).and_then(|decls| {
                decls.iter_mut().filter(|d| visible_at(d, at)).min_by_key(|d| d.visible.len())
            });
            // A write binding to nothing is to a package-level variable.
            if let Some(decl) = decl {
                decl.writes = decl.writes.saturating_add(1);
            }
        }
    }

    /// The declaration `name` at `at` binds to.
    pub fn binding(&self, name: &str, at: usize) -> Option<&Decl<'t, 'n>> {
        self.decls.get(name)?.iter().filter(|d| visible_at(d, at)).min_by_key(|d| d.visible.len())
    }

    /// Whether `name` at `at` means a local, so a package-level constant of
    /// that name must not be used.
    pub fn shadows(&self, name: &str, at: usize) -> bool {
        self.binding(name, at).is_some()
    }

    /// The value of the local `name` seen from `at`, if it is never written
    /// after its declaration.
    pub fn value_at(&self, name: &str, at: usize) -> Option<Def<'n>> {
        let decl = self.binding(name, at)?;
        if decl.writes == 0 {
            decl.def
        } else {
            None
        }
    }

    /// The static type expression of the local `name` seen from `at`.
    pub fn type_of(&self, name: &str, at: usize) -> Option<Node<'n>> {
        self.binding(name, at)?.ty.map(|(node, _)| node)
    }

    pub fn type_text(&self, name: &str, at: usize) -> Option<&'t str> {
        self.binding(name, at)?.ty.map(|(_, text)| text)
    }
}

fn visible_at(decl: &Decl<'_, '_>, at: usize) -> bool {
    decl.visible.contains(&at) && decl.from <= at
}
