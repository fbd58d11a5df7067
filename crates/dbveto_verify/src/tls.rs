//! TLS to a live database, as libpq users expect it from the connection
//! string: `sslmode` (`disable`, `allow`, `prefer`, the default,
//! `require`, `verify-ca`, `verify-full`), `sslrootcert` (a file, or
//! `system` for the system's roots), `sslcert` and `sslkey`, in a
//! `postgres://` URL's query or as `key=value` words.
//!
//! The client library knows `disable`, `prefer` and `require` only, and
//! none of the file settings: they are taken out of the string it reads,
//! and OpenSSL is set up here to do what libpq does. Like libpq, TLS is
//! never tried over a Unix socket, `require` checks the certificate only
//! when a root certificate file is there, and `verify-full` also checks
//! the host name.

use std::ops::Range;
use std::path::PathBuf;

use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;

/// `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Mode, String> {
        Ok(match value {
            "disable" => Mode::Disable,
            "allow" => Mode::Allow,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            other => return Err(format!("invalid sslmode value: \"{other}\"")),
        })
    }

    /// The mode as the string spells it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Allow => "allow",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }

    /// The mode as the client library knows it, for its first attempt.
    fn client_value(self) -> &'static str {
        match self {
            Mode::Disable | Mode::Allow => "disable",
            Mode::Prefer => "prefer",
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => "require",
        }
    }
}

/// The TLS settings of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub mode: Mode,
    pub root_cert: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// The keys this module handles.
