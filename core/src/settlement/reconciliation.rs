//! What `tollbooth reconcile`, `GET /api/v1/reconciliation` and `/report` show: each settled
//! session of a period, what it was billed beside what the platform recorded and reported, and
//! whether the final check flagged it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Reconciliation, Source, Stage};
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::pay_per_use::billing::csv_field;

/// Person and teleconference minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Minutes {
    pub person_minutes: u64,
    pub teleconference_minutes: u64,
}

/// One settled session, as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub platform: String,
    pub meeting_id: String,
    pub host_email: String,
    pub division: Option<String>,
    pub ended_at: DateTime<Utc>,
    pub state: Stage,
    pub source: Option<Source>,
    pub billed: Minutes,
    /// The platform's participant record alone; null when it never came.
    pub platform_record: Option<Minutes>,
    /// The platform's usage report (Webex) or final record (Zoom); null until the final check.
    pub reported: Option<Minutes>,
    pub flagged: bool,
    pub total: Money,
    pub note: Option<String>,
}

/// A period's settled sessions, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub sessions: Vec<Row>,
    /// How many of them the final check flagged.
    pub flagged: usize,
}

impl Report {
    pub fn new(found: Vec<Reconciliation>) -> Report {
        let sessions: Vec<Row> = found.into_iter().map(row).collect();
        let flagged = sessions.iter().filter(|r| r.flagged).count();
        Report { sessions, flagged }
    }

    /// One line per session, in `lang`.
    pub fn lines(&self, lang: Lang) -> Vec<String> {
        let minutes = |m: Option<Minutes>| match m {
            Some(m) => format!("{}/{}", m.person_minutes, m.teleconference_minutes),
            None => "-".to_owned(),
        };
        self.sessions
            .iter()
            .map(|r| {
                let args = Args::new()
                    .str("date", r.ended_at.format("%Y-%m-%d"))
                    .str("session", format!("{}/{}", r.platform, r.meeting_id))
                    .str("host", &r.host_email)
                    .str("state", r.state.as_str())
                    .str("billed", minutes(Some(r.billed)))
                    .str("platform", minutes(r.platform_record))
                    .str("reported", minutes(r.reported))
                    .str("amount", r.total)
                    .str("currency", r.total.currency().code());
                if r.flagged {
                    lang.text_with("reconcile-flagged", &args)
                } else {
                    lang.text_with("reconcile-line", &args)
                }
            })
            .collect()
    }

    /// How many sessions, and how many flagged, in `lang`.
    pub fn summary(&self, lang: Lang) -> String {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let args = Args::new()
            .num("sessions", count(self.sessions.len()))
            .num("flagged", count(self.flagged));
        lang.text_with("reconcile-summary", &args)
    }

    pub fn csv(&self) -> String {
        let mut out = String::from(
            "ended,platform,meeting_id,host,division,state,source,billed_person_minutes,billed_teleconference_minutes,platform_person_minutes,platform_teleconference_minutes,reported_person_minutes,reported_teleconference_minutes,flagged,total,currency,note\r\n",
        );
        let split = |m: Option<Minutes>| match m {
            Some(m) => [m.person_minutes.to_string(), m.teleconference_minutes.to_string()],
            None => [String::new(), String::new()],
        };
        for r in &self.sessions {
            let [platform_person, platform_teleconference] = split(r.platform_record);
            let [reported_person, reported_teleconference] = split(r.reported);
            let fields = [
                r.ended_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                r.platform.clone(),
                r.meeting_id.clone(),
                r.host_email.clone(),
                r.division.clone().unwrap_or_default(),
                r.state.to_string(),
                r.source.map(|s| s.to_string()).unwrap_or_default(),
                r.billed.person_minutes.to_string(),
                r.billed.teleconference_minutes.to_string(),
                platform_person,
                platform_teleconference,
                reported_person,
                reported_teleconference,
                r.flagged.to_string(),
                r.total.to_string(),
                r.total.currency().code().to_owned(),
                r.note.clone().unwrap_or_default(),
            ];
            out += &fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
            out += "\r\n";
        }
        out
    }
}

fn row(r: Reconciliation) -> Row {
    let s = r.settlement;
    let minutes = |person, teleconference| Minutes {
        person_minutes: person,
        teleconference_minutes: teleconference,
    };
    Row {
        platform: s.platform.to_string(),
        meeting_id: s.meeting_id,
        host_email: r.host_email,
        division: r.division.map(|d| d.to_string()),
        ended_at: s.ended_at,
        state: s.stage,
        source: s.source,
        billed: minutes(r.billed_person_minutes, r.billed_teleconference_minutes),
        platform_record: s
            .platform_usage
            .map(|u| minutes(u.person_minutes, u.teleconference_minutes)),
        reported: s.reported.map(|(p, t)| minutes(p, t)),
        flagged: s.flagged,
        total: r.total,
        note: s.note,
    }
}
