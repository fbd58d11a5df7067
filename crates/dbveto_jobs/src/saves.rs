//! Objects loaded, changed in Python and saved: `fabric.sync_status =
//! "syncing"` then `fabric.save()`. Each saved field is a write site, and
//! whether a concurrent update can be lost depends on how it is saved.

use std::collections::{HashMap, HashSet};

use dbveto_facts::Atomicity;
use dbveto_source::Location;

use crate::defs::FnId;
use crate::resolve::Origin;

/// A field set on an object and not yet saved.
pub struct Assigned {
    pub table: String,
    pub model: String,
    pub column: String,
    pub field: String,
    pub value: String,
    pub location: Location,
    /// The new value reads the object (`n.retries + 1`, `+=`).
    pub depends: bool,
    pub f_expression: bool,
    pub locked: bool,
    pub origin: Origin,
}

/// Assignments to objects of one function, by receiver (`fabric`, `self.fabric`).
#[derive(Default)]
pub struct Pending {
    by_receiver: HashMap<String, Vec<Assigned>>,
    /// Receivers whose primary key was set to `None`: their save inserts a copy.
    cloned: HashSet<String>,
}

/// One field written by a save.
#[derive(Debug, Clone)]
pub struct SaveSite {
    pub table: String,
    pub model: String,
    pub column: String,
    /// The assignment.
    pub location: Location,
    pub statement: String,
    /// The `save()` call.
    pub save: Location,
    pub value: Option<String>,
    pub atomicity: Atomicity,
    pub function: Option<FnId>,
    /// The object came in as this parameter: what callers pass decides
    /// whether it was loaded.
    pub parameter: Option<(FnId, usize)>,
    /// Saved inside `transaction.atomic()` (a block, or the function's decorator).
    pub in_transaction: bool,
    /// The row was loaded by the requesting user (`get(owner=request.user)`).
    pub own_row: bool,
}

pub type Saves = Vec<SaveSite>;

impl Pending {
    /// `obj.pk = None`: Django inserts the object as a new row when saved.
    pub fn clone_of(&mut self, receiver: String) {
        self.by_receiver.remove(&receiver);
        self.cloned.insert(receiver);
    }

    /// `receiver.<field> = ...`: replaces what was set on that column.
    pub fn assign(&mut self, receiver: String, assigned: Assigned) {
        if self.cloned.contains(&receiver) {
            return;
        }
        let list = self.by_receiver.entry(receiver).or_default();
        list.retain(|a| a.column != assigned.column);
        list.push(assigned);
    }

    /// `receiver.save(...)`: the fields set since are written. With
    /// `update_fields` only those are, and a field saved that way whose
    /// value does not read the row cannot undo another writer's change
    /// to other columns; a plain `save()` writes back every column as
    /// it was loaded.
    pub fn flush(
        &mut self,
        receiver: &str,
        update_fields: Option<Option<Vec<String>>>,
        save: Location,
        statement: String,
        function: Option<FnId>,
        out: &mut Saves,
    ) {
        let Some(assigned) = self.by_receiver.remove(receiver) else { return };
        for a in assigned {
            let listed = match &update_fields {
                Some(Some(names)) => names.iter().any(|n| *n == a.field || *n == a.column),
                _ => true,
            };
            if !listed {
                continue;
            }
            let unlocked = if a.f_expression {
                Atomicity::FExpression
            } else if update_fields.is_some() && !a.depends {
                Atomicity::SavedFields
            } else {
                Atomicity::ReadModifyWrite
            };
            // A lock matters only to what would otherwise lose updates
            // (and holds only inside a transaction: see `transactions`).
            let atomicity = if a.locked && unlocked == Atomicity::ReadModifyWrite { Atomicity::Locked } else { unlocked };
            out.push(SaveSite {
                table: a.table,
                model: a.model,
                column: a.column,
                location: a.location,
                statement: statement.clone(),
                save: save.clone(),
                value: Some(a.value),
                atomicity,
                function,
                parameter: match a.origin {
                    Origin::Param(f, position) => Some((f, position)),
                    _ => None,
                },
                in_transaction: false,
                own_row: matches!(a.origin, Origin::Loaded { own: true }),
            });
        }
    }
}
