//! Whether a row locked with `select_for_update()` is still locked when it
//! is saved: only inside a transaction. Django opens one with
//! `transaction.atomic()` (a block or a decorator) and, under
//! `ATOMIC_REQUESTS`, around each Django view (unless it is marked
//! `non_atomic_requests`). Outside one, autocommit ends the lock with the
//! SELECT, and on PostgreSQL Django refuses the query
//! (`TransactionManagementError`).

use std::collections::{HashSet, VecDeque};

use dbveto_facts::{Atomicity, EntryKind};

use crate::graph::Graph;
use crate::SaveSite;

/// What the modules say about transactions.
#[derive(Default)]
pub struct Transactions {
    /// Each assignment of `DATABASES` (or change of it): whether it sets
    /// `ATOMIC_REQUESTS`, `None` when that is not known statically.
    pub atomic_requests: Vec<Option<bool>>,
    pub atomic_functions: HashSet<usize>,
    pub django_views: HashSet<usize>,
    pub non_atomic_views: HashSet<usize>,
    /// Calls made outside any `transaction.atomic()` block.
    pub calls_outside: HashSet<(usize, usize)>,
}

impl Transactions {
    /// Whether `ATOMIC_REQUESTS` is known to be off: every `DATABASES` the
    /// settings write is read, and none sets it.
    fn atomic_requests_off(&self) -> bool {
        !self.atomic_requests.is_empty() && self.atomic_requests.iter().all(|a| *a == Some(false))
    }

    /// Whether an entry point of this kind starts without a transaction.
    /// A signal handler runs wherever its signal is sent: not judged.
    fn starts_outside(&self, f: usize, kind: EntryKind) -> bool {
        match kind {
            EntryKind::HttpView if self.django_views.contains(&f) => {
                self.non_atomic_views.contains(&f) || self.atomic_requests_off()
            }
            EntryKind::HttpView => true,
            EntryKind::CeleryTask | EntryKind::RqJob | EntryKind::ScheduledJob | EntryKind::ManagementCommand => true,
            EntryKind::SignalHandler | EntryKind::HttpHandler | EntryKind::Goroutine => false,
        }
    }

    /// The functions some entry point reaches with no transaction open:
    /// from entry points that start outside one, along calls made outside
    /// `transaction.atomic()`, into functions not decorated with it.
    fn reached_outside(&self, graph: &Graph) -> Vec<bool> {
        let mut outside = vec![false; graph.len()];
        let mut queue = VecDeque::new();
        for (f, reached) in outside.iter_mut().enumerate() {
            if !self.atomic_functions.contains(&f) && graph.entry_kinds(f).any(|k| self.starts_outside(f, k)) {
                *reached = true;
                queue.push_back(f);
            }
        }
        while let Some(f) = queue.pop_front() {
            for &g in graph.callees(f) {
                if !outside[g] && !self.atomic_functions.contains(&g) && self.calls_outside.contains(&(f, g)) {
                    outside[g] = true;
                    queue.push_back(g);
                }
            }
        }
        outside
    }

    /// Saves of locked rows that some entry point reaches outside any
    /// transaction lock nothing.
    pub fn judge(&self, saves: &mut [SaveSite], graph: &Graph) {
        if !saves.iter().any(|s| s.atomicity == Atomicity::Locked) {
            return;
        }
        let outside = self.reached_outside(graph);
        for save in saves {
            let reached_outside = save.function.is_some_and(|f| outside.get(f).copied().unwrap_or(false));
            if save.atomicity == Atomicity::Locked && !save.in_transaction && reached_outside {
                save.atomicity = Atomicity::LockOutsideTransaction;
            }
        }
    }
}
