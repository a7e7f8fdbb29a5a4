//! The whole service against every emulator a chat-driven flow needs: the router with
//! Payflow (and the sandbox), the Webex, Zoom and Discord APIs, signed webhook senders, the
//! admin API, and one host linked to a Discord member.

use secrecy::SecretString;
use tollbooth_core::config::Config;
use tollbooth_core::email::Email;
use tollbooth_core::store::{DiscordLinkStore, SiteStore, Switches};

use crate::common::app::App;
use crate::common::app::browser;
use crate::common::pay::{choose, location, text, with_payflow};
use crate::common::{ADMIN_TOKEN, Db, Sender, WEBEX_SECRET, ZOOM_SECRET};
use crate::emulators::{
    self, discord::DiscordEmulator, payflow::Payflow, webex::WebexEmulator, zoom::ZoomEmulator,
};

pub const HOST: &str = "host@example.com";
/// The Discord member linked to [`HOST`].
pub const HOST_USER: u64 = 4242;

pub struct World {
    pub app: App,
    payflow_timeout_secs: u64,
    tweak: fn(&mut Config),
    pub sender: Sender,
    pub payflow: Payflow,
    pub webex: WebexEmulator,
    pub zoom: ZoomEmulator,
    pub discord: DiscordEmulator,
}

impl World {
    /// Approves what `link` asks for on the sandbox's checkout page; returns the page the
    /// payer comes back to.
    pub async fn pay_in_sandbox(&self, link: &str) -> String {
        let checkout = choose(link, "sandbox").await;
        let decision = [("decision", "approve")];
        let back = location(&browser().post(&checkout).form(&decision).send().await.unwrap());
        text(&back).await
    }

    /// Everything started, the site switched as `switches` says; Payflow calls time out after
    /// `payflow_timeout_secs`.
    pub async fn serve(db: &Db, switches: Switches, payflow_timeout_secs: u64) -> World {
        World::serve_with(db, switches, payflow_timeout_secs, |_| {}).await
    }

    /// As [`World::serve`], with `tweak` applied to the configuration last.
    pub async fn serve_with(
        db: &Db,
        switches: Switches,
        payflow_timeout_secs: u64,
        tweak: fn(&mut Config),
    ) -> World {
        let (payflow, webex, zoom, discord) = (
            Payflow::start().await,
            WebexEmulator::start().await,
            ZoomEmulator::start().await,
            DiscordEmulator::start().await,
        );
        let config = configure(&payflow, &webex, &zoom, &discord, payflow_timeout_secs, tweak);
        let app = App::configured(db, config).await;
        app.store.set_switches(switches).await.unwrap();
        let host: Email = HOST.parse().unwrap();
        app.store.link_discord_user(HOST_USER, &host, 1).await.unwrap();
        let sender = Sender::new(&app.base);
        World { app, payflow_timeout_secs, tweak, sender, payflow, webex, zoom, discord }
    }

    /// A second server on the same database, calling the same emulators.
    pub async fn another_server(&self, db: &Db) -> App {
        let (p, w, z, d) = (&self.payflow, &self.webex, &self.zoom, &self.discord);
        App::configured(db, configure(p, w, z, d, self.payflow_timeout_secs, self.tweak)).await
    }
}

fn configure(
    payflow: &Payflow,
    webex: &WebexEmulator,
    zoom: &ZoomEmulator,
    discord: &DiscordEmulator,
    payflow_timeout_secs: u64,
    tweak: fn(&mut Config),
) -> impl FnOnce(&mut Config) + use<> {
    let payments = with_payflow(payflow, payflow_timeout_secs);
    let clients = emulators::clients(Some(webex), Some(zoom), Some(discord));
    move |c: &mut Config| {
        payments(c);
        clients(c);
        c.admin_token = Some(SecretString::from(ADMIN_TOKEN));
        c.webex.webhook_secret = vec![SecretString::from(WEBEX_SECRET)];
        c.zoom.webhook_secret_token = Some(SecretString::from(ZOOM_SECRET));
        // Settled as soon as a session ends, on webhooks alone unless the emulator holds a
        // record: what a flow not about settlement needs.
        c.settlement.delay_secs = 0;
        c.settlement.give_up_after_secs = 0;
        tweak(c);
    }
}
