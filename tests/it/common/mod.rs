//! What the end-to-end tests share: a fresh database on each backend, and the binary.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::Connection;

pub mod app;
pub use app::App;
pub mod chat;
pub mod chromium;
pub mod control;
pub mod pay;
pub mod proxy;
pub mod world;

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
        drop_leftovers(&mut admin).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&base).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Some(Db { url: url.to_string(), backend: "postgres", _dir: None })
    }
}

/// Drops, once per test process, test databases created more than an hour ago: a test
/// database outlives its test (a failing test's data can be looked at), and a full run makes
/// about 170 of them. The creation time is in the name ([`unique`]); no test runs for an hour,
/// so a database that old belongs to a run that has ended, whichever machine or container ran
/// it.
async fn drop_leftovers(admin: &mut sqlx::PgConnection) {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    SWEPT
        .get_or_init(|| async {
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT datname FROM pg_database WHERE datname LIKE 'tollbooth\\_test\\_%'",
            )
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            for name in names {
                let created = name.split('_').nth(2).and_then(|s| s.parse::<u64>().ok());
                if created.is_some_and(|secs| secs + 3600 < now) {
                    // Another test process may drop it first; either way it is gone.
                    let drop = format!("DROP DATABASE IF EXISTS {name}");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut *admin).await;
                }
            }
        })
        .await;
}

impl Db {
    /// An SQLite database in a file at `path` (in a folder the caller keeps).
    pub fn sqlite_at(path: &std::path::Path) -> Db {
        Db { url: format!("sqlite://{}", path.display()), backend: "sqlite", _dir: None }
    }

    /// The same PostgreSQL database reached through `port` on 127.0.0.1 (a proxy).
    pub fn through_port(&self, port: u16) -> Db {
        let mut url = url::Url::parse(&self.url).expect("database URL");
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        Db { url: url.to_string(), backend: self.backend, _dir: None }
    }

