//! The `dbveto` command line: parses flags, runs the pipeline, prints, and
//! picks the exit code (0 no findings, 1 findings, 2 usage or internal error).

mod analysis;
mod baseline;
mod check;
mod explain;
mod schema_output;
mod writers_output;
mod verify;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Parsing allocates many small nodes from several threads: mimalloc is
/// faster at that than the system allocator (see `benches/`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use dbveto_report::Style;

#[derive(Parser)]
#[command(name = "dbveto", version, about = "Finds the writes your database will veto, before it does")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report every write that a constraint of the schema will reject
    Check(check::CheckArgs),
    /// Prove each finding on a real PostgreSQL built from the migrations
    Verify {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
        format: VerifyFormat,
        #[arg(long, value_delimiter = ',')]
        select: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        ignore: Vec<String>,
        #[arg(long, value_enum, default_value_t = check::Color::Auto)]
        color: check::Color,
        /// An existing database to read (never written): compare its catalog
        /// instead of starting a throwaway server
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The directory of initdb, pg_ctl and postgres
        #[arg(long, value_name = "DIR")]
        postgres_bin: Option<PathBuf>,
        /// Only compare dbveto's schema with PostgreSQL's catalog
        #[arg(long)]
        schema_only: bool,
        /// With --database-url: count the existing rows that migrations not
        /// yet applied would fail on
        #[arg(long, requires = "database_url")]
        pending: bool,
    },
    /// Print the schema reconstructed from the migrations, with provenance
    Schema {
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = SchemaFormat::Text)]
        format: SchemaFormat,
    },
    /// Explain a database error: the migration and the code that collided, and fixes
    Explain {
        /// The repository the error comes from
        #[arg(long, default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = explain::Format::Text)]
        format: explain::Format,
        /// The error message; read from stdin when absent (a whole log or traceback is fine)
        message: Option<String>,
    },
    /// List every write of a table or column, the entry points that run it, and whether it is atomic
    Writers {
        /// `table`, `table.column`, or a model's name in place of the table
        target: String,
        #[arg(default_value = ".")]
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// List the rules
    Rules {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Print a rule's documentation
    Rule { id: String },
}

/// `verify`: the findings with their proofs.
#[derive(Clone, Copy, ValueEnum)]
enum VerifyFormat {
    Text,
    Json,
    Sarif,
}

/// `rules` and `writers`: for people, or for programs.
#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaFormat {
    Text,
    Json,
    Sql,
}

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`; the same index in
/// mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // A run is short and its memory use peaks once: giving freed pages back
    // to the kernel only to fault them in, zeroed, moments later costs
    // more than it saves.
    // SAFETY: sets a plain integer option; mimalloc reads options at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dbveto: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn root(path: &Path) -> Result<PathBuf, String> {
    if !path.is_dir() {
        return Err(format!("`{}` is not a directory; give the root of the repository to check", path.display()));
    }
    Ok(path.to_path_buf())
}

/// The analysis of the repository at `path`, with its configuration.
fn configured_analysis(path: &Path) -> Result<analysis::Analysis, String> {
    let root = root(path)?;
    Ok(analysis::analyze_with(&root, &check::load_config(&root, None)?.discover_options()))
}

fn print(s: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is not an error of dbveto's.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("could not write output: {e}")),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Verify { path, format, select, ignore, color, database_url, postgres_bin, schema_only, pending } => {
            let root = root(&path)?;
            let config = check::load_config(&root, None)?;
            let rules = dbveto_config::selected_rules(&config, &select, &[], &ignore)?;
            let mut analysis = analysis::analyze_with(&root, &config.discover_options());
            let options = verify::Options { database_url, postgres_bin, schema_only, pending };
            let mut report = verify::verify(&mut analysis, &rules, &options)?;
            let mut diagnostics = analysis.diagnostics.clone();
            diagnostics.extend(report.diagnostics.iter().cloned());
            // Inline `dbveto: ignore[...]` comments hide findings here as in `check`.
            if !options.schema_only {
                let ran: Vec<&str> = rules.iter().map(|r| r.id).collect();
                let (findings, suppression_diagnostics) = dbveto_suppress::apply(std::mem::take(&mut report.findings), &analysis.sources, &ran);
                report.findings = findings;
                diagnostics.extend(suppression_diagnostics);
            }
            match format {
                VerifyFormat::Sarif => {
                    let v = dbveto_report::sarif(&report.findings, &diagnostics, dbveto_rules::all(), &analysis.sources, env!("CARGO_PKG_VERSION"));
                    print(&format!("{}\n", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?))?;
                }
                VerifyFormat::Json => {
                    let mut v = dbveto_report::json(&report.findings, &diagnostics);
                    v["databases"] = serde_json::Value::Array(report.databases.clone());
                    print(&format!("{}\n", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?))?;
                }
                VerifyFormat::Text => {
                    let style = Style { color: check::use_color(color, false) };
                    let mut out = dbveto_report::text(&report.findings, &diagnostics, &analysis.sources, style);
                    out.push_str(&verify::summary(&report, analysis.files));
                    print(&out)?;
                }
            }
            // 3: PostgreSQL disagrees with dbveto (a finding not reproduced,
            // a schema difference, a migration that fails).
            Ok(if report.disagrees() {
                ExitCode::from(3)
            } else if !report.findings.is_empty() || report.pending_violations > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Schema { path, format } => {
            let analysis = configured_analysis(&path)?;
            let out = match format {
                SchemaFormat::Json => {
                    let v = serde_json::json!({
                        "version": dbveto_report::JSON_VERSION,
                        "databases": schema_output::json(&analysis.databases),
                        "diagnostics": dbveto_report::json(&[], &analysis.diagnostics)["diagnostics"],
                    });
                    format!("{}\n", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?)
                }
                SchemaFormat::Sql => schema_output::sql(&analysis.databases),
                SchemaFormat::Text => {
                    let mut s = schema_output::text(&analysis.databases);
                    if analysis.databases.is_empty() {
                        s.push_str("no migrations found\n");
                    }
                    let diags = dbveto_report::text(&[], &analysis.diagnostics, &analysis.sources, Style { color: false });
                    eprint!("{diags}");
                    s
                }
            };
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Writers { target, path, format } => {
            let analysis = configured_analysis(&path)?;
            let columns = writers_output::select(&analysis.facts.jobs, &target);
            let out = match format {
                ListFormat::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&writers_output::json(&columns)).map_err(|e| e.to_string())?
                ),
                ListFormat::Text => writers_output::text(&target, &columns),
            };
            print(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { path, format, message } => {
            let input = match message {
                Some(m) => m,
                None => {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| format!("could not read stdin: {e}"))?;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            let root = root(&path)?;
            let options = check::load_config(&root, None)?.discover_options();
            let (out, code) = explain::run(&root, &options, &input, format);
            print(&out)?;
            Ok(ExitCode::from(code))
        }
        Command::Rules { format: ListFormat::Json } => {
            let rules: Vec<serde_json::Value> =
                dbveto_rules::all().iter().map(|r| serde_json::json!({"id": r.id, "summary": r.summary, "docs": r.docs})).collect();
            print(&format!("{}\n", serde_json::to_string_pretty(&rules).map_err(|e| e.to_string())?))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rules { format: ListFormat::Text } => {
            let mut s = String::new();
            for r in dbveto_rules::all() {
                s.push_str(&format!("{:<22} {}\n", r.id, r.summary));
            }
            print(&s)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rule { id } => match dbveto_rules::by_id(&id) {
            Some(r) => {
                print(&format!("# {}\n\n{}\n\n{}", r.id, r.summary, r.docs))?;
                Ok(ExitCode::SUCCESS)
            }
            None => Err(format!("no rule `{id}`; `dbveto rules` lists them")),
        },
    }
}
