//! The plugin manifest (`manifest.json`): what `tollbooth register` syncs to the platforms and
//! to Discord. Only the parts that something reads are typed; the rest of the file is ignored.
//!
//! Chat commands are written in Discord's own application-command JSON, so that registration
//! sends them as they are and the bot checks arguments against the very same limits.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub webhooks: Webhooks,
    /// Absent in a webhooks-only manifest, which then registers no commands.
    #[serde(default)]
    pub discord: Discord,
}

/// The manifest this build was compiled with: the bot parses arguments against it, and
/// `tollbooth register` uses it unless told to read another.
pub const BUILT_IN: &str = include_str!("../../manifest.json");

#[derive(Debug, Default, Deserialize)]
pub struct Discord {
    pub commands: Vec<Command>,
}

/// One top-level slash command, as Discord's bulk-overwrite endpoint takes it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub name: String,
    /// Always 1 (CHAT_INPUT): slash commands.
    #[serde(rename = "type")]
    pub kind: u8,
    pub description: String,
    #[serde(default)]
    pub name_localizations: BTreeMap<String, String>,
    #[serde(default)]
    pub description_localizations: BTreeMap<String, String>,
    /// Permission bits as a decimal string (`"32"` = Manage Server); absent means everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_member_permissions: Option<String>,
    /// Where the command appears: 0 servers, 1 the bot's DMs.
    #[serde(default)]
    pub contexts: Vec<u8>,
    #[serde(default)]
    pub options: Vec<CommandOption>,
}

/// Discord's option types that the manifest uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum OptionKind {
    SubCommand,
    /// A group of subcommands (`/session code add`).
    SubCommandGroup,
    String,
    Integer,
    Boolean,
    User,
}

impl OptionKind {
    /// A subcommand or a group of them, rather than a value.
    pub fn is_subcommand(self) -> bool {
        matches!(self, OptionKind::SubCommand | OptionKind::SubCommandGroup)
    }
}

impl TryFrom<u8> for OptionKind {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Ok(match n {
            1 => OptionKind::SubCommand,
            2 => OptionKind::SubCommandGroup,
            3 => OptionKind::String,
            4 => OptionKind::Integer,
            5 => OptionKind::Boolean,
            6 => OptionKind::User,
            other => return Err(format!("option type {other} is not used by tollbooth")),
        })
    }
}

impl From<OptionKind> for u8 {
    fn from(k: OptionKind) -> u8 {
        match k {
            OptionKind::SubCommand => 1,
            OptionKind::SubCommandGroup => 2,
            OptionKind::String => 3,
            OptionKind::Integer => 4,
            OptionKind::Boolean => 5,
            OptionKind::User => 6,
        }
    }
}

/// An option or a subcommand, with the limits Discord enforces in its client and the bot
/// enforces again on the server.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandOption {
    #[serde(rename = "type")]
    pub kind: OptionKind,
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub name_localizations: BTreeMap<String, String>,
    #[serde(default)]
    pub description_localizations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// Discord asks the bot for choices while the member types (autocomplete interactions).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub autocomplete: bool,
    /// The options of a subcommand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<CommandOption>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub name_localizations: BTreeMap<String, String>,
    pub value: String,
}

impl Discord {
    pub fn command(&self, name: &str) -> Option<&Command> {
        self.commands.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Deserialize)]
pub struct Webhooks {
    pub webex: WebexWebhooks,
}

#[derive(Debug, Deserialize)]
pub struct WebexWebhooks {
    /// Path of the receiver, appended to `public_url` to form each hook's target URL.
    pub target_path: String,
    pub subscriptions: Vec<WebexSubscription>,
}

/// One Webex webhook: Webex needs a hook per resource and event.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebexSubscription {
    pub name: String,
    pub resource: String,
    pub event: String,
    /// `org` for an organisation-wide hook, `creator` for the token owner's meetings only.
    pub owned_by: String,
}

/// A manifest that cannot be used; the message says where and why.
#[derive(Debug, thiserror::Error)]
#[error("manifest {origin}: {reason}")]
pub struct ManifestError {
    origin: String,
    reason: String,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError { origin: origin.clone(), reason: e.to_string() })?;
        Manifest::parse(&text, &origin)
    }

    /// Parses and checks `text`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let error = |reason: String| ManifestError { origin: origin.to_owned(), reason };
        let manifest: Manifest = serde_json::from_str(text).map_err(|e| error(e.to_string()))?;
        let webex = &manifest.webhooks.webex;
        if !webex.target_path.starts_with('/') {
            return Err(error(format!(
                "webhooks.webex.target_path must start with `/`, got `{}`",
                webex.target_path
            )));
        }
        let mut seen = HashSet::new();
        for s in &webex.subscriptions {
            if !seen.insert((&s.resource, &s.event)) {
                return Err(error(format!(
                    "webhooks.webex.subscriptions lists {} {} twice",
                    s.resource, s.event
                )));
            }
        }
        check_commands(&manifest.discord.commands).map_err(error)?;
        Ok(manifest)
    }

    /// The manifest compiled into this build, which the tests keep valid.
    pub fn built_in() -> Manifest {
        Manifest::parse(BUILT_IN, "built into tollbooth").expect("the built-in manifest is valid")
    }
}

