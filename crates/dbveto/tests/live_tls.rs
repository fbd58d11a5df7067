//! TLS to a live database as `sslmode` says, on real servers: one that
//! listens on 127.0.0.1 without TLS, and one with a self-signed
//! certificate made by `openssl req`. Which connections really use TLS is
//! asked of the server (`pg_stat_ssl`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use dbveto_verify::live;
use dbveto_verify::server::Listen;
use support::cli::repo;
use support::postgres::Postgres;

/// A free TCP port of 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A fresh directory for certificates.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dbveto-tls-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A self-signed certificate for `localhost` (and 127.0.0.1 when
/// `with_ip`): its certificate and key files.
fn self_signed(dir: &Path, name: &str, with_ip: bool) -> (PathBuf, PathBuf) {
    let (crt, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    let names = if with_ip { "subjectAltName=DNS:localhost,IP:127.0.0.1" } else { "subjectAltName=DNS:localhost" };
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", names, "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("run openssl (Debian: apt-get install openssl)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (crt, key)
}

/// Whether the session `url` opens uses TLS, per the server; or the error.
fn uses_tls(url: &str) -> Result<bool, String> {
    let mut db = live::connect(url)?;
    let row = db.client.query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[test]
fn a_server_without_tls() {
    let port = free_port();
    let pg = Postgres::start_listening(&Listen { tcp_port: Some(port), tls: None });
    let words = |mode: &str| format!("host=127.0.0.1 port={port} user=postgres dbname=postgres password=hunter2 sslmode={mode} connect_timeout=10");
    assert_eq!(uses_tls(&words("disable")), Ok(false));
    assert_eq!(uses_tls(&words("allow")), Ok(false));
    assert_eq!(uses_tls(&words("prefer")), Ok(false));
    assert_eq!(uses_tls(&format!("postgres://postgres:hunter2@127.0.0.1:{port}/postgres?sslmode=prefer")), Ok(false));
    // No sslmode is libpq's default, prefer.
    assert_eq!(uses_tls(&format!("postgres://postgres@127.0.0.1:{port}/postgres")), Ok(false));
    for mode in ["require", "verify-ca", "verify-full"] {
        let e = uses_tls(&words(mode)).expect_err("TLS is required");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("password=********"), "{e}");
        if mode == "require" {
            assert!(e.contains(&format!("the server does not accept TLS, which sslmode={mode} requires")), "{e}");
        } else {
            // Nothing to check the certificate against: said before connecting.
            assert!(e.contains("needs a root certificate"), "{e}");
        }
    }
    let e = uses_tls(&words("always")).expect_err("not a mode");
    assert!(e.contains("invalid sslmode value: \"always\"") && !e.contains("hunter2"), "{e}");
    // Over the Unix socket, TLS is never tried, as with libpq.
    assert_eq!(uses_tls(&pg.conninfo("postgres", "sslmode=require")), Ok(false));

    // The command line says the same, with exit code 2.
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto"))
        .args(["check", "--database-url", &words("require")])
        .arg(repo("examples/timeout-service"))
        .output()
        .expect("run dbveto");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the server does not accept TLS, which sslmode=require requires") && !stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_server_with_a_self_signed_certificate() {
    let dir = scratch("server");
    let (crt, key) = self_signed(&dir, "server", false);
    let (other, _) = self_signed(&dir, "other", true);
    let port = free_port();
    let _pg = Postgres::start_listening(&Listen { tcp_port: Some(port), tls: Some((crt.clone(), key)) });
    let url = |host: &str, extra: &str| format!("host={host} port={port} user=postgres dbname=postgres connect_timeout=10 {extra}");
    let ip = |extra: &str| url("127.0.0.1", extra);
    let root = format!("sslrootcert={}", crt.display());

    assert_eq!(uses_tls(&ip("sslmode=disable")), Ok(false));
    assert_eq!(uses_tls(&ip("sslmode=allow")), Ok(false));
    assert_eq!(uses_tls(&ip("sslmode=prefer")), Ok(true));
    assert_eq!(uses_tls(&ip("")), Ok(true));
    // require takes any certificate, unless a root certificate is given.
    assert_eq!(uses_tls(&ip("sslmode=require")), Ok(true));
    assert_eq!(uses_tls(&ip(&format!("sslmode=require {root}"))), Ok(true));
    let e = uses_tls(&ip(&format!("sslmode=require sslrootcert={}", other.display()))).expect_err("signed by another");
    assert!(e.contains("certificate verify failed"), "{e}");
    // verify-ca checks the chain only; verify-full the host name too (the
    // certificate names localhost, not 127.0.0.1).
    assert_eq!(uses_tls(&ip(&format!("sslmode=verify-ca {root}"))), Ok(true));
    assert_eq!(uses_tls(&url("localhost", &format!("sslmode=verify-full {root}"))), Ok(true));
    let e = uses_tls(&ip(&format!("sslmode=verify-full {root}"))).expect_err("the name does not match");
    assert!(e.contains("certificate verify failed"), "{e}");
    let e = uses_tls(&ip(&format!("sslmode=verify-ca sslrootcert={}", other.display()))).expect_err("signed by another");
    assert!(e.contains("certificate verify failed"), "{e}");
    let url_form = format!("postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}", crt.display());
    assert_eq!(uses_tls(&url_form), Ok(true));
    let _ = std::fs::remove_dir_all(&dir);
}
