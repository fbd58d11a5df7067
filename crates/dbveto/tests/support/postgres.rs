//! A throwaway PostgreSQL server for tests: its own data directory and
//! Unix socket in a temporary directory, stopped and removed on drop.
//! Run as the `postgres` user when the tests run as root (the server
//! refuses root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("DBVETO_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.into_iter().rev().find(|d| d.join("initdb").is_file())
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl Postgres {
    /// Starts a server, or panics with what is missing.
    pub fn start() -> Postgres {
        let bin = find_bin().expect("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql or set DBVETO_POSTGRES_BIN");
        let base = std::env::temp_dir().join(format!("dbveto-pg-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&base).expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&base).status().expect("chown");
            assert!(status.success(), "chown of {} failed", base.display());
        }
        // A port per process; the server listens only on its socket.
        let port = 20000 + (std::process::id() % 20000) as u16;
        let pg = Postgres { dir: base, bin, port, as_postgres };
        pg.run("initdb", &["-D", pg.data().to_str().unwrap(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
        let opts = format!("-k {} -p {} -c listen_addresses='' -c fsync=off", pg.dir.display(), pg.port);
        pg.run("pg_ctl", &["-D", pg.data().to_str().unwrap(), "-o", &opts, "-l", pg.dir.join("log").to_str().unwrap(), "-w", "start"]);
        pg
    }

    /// The directory of the server's Unix socket: what libpq takes as `host`.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser `initdb` created; it logs in without a password.
    pub fn user(&self) -> &'static str {
        "postgres"
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let program = if path.is_file() { path } else { PathBuf::from(program) };
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self.command(program).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(out.status.success(), "{program} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    /// Runs SQL in `db`; `Err` carries the server's message.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        use std::io::Write;
        let mut child = self
            .command("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psql");
        child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("write sql");
        let out = child.wait_with_output().expect("psql output");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }

    pub fn create_database(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE {name};")).expect("create database");
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-D", self.data().to_str().unwrap_or(""), "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

