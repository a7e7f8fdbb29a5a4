//! One home for words: every text a person reads (chat replies, direct messages, pages,
//! receipts, refusals) is a Project Fluent message in `core/locales/{en,nb}/*.ftl`, embedded
//! at compile time. Code names a message and passes its arguments:
//!
//! ```
//! use tollbooth_core::lang::Lang;
//! use tollbooth_core::messages::Args;
//!
//! let plan = Args::new().num("minutes", 60).num("computers", 1).num("phones", 0);
//! assert_eq!(Lang::En.text_with("plan-summary", &plan), "60 minutes, 1 computer, 0 phones");
//! assert_eq!(Lang::En.text("estimated-cost"), "Estimated session cost");
//! ```
//!
//! Counts are passed as numbers ([`Args::num`]) so that Fluent picks the plural; money, names
//! and ids as text already formatted ([`Args::str`]). A language is looked up in its own
//! bundle only: a message missing in Norwegian is an error (a panic in debug builds, the id in
//! release), never English in its place. The tests below keep the languages' keys and
//! arguments equal and every id the code names present.

use std::fmt::Display;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::types::FluentNumber;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::lang::Lang;

/// The resource files of one language, by area: (file, source).
type Files = [(&'static str, &'static str); 3];

macro_rules! files {
    ($dir:literal) => {
        [
            ("chat.ftl", include_str!(concat!("../locales/", $dir, "/chat.ftl"))),
            ("messages.ftl", include_str!(concat!("../locales/", $dir, "/messages.ftl"))),
            ("pages.ftl", include_str!(concat!("../locales/", $dir, "/pages.ftl"))),
        ]
    };
}

static EN: Files = files!("en");
static NB: Files = files!("nb");

type Bundle = FluentBundle<FluentResource>;

/// The Fluent language tag and files of a language. Norwegian is written in Bokmål (`nb`),
/// whatever Discord and the links call it (`no`).
fn resources(lang: Lang) -> (&'static str, &'static Files) {
    match lang {
        Lang::En => ("en", &EN),
        Lang::No => ("nb", &NB),
    }
}

const LANGS: [Lang; 2] = [Lang::En, Lang::No];

static BUNDLES: LazyLock<[Bundle; 2]> = LazyLock::new(|| LANGS.map(build));

fn build(lang: Lang) -> Bundle {
    let (tag, files) = resources(lang);
    let mut bundle = Bundle::new_concurrent(vec![tag.parse().expect("a valid language tag")]);
    // Isolation marks around each argument would end up in chat messages and e-mail-like DMs;
    // every text here is left-to-right.
    bundle.set_use_isolating(false);
    for (file, source) in files {
        // The files are compiled in and parsed by the tests, so this fails only there.
        let resource = FluentResource::try_new(source.to_string())
            .unwrap_or_else(|(_, errors)| panic!("{tag}/{file}: {errors:?}"));
        bundle.add_resource(resource).unwrap_or_else(|errors| panic!("{tag}/{file}: {errors:?}"));
    }
    bundle
}

fn bundle(lang: Lang) -> &'static Bundle {
    let [en, nb] = &*BUNDLES;
    match lang {
        Lang::En => en,
        Lang::No => nb,
    }
}

/// The arguments of a message, by name.
#[derive(Default)]
pub struct Args<'a>(FluentArgs<'a>);

