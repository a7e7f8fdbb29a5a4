//! A notice as each channel shows it: plain text and HTML for e-mail, Markdown for Webex.
//! Notices are written as for Discord, whose Markdown Webex shares; e-mail reads only their
//! `**bold**`. Pure functions: the words are the notice's, made from the .ftl files.

use askama::Template;

use super::Notice;
use crate::lang::Lang;
use crate::outbox::Link;

/// The plain-text part: the text without Markdown, then the link spelled out.
pub(super) fn text(notice: &Notice) -> String {
    let text = notice.text.replace("**", "");
    match &notice.link {
        Some(Link { label, url }) => format!("{text}\n\n{label}: {url}\n"),
        None => format!("{text}\n"),
    }
}

#[derive(Template)]
#[template(path = "email.html")]
struct Html<'a> {
    lang: Lang,
    subject: &'a str,
    /// Paragraphs, each as parts that are bold or not.
    lines: Vec<Vec<(bool, &'a str)>>,
    link: Option<&'a Link>,
}

/// The HTML part: each line a paragraph, `**bold**` bold, the link a link, and everything
/// escaped by askama.
pub(super) fn html(notice: &Notice, lang: Lang) -> String {
    let lines = notice
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| line.split("**").enumerate().map(|(i, part)| (i % 2 == 1, part)).collect())
        .collect();
    let page = Html { lang, subject: &notice.subject, lines, link: notice.link.as_ref() };
    page.render().expect("the template writes into a String")
}

/// The Webex message: the text, then the link.
pub(super) fn markdown(notice: &Notice) -> String {
    match &notice.link {
        Some(Link { label, url }) => format!("{}\n\n[{label}]({url})", notice.text),
        None => notice.text.clone(),
    }
}
