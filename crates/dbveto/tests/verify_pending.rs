//! `verify --pending` for Django and Alembic: a real PostgreSQL, migrated
//! by the real tool to an older migration, holds rows that later
//! migrations would refuse (or none that they would); dbveto reads the
//! tool's bookkeeping table and counts them per pending migration, only
//! ever reading. Then the tool itself runs the pending migrations: where
//! dbveto counted failing rows it fails, where it counted none it passes.

mod support;

use serde_json::Value;
use support::cli::{dbveto, repo};
use support::frameworks::{alembic, django_venv, sqlalchemy_venv, Project};
use support::postgres::Postgres;
use support::venv::bin;

/// `dbveto verify --pending --database-url URL DIR`: exit code, JSON, and
/// each diagnostic as `severity path:line message`, sorted.
fn verify_pending(url: &str, dir: &str) -> (i32, Value, Vec<String>) {
    let (code, out) = dbveto(&["verify", "--format", "json", "--pending", "--database-url", url], dir);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    let messages = support::cli::diagnostic_lines(&v);
    (code, v, messages)
}

/// Only notes, and none that a count failed.
fn only_notes(messages: &[String]) -> bool {
    messages.iter().all(|m| m.starts_with("info ")) && !messages.iter().any(|m| m.contains("could not count"))
}

const DJANGO: &str = "tests/fixtures/django-pending";

