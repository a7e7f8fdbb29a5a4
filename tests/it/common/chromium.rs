//! Headless Chromium (Debian's `chromium`) for the page tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::TempDir;

/// The browser, or `None` (with a note) outside CI when it is not installed.
pub fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        let out = Command::new("which").arg(name).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "chromium is not installed, and CI=true: .ci/run installs it"
        );
        eprintln!("note: chromium not found; the browser test is skipped");
    }
    found
}

pub fn headless(browser: &Path, profile: &TempDir) -> Command {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1024,900",
    ])
    .arg(format!("--user-data-dir={}", profile.0.display()))
    .stdin(Stdio::null());
    cmd
}

/// The page as Chromium rendered it.
pub fn dump_dom(browser: &Path, url: &str) -> String {
    let profile = TempDir::new();
    let out = headless(browser, &profile).arg("--dump-dom").arg(url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}
