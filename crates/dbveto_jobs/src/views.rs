//! Which view classes are routed. A view class that nothing in the
//! repository names (no `path(..., FabricSyncView.as_view())`, no
//! `router.register(..., FabricViewSet)`, no list of views) is dead code:
//! its handlers run under no request, so they are no entry points. The
//! handlers a routed subclass inherits are.

use rustc_hash::FxHashSet;

use crate::defs::FnId;
use crate::scan::ModuleScan;

/// The handlers of view classes that nothing names, when the project names
/// some view class (else dbveto cannot see its routing at all and takes
/// every view to be routed).
pub fn unrouted(scans: &[(dbveto_python_semantic::ModuleId, ModuleScan)]) -> FxHashSet<FnId> {
    let named: FxHashSet<(dbveto_python_semantic::ModuleId, u32)> = scans.iter().flat_map(|(_, s)| s.named_classes.iter().copied()).collect();
    let handlers = || scans.iter().flat_map(|(_, s)| s.view_handlers.iter());
    if !handlers().any(|(_, class)| named.contains(class)) {
        return FxHashSet::default();
    }
    handlers().filter(|(_, class)| !named.contains(class)).map(|(id, _)| *id).collect()
}
