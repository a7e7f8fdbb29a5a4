//! The plugin manifest (`manifest.json`): what `tollbooth register` syncs to the platforms.
//! Only the parts that something reads are typed; the rest of the file is ignored here.

use std::collections::HashSet;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub webhooks: Webhooks,
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
        Ok(manifest)
    }
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
    fn bad_manifests_say_why() {
        let sub = r#"{"name":"n","resource":"meetings","event":"started","owned_by":"org"}"#;
        let doc = |path: &str, subs: &str| {
            format!(
                r#"{{"webhooks":{{"webex":{{"target_path":"{path}","subscriptions":[{subs}]}}}}}}"#
            )
        };
        let err = Manifest::parse(&doc("webhooks", sub), "m.json").unwrap_err().to_string();
        assert!(err.starts_with("manifest m.json: ") && err.contains("target_path"), "{err}");
        let err = Manifest::parse(&doc("/w", &format!("{sub},{sub}")), "m.json").unwrap_err();
        assert!(err.to_string().contains("meetings started twice"), "{err}");
        let err = Manifest::parse("{}", "m.json").unwrap_err().to_string();
        assert!(err.contains("missing field `webhooks`"), "{err}");
    }
}
