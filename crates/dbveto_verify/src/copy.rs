//! A copy of a live database's schema on the throwaway server, to prove
//! findings where writing is allowed: the live database is only read (its
//! catalog, its extensions, its functions), the copy is built from the
//! DDL dbveto derives from that catalog, and the rows a proof inserts go to
//! the copy, inside a transaction that is rolled back.

use dbveto_rules::{Finding, VerificationStatus};
use dbveto_schema::Schema;
use dbveto_source::{Diagnostic, Location, Severity};
use postgres::Client;

use crate::apply::Step;
use crate::compare::{compare, Difference, Scope};
use crate::error::describe;
use crate::server::Server;
use crate::sql::ident;

/// What the schema needs besides its tables and types, read from the
/// live database: its extensions (citext, pgcrypto) and the functions of
/// its own schemas (defaults and CHECKs may call them), as statements.
pub fn prelude(client: &mut Client, source: &str) -> Result<Vec<Step>, String> {
    let at = Location { path: source.into(), line: 1, column: 1 };
    let step = |sql: String| Step { sql, location: at.clone(), file: None, offset: 0, derived: true };
    let q = |client: &mut Client, sql: &str| client.query(sql, &[]).map_err(|e| format!("could not read the catalog: {}", describe(&e)));
    let mut steps = Vec::new();
    for row in q(client, "SELECT e.extname::text, n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.oid")? {
        let (name, schema): (String, String) = (row.try_get(0).unwrap_or_default(), row.try_get(1).unwrap_or_default());
        steps.push(step(format!("CREATE SCHEMA IF NOT EXISTS {}", ident(&schema))));
        steps.push(step(format!("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}", ident(&name), ident(&schema))));
    }
    let functions = format!(
        "SELECT n.nspname::text, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE p.prokind IN ('f', 'p') AND {} AND {} ORDER BY p.oid",
        crate::catalog::USER_NAMESPACES,
        crate::catalog::outside_extensions("pg_proc", "p.oid")
    );
    for row in q(client, &functions)? {
        let (schema, definition): (String, String) = (row.try_get(0).unwrap_or_default(), row.try_get(1).unwrap_or_default());
        steps.push(step(format!("CREATE SCHEMA IF NOT EXISTS {}", ident(&schema))));
        steps.push(step(definition));
    }
    Ok(steps)
}

/// The copy, built and compared with the live catalog.
pub struct Copy {
    pub client: Client,
    /// The copy's own catalog: what proofs run against.
    pub catalog: Schema,
    /// Statements PostgreSQL refused, as warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// Where the copy differs from the live catalog.
    pub differences: Vec<Difference>,
}

/// Builds a copy of `live` (with `prelude` first) in a new database `db`
/// of `server`. Statements run in order, and those that fail run once
/// more at the end, when what they need may exist.
pub fn build(server: &Server, db: &str, live: &Schema, prelude: Vec<Step>) -> Result<Copy, String> {
    server.create_database(db)?;
    let mut client = server.connect(db)?;
    // Function bodies may name tables that come later.
    client.batch_execute("SET check_function_bodies = off").map_err(|e| format!("could not prepare the copy: {}", describe(&e)))?;
    let mut steps = prelude;
    steps.extend(crate::ddl::derived_steps(live));
    let failed: Vec<Step> = steps.into_iter().filter(|s| run(&mut client, s).is_err()).collect();
    let mut diagnostics = Vec::new();
    for step in failed {
        if let Err(e) = run(&mut client, &step) {
            let message = format!("copy of the live schema: PostgreSQL refused {}: {}", crate::apply::one_line(&step.sql), describe(&e));
            diagnostics.push(Diagnostic { location: step.location.clone(), severity: Severity::Warning, message });
        }
    }
    let catalog = crate::catalog::read_schema(&mut client, "a copy of the live schema")?;
    let differences = compare(live, &catalog, Scope::COPY);
    Ok(Copy { client, catalog, diagnostics, differences })
}

fn run(client: &mut Client, step: &Step) -> Result<(), postgres::Error> {
    client.batch_execute(&step.sql).inspect_err(|_| {
        let _ = client.batch_execute("ROLLBACK");
    })
}

/// Proves `findings` on the copy, and says so in each verification. A
/// finding about a table the copy could not build is skipped, not called
/// wrong.
pub fn prove(copy: &mut Copy, findings: &mut [&mut Finding]) -> Result<(), String> {
    let (buildable, missing): (Vec<&mut &mut Finding>, Vec<&mut &mut Finding>) =
        findings.iter_mut().partition(|f| copy.catalog.tables.contains_key(&crate::prove::table_name(f)));
    for f in missing {
        let message = format!("the copy of the live schema has no table `{}`; see the warnings about building it", f.table);
        f.verification = Some(dbveto_rules::Verification { status: VerificationStatus::Skipped, sqlstate: None, message, statement: None });
    }
    let mut buildable: Vec<&mut Finding> = buildable.into_iter().map(|f| &mut **f).collect();
    crate::prove::prove_all(&mut copy.client, &copy.catalog, &mut buildable)?;
    for f in buildable {
        if let Some(v) = f.verification.as_mut().filter(|v| v.status != VerificationStatus::Skipped) {
            v.message = format!("{} (on a throwaway copy of the live schema)", v.message);
        }
    }
    Ok(())
}
