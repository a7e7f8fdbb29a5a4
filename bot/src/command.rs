//! Typed arguments: a command's options as Discord sent them, checked against the manifest's
//! definition of that command (types, limits, choices, required options). Discord's client
//! enforces the same limits, but anyone can send a signed request's worth of JSON, so they
//! are checked again here; what is wrong is named, never panicked on.

use std::collections::BTreeMap;

use serenity::all::{
    ActionRowComponent, CommandData, CommandDataOption, CommandDataOptionValue, ModalInteraction,
};
use tollbooth_core::manifest::{self, CommandOption, OptionKind};
use tollbooth_core::messages::Args as TextArgs;

use crate::lang::Lang;

/// A value of one option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Str(String),
    Bool(bool),
    User(u64),
}

/// A command's arguments: the subcommand if the command has them, and each option given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// The subcommand group, for a subcommand inside one (`code` of `/session code add`).
    pub group: Option<String>,
    pub subcommand: Option<String>,
    values: BTreeMap<String, Value>,
}

/// What is wrong with one option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Missing,
    Unknown,
    WrongType {
        expected: OptionKind,
    },
    OutOfRange {
        min: Option<i64>,
        max: Option<i64>,
        got: i64,
    },
    Length {
        min: Option<u16>,
        max: Option<u16>,
    },
    NotAChoice {
        choices: Vec<String>,
    },
    /// Refused by a domain rule, which says why.
    Invalid(String),
}

/// Bad input, naming the option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadOption {
    pub option: String,
    pub problem: Problem,
}

impl BadOption {
    pub fn invalid(option: &str, why: impl ToString) -> BadOption {
        BadOption { option: option.to_owned(), problem: Problem::Invalid(why.to_string()) }
    }

    /// The ephemeral text the member sees.
    pub fn describe(&self, lang: Lang) -> String {
        let bound = |b: Option<i64>| b.map_or("…".to_owned(), |b| b.to_string());
        let len = |b: Option<u16>| b.map_or("…".to_owned(), |b| b.to_string());
        let problem = match &self.problem {
            Problem::Missing => lang.text("option-missing"),
            Problem::Unknown => lang.text("option-unknown"),
            Problem::WrongType { expected } => kind(*expected, lang),
            Problem::OutOfRange { min, max, got } => lang.text_with(
                "option-out-of-range",
                &TextArgs::new().str("min", bound(*min)).str("max", bound(*max)).str("got", got),
            ),
            Problem::Length { min, max } => lang.text_with(
                "option-length",
                &TextArgs::new().str("min", len(*min)).str("max", len(*max)),
            ),
            Problem::NotAChoice { choices } => lang.text_with(
                "option-not-a-choice",
                &TextArgs::new().str("choices", choices.join(", ")),
            ),
            Problem::Invalid(why) => why.clone(),
        };
        let args = TextArgs::new().str("option", &self.option).str("problem", problem);
        lang.text_with("option-problem", &args)
    }
}

/// What a value of `kind` must be, as said after the option's name.
fn kind(kind: OptionKind, lang: Lang) -> String {
    match kind {
        OptionKind::Integer => lang.text("kind-integer"),
        OptionKind::String => lang.text("kind-string"),
        OptionKind::Boolean => lang.text("kind-boolean"),
        OptionKind::User => lang.text("kind-user"),
        OptionKind::SubCommand | OptionKind::SubCommandGroup => lang.text("kind-subcommand"),
    }
}

impl Args {
    /// Reads and checks `data` against the command's definition.
    pub fn parse(spec: &manifest::Command, data: &CommandData) -> Result<Args, BadOption> {
        Args::within(&spec.name, None, &spec.options, &data.options)
    }