const KEYS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// Takes the TLS settings out of `conninfo`: the string the client
/// library reads (with `sslmode` as it knows it), and the settings.
pub fn split(conninfo: &str) -> Result<(String, Settings), String> {
    let is_url = is_url(conninfo);
    let params = params(conninfo)?;
    let value = |key: &str| params.iter().rev().find(|p| p.key == key).map(|p| p.value.clone());
    let root_cert = value("sslrootcert");
    let mode = match value("sslmode") {
        Some(v) => Mode::parse(&v)?,
        // libpq: the system's roots make `verify-full` the default.
        None if root_cert.as_deref() == Some("system") => Mode::VerifyFull,
        None => Mode::Prefer,
    };
    if root_cert.as_deref() == Some("system") && mode < Mode::VerifyFull {
        return Err(format!("weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")", mode.name()));
    }
    let settings = Settings { mode, root_cert, cert: value("sslcert"), key: value("sslkey") };
    // The string without the TLS settings, then the mode the library knows.
    let mut rest = conninfo.to_string();
    for p in params.iter().rev().filter(|p| KEYS.contains(&p.key.as_str())) {
        rest.replace_range(p.range.clone(), "");
    }
    let sslmode = format!("sslmode={}", mode.client_value());
    let rest = if is_url {
        let rest = rest.trim_end_matches(['&', '?']).replace("?&", "?").replace("&&", "&");
        let glue = if rest.contains('?') { '&' } else { '?' };
        format!("{rest}{glue}{sslmode}")
    } else {
        format!("{} {sslmode}", rest.trim())
    };
    Ok((rest, settings))
}

fn is_url(conninfo: &str) -> bool {
    conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://")
}

/// The settings of a connection string in either form.
fn params(conninfo: &str) -> Result<Vec<Param>, String> {
    match is_url(conninfo) {
        true => Ok(url_params(conninfo)),
        false => keyword_params(conninfo),
    }
}

/// The value of one setting (the last one given), in either form.
pub fn setting(conninfo: &str, key: &str) -> Option<String> {
    params(conninfo).ok()?.into_iter().rev().find(|p| p.key == key).map(|p| p.value)
}

/// One setting of a connection string and the bytes it takes (with its
/// separator, so that removing it leaves a valid string).
#[derive(Debug)]
struct Param {
    key: String,
    value: String,
    range: Range<usize>,
}

/// The `key=value` pairs of a URL's query, percent-decoded.
fn url_params(url: &str) -> Vec<Param> {
    let Some(start) = url.find('?') else { return Vec::new() };
    let end = url[start..].find('#').map_or(url.len(), |i| start + i);
    let mut out = Vec::new();
    let mut at = start + 1;
    for piece in url[start + 1..end].split('&') {
        let range = at..(at + piece.len() + 1).min(end);
        at += piece.len() + 1;
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        out.push(Param { key: percent_decode(key), value: percent_decode(value), range });
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The settings of a `key=value` string, as libpq reads it: words apart by
/// white space, `=` with optional spaces around it, values bare (a
/// backslash escapes the next character) or in single quotes.
fn keyword_params(s: &str) -> Result<Vec<Param>, String> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(s.len(), |(p, _)| *p);
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while chars.get(i).is_some_and(|(_, c)| c.is_whitespace()) {
            i += 1;
        }
        let Some(&(start, _)) = chars.get(i) else { break };
        let mut key = String::new();
        while let Some(&(_, c)) = chars.get(i).filter(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
            i += 1;
        }
        while chars.get(i).is_some_and(|(_, c)| c.is_whitespace()) {
            i += 1;
        }
        if chars.get(i).map(|(_, c)| *c) != Some('=') {
            return Err(format!("missing \"=\" after \"{key}\" in the connection string"));
        }
        i += 1;
        while chars.get(i).is_some_and(|(_, c)| c.is_whitespace()) {
            i += 1;
        }
        let mut value = String::new();
        if chars.get(i).map(|(_, c)| *c) == Some('\'') {
            i += 1;
            loop {
                match chars.get(i).map(|(_, c)| *c) {
                    None => return Err("unterminated quoted string in the connection string".into()),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        if let Some(&(_, c)) = chars.get(i + 1) {
                            value.push(c);
                        }
                        i += 2;
                    }
                    Some(c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(&(_, c)) = chars.get(i).filter(|(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(&(_, next)) = chars.get(i + 1) {
                        value.push(next);
                    }
                    i += 2;
                } else {
                    value.push(c);
                    i += 1;
                }
            }
        }
        out.push(Param { key, value, range: start..end_of(i) });
    }
    Ok(out)
}

/// Where libpq looks for a file it was not given: `~/.postgresql/NAME`.
fn default_file(name: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".postgresql").join(name)).filter(|p| p.is_file())
}

/// The OpenSSL connector for `settings`.
pub fn connector(settings: &Settings) -> Result<MakeTlsConnector, String> {
    let e = |what: &str, err: openssl::error::ErrorStack| format!("{what}: {err}");
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|err| e("could not set up TLS", err))?;
    let root = match settings.root_cert.as_deref() {
        Some("system") => Some(None),
        Some(path) => Some(Some(PathBuf::from(path))),
        None => default_file("root.crt").map(Some),
    };
    // `require` checks the chain when a root certificate is there, as libpq does.
    let verify = settings.mode >= Mode::VerifyCa || (settings.mode == Mode::Require && root.is_some());
    if verify {
        match root {
            Some(Some(path)) if path.is_file() => builder.set_ca_file(&path).map_err(|err| e(&format!("could not read root certificate file \"{}\"", path.display()), err))?,
            Some(Some(path)) => return Err(format!("root certificate file \"{}\" does not exist", path.display())),
            Some(None) => builder.set_default_verify_paths().map_err(|err| e("could not load the system's root certificates", err))?,
            None => {
                return Err(format!(
                    "sslmode={} needs a root certificate to check the server's: give sslrootcert=FILE (or sslrootcert=system for the system's roots), \
                     or use sslmode=require to accept any certificate",
                    settings.mode.name()
                ))
            }
        }
        builder.set_verify(SslVerifyMode::PEER);
    } else {
        builder.set_verify(SslVerifyMode::NONE);
    }
    let cert = settings.cert.as_ref().map(PathBuf::from).or_else(|| default_file("postgresql.crt"));
    if let Some(cert) = cert.filter(|c| c.is_file()) {
        let key = settings.key.as_ref().map(PathBuf::from).or_else(|| default_file("postgresql.key"));
        let Some(key) = key else { return Err(format!("client certificate \"{}\" has no private key: give sslkey=FILE", cert.display())) };
        builder.set_certificate_chain_file(&cert).map_err(|err| e(&format!("could not read certificate file \"{}\"", cert.display()), err))?;
        builder.set_private_key_file(&key, SslFiletype::PEM).map_err(|err| e(&format!("could not read private key file \"{}\"", key.display()), err))?;
    } else if let Some(cert) = &settings.cert {
        return Err(format!("certificate file \"{cert}\" does not exist"));
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    let check_host = settings.mode == Mode::VerifyFull;
    connector.set_callback(move |config, _| {
        config.set_verify_hostname(check_host);
        Ok(())
    });
    Ok(connector)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_ok(s: &str) -> (String, Mode, Option<String>) {
        let (rest, settings) = split(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (rest, settings.mode, settings.root_cert)
    }

    #[test]
    fn settings_come_out_of_a_url() {
        assert_eq!(
            split_ok("postgres://app:pw@db:5432/prod?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=5"),
            ("postgres://app:pw@db:5432/prod?connect_timeout=5&sslmode=require".into(), Mode::VerifyFull, Some("/etc/ca.pem".into()))
        );
        assert_eq!(split_ok("postgresql://db/prod"), ("postgresql://db/prod?sslmode=prefer".into(), Mode::Prefer, None));
        assert_eq!(split_ok("postgres://db/prod?sslmode=disable"), ("postgres://db/prod?sslmode=disable".into(), Mode::Disable, None));
        assert_eq!(split_ok("postgres://db/prod?sslrootcert=system").1, Mode::VerifyFull);
    }

    #[test]
    fn settings_come_out_of_key_value_words() {
        assert_eq!(
            split_ok("host=db sslmode = 'verify-ca' password='it\\'s' sslrootcert=/etc/ca\\ 1.pem dbname=prod"),
            ("host=db  password='it\\'s'  dbname=prod sslmode=require".into(), Mode::VerifyCa, Some("/etc/ca 1.pem".into()))
        );
        assert_eq!(split_ok("host=db").0, "host=db sslmode=prefer");
        assert_eq!(split_ok("host=db sslmode=allow").0, "host=db sslmode=disable");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert_eq!(split("host=db sslmode=always").unwrap_err(), "invalid sslmode value: \"always\"");
        assert!(split("host=db sslmode=require sslrootcert=system").unwrap_err().contains("weak sslmode \"require\""));
        assert!(split("host=db sslmode").unwrap_err().contains("missing \"=\""));
        assert!(split("host='db").unwrap_err().contains("unterminated"));
    }

    #[test]
    fn verification_needs_a_root_certificate() {
        let settings = Settings { mode: Mode::VerifyCa, root_cert: Some("/nonexistent/ca.pem".into()), cert: None, key: None };
        assert_eq!(connector(&settings).err().as_deref(), Some("root certificate file \"/nonexistent/ca.pem\" does not exist"));
        let settings = Settings { mode: Mode::Require, root_cert: None, cert: Some("/nonexistent/client.crt".into()), key: None };
        assert_eq!(connector(&settings).err().as_deref(), Some("certificate file \"/nonexistent/client.crt\" does not exist"));
    }
}
