//! The command line run as a process: `quote`, exit statuses, `migrate`.

use crate::common;

use std::process::{Command, Output};

use common::{TempDir, binary};

/// Runs `tollbooth` in a fresh folder with no configuration but `env`.
fn tollbooth(dir: &TempDir, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary());
    cmd.current_dir(&dir.0).args(args).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLBOOTH_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied()).output().expect("run tollbooth")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn quote_json_prices_the_plan_with_the_site_prices() {
    let dir = TempDir::new();
    let out = tollbooth(
        &dir,
        &["quote", "--minutes", "60", "--computers", "10", "--phones", "3", "--json"],
        &[
            ("TOLLBOOTH_PRICING__PERSON_MINUTE", "0.125"),
            ("TOLLBOOTH_PRICING__TELECONFERENCE_MINUTE", "0.05"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["plan"]["minutes"], 60);
    assert_eq!(v["cost"]["currency"], "USD");
    assert_eq!(v["cost"]["person"]["minutes"], 600);
    assert_eq!(v["cost"]["person"]["price_per_minute"], "0.125");
    assert_eq!(v["cost"]["person"]["amount"], "75.00");
    assert_eq!(v["cost"]["teleconference"]["minutes"], 180);
    assert_eq!(v["cost"]["teleconference"]["amount"], "9.00");
    assert_eq!(v["cost"]["total"], "84.00");
}

#[test]
fn quote_in_a_zero_digit_currency() {
    let dir = TempDir::new();
    let out = tollbooth(
        &dir,
        &["quote", "--minutes", "1", "--computers", "5", "--json"],
        &[("TOLLBOOTH_SITE__CURRENCY", "JPY"), ("TOLLBOOTH_PRICING__PERSON_MINUTE", "2.5")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["cost"]["person"]["amount"], "13"); // 12.5 rounds half-up
    assert_eq!(v["cost"]["total"], "13");
}

#[test]
fn quote_table_names_every_line() {
    let dir = TempDir::new();
    let out = tollbooth(&dir, &["quote", "--minutes", "90", "--computers", "1"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("Estimated session cost"), "{text}");
    assert!(text.contains("Person-minutes") && text.contains("90 × 0.12 USD ="), "{text}");
    assert!(text.contains("Teleconference minutes"), "{text}");
    assert!(text.lines().last().unwrap().trim_end().ends_with("10.80 USD"), "{text}");
}

#[test]
fn bad_arguments_exit_2_with_one_line_reason() {
    let dir = TempDir::new();
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["quote", "--minutes", "0", "--computers", "1"],
            &[],
            "minutes must be between 1 and 1440, got 0",
        ),
        (
            &["quote", "--minutes", "10", "--computers", "-2"],
            &[],
            "computers must be between 1 and 100000, got -2",
        ),
        (
            &["quote", "--minutes", "10", "--computers", "1", "--phones", "-1"],
            &[],
            "phones must be between 0 and 100000, got -1",
        ),
        (
            &["quote", "--minutes", "99999999", "--computers", "1"],
            &[],
            "minutes must be between 1 and 1440",
        ),
        (
            &["quote", "--minutes", "10", "--computers", "100000000000"],
            &[],
            "computers must be between 1 and 100000",
        ),
        (
            &["quote", "--minutes", "10", "--computers", "1"],
            &[("TOLLBOOTH_SITE__CURRENCY", "XYZ")],
            "unknown currency `XYZ`",
        ),
        (
            &["quote", "--minutes", "10", "--computers", "1"],
            &[("TOLLBOOTH_PRICING__PERSON_MINUTE", "cheap")],
            "pricing.person_minute",
        ),
        (&["quote", "--minutes", "ten", "--computers", "1"], &[], "invalid value 'ten'"),
    ];
    for (args, env, reason) in cases {
        let out = tollbooth(&dir, args, env);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(reason), "{args:?}: expected {reason:?} in {err}");
        assert!(stdout(&out).is_empty());
    }
    let out = tollbooth(&dir, &["quote", "--minutes", "0", "--computers", "1"], &[]);
    assert_eq!(stderr(&out).lines().count(), 1, "one line: {}", stderr(&out));
}

#[test]
fn an_unreachable_database_is_a_failure_not_a_usage_error() {
    let dir = TempDir::new();
    let out = tollbooth(
        &dir,
        &["migrate"],
        &[("TOLLBOOTH_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn migrate_creates_the_default_sqlite_database() {
    let dir = TempDir::new();
    let out = tollbooth(&dir, &["migrate"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.0.join("tollbooth.db").exists());
}

/// Runs `tollbooth quote` with `toml` as ./tollbooth.toml; the configuration is read before
/// anything else happens.
fn quote_with_config_file(toml: &str, env: &[(&str, &str)]) -> Output {
    let dir = TempDir::new();
    std::fs::write(dir.0.join("tollbooth.toml"), toml).unwrap();
    tollbooth(&dir, &["quote", "--minutes", "10", "--computers", "1"], env)
}

#[test]
fn a_secret_written_as_a_number_exits_2_naming_the_key_but_not_the_value() {
    let cases = [
        ("admin_token = 918273645\n", "admin_token (TOLLBOOTH_ADMIN_TOKEN)"),
        (
            "[webex]\nwebhook_secret = 987654321\n",
            "webex.webhook_secret (TOLLBOOTH_WEBEX__WEBHOOK_SECRET)",
        ),
        ("[stripe]\nsecret_key = 918273645\n", "stripe.secret_key (TOLLBOOTH_STRIPE__SECRET_KEY)"),
    ];
    for (toml, key) in cases {
        let out = quote_with_config_file(toml, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{toml}: {err}");
        assert!(err.contains(key), "{toml}: {err}");
        assert!(err.contains("expected a string, found an integer"), "{err}");
        assert!(!err.contains("918273645") && !err.contains("987654321"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn a_toml_syntax_error_exits_2_with_line_and_column_but_not_the_line() {
    let out =
        quote_with_config_file("bind = \"127.0.0.1:9000\"\nadmin_token = \"hunter2-open\n", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tollbooth.toml: TOML syntax error at line 2, column "), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn a_bad_database_port_exits_2_naming_the_key_but_not_the_url() {
    let dir = TempDir::new();
    for command in ["migrate", "serve"] {
        let out = tollbooth(
            &dir,
            &[command],
            &[("TOLLBOOTH_DATABASE_URL", "postgres://u:hunter2@127.0.0.1:99999/db")],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(err.contains("database_url (TOLLBOOTH_DATABASE_URL): the port must be"), "{err}");
        assert!(!err.contains("hunter2"), "{command}: {err}");
    }
}

#[test]
fn a_bad_url_setting_exits_2_naming_its_key_but_not_the_value() {
    let out = quote_with_config_file(
        "[stripe]\napi_base = \"https://sk_live_hunter2@api.stripe.com:70000/\"\n",
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("stripe.api_base (TOLLBOOTH_STRIPE__API_BASE)"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let out = quote_with_config_file("", &[("TOLLBOOTH_PUBLIC_URL", "pay.example.com")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("public_url (TOLLBOOTH_PUBLIC_URL): not a URL"), "{err}");
}