    /// The arguments given to `specs`, the options of `name`: values, or one subcommand (or
    /// group of them) with its own.
    fn within(
        name: &str,
        group: Option<String>,
        specs: &[CommandOption],
        given: &[CommandDataOption],
    ) -> Result<Args, BadOption> {
        if !specs.iter().any(|o| o.kind.is_subcommand()) {
            return Ok(Args { group, subcommand: None, values: values(specs, given)? });
        }
        let (chosen, options) = match given.first() {
            Some(CommandDataOption {
                name,
                value:
                    CommandDataOptionValue::SubCommand(options)
                    | CommandDataOptionValue::SubCommandGroup(options),
                ..
            }) => (name, options),
            _ => return Err(BadOption { option: name.to_owned(), problem: Problem::Missing }),
        };
        let sub = specs
            .iter()
            .find(|o| o.kind.is_subcommand() && o.name == *chosen)
            .ok_or_else(|| BadOption { option: chosen.clone(), problem: Problem::Unknown })?;
        match sub.kind {
            OptionKind::SubCommandGroup if group.is_none() => {
                Args::within(&sub.name, Some(sub.name.clone()), &sub.options, options)
            }
            _ => Ok(Args {
                group,
                subcommand: Some(sub.name.clone()),
                values: values(&sub.options, options)?,
            }),
        }
    }

    /// Whether the member gave the option.
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub fn int(&self, name: &str) -> Result<i64, BadOption> {
        match self.values.get(name) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(missing(name)),
        }
    }

    pub fn opt_int(&self, name: &str) -> Option<i64> {
        self.int(name).ok()
    }

    pub fn str(&self, name: &str) -> Result<&str, BadOption> {
        match self.values.get(name) {
            Some(Value::Str(s)) => Ok(s),
            _ => Err(missing(name)),
        }
    }

    pub fn opt_str(&self, name: &str) -> Option<&str> {
        self.str(name).ok()
    }

    pub fn bool(&self, name: &str) -> Result<bool, BadOption> {
        match self.values.get(name) {
            Some(Value::Bool(b)) => Ok(*b),
            _ => Err(missing(name)),
        }
    }

    pub fn user(&self, name: &str) -> Result<u64, BadOption> {
        match self.values.get(name) {
            Some(Value::User(u)) => Ok(*u),
            _ => Err(missing(name)),
        }
    }
}

