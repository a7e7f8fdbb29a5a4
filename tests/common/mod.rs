//! What the end-to-end tests share: a fresh database on each backend, and the binary.
#![allow(dead_code)] // each test file uses its own part of this module

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

pub mod app;

/// Where the PostgreSQL half of the suite runs; `.ci/run` sets it.
pub const POSTGRES_URL_VAR: &str = "TEST_POSTGRES_URL";

/// One fresh, empty database. SQLite: a file in its own temporary folder. PostgreSQL: a new
/// database on the server named by `TEST_POSTGRES_URL`.
pub struct Db {
    pub url: String,
    pub backend: &'static str,
    _dir: Option<TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{prefix}_{}_{}_{n}", now.as_secs(), std::process::id())
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = TempDir::new();
        let url = format!("sqlite://{}", dir.0.join("tollbooth.db").display());
        Db { url, backend: "sqlite", _dir: Some(dir) }
    }

    /// `None` (and a note on stderr) when no PostgreSQL is configured outside CI; under CI
    /// (`CI=true`) a missing PostgreSQL fails the test instead of skipping it.
    pub async fn postgres() -> Option<Db> {
        let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{POSTGRES_URL_VAR} is not set, and CI=true: the PostgreSQL half must run");
            }
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "note: PostgreSQL half of {} skipped: set {POSTGRES_URL_VAR}=postgres://postgres@127.0.0.1:5432/test to run it",
                    std::env::args().next().unwrap_or_default()
                );
            });
            return None;
        };
        let name = unique("tollbooth_test");
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {base}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&base).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Db { url: url.to_string(), backend: "postgres", _dir: None })
    }
}

/// A temporary folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique("tollbooth"));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the test body once on SQLite and once on PostgreSQL, as two tests named
/// `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Db::sqlite()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::Db::postgres().await {
                        super::$name(db).await
                    }
                }
            )*
        }
    };
}

/// The `tollbooth` binary built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_tollbooth")
}

/// A port that was free a moment ago, for a child process that must be told where to listen.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