#[test]
fn django_pending_migrations_count_the_rows_they_would_fail_on() {
    let python = bin(&django_venv(), "python");
    let pg = Postgres::start();
    let dir = repo(DJANGO);
    let project = |database: &str| Project { python: &python, dir: &dir, pg: &pg, database: database.to_string() };
    for db in ["shop_old", "shop_clean", "shop_done"] {
        pg.create_database(db);
    }
    for db in ["shop_old", "shop_clean"] {
        project(db).manage(&["migrate", "--noinput", "--skip-checks", "shop", "0001"]).unwrap_or_else(|e| panic!("{e}"));
    }
    project("shop_done").migrate().unwrap_or_else(|e| panic!("{e}"));
    pg.psql(
        "shop_old",
        "INSERT INTO shop_customer (id, name) VALUES (1, 'ada');
         INSERT INTO shop_order (state, note, customer_id, reference) VALUES
           (NULL, NULL, 1, NULL), ('lost', 'gift', 99, 'R-2'), ('new', NULL, NULL, NULL);",
    )
    .expect("seed rows");
    pg.psql(
        "shop_clean",
        "INSERT INTO shop_customer (id, name) VALUES (1, 'ada');
         INSERT INTO shop_order (state, note, customer_id, reference) VALUES ('new', NULL, 1, 'R-1'), ('paid', 'gift', NULL, 'R-2');",
    )
    .expect("seed rows");

    let (code, v, messages) = verify_pending(&pg.conninfo("shop_old", ""), DJANGO);
    insta::assert_snapshot!("django_pending_violations", messages.join("\n"));
    assert_eq!(code, 1, "{messages:#?}");
    assert_eq!(v["databases"][0]["bookkeeping"], "django_migrations");
    assert_eq!(v["databases"][0]["pending_migrations"], 3);
    // Nothing was written.
    assert_eq!(pg.psql("shop_old", "SELECT count(*) FROM shop_order").expect("count").trim(), "3");
    assert_eq!(pg.psql("shop_old", "SELECT count(*) FROM django_migrations").expect("count").trim(), "1");

    let (code, _, messages) = verify_pending(&pg.conninfo("shop_clean", ""), DJANGO);
    assert_eq!(code, 0, "{messages:#?}");
    assert!(only_notes(&messages), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("0 existing rows of `shop_order` would fail NOT NULL on `state`")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("0 existing rows of `shop_order` would fail the new CHECK `shop_order_state_valid`")), "{messages:#?}");

    let (code, v, messages) = verify_pending(&pg.conninfo("shop_done", ""), DJANGO);
    assert_eq!(code, 0, "{messages:#?}");
    assert_eq!(v["databases"][0]["pending_migrations"], 0);
    assert_eq!(messages.iter().filter(|m| m.contains("pending migration")).count(), 1, "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("pending migrations: none")), "{messages:#?}");

    // Django agrees: the rows dbveto counted stop the migration, the clean ones do not.
    let refused = project("shop_old").manage(&["migrate", "--noinput", "--skip-checks", "shop", "0002"]).expect_err("NULL states must stop 0002");
    assert!(refused.contains("column \"state\" of relation \"shop_order\" contains null values"), "{refused}");
    project("shop_clean").migrate().unwrap_or_else(|e| panic!("the clean database must migrate: {e}"));
}

const ALEMBIC: &str = "tests/fixtures/sqlalchemy-alembic-pending";
const ROOT: &str = "5a0f1e2d3c4b";
const ACCOUNTS_BRANCH: &str = "6b1a2f3e4d5c";
const INVOICES_BRANCH: &str = "7c2b3a4f5e6d";
const MERGE: &str = "8d3c4b5a6f7e";

#[test]
fn alembic_pending_revisions_follow_branches_and_merges() {
    let python = bin(&sqlalchemy_venv(), "python");
    let pg = Postgres::start();
    let dir = repo(ALEMBIC);
    let upgrade = |database: &str, target: &str| alembic(&python, &dir, &pg, database, &["upgrade", target]);
    for db in ["billing_old", "billing_clean", "billing_done"] {
        pg.create_database(db);
    }
    // One branch applied: the other and the merge are pending.
    upgrade("billing_old", ACCOUNTS_BRANCH).unwrap_or_else(|e| panic!("{e}"));
    // Both branches applied, two heads: only the merge is pending.
    upgrade("billing_clean", ACCOUNTS_BRANCH).unwrap_or_else(|e| panic!("{e}"));
    upgrade("billing_clean", INVOICES_BRANCH).unwrap_or_else(|e| panic!("{e}"));
    upgrade("billing_done", "heads").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pg.psql("billing_clean", "SELECT version_num FROM alembic_version ORDER BY 1").expect("heads"), format!("{ACCOUNTS_BRANCH}\n{INVOICES_BRANCH}\n"));
    pg.psql(
        "billing_old",
        "INSERT INTO accounts (id, email) VALUES (1, 'ada@example.com');
         INSERT INTO invoices (account_id, status, amount) VALUES (1, 'void', NULL), (7, 'draft', 10), (NULL, NULL, NULL);",
    )
    .expect("seed rows");
    pg.psql(
        "billing_clean",
        "INSERT INTO accounts (id, email) VALUES (1, 'ada@example.com');
         INSERT INTO invoices (account_id, status, amount) VALUES (1, 'sent', NULL), (NULL, 'paid', 5);",
    )
    .expect("seed rows");

    let (code, v, messages) = verify_pending(&pg.conninfo("billing_old", ""), ALEMBIC);
    insta::assert_snapshot!("alembic_pending_violations", messages.join("\n"));
    assert_eq!(code, 1, "{messages:#?}");
    assert_eq!(v["databases"][0]["bookkeeping"], "alembic_version");
    assert_eq!(v["databases"][0]["pending_migrations"], 2);
    assert_eq!(pg.psql("billing_old", "SELECT version_num FROM alembic_version").expect("version"), format!("{ACCOUNTS_BRANCH}\n"));

    let (code, v, messages) = verify_pending(&pg.conninfo("billing_clean", ""), ALEMBIC);
    assert_eq!(code, 0, "{messages:#?}");
    assert_eq!(v["databases"][0]["pending_migrations"], 1);
    assert!(only_notes(&messages), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains(&format!("`{MERGE}` is not applied yet"))), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("0 existing rows of `invoices` would fail the new FOREIGN KEY")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("NOT NULL on `amount` is safe")), "{messages:#?}");

    let (code, v, messages) = verify_pending(&pg.conninfo("billing_done", ""), ALEMBIC);
    assert_eq!(code, 0, "{messages:#?}");
    assert_eq!(v["databases"][0]["pending_migrations"], 0);
    assert!(messages.iter().any(|m| m.contains("pending migrations: none")), "{messages:#?}");

    // Alembic agrees.
    let refused = upgrade("billing_old", "heads").expect_err("the 'void' invoice must stop the CHECK");
    assert!(refused.contains("ck_invoices_status"), "{refused}");
    upgrade("billing_clean", "heads").unwrap_or_else(|e| panic!("the clean database must upgrade: {e}"));
}

#[test]
fn an_alembic_version_the_repository_does_not_know() {
    let python = bin(&sqlalchemy_venv(), "python");
    let pg = Postgres::start();
    pg.create_database("billing");
    alembic(&python, &repo(ALEMBIC), &pg, "billing", &["upgrade", ROOT]).unwrap_or_else(|e| panic!("{e}"));
    pg.psql("billing", "UPDATE alembic_version SET version_num = 'f00dfeedbeef'").expect("stamp");
    let (code, _, messages) = verify_pending(&pg.conninfo("billing", ""), ALEMBIC);
    // Compared with every revision, the database differs: exit code 3, not 1.
    assert_eq!(code, 3, "{messages:#?}");
    assert!(
        messages.iter().any(|m| m.contains("`alembic_version` names revision `f00dfeedbeef`, which no revision file of the repository defines")),
        "{messages:#?}"
    );
    assert!(!messages.iter().any(|m| m.contains("existing row")), "{messages:#?}");
}
