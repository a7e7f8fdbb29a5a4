//! `tollbooth simulate --lose`, process against process: deliveries are lost on the way, the
//! server settles each session against the platform's record that simulate serves, and the
//! figures still equal the generator's.

use crate::common;

use serde_json::Value;

use common::{ADMIN_TOKEN, Db, Server, TempDir, WEBEX_SECRET, ZOOM_SECRET, binary, free_port};

on_both_backends!(a_run_that_loses_a_third_of_its_deliveries_still_ends_with_equal_figures);

/// What both the server and simulate are configured with.
const SHARED: [(&str, &str); 3] = [
    ("TOLLBOOTH_ADMIN_TOKEN", ADMIN_TOKEN),
    ("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", WEBEX_SECRET),
    ("TOLLBOOTH_ZOOM__WEBHOOK_SECRET_TOKEN", ZOOM_SECRET),
];

/// Runs `tollbooth simulate` with `args`, configured as the server is.
async fn simulate(args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(binary());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLBOOTH_")) {
        cmd.env_remove(k);
    }
    cmd.arg("simulate").args(args).env("RUST_LOG", "warn").envs(SHARED);
    cmd.output().await.expect("run tollbooth simulate")
}

async fn a_run_that_loses_a_third_of_its_deliveries_still_ends_with_equal_figures(db: Db) {
    let dir = TempDir::new();
    let records = format!("127.0.0.1:{}", free_port());
    let (webex, zoom) = (format!("http://{records}/v1"), format!("http://{records}/v2"));
    let mut env = vec![
        ("TOLLBOOTH_DATABASE_URL", db.url.as_str()),
        ("TOLLBOOTH_WEBEX__API_BASE", webex.as_str()),
        ("TOLLBOOTH_WEBEX__TOKEN", "simulate"),
        ("TOLLBOOTH_ZOOM__API_BASE", zoom.as_str()),
        ("TOLLBOOTH_ZOOM__TOKEN", "simulate"),
        ("TOLLBOOTH_SETTLEMENT__DELAY_SECS", "0"),
        ("TOLLBOOTH_SETTLEMENT__STALE_AFTER_SECS", "1"),
    ];
    env.extend(SHARED);
    let server = Server::start(&dir, &env);
    server.wait_healthy().await;
    // More participants than one page of the record holds (Webex 100, Zoom 300 a page).
    for (platform, computers, seed) in [("webex", 110, 14), ("zoom", 310, 15)] {
        let args = format!(
            "--url {} --platform {platform} --computers {computers} --phones 2 --minutes 30 \
             --sessions 2 --seed {seed} --lose 0.3 --records-bind {records} --json",
            server.base
        );
        let out = simulate(&args.split_whitespace().collect::<Vec<_>>()).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{platform}: {stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert!(v["lost"].as_u64().unwrap() > 0, "{platform}: {v}");
        assert_eq!((v["verified"].as_u64(), v["mismatches"].as_u64()), (Some(2), Some(0)), "{v}");
        for result in v["results"].as_array().unwrap() {
            assert_eq!(result["matches"], true, "{platform}: {result}");
            assert_eq!(result["settled_from"], "platform", "{platform}: {result}");
            assert_eq!(result["server"]["usage"], result["expected"]["usage"], "{result}");
        }
    }
}

#[tokio::test]
async fn a_share_to_lose_outside_0_to_1_exits_2_naming_lose() {
    for share in ["1.5", "1", "-0.1", "NaN", "a third"] {
        let out = simulate(&["--url", "http://127.0.0.1:9", &format!("--lose={share}")]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{share}: {stderr}");
        assert!(stderr.contains("--lose"), "{share}: {stderr}");
        assert!(stderr.contains("must be a share from 0 up to (not including) 1"), "{stderr}");
    }
    let out = simulate(&["--url", "http://127.0.0.1:9", "--lose", "0.2", "--no-verify"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("drop --no-verify") && stderr.lines().count() == 1, "{stderr}");
}
