//! `tollbooth register commands` as a process against the Discord emulator.

use crate::common;
use crate::emulators;

use std::process::Output;

use axum::http::Method;
use serde_json::Value;
use tollbooth_core::manifest::Manifest;

use common::{TempDir, binary};
use emulators::discord::{APPLICATION_ID, DiscordEmulator, TOKEN};

async fn register(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = TempDir::new();
    let mut cmd = tokio::process::Command::new(binary());
    cmd.current_dir(&dir.0).args(["register", "commands"]).args(args).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLBOOTH_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied()).output().await.expect("run tollbooth")
}

fn configured(discord: &DiscordEmulator) -> Vec<(&str, &str)> {
    vec![
        ("TOLLBOOTH_DISCORD__API_BASE", discord.base.as_str()),
        ("TOLLBOOTH_DISCORD__TOKEN", TOKEN),
        ("TOLLBOOTH_DISCORD__APPLICATION_ID", APPLICATION_ID),
    ]
}

/// The manifest's commands as JSON: what Discord must receive, field for field.
fn manifest_commands() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.json");
    let manifest: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    manifest["discord"]["commands"].clone()
}

#[tokio::test]
async fn guild_registration_sends_exactly_the_manifest_commands() {
    let discord = DiscordEmulator::start().await;
    let out = register(&["--guild", "700"], &configured(&discord)).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let calls = discord.calls();
    assert_eq!(calls.len(), 1, "one bulk overwrite, nothing else: {calls:?}");
    let call = &calls[0];
    assert_eq!(call.method, Method::PUT);
    assert_eq!(call.path, format!("/api/v10/applications/{APPLICATION_ID}/guilds/700/commands"));
    assert_eq!(call.authorization.as_deref(), Some(format!("Bot {TOKEN}").as_str()));
    let sent = call.body.clone().unwrap();
    assert_eq!(sent, manifest_commands());

    // serenity's own model accepts every command and option as sent.
    for command in sent.as_array().unwrap() {
        let options: Vec<serenity::all::CommandOption> =
            serde_json::from_value(command["options"].clone()).unwrap();
        assert_eq!(options.len(), command["options"].as_array().unwrap().len());
    }
    let names = Manifest::built_in().discord.commands.into_iter().map(|c| c.name);
    let printed: Vec<String> = names.map(|n| format!("registered (guild 700): /{n}")).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().collect::<Vec<_>>(), printed);
}

#[tokio::test]
async fn global_registration_uses_the_application_commands() {
    let discord = DiscordEmulator::start().await;
    let out = register(&[], &configured(&discord)).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let call = &discord.calls()[0];
    assert_eq!(call.path, format!("/api/v10/applications/{APPLICATION_ID}/commands"));
    assert_eq!(call.body.clone().unwrap(), manifest_commands());
}

#[tokio::test]
async fn without_token_or_application_it_exits_2_before_calling_discord() {
    let discord = DiscordEmulator::start().await;
    let out = register(&[], &[("TOLLBOOTH_DISCORD__API_BASE", discord.base.as_str())]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TOLLBOOTH_DISCORD__TOKEN"), "{stderr}");
    assert!(discord.calls().is_empty());
}

#[tokio::test]
async fn a_refused_token_exits_1_with_discord_message() {
    let discord = DiscordEmulator::start().await;
    let mut env = configured(&discord);
    env[1].1 = "wrong-token";
    let out = register(&["--guild", "700"], &env).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401") || stderr.contains("Unauthorized"), "{stderr}");
    assert!(!stderr.contains("wrong-token"), "the token is never printed: {stderr}");
}
