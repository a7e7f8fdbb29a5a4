//! A fresh site turned on by one `/admin setup` form, `/admin status`, and times typed in
//! the site's zone (`/admin timezone`) and shown as Discord timestamp markup (Webex, Payflow
//! and Discord emulators, both backends).

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::common::world;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{RegistrationStore, SiteStore, Switches};

use chat::{ADMIN, MEMBER, ask, command, interaction, link, options, sub};
use common::Db;
use world::{HOST_USER, World};

on_both_backends!(
    a_fresh_site_is_set_up_by_one_form_and_sells_at_its_prices,
    setup_is_refused_to_a_member_without_manage_server,
    a_bad_field_is_named_and_nothing_of_the_form_is_applied,
    a_time_typed_in_the_sites_zone_is_stored_in_utc_and_shown_in_each_readers,
);

/// The administrator, who acts as no host.
const ADMIN_USER: u64 = 1;

async fn fresh(db: &Db) -> World {
    let off =
        Switches { ecommerce_enabled: false, pay_per_use_enabled: false, fee_based_enabled: false };
    World::serve(db, off, 10).await
}

impl World {
    async fn admin(
        &self,
        token: &str,
        subcommand: &str,
        pairs: &[(&str, Value)],
        who: &str,
    ) -> Value {
        let interaction = command(ADMIN_USER, token, "admin", sub(subcommand, options(pairs)), who);
        ask(&self.app.base, &self.discord, &interaction).await
    }

    /// Submits the setup form with these five fields, as a member with `permissions`.
    async fn submit_setup(&self, fields: [&str; 5], permissions: &str) -> String {
        let ids =
            ["currency_country", "person_minute", "teleconference_minute", "features", "division"];
        let rows: Vec<Value> = ids
            .iter()
            .zip(fields)
            .map(|(id, value)| {
                json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})
            })
            .collect();
        let data = json!({"custom_id": "admin:setup", "components": rows});
        let submit = interaction(ADMIN_USER, "setup-form", 5, data, "en-US", permissions);
        let answer = ask(&self.app.base, &self.discord, &submit).await;
        assert_eq!(answer["flags"], 64, "ephemeral: {answer}");
        answer["content"].as_str().unwrap().to_owned()
    }

    async fn schedule_at(&self, token: &str, start: &str, plan: bool) -> Value {
        let mut pairs = vec![
            ("title", json!("Onboarding")),
            ("start", json!(start)),
            ("minutes", json!(60)),
            ("platform", json!("webex")),
        ];
        if plan {
            pairs.extend([("computers", json!(10)), ("phones", json!(3))]);
        }
        let interaction =
            command(HOST_USER, token, "session", sub("schedule", options(&pairs)), MEMBER);
        ask(&self.app.base, &self.discord, &interaction).await
    }
}

const NOK_NO: [&str; 5] = ["nok no", "1.20", "0.50", "pay-per-use, fee-based", "training Training"];

async fn a_fresh_site_is_set_up_by_one_form_and_sells_at_its_prices(db: Db) {
    let w = fresh(&db).await;
    let form = w.admin("setup", "setup", &[], ADMIN).await;
    assert_eq!(form["custom_id"], "admin:setup", "a form: {form}");
    let fields = form["components"].as_array().unwrap();
    assert_eq!(fields.len(), 5, "Discord's most");
    assert_eq!(fields[0]["components"][0]["value"], "USD US", "filled in with what the site has");

    let said = w.submit_setup(NOK_NO, ADMIN).await;
    for line in [
        "The site is set up: e-commerce is on.",
        "E-commerce: on; pay-per-use: on; fee-based training: on",
        "Country: NO; currency: NOK; time zone: UTC",
        "Prices: 1.20 NOK per person-minute, 0.50 NOK per teleconference minute",
        "Over budget: warn",
        "Payment methods offered in NO: ",
        "Default division: training",
        "Divisions: training (Training)",
        "Linked hosts: 1",
    ] {
        assert!(said.contains(line), "{line} in {said}");
    }
    let status = w.admin("status", "status", &[], ADMIN).await;
    let status = status["content"].as_str().unwrap();
    assert!(said.ends_with(status), "setup answers with /admin status: {status}");
    let site = w.app.store.site_settings().await.unwrap();
    assert_eq!(site.default_division.unwrap().as_str(), "training");

    let quote = command(
        HOST_USER,
        "quote",
        "quote",
        options(&[("minutes", json!(60)), ("computers", json!(10)), ("phones", json!(3))]),
        MEMBER,
    );
    let quoted = ask(&w.app.base, &w.discord, &quote).await;
    let quoted = quoted["content"].as_str().unwrap();
    assert!(quoted.contains("600 × 1.20 NOK = 720.00 NOK"), "{quoted}");
    assert!(quoted.contains("810.00 NOK"), "{quoted}");

    let scheduled = w.schedule_at("schedule", "2030-12-01 14:00", true).await;
    let page = pay::text(&link(&scheduled).unwrap()).await;
    assert!(page.contains("810.00") && page.contains("NOK"), "the pay page: {page}");
}

