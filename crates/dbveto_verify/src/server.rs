//! A throwaway PostgreSQL server: its own data directory and Unix socket in
//! a fresh temporary directory, no TCP listener (unless asked), run as an unprivileged
//! user when dbveto runs as root (the server refuses root). Stopped and
//! removed on drop, on panic, and on Ctrl-C / SIGTERM (a signal handler
//! stops every server this process started, ends every program still
//! working in its directory, removes it, then exits). No moment is left
//! uncovered: a directory is listed as it is made, and no server program
//! starts once the handler runs.

use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

/// The socket is `<dir>/.s.PGSQL.5432`: every server has its own
/// directory, so the port never collides with another server's.
pub const PORT: u16 = 5432;

/// The superuser `initdb` creates; it logs in over the socket without a password.
pub const SUPERUSER: &str = "postgres";

/// Where the server programs (`initdb`, `pg_ctl`, `postgres`) are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
}

const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// What to tell someone whose machine has no server programs.
pub const INSTALL_HINT: &str = "install the PostgreSQL server (Debian/Ubuntu: `sudo apt-get install postgresql`; \
Fedora/RHEL: `sudo dnf install postgresql-server`; macOS: `brew install postgresql@17`), \
or pass `--postgres-bin DIR`, or verify against an existing database with `--database-url`";

impl Binaries {
    /// `explicit` (from `--postgres-bin`), else `DBVETO_POSTGRES_BIN`, else
    /// `PATH`, else the places packages install them, newest version first.
    pub fn find(explicit: Option<&Path>) -> Result<Binaries, String> {
        if let Some(dir) = explicit {
            return match missing_programs(dir) {
                None => Ok(Binaries { dir: dir.to_path_buf() }),
                Some(p) => Err(format!("`{}` has no `{p}`; give the directory that holds initdb, pg_ctl and postgres", dir.display())),
            };
        }
        let from_env = std::env::var_os("DBVETO_POSTGRES_BIN").map(PathBuf::from);
        let on_path: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
        from_env
            .into_iter()
            .chain(on_path)
            .chain(usual_places())
            .find(|d| missing_programs(d).is_none())
            .map(|dir| Binaries { dir })
            .ok_or_else(|| format!("PostgreSQL server programs (initdb, pg_ctl, postgres) not found on PATH or in the usual places; {INSTALL_HINT}"))
    }

    fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn missing_programs(dir: &Path) -> Option<&'static str> {
    PROGRAMS.into_iter().find(|p| !dir.join(p).is_file())
}

/// Versioned install folders, newest first, then the fixed ones.
fn usual_places() -> Vec<PathBuf> {
    let mut versioned = Vec::new();
    for (parent, prefix, suffix) in [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
        ("/opt/homebrew/opt", "postgresql@", "bin"),
        ("/usr/local/opt", "postgresql@", "bin"),
        ("/Applications/Postgres.app/Contents/Versions", "", "bin"),
    ] {
        let Ok(entries) = std::fs::read_dir(parent) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(version) = name.strip_prefix(prefix) {
                let key: Vec<u64> = version.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
                if !key.is_empty() {
                    versioned.push((key, e.path().join(suffix)));
                }
            }
        }
    }
    versioned.sort_by(|a, b| b.0.cmp(&a.0));
    let mut out: Vec<PathBuf> = versioned.into_iter().map(|(_, p)| p).collect();
    out.extend(["/usr/local/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin", "/usr/pgsql/bin"].map(PathBuf::from));
    out
}

/// A running throwaway server. Dropping it stops the server and removes
/// its directory.
pub struct Server {
    cleanup: Cleanup,
    port: u16,
}

/// How a throwaway server listens, besides its Unix socket: on
/// 127.0.0.1, and with TLS, to try clients against (dbveto's own servers
/// need neither).
#[derive(Debug, Clone, Default)]
pub struct Listen {
    /// A free TCP port of 127.0.0.1 to listen on.
    pub tcp_port: Option<u16>,
    /// TLS with this certificate and private key (PEM files, copied into
    /// the server's directory).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// What it takes to stop a server and remove its files; kept in a
/// process-wide list so the signal handler can do it too.
#[derive(Debug, Clone)]
struct Cleanup {
    id: u64,
    dir: PathBuf,
    bin: Binaries,
    run_as: Option<String>,
}

static LIVE: Mutex<Vec<Cleanup>> = Mutex::new(Vec::new());
static HANDLER: Once = Once::new();
static NEXT: AtomicU64 = AtomicU64::new(0);
/// Held while a server program is started, and by the signal handler from
/// its start to the exit: no program starts after the handler looked for
/// the ones to stop.
static SPAWN: Mutex<bool> = Mutex::new(false);

fn live() -> std::sync::MutexGuard<'static, Vec<Cleanup>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

fn spawning() -> std::sync::MutexGuard<'static, bool> {
    SPAWN.lock().unwrap_or_else(|e| e.into_inner())
}

