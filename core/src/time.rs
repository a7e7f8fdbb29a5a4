//! Times as people type and read them. A time typed in chat is read in the site's zone
//! (`2026-12-10 09:00`) unless it carries its own offset (ISO 8601: `2026-12-10T09:00+01:00`,
//! `2026-12-10T08:00Z`); a time the bot shows is Discord's timestamp markup, which each
//! reader's client shows in their own zone and language.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
pub use chrono_tz::Tz;

use crate::lang::Lang;
use crate::messages::Args;

/// Discord's full date and time markup, such as `<t:1796889600:F>`.
pub fn markup(at: DateTime<Utc>) -> String {
    format!("<t:{}:F>", at.timestamp())
}

/// Why typed text is not one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadTime {
    /// Neither a time in the site's zone nor one with an offset.
    Unreadable { text: String, zone: Tz },
    /// In the hour that the clocks skip when they go forward.
    Skipped { text: String, zone: Tz },
    /// In the hour that happens twice when the clocks go back: which of the two is for the
    /// writer to say, as guessing would move a session by an hour.
    Ambiguous { local: NaiveDateTime, zone: Tz, earlier: FixedOffset, later: FixedOffset },
}

impl BadTime {
    /// As told to the member who typed it.
    pub fn said(&self, lang: Lang) -> String {
        match self {
            BadTime::Unreadable { text, zone } => {
                lang.text_with("not-a-time", &Args::new().str("text", text).str("zone", zone))
            }
            BadTime::Skipped { text, zone } => {
                lang.text_with("time-skipped", &Args::new().str("text", text).str("zone", zone))
            }
            BadTime::Ambiguous { local, zone, earlier, later } => {
                let with =
                    |offset: &FixedOffset| format!("{}{offset}", local.format("%Y-%m-%dT%H:%M"));
                let args = Args::new()
                    .str("text", local.format("%Y-%m-%d %H:%M"))
                    .str("zone", zone)
                    .str("earlier", with(earlier))
                    .str("later", with(later));
                lang.text_with("time-ambiguous", &args)
            }
        }
    }
}

/// The time `text` names: `YYYY-MM-DD HH:MM` in `zone`, or ISO 8601 with an offset or `Z`.
pub fn parse(text: &str, zone: Tz) -> Result<DateTime<Utc>, BadTime> {
    let text = text.trim();
    if let Some(at) = with_offset(text) {
        return Ok(at);
    }
    let local = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| BadTime::Unreadable { text: text.to_owned(), zone })?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Ok(at.to_utc()),
        LocalResult::None => Err(BadTime::Skipped { text: text.to_owned(), zone }),
        LocalResult::Ambiguous(earlier, later) => Err(BadTime::Ambiguous {
            local,
            zone,
            earlier: earlier.offset().fix(),
            later: later.offset().fix(),
        }),
    }
}

/// ISO 8601 with an offset, with or without seconds.
fn with_offset(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    // chrono's `%:z` does not read `Z`.
    let text = match text.strip_suffix(['Z', 'z']) {
        Some(rest) => format!("{rest}+00:00"),
        None => text.to_owned(),
    };
    ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M%:z"]
        .iter()
        .find_map(|format| DateTime::parse_from_str(&text, format).ok())
        .map(|at| at.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_time_without_an_offset_is_read_in_the_sites_zone() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        assert_eq!(parse("2026-12-10 09:00", oslo), Ok(utc("2026-12-10T08:00:00Z")));
        assert_eq!(parse(" 2026-07-10T09:00 ", oslo), Ok(utc("2026-07-10T07:00:00Z")));
        assert_eq!(parse("2026-12-10 09:00", Tz::UTC), Ok(utc("2026-12-10T09:00:00Z")));
    }

    #[test]
    fn a_time_with_an_offset_is_read_as_written_in_any_zone() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        for text in [
            "2026-12-10T09:00+01:00",
            "2026-12-10T08:00Z",
            "2026-12-10T08:00:00Z",
            "2026-12-10 03:00-05:00",
            "2026-12-10T09:00:00+01:00",
        ] {
            assert_eq!(parse(text, oslo), Ok(utc("2026-12-10T08:00:00Z")), "{text}");
        }
    }

    #[test]
    fn times_the_clocks_skip_or_repeat_are_refused_with_what_to_write() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        let skipped = parse("2026-03-29 02:30", oslo).unwrap_err();
        assert_eq!(
            skipped.said(Lang::En),
            "`2026-03-29 02:30` does not exist in Europe/Oslo: the clocks skip that hour"
        );
        let twice = parse("2026-10-25 02:30", oslo).unwrap_err();
        assert_eq!(
            twice.said(Lang::En),
            "`2026-10-25 02:30` happens twice in Europe/Oslo: write 2026-10-25T02:30+02:00 or 2026-10-25T02:30+01:00"
        );
        assert_eq!(parse("2026-10-25T02:30+01:00", oslo), Ok(utc("2026-10-25T01:30:00Z")));
    }

    #[test]
    fn what_is_not_a_time_is_named_with_the_forms_that_are() {
        let said = parse("tomorrow", Tz::UTC).unwrap_err().said(Lang::En);
        assert!(said.contains("`tomorrow`") && said.contains("(in UTC)"), "{said}");
        let norwegian = parse("i morgen", Tz::UTC).unwrap_err().said(Lang::No);
        assert!(norwegian.contains("ikke et tidspunkt"), "{norwegian}");
    }

    #[test]
    fn times_are_shown_as_discord_markup() {
        assert_eq!(markup(utc("2026-12-10T08:00:00Z")), "<t:1796889600:F>");
    }
}