/// Discord's rules that its API would otherwise refuse at registration time, checked up front
/// so a bad manifest is found before anything is sent.
fn check_commands(commands: &[Command]) -> Result<(), String> {
    let mut names = HashSet::new();
    for c in commands {
        if !names.insert(&c.name) {
            return Err(format!("discord.commands lists /{} twice", c.name));
        }
        check_name(&c.name, &c.description, &c.name)?;
        check_options(&c.options, &c.name)?;
    }
    Ok(())
}

fn check_options(options: &[CommandOption], path: &str) -> Result<(), String> {
    let mut names = HashSet::new();
    let mut optional_seen = false;
    for o in options {
        let here = format!("{path} {}", o.name);
        check_name(&o.name, &o.description, &here)?;
        if !names.insert(&o.name) {
            return Err(format!("/{here} appears twice"));
        }
        if !o.kind.is_subcommand() {
            // Discord: "Required options must be listed before optional options".
            if o.required && optional_seen {
                return Err(format!("/{here} is required but follows an optional option"));
            }
            optional_seen |= !o.required;
        }
        check_options(&o.options, &here)?;
    }
    Ok(())
}

fn check_name(name: &str, description: &str, path: &str) -> Result<(), String> {
    let name_ok = (1..=32).contains(&name.chars().count())
        && name.chars().all(|c| c.is_lowercase() || c.is_numeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!("/{path}: `{name}` is not a valid command or option name"));
    }
    if !(1..=100).contains(&description.chars().count()) {
        return Err(format!("/{path}: descriptions must be 1 to 100 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_manifest_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifest.json");
        let m = Manifest::load(&path).unwrap();
        assert_eq!(m.webhooks.webex.target_path, "/webhooks/webex");
        let pairs: Vec<_> = m
            .webhooks
            .webex
            .subscriptions
            .iter()
            .map(|s| (s.resource.as_str(), s.event.as_str(), s.owned_by.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("meetings", "started", "org"),
                ("meetings", "ended", "org"),
                ("meetingParticipants", "joined", "org"),
                ("meetingParticipants", "left", "org"),
            ]
        );
    }

    #[test]
    fn the_built_in_manifest_has_the_design_commands() {
        let m = Manifest::built_in();
        let names: Vec<_> = m.discord.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["quote", "session", "register", "registrations", "admin", "report", "link"]
        );
        let quote = m.discord.command("quote").unwrap();
        let limits: Vec<_> =
            quote.options.iter().map(|o| (o.name.as_str(), o.min_value, o.max_value)).collect();
        use crate::pricing::{MAX_DEVICES, MAX_MINUTES};
        let (minutes, devices) = (MAX_MINUTES as i64, MAX_DEVICES as i64);
        assert_eq!(
            limits,
            [
                ("minutes", Some(1), Some(minutes)),
                ("computers", Some(1), Some(devices)),
                ("phones", Some(0), Some(devices))
            ]
        );
        for c in &m.discord.commands {
            assert!(c.name_localizations.contains_key("no"), "/{} lacks Norwegian", c.name);
        }
        let admin = |n: &str| m.discord.command(n).unwrap().default_member_permissions.clone();
        assert_eq!(admin("admin").as_deref(), Some("32"));
        assert_eq!(admin("report").as_deref(), Some("32"));
        assert_eq!(admin("quote"), None);
    }

    #[test]
    fn bad_manifests_say_why() {
        let sub = r#"{"name":"n","resource":"meetings","event":"started","owned_by":"org"}"#;
        let doc = |path: &str, subs: &str| {
            format!(
                r#"{{"webhooks":{{"webex":{{"target_path":"{path}","subscriptions":[{subs}]}}}},"discord":{{"commands":[]}}}}"#
            )
        };
        let err = Manifest::parse(&doc("webhooks", sub), "m.json").unwrap_err().to_string();
        assert!(err.starts_with("manifest m.json: ") && err.contains("target_path"), "{err}");
        let err = Manifest::parse(&doc("/w", &format!("{sub},{sub}")), "m.json").unwrap_err();
        assert!(err.to_string().contains("meetings started twice"), "{err}");
        let err = Manifest::parse("{}", "m.json").unwrap_err().to_string();
        assert!(err.contains("missing field `webhooks`"), "{err}");
        let with = |commands: &str| {
            let doc =
                doc("/w", sub).replace(r#""commands":[]"#, &format!(r#""commands":{commands}"#));
            Manifest::parse(&doc, "m.json").unwrap_err().to_string()
        };
        let q = r#"{"name":"quote","type":1,"description":"d"}"#;
        assert!(with(&format!("[{q},{q}]")).contains("/quote twice"));
        let bad = r#"[{"name":"Quote","type":1,"description":"d"}]"#;
        assert!(with(bad).contains("not a valid command"));
        let order = r#"[{"name":"q","type":1,"description":"d","options":[
            {"type":4,"name":"a","description":"d"},{"type":4,"name":"b","description":"d","required":true}]}]"#;
        assert!(with(order).contains("/q b is required but follows"), "{}", with(order));
    }
}