async fn setup_is_refused_to_a_member_without_manage_server(db: Db) {
    let w = fresh(&db).await;
    let refused = w.admin("setup", "setup", &[], MEMBER).await;
    assert!(refused["content"].as_str().unwrap().contains("Manage Server"), "{refused}");
    // The form itself proves nothing: anyone can send its submission.
    let refused = w.submit_setup(NOK_NO, MEMBER).await;
    assert!(refused.contains("Manage Server"), "{refused}");
    let site = w.app.store.site_settings().await.unwrap();
    assert!(!site.ecommerce_enabled && site.default_division.is_none());
}

async fn a_bad_field_is_named_and_nothing_of_the_form_is_applied(db: Db) {
    let w = fresh(&db).await;
    let bad = |at: usize, value: &'static str| {
        let mut fields = NOK_NO;
        fields[at] = value;
        fields
    };
    for (fields, named) in [
        (bad(0, "NOK"), "`currency_country`"),
        (bad(0, "XYZ NO"), "`currency`"),
        (bad(0, "NOK XX"), "`country`"),
        (bad(1, "-1"), "`person_minute`"),
        (bad(2, "free"), "`teleconference_minute`"),
        (bad(3, "gifts"), "`features`"),
        (bad(4, "Training"), "`division`"),
        (bad(4, "training "), "`division`"),
    ] {
        let said = w.submit_setup(fields, ADMIN).await;
        assert!(said.contains(named), "{named} in {said}");
    }
    let site = w.app.store.site_settings().await.unwrap();
    assert!(!site.ecommerce_enabled, "nothing applied");
    assert_eq!(site.country.code(), "US");
    assert!(w.app.store.divisions().await.unwrap().is_empty());
}

async fn a_time_typed_in_the_sites_zone_is_stored_in_utc_and_shown_in_each_readers(db: Db) {
    let w = fresh(&db).await;
    let set = w.admin("tz", "timezone", &[("zone", json!("Europe/Oslo"))], ADMIN).await;
    assert!(set["content"].as_str().unwrap().contains("Time zone: Europe/Oslo"), "{set}");
    let unknown = w.admin("tz-2", "timezone", &[("zone", json!("Mars/Olympus"))], ADMIN).await;
    assert!(unknown["content"].as_str().unwrap().contains("`zone`"), "{unknown}");

    let utc: DateTime<Utc> = "2030-12-10T08:00:00Z".parse().unwrap();
    let markup = format!("<t:{}:F>", utc.timestamp());
    for (token, typed) in [("local", "2030-12-10 09:00"), ("offset", "2030-12-10T09:00+01:00")] {
        let said = w.schedule_at(token, typed, false).await;
        let said = said["content"].as_str().unwrap();
        assert!(said.contains(&format!("for {markup},")), "{typed}: {said}");
        let meeting = said.split('`').nth(1).unwrap();
        let stored = w.app.store.scheduled(PlatformKind::Webex, meeting).await.unwrap().unwrap();
        assert_eq!(stored.starts_at, utc, "{typed}");
    }
    let skipped = w.schedule_at("gap", "2030-03-31 02:30", false).await;
    let skipped = skipped["content"].as_str().unwrap();
    assert!(skipped.contains("`start`") && skipped.contains("skip that hour"), "{skipped}");
}
