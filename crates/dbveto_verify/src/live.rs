//! A live database, only ever read: every session is read-only by default
//! (set at connect, checked after), statements time out, and the password
//! never appears in a message. TLS follows the string's `sslmode` (`tls`).

use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::error::{describe, redact_url, Redactor};
use crate::tls::{self, Mode};

/// How long one statement may run on someone's database.
pub const STATEMENT_TIMEOUT_MS: u32 = 30_000;

pub struct LiveDatabase {
    pub client: Client,
    /// The connection string with its password replaced, for messages.
    pub shown: String,
    pub redactor: Redactor,
}

/// Connects read-only to `url` (a `postgres://` URL or `key=value` string).
pub fn connect(url: &str) -> Result<LiveDatabase, String> {
    let shown = redact_url(url);
    let guessed = Redactor::new(password_in(url).as_deref().map(str::as_bytes));
    let (conninfo, settings) = tls::split(url).map_err(|e| guessed.clean(&format!("invalid database URL `{shown}`: {e}")))?;
    let mut config = Config::from_str(&conninfo).map_err(|e| guessed.clean(&format!("invalid database URL `{shown}`: {e}")))?;
    let redactor = Redactor::new(config.get_password());
    let options = format!(
        "{} -c default_transaction_read_only=on -c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout=2000",
        config.get_options().unwrap_or_default()
    );
    config.options(options.trim()).application_name("dbveto (read-only)");
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let mut client = open(&mut config, &settings).map_err(|e| redactor.clean(&format!("could not connect to `{shown}`: {e}")))?;
    // A pooler may drop startup options: set them again, and make sure.
    let set = format!("SET default_transaction_read_only = on; SET statement_timeout = {STATEMENT_TIMEOUT_MS}");
    client.batch_execute(&set).map_err(|e| redactor.clean(&format!("could not make the session read-only on `{shown}`: {}", describe(&e))))?;
    let read_only = client
        .query_one("SHOW default_transaction_read_only", &[])
        .ok()
        .and_then(|r| r.try_get::<_, String>(0).ok())
        .is_some_and(|v| v == "on");
    if !read_only {
        return Err(format!("`{shown}` did not accept a read-only session; dbveto does not use a database it could write to"));
    }
    Ok(LiveDatabase { client, shown, redactor })
}

/// Connects with TLS as `settings` say. Like libpq, never over a Unix
/// socket; `allow` tries without TLS first, then with it.
fn open(config: &mut Config, settings: &tls::Settings) -> Result<Client, String> {
    let local = !config.get_hosts().is_empty() && config.get_hosts().iter().all(|h| matches!(h, Host::Unix(_)));
    if local || settings.mode == Mode::Disable {
        config.ssl_mode(postgres::config::SslMode::Disable);
        return config.connect(NoTls).map_err(|e| describe(&e));
    }
    if settings.mode == Mode::Allow {
        match config.connect(NoTls) {
            Ok(client) => return Ok(client),
            Err(_) => {
                config.ssl_mode(postgres::config::SslMode::Require);
            }
        }
    }
    let connector = tls::connector(settings)?;
    config.connect(connector).map_err(|e| {
        let message = describe(&e);
        match settings.mode >= Mode::Require && message.contains("server does not support TLS") {
            true => format!("{message}: the server does not accept TLS, which sslmode={} requires (sslmode=prefer uses TLS only when the server offers it)", settings.mode.name()),
            false => message,
        }
    })
}

/// The password of a URL (in its user info or its query) or of a
/// `key=value` string, so that even an error about a string the client
/// library refuses does not echo it.
fn password_in(url: &str) -> Option<String> {
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?']).next()?;
        let user_info = authority.rsplit_once('@').map(|(user_info, _)| user_info);
        if let Some((_, password)) = user_info.and_then(|u| u.split_once(':')) {
            return Some(password.to_string());
        }
    }
    tls::setting(url, "password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_found_in_both_forms() {
        assert_eq!(password_in("postgres://u:p%40ss@h/db").as_deref(), Some("p%40ss"));
        assert_eq!(password_in("host=h password=s3 user=u").as_deref(), Some("s3"));
        assert_eq!(password_in("host=h password='s3 cr\\'et' user=u").as_deref(), Some("s3 cr'et"));
        assert_eq!(password_in("postgres://u@h/db?password=s3").as_deref(), Some("s3"));
        assert_eq!(password_in("postgres://h/db"), None);
    }

    #[test]
    fn a_refused_connection_never_shows_the_password() {
        // Nothing listens on port 1 of the loopback address.
        let e = connect("postgres://app:hunter2@127.0.0.1:1/prod?connect_timeout=2").err().unwrap_or_default();
        assert!(e.contains("could not connect to `postgres://app:********@127.0.0.1:1/prod"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = connect("host=127.0.0.1 port=notaport password=hunter2").err().unwrap_or_default();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