/// On SIGINT, SIGTERM or SIGHUP: stop every server, remove its directory,
/// say what was done, exit with 130. A program that installed its own
/// handler keeps it.
fn install_signal_handler() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            // Both locks are held until the process exits: a `Drop` on the
            // main thread (its connection just broke) waits instead of
            // returning an error first, and no server program starts.
            let mut interrupted = spawning();
            *interrupted = true;
            let mut servers = live();
            let left: Vec<PathBuf> = servers.drain(..).filter(|s| !s.run()).map(|s| s.dir).collect();
            match left.as_slice() {
                [] => eprintln!("dbveto: interrupted; the throwaway PostgreSQL server was stopped and its files removed"),
                dirs => {
                    let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
                    eprintln!("dbveto: interrupted; could not remove {}: remove it by hand", dirs.join(", "));
                }
            }
            std::process::exit(130);
        });
    });
}

impl Server {
    /// Creates a data directory in a new temporary directory, and starts a
    /// server that listens only on a Unix socket there.
    pub fn start(bin: &Binaries) -> Result<Server, String> {
        Server::start_listening(bin, &Listen::default())
    }

    /// `start`, listening as `listen` says too.
    pub fn start_listening(bin: &Binaries, listen: &Listen) -> Result<Server, String> {
        install_signal_handler();
        // Made and listed under the lock: a signal in between cannot leave
        // a directory that no list holds.
        let mut cleanup = {
            let mut list = live();
            let dir = create_private_dir()?;
            let cleanup = Cleanup { id: NEXT.fetch_add(1, Ordering::Relaxed), dir, bin: bin.clone(), run_as: None };
            list.push(cleanup.clone());
            cleanup
        };
        // From here on, dropping `server` removes everything.
        if is_root(&cleanup.dir) {
            let user = unprivileged_user();
            let id = cleanup.id;
            if let Ok(user) = &user {
                cleanup.run_as = Some(user.clone());
                if let Some(listed) = live().iter_mut().find(|c| c.id == id) {
                    listed.run_as = Some(user.clone());
                }
            }
            if let Err(e) = user {
                drop(Server { cleanup, port: PORT });
                return Err(e);
            }
        }
        let server = Server { cleanup, port: listen.tcp_port.unwrap_or(PORT) };
        let mut settings = match listen.tcp_port {
            Some(_) => "-c listen_addresses=127.0.0.1".to_string(),
            None => "-c listen_addresses=''".to_string(),
        };
        if let Some((cert, key)) = &listen.tls {
            // The server wants its key readable by itself alone.
            for (from, to) in [(cert, "server.crt"), (key, "server.key")] {
                let target = server.dir().join(to);
                std::fs::copy(from, &target).map_err(|e| format!("could not copy {}: {e}", from.display()))?;
                std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(|e| e.to_string())?;
            }
            let at = |f: &str| server.dir().join(f).display().to_string();
            settings.push_str(&format!(" -c ssl=on -c ssl_cert_file='{}' -c ssl_key_file='{}'", at("server.crt"), at("server.key")));
        }
        if let Some(user) = &server.cleanup.run_as {
            let out = Command::new("chown").arg("-R").arg(format!("{user}:")).arg(server.dir()).output().map_err(|e| format!("could not run chown: {e}"))?;
            if !out.status.success() {
                return Err(format!("could not give {} to the `{user}` user: {}", server.dir().display(), String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        let data = server.data();
        let data = data.to_string_lossy();
        server.run("initdb", &["-D", &data, "-U", SUPERUSER, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"])?;
        let options = format!("-k '{}' -p {} {settings} -c fsync=off -c full_page_writes=off -c synchronous_commit=off", server.dir().display(), server.port);
        let log = server.dir().join("server.log");
        if let Err(e) = server.run("pg_ctl", &["-D", &data, "-o", &options, "-l", &log.to_string_lossy(), "-w", "-t", "60", "start"]) {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            return Err(format!("{e}{}", tail.into_iter().rev().map(|l| format!("\n  {l}")).collect::<String>()));
        }
        Ok(server)
    }

    /// The directory of the server's socket: libpq's `host`.
    pub fn socket_dir(&self) -> &Path {
        self.dir()
    }

    /// Its port: the socket's number, and the TCP port when it has one.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn dir(&self) -> &Path {
        &self.cleanup.dir
    }

    fn data(&self) -> PathBuf {
        self.cleanup.dir.join("data")
    }

    /// Connection settings for database `db` as the superuser.
    pub fn config(&self, db: &str) -> postgres::Config {
        let mut c = postgres::Config::new();
        c.host_path(self.dir()).port(self.port).user(SUPERUSER).dbname(db).application_name("dbveto");
        c
    }

    pub fn connect(&self, db: &str) -> Result<postgres::Client, String> {
        self.config(db).connect(postgres::NoTls).map_err(|e| format!("could not connect to the throwaway server: {}", crate::error::describe(&e)))
    }

    /// Creates a database and returns its name.
    pub fn create_database(&self, name: &str) -> Result<(), String> {
        let mut client = self.connect("postgres")?;
        client
            .batch_execute(&format!("CREATE DATABASE {}", crate::sql::ident(name)))
            .map_err(|e| format!("could not create database {name}: {}", crate::error::describe(&e)))
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let child = {
            let interrupted = spawning();
            if *interrupted {
                return Err("interrupted".into());
            }
            let mut command = self.cleanup.command(program);
            command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
            command.spawn().map_err(|e| format!("could not run {program}: {e}"))?
        };
        let out = child.wait_with_output().map_err(|e| format!("could not run {program}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(format!("{program} failed: {}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Cleanup {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.program(program);
        let mut c = match &self.run_as {
            Some(user) if has_program("runuser") => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            Some(user) => {
                let mut c = Command::new("sudo");
                c.args(["-n", "-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        // The unprivileged user may not be able to read the current directory.
        c.current_dir(&self.dir);
        c
    }

    /// Stops the server if it runs, ends every program still working in
    /// the directory (an `initdb`, a server starting), then removes the
    /// directory, again while something still writes there. Whether it is
    /// gone.
    fn run(&self) -> bool {
        if self.dir.join("data").join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-m", "immediate", "-w", "-t", "10", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        for _ in 0..50 {
            kill_programs_in(&self.dir);
            let _ = std::fs::remove_dir_all(&self.dir);
            // Gone, and not made again by a program that was still dying.
            if !self.dir.exists() {
                std::thread::sleep(std::time::Duration::from_millis(50));
                if !self.dir.exists() && kill_programs_in(&self.dir) == 0 {
                    return true;
                }
                continue;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    }
}

/// Kills (SIGKILL) the processes whose command line names `dir`: the
/// server programs started there. Linux only (`/proc`); elsewhere the
/// server's own shutdown on the terminal's signal has to do.
fn kill_programs_in(dir: &Path) -> usize {
    let mut killed = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let needle = dir.as_os_str().as_encoded_bytes();
    let me = std::process::id().to_string();
    for entry in entries.flatten().take(1_000_000) {
        let pid = entry.file_name().to_string_lossy().to_string();
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        if cmdline.windows(needle.len()).any(|w| w == needle) {
            let _ = Command::new("kill").args(["-KILL", &pid]).stdout(Stdio::null()).stderr(Stdio::null()).status();
            killed.push(pid);
        }
    }
    // Wait (at most 2 s) until they are gone: a killed program may still
    // be scheduled once, and must not write there after the removal.
    // Gone, or a zombie (its command line is empty).
    let gone = |pid: &String| std::fs::read(format!("/proc/{pid}/cmdline")).map_or(true, |c| c.is_empty());
    for _ in 0..40 {
        if killed.iter().all(gone) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    killed.len()
}

impl Drop for Server {
    fn drop(&mut self) {
        let id = self.cleanup.id;
        let mine = {
            let mut list = live();
            let before = list.len();
            list.retain(|c| c.id != id);
            before != list.len()
        };
        // A signal handler that got there first already cleaned up.
        if mine {
            self.cleanup.run();
        }
    }
}

fn has_program(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// A new directory only its owner can enter, under the system's temp dir.
fn create_private_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    for attempt in 0..100 {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = base.join(format!("dbveto-pg-{}-{}-{nanos:x}{attempt}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("could not create a temporary directory in {}: {e}", base.display())),
        }
    }
    Err(format!("could not create a temporary directory in {}", base.display()))
}

/// Whether this process runs as root: the owner of a directory it just made.
fn is_root(dir: &Path) -> bool {
    std::fs::metadata(dir).map(|m| m.uid() == 0).unwrap_or(false)
}

/// The user the server runs as when dbveto runs as root: `postgres` (the
/// packages create it), else `nobody`.
fn unprivileged_user() -> Result<String, String> {
    for user in ["postgres", "nobody"] {
        if Command::new("id").arg("-u").arg(user).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success()) {
            return Ok(user.to_string());
        }
    }
    Err("PostgreSQL refuses to run as root, and there is no `postgres` or `nobody` user to run it as; run dbveto as another user".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_directory_without_programs_is_refused() {
        let e = Binaries::find(Some(Path::new("/nonexistent-dbveto-dir"))).unwrap_err();
        assert!(e.contains("has no `initdb`"), "{e}");
    }

    #[test]
    fn usual_places_put_newer_versions_first() {
        let places = usual_places();
        assert!(places.iter().any(|p| p.ends_with("pgsql/bin")));
    }
}