impl<'a> Args<'a> {
    pub fn new() -> Args<'a> {
        Args(FluentArgs::new())
    }

    /// A count: plural variants select on it. Any integer type (`u32`, `u64`, `usize`…).
    pub fn num(mut self, name: &'static str, n: impl Into<FluentNumber>) -> Args<'a> {
        self.0.set(name, FluentValue::from(n.into()));
        self
    }

    /// Text as it is shown: names, ids, dates, and money already formatted (`12.50`), which as
    /// a Fluent number would lose its trailing zeros.
    pub fn str(mut self, name: &'static str, value: impl Display) -> Args<'a> {
        self.0.set(name, value.to_string());
        self
    }
}

/// The text of `id` in one bundle, or what went wrong. No other bundle is asked.
fn format(bundle: &Bundle, id: &str, args: Option<&FluentArgs>) -> Result<String, String> {
    let message = bundle.get_message(id).ok_or_else(|| format!("no message `{id}`"))?;
    let pattern = message.value().ok_or_else(|| format!("message `{id}` has no value"))?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
    match errors.is_empty() {
        true => Ok(text),
        false => Err(format!("message `{id}`: {errors:?} (formatted as {text:?})")),
    }
}

impl Lang {
    /// The message `id` in this language.
    pub fn text(self, id: &str) -> String {
        self.lookup(id, None)
    }

    /// The message `id` in this language, with its arguments.
    pub fn text_with(self, id: &str, args: &Args) -> String {
        self.lookup(id, Some(&args.0))
    }

    fn lookup(self, id: &str, args: Option<&FluentArgs>) -> String {
        match format(bundle(self), id, args) {
            Ok(text) => text,
            Err(problem) => {
                // Loud where tests run; in production the reader sees the id, not a wrong
                // language, and the log says what is missing.
                if cfg!(debug_assertions) {
                    panic!("{}: {problem}", self.code());
                }
                tracing::error!(lang = self.code(), problem, "a text could not be made");
                id.to_owned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use fluent_syntax::ast;

    use super::*;

    /// What a message needs and names: its variables and the messages it references.
    #[derive(Default, Debug, PartialEq)]
    struct Uses {
        variables: BTreeSet<String>,
        messages: BTreeSet<String>,
    }

    fn pattern_uses(pattern: &ast::Pattern<&str>, uses: &mut Uses) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_uses(expression, uses);
            }
        }
    }

    fn expression_uses(expression: &ast::Expression<&str>, uses: &mut Uses) {
        match expression {
            ast::Expression::Select { selector, variants } => {
                inline_uses(selector, uses);
                for variant in variants {
                    pattern_uses(&variant.value, uses);
                }
            }
            ast::Expression::Inline(inline) => inline_uses(inline, uses),
        }
    }

    fn inline_uses(inline: &ast::InlineExpression<&str>, uses: &mut Uses) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                uses.variables.insert(id.name.to_owned());
            }
            ast::InlineExpression::MessageReference { id, .. } => {
                uses.messages.insert(id.name.to_owned());
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                arguments.positional.iter().for_each(|a| inline_uses(a, uses));
                arguments.named.iter().for_each(|a| inline_uses(&a.value, uses));
            }
            ast::InlineExpression::Placeable { expression } => expression_uses(expression, uses),
            // Terms take only literal arguments, so they add no variables.
            ast::InlineExpression::TermReference { .. }
            | ast::InlineExpression::StringLiteral { .. }
            | ast::InlineExpression::NumberLiteral { .. } => {}
        }
    }

    /// Every message and term of a language (terms as `-name`) with what it uses; variables
    /// include those of the messages it references, which Fluent resolves with the same
    /// arguments.
    fn entries(lang: Lang) -> BTreeMap<String, Uses> {
        let (tag, files) = resources(lang);
        let mut found = BTreeMap::new();
        for (file, source) in files {
            let resource = FluentResource::try_new(source.to_string())
                .unwrap_or_else(|(_, errors)| panic!("{tag}/{file} does not parse: {errors:?}"));
            for entry in resource.entries() {
                let (id, uses) = match entry {
                    ast::Entry::Message(m) => {
                        let mut uses = Uses::default();
                        m.value.iter().for_each(|p| pattern_uses(p, &mut uses));
                        (m.id.name.to_owned(), uses)
                    }
                    ast::Entry::Term(t) => {
                        let mut uses = Uses::default();
                        pattern_uses(&t.value, &mut uses);
                        (format!("-{}", t.id.name), uses)
                    }
                    ast::Entry::Junk { content } => panic!("{tag}/{file}: junk {content:?}"),
                    _ => continue,
                };
                assert!(found.insert(id.clone(), uses).is_none(), "{tag}/{file}: `{id}` twice");
            }
        }
        // Fold in the variables of referenced messages until nothing changes.
        loop {
            let mut grew = false;
            let ids: Vec<String> = found.keys().cloned().collect();
            for id in ids {
                let referenced: Vec<String> = found[&id].messages.iter().cloned().collect();
                for other in referenced {
                    let more = found.get(&other).map(|u| u.variables.clone()).unwrap_or_default();
                    let uses = found.get_mut(&id).unwrap();
                    for v in more {
                        grew |= uses.variables.insert(v);
                    }
                }
            }
            if !grew {
                return found;
            }
        }
    }

    #[test]
    fn both_languages_have_the_same_messages_with_the_same_arguments() {
        let (en, nb) = (entries(Lang::En), entries(Lang::No));
        let only = |a: &BTreeMap<String, Uses>, b: &BTreeMap<String, Uses>| {
            a.keys().filter(|k| !b.contains_key(*k)).cloned().collect::<Vec<_>>()
        };
        assert_eq!(only(&en, &nb), Vec::<String>::new(), "missing in nb");
        assert_eq!(only(&nb, &en), Vec::<String>::new(), "missing in en");
        for (id, uses) in &en {
            assert_eq!(uses.variables, nb[id].variables, "`{id}` takes other arguments in nb");
        }
    }

    #[test]
    fn every_message_resolves_with_its_arguments() {
        for lang in LANGS {
            for (id, uses) in entries(lang).into_iter().filter(|(id, _)| !id.starts_with('-')) {
                // 1 and 2 reach the `one` and the `other` variants of both languages.
                for n in [1, 2] {
                    let mut args = FluentArgs::new();
                    for v in &uses.variables {
                        args.set(v.clone(), n);
                    }
                    let text = format(bundle(lang), &id, Some(&args))
                        .unwrap_or_else(|e| panic!("{}: {e}", lang.code()));
                    assert!(!text.trim().is_empty(), "{}: `{id}` is empty", lang.code());
                }
            }
        }
    }

    #[test]
    fn a_missing_message_is_an_error_not_another_language() {
        let mut bundle = Bundle::new_concurrent(vec!["nb".parse().unwrap()]);
        bundle.add_resource(FluentResource::try_new("a = A".into()).unwrap()).unwrap();
        assert_eq!(format(&bundle, "a", None), Ok("A".into()));
        assert!(format(&bundle, "estimated-cost", None).is_err());
        let without_args = format(super::bundle(Lang::En), "receipt-total", None);
        assert!(without_args.unwrap_err().contains("receipt-total"));
    }

    /// The message ids the code names: every `text("…")` and `text_with("…"` in the crates'
    /// sources and the page templates.
    fn ids_in_code() -> BTreeMap<String, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut ids = BTreeMap::new();
        let mut dirs: Vec<_> = ["core/src", "bot/src", "webhook/src", "webhook/templates", "src"]
            .iter()
            .map(|d| root.join(d))
            .collect();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                // This file's own examples and tests are not the code's.
                if path.ends_with("core/src/messages.rs") {
                    continue;
                }
                let Ok(source) = std::fs::read_to_string(&path) else { continue };
                for call in ["text(", "text_with("] {
                    for (at, _) in source.match_indices(call) {
                        let rest = source[at + call.len()..].trim_start();
                        let Some(rest) = rest.strip_prefix('"') else { continue };
                        let id = &rest[..rest.find('"').unwrap()];
                        // Other methods called `text` take other strings.
                        let fluent_id = id.starts_with(|c: char| c.is_ascii_lowercase())
                            && id
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                        if fluent_id {
                            ids.insert(id.to_owned(), path.display().to_string());
                        }
                    }
                }
            }
        }
        ids
    }

    #[test]
    fn every_message_the_code_names_exists_and_every_message_is_used() {
        let ids = ids_in_code();
        assert!(ids.len() > 100, "the scan found too few ids: {ids:?}");
        let en = entries(Lang::En);
        for (id, file) in &ids {
            assert!(en.contains_key(id), "{file} names `{id}`, which no .ftl has");
        }
        let referenced: BTreeSet<&String> = en.values().flat_map(|u| &u.messages).collect();
        for id in en.keys().filter(|id| !id.starts_with('-')) {
            assert!(
                ids.contains_key(id) || referenced.contains(id),
                "`{id}` is used neither by the code nor by another message"
            );
        }
    }

    #[test]
    fn counts_take_their_plural() {
        let plan = |m: i32, c: i32, p: i32| {
            Args::new().num("minutes", m).num("computers", c).num("phones", p)
        };
        let en = |args| Lang::En.text_with("plan-summary", &args);
        let nb = |args| Lang::No.text_with("plan-summary", &args);
        assert_eq!(en(plan(60, 10, 3)), "60 minutes, 10 computers, 3 phones");
        assert_eq!(en(plan(1, 1, 1)), "1 minute, 1 computer, 1 phone");
        assert_eq!(en(plan(90, 3, 0)), "90 minutes, 3 computers, 0 phones");
        assert_eq!(nb(plan(60, 10, 3)), "60 minutter, 10 datamaskiner, 3 telefoner");
        assert_eq!(nb(plan(1, 1, 0)), "1 minutt, 1 datamaskin, 0 telefoner");
    }

    #[test]
    fn norwegian_says_the_seeds_words() {
        assert_eq!(Lang::No.text("estimated-cost"), "Beregnet øktkostnad");
        assert_eq!(Lang::En.text("estimated-cost"), "Estimated session cost");
        // No other phrase for the estimated cost survives anywhere in the Norwegian files.
        let (_, files) = resources(Lang::No);
        for (file, source) in files {
            for old in ["Anslått kostnad", "Estimert kostnad", "avdeling", "påmeld", "avgift"] {
                assert!(!source.to_lowercase().contains(&old.to_lowercase()), "{file}: {old}");
            }
        }
    }
}
