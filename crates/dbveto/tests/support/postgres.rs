//! A throwaway PostgreSQL server for tests: `dbveto_verify::Server` (its
//! own data directory and Unix socket in a temporary directory, stopped and
//! removed on drop, run as an unprivileged user under root), plus a way to
//! run SQL and read the first column of the result as text.

use std::path::Path;

use dbveto_verify::server::{Binaries, Listen, Server, SUPERUSER};

pub struct Postgres {
    bin: Binaries,
    server: Server,
}

impl Postgres {
    /// Starts a server, or panics with what is missing.
    pub fn start() -> Postgres {
        Postgres::start_listening(&Listen::default())
    }

    /// A server that also listens on 127.0.0.1 (with TLS, when `listen` says so).
    pub fn start_listening(listen: &Listen) -> Postgres {
        let bin = Binaries::find(None).unwrap_or_else(|e| panic!("{e}"));
        let server = Server::start_listening(&bin, listen).unwrap_or_else(|e| panic!("could not start PostgreSQL: {e}"));
        Postgres { bin, server }
    }

    /// The directory of the server's Unix socket: what libpq takes as `host`.
    pub fn socket_dir(&self) -> &Path {
        self.server.socket_dir()
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The superuser `initdb` created; it logs in without a password.
    pub fn user(&self) -> &'static str {
        SUPERUSER
    }

    /// A `key=value` connection string for database `db`, with `extra` appended.
    pub fn conninfo(&self, db: &str, extra: &str) -> String {
        format!("host={} port={} user={SUPERUSER} dbname={db} {extra}", self.socket_dir().display(), self.port())
    }

    /// Runs SQL in `db` (several statements allowed); returns the first
    /// column of every row, one per line. `Err` carries the server's message.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let mut client = self.server.connect(db)?;
        let messages = client.simple_query(sql).map_err(|e| dbveto_verify::error::describe(&e))?;
        let mut out = String::new();
        for m in messages {
            if let postgres::SimpleQueryMessage::Row(row) = m {
                out.push_str(row.get(0).unwrap_or(""));
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// `pg_dump --schema-only` of `db`: the dump a user would commit as
    /// `schema.sql`.
    #[allow(dead_code)]
    pub fn pg_dump(&self, db: &str) -> Result<String, String> {
        // Beside the real `initdb` (the server's own version), not a wrapper.
        let initdb = std::fs::canonicalize(self.bin.dir.join("initdb")).map_err(|e| e.to_string())?;
        let pg_dump = initdb.with_file_name("pg_dump");
        let out = std::process::Command::new(pg_dump)
            .args(["--schema-only", "--no-owner", "-h"])
            .arg(self.socket_dir())
            .args(["-p", &self.port().to_string(), "-U", SUPERUSER, db])
            .output()
            .map_err(|e| format!("could not run pg_dump: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    }

    /// The server itself, for the library's own use of it.
    pub fn server(&self) -> &Server {
        &self.server
    }

    pub fn create_database(&self, name: &str) {
        self.server.create_database(name).expect("create database");
    }
}