    /// The database's name on its PostgreSQL server.
    pub fn postgres_name(&self) -> String {
        url::Url::parse(&self.url).unwrap().path().trim_start_matches('/').to_owned()
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

/// Runs `tollbooth args…` in `dir` on the database at `db_url`, with nothing else of this
/// process's `TOLLBOOTH_*` environment, and returns what it printed and how it exited.
pub fn run_cli(dir: &TempDir, db_url: &str, args: &[&str]) -> std::process::Output {
    let mut cli = std::process::Command::new(binary());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLBOOTH_")) {
        cli.env_remove(k);
    }
    cli.current_dir(&dir.0).env("TOLLBOOTH_DATABASE_URL", db_url).args(args).output().unwrap()
}

/// A port that was free a moment ago, for a child process that must be told where to listen.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const WEBEX_SECRET: &str = "webex-test-secret";
pub const ZOOM_SECRET: &str = "zoom-test-secret";

/// The configuration the tests run with, built by the real loader from `env` pairs on top of
/// test secrets and the admin token.
pub fn config(db: &Db, env: &[(&str, &str)]) -> tollbooth_core::config::Config {
    let mut vars: Vec<(String, String)> = vec![
        ("TOLLBOOTH_DATABASE_URL".into(), db.url.clone()),
        ("TOLLBOOTH_ADMIN_TOKEN".into(), ADMIN_TOKEN.into()),
        ("TOLLBOOTH_WEBEX__WEBHOOK_SECRET".into(), WEBEX_SECRET.into()),
        ("TOLLBOOTH_ZOOM__WEBHOOK_SECRET_TOKEN".into(), ZOOM_SECRET.into()),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    tollbooth_core::config::Config::load_from(Some(std::path::Path::new("/dev/null")), vars)
        .expect("test configuration")
}

/// The status of a POST written by hand on a plain TCP connection: `headers` are extra header
/// lines (each ending in CRLF), `body` the bytes sent after them, and nothing more is sent
/// before the answer is read.
pub async fn raw_http_status(base: &str, path: &str, headers: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{headers}\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    stream.write_all(body).await.expect("write body");
    let mut answer = [0u8; 12];
    let read = stream.read_exact(&mut answer);
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("the server answers without waiting for more of the body")
        .expect("read status line");
    let line = std::str::from_utf8(&answer).expect("status line");
    line["HTTP/1.1 ".len()..].parse().unwrap_or_else(|_| panic!("status line {line:?}"))
}

/// Sends platform deliveries, signed as the platform would sign them.
pub struct Sender {
    pub base: String,
    pub client: reqwest::Client,
}

impl Sender {
    pub fn new(base: &str) -> Sender {
        Sender { base: base.to_owned(), client: reqwest::Client::new() }
    }

    pub async fn webex(&self, body: &[u8]) -> reqwest::Response {
        let signature = tollbooth_core::platform::webex::sign(WEBEX_SECRET, body);
        self.raw("/webhooks/webex", body, &[("x-spark-signature", &signature)]).await
    }

    pub async fn zoom(&self, body: &[u8]) -> reqwest::Response {
        let ts = chrono::Utc::now().timestamp().to_string();
        self.zoom_at(body, &ts).await
    }

    pub async fn zoom_at(&self, body: &[u8], ts: &str) -> reqwest::Response {
        let secret = secrecy::SecretString::from(ZOOM_SECRET.to_owned());
        let signature = tollbooth_core::platform::zoom::sign(&secret, ts, body);
        self.raw(
            "/webhooks/zoom",
            body,
            &[("x-zm-signature", &signature), ("x-zm-request-timestamp", ts)],
        )
        .await
    }

    pub async fn deliver(
        &self,
        platform: tollbooth_core::platform::PlatformKind,
        body: &[u8],
    ) -> reqwest::Response {
        match platform {
            tollbooth_core::platform::PlatformKind::Webex => self.webex(body).await,
            tollbooth_core::platform::PlatformKind::Zoom => self.zoom(body).await,
        }
    }

    pub async fn raw(
        &self,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send().await.expect("send delivery")
    }

    /// The session JSON once every delivery for it has been applied.
    pub async fn settled_session(&self, platform: &str, meeting_id: &str) -> serde_json::Value {
        let mut url = url::Url::parse(&self.base).unwrap();
        url.path_segments_mut().unwrap().extend(["api", "v1", "sessions", platform, meeting_id]);
        for _ in 0..400 {
            let response = self
                .client
                .get(url.clone())
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .expect("get session");
            if response.status() == 200 {
                let v: serde_json::Value = response.json().await.unwrap();
                if v["pending_deliveries"] == 0 {
                    return v;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("session {platform}/{meeting_id} never settled");
    }
}

/// `tollbooth serve` as a child process in `dir`, on a free port, configured by `env` alone.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn start(dir: &TempDir, env: &[(&str, &str)]) -> Server {
        Server::start_on(free_port(), dir, env)
    }

    /// On `port`, for a test that must name the server's address in its configuration (the
    /// public URL that gateways send payers back to).
    pub fn start_on(port: u16, dir: &TempDir, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(binary());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLBOOTH_")) {
            cmd.env_remove(k);
        }
        cmd.current_dir(&dir.0)
            .arg("serve")
            .env("RUST_LOG", "warn")
            .env("TOLLBOOTH_BIND", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        Server {
            child: cmd.spawn().expect("spawn serve"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn wait_healthy(&self) -> reqwest::Response {
        for _ in 0..200 {
            if let Ok(r) = reqwest::get(format!("{}/healthz", self.base)).await {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server never answered /healthz");
    }

    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Norwegian Bokmål, as a member's Discord locale names it.
pub fn norwegian() -> tollbooth_core::lang::Lang {
    tollbooth_core::lang::Lang::parse("nb").expect("Norwegian is a language tollbooth speaks")
}

/// Signed links under a loopback base, for workflows called directly in a test.
pub fn links() -> tollbooth_core::payments::paylink::Links {
    use tollbooth_core::payments::paylink::{Links, PayLinks};
    Links {
        signer: PayLinks::new(secrecy::SecretString::from("a-test-link-secret-of-32-characters")),
        base: "http://127.0.0.1:9/".parse().unwrap(),
        pay_link_hours: 1,
    }
}

/// How tests offer seats from waiting lists: held 24 hours (the default), pay links under a
/// local base URL, told in Discord only.
pub fn offers() -> tollbooth_core::fee_based::service::Offers {
    tollbooth_core::fee_based::service::Offers {
        hours: 24,
        links: links(),
        reach: tollbooth_core::reach::Channels::default(),
    }
}