/// What the member typed into a form's text input `name`, trimmed; empty if it is absent.
pub fn form_field(modal: &ModalInteraction, name: &str) -> String {
    modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == name => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn missing(name: &str) -> BadOption {
    BadOption { option: name.to_owned(), problem: Problem::Missing }
}

fn values(
    specs: &[CommandOption],
    given: &[CommandDataOption],
) -> Result<BTreeMap<String, Value>, BadOption> {
    let mut values = BTreeMap::new();
    for option in given {
        let spec = specs
            .iter()
            .find(|s| s.name == option.name)
            .ok_or_else(|| BadOption { option: option.name.clone(), problem: Problem::Unknown })?;
        let value = check(spec, &option.value)
            .map_err(|problem| BadOption { option: spec.name.clone(), problem })?;
        values.insert(spec.name.clone(), value);
    }
    if let Some(absent) = specs.iter().find(|s| s.required && !values.contains_key(&s.name)) {
        return Err(missing(&absent.name));
    }
    Ok(values)
}

fn check(spec: &CommandOption, given: &CommandDataOptionValue) -> Result<Value, Problem> {
    let value = match (spec.kind, given) {
        (OptionKind::Integer, CommandDataOptionValue::Integer(n)) => {
            let below = spec.min_value.is_some_and(|min| *n < min);
            let above = spec.max_value.is_some_and(|max| *n > max);
            if below || above {
                return Err(Problem::OutOfRange {
                    min: spec.min_value,
                    max: spec.max_value,
                    got: *n,
                });
            }
            Value::Int(*n)
        }
        (OptionKind::String, CommandDataOptionValue::String(s)) => {
            let s = s.trim();
            let chars = s.chars().count();
            let short = spec.min_length.is_some_and(|min| chars < usize::from(min));
            let long = spec.max_length.is_some_and(|max| chars > usize::from(max));
            if short || long {
                return Err(Problem::Length { min: spec.min_length, max: spec.max_length });
            }
            if !spec.choices.is_empty() && !spec.choices.iter().any(|c| c.value == s) {
                let choices = spec.choices.iter().map(|c| c.value.clone()).collect();
                return Err(Problem::NotAChoice { choices });
            }
            Value::Str(s.to_owned())
        }
        (OptionKind::Boolean, CommandDataOptionValue::Boolean(b)) => Value::Bool(*b),
        (OptionKind::User, CommandDataOptionValue::User(u)) => Value::User(u.get()),
        (expected, _) => return Err(Problem::WrongType { expected }),
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tollbooth_core::manifest::Manifest;

    use super::*;

    /// Parses `options` as Discord would send them for `/name`.
    fn parse(name: &str, options: serde_json::Value) -> Result<Args, BadOption> {
        let manifest = Manifest::built_in();
        let spec = manifest.discord.command(name).unwrap();
        let data: CommandData =
            serde_json::from_value(json!({"id": "1", "name": name, "type": 1, "options": options}))
                .unwrap();
        Args::parse(spec, &data)
    }

    fn problem(name: &str, options: serde_json::Value) -> (String, Problem) {
        let bad = parse(name, options).unwrap_err();
        (bad.option, bad.problem)
    }

    #[test]
    fn subcommands_and_their_options_are_typed() {
        let args = parse(
            "admin",
            json!([{"name": "feature", "type": 1, "options": [
                {"name": "feature", "type": 3, "value": " pay-per-use "},
                {"name": "enabled", "type": 5, "value": true}]}]),
        )
        .unwrap();
        assert_eq!(args.subcommand.as_deref(), Some("feature"));
        assert_eq!(args.str("feature"), Ok("pay-per-use"), "trimmed");
        assert_eq!(args.bool("enabled"), Ok(true));
        assert_eq!(args.int("enabled").unwrap_err().problem, Problem::Missing);
    }

    #[test]
    fn a_subcommand_in_a_group_names_both_and_its_options_are_typed() {
        let add = |options: serde_json::Value| {
            json!([{"name": "code", "type": 2, "options": [
                {"name": "add", "type": 1, "options": options}]}])
        };
        let args = parse(
            "session",
            add(json!([{"name": "code", "type": 3, "value": "spring"},
                       {"name": "uses", "type": 4, "value": 3}])),
        )
        .unwrap();
        assert_eq!(
            (args.group.as_deref(), args.subcommand.as_deref()),
            (Some("code"), Some("add"))
        );
        assert_eq!((args.str("code"), args.int("uses")), (Ok("spring"), Ok(3)));
        assert_eq!(problem("session", add(json!([]))), ("code".into(), Problem::Missing));
        let empty = json!([{"name": "code", "type": 2, "options": []}]);
        assert_eq!(problem("session", empty), ("code".into(), Problem::Missing));
        let plain = parse(
            "session",
            json!([{"name": "start", "type": 1, "options": [
            {"name": "platform", "type": 3, "value": "zoom"},
            {"name": "meeting", "type": 3, "value": "1"}]}]),
        )
        .unwrap();
        assert_eq!((plain.group, plain.subcommand.as_deref()), (None, Some("start")));
    }

    #[test]
    fn what_is_wrong_is_named() {
        let choices = vec!["pay-per-use".to_owned(), "fee-based".to_owned()];
        assert_eq!(
            problem(
                "admin",
                json!([{"name": "feature", "type": 1, "options": [
                    {"name": "feature", "type": 3, "value": "both"},
                    {"name": "enabled", "type": 5, "value": true}]}])
            ),
            ("feature".into(), Problem::NotAChoice { choices })
        );
        assert_eq!(problem("admin", json!([])), ("admin".into(), Problem::Missing));
        assert_eq!(
            problem("admin", json!([{"name": "shutdown", "type": 1, "options": []}])),
            ("shutdown".into(), Problem::Unknown)
        );
        assert_eq!(
            problem(
                "report",
                json!([{"name": "division", "type": 3, "value": "d"},
                       {"name": "from", "type": 3, "value": "yesterday"},
                       {"name": "to", "type": 3, "value": "2026-11-30"}])
            ),
            ("from".into(), Problem::Length { min: Some(10), max: Some(10) })
        );
        assert_eq!(
            problem("quote", json!([{"name": "minutes", "type": 4, "value": 1441}])),
            ("minutes".into(), Problem::OutOfRange { min: Some(1), max: Some(1440), got: 1441 })
        );
        assert_eq!(
            problem("quote", json!([{"name": "seats", "type": 4, "value": 1}])),
            ("seats".into(), Problem::Unknown)
        );
    }

    #[test]
    fn messages_in_both_languages() {
        let bad = BadOption { option: "phones".into(), problem: Problem::Missing };
        assert_eq!(bad.describe(Lang::En), "Option `phones` is required.");
        assert_eq!(bad.describe(Lang::from_locale("no")), "Valget `phones` må fylles ut.");
    }
}
