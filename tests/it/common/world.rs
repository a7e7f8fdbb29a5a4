//! The whole service against every emulator a chat-driven flow needs: the router with
//! Payflow (and the sandbox; Stripe's emulator is configured too, for a flow that offers it), the Webex, Zoom and Discord APIs, signed webhook senders, the
//! admin API, and one host linked to a Discord member; optionally an SMTP sink and the Webex
//! bot.

use secrecy::SecretString;
use tollbooth_core::config::Config;
use tollbooth_core::email::Email;
use tollbooth_core::store::{DiscordLinkStore, SiteStore, Switches};

use crate::common::app::App;
use crate::common::app::browser;
use crate::common::pay::{choose, location, text, with_payflow};
use crate::common::{ADMIN_TOKEN, Db, Sender, WEBEX_SECRET, ZOOM_SECRET};
use crate::emulators::{
    self, discord::DiscordEmulator, payflow::Payflow, smtp::SmtpSink, stripe::Stripe,
    webex::WebexEmulator, zoom::ZoomEmulator,
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
    /// Configured, but offered only where a tweak adds `Method::Stripe` to the methods.
    pub stripe: Stripe,
    pub webex: WebexEmulator,
    pub zoom: ZoomEmulator,
    pub discord: DiscordEmulator,
    /// Where e-mail goes, when the world reaches people outside Discord too (the Webex bot
    /// is then configured as well).
    pub smtp: Option<SmtpSink>,
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
        World::launch(db, switches, payflow_timeout_secs, tweak, None).await
    }

    /// As [`World::serve_with`], telling people by e-mail (an SMTP sink) and Webex hosts
    /// through the Webex bot too.
    pub async fn serve_reaching_out(db: &Db, switches: Switches, tweak: fn(&mut Config)) -> World {
        World::launch(db, switches, 1, tweak, Some(SmtpSink::start().await)).await
    }

    async fn launch(
        db: &Db,
        switches: Switches,
        payflow_timeout_secs: u64,
        tweak: fn(&mut Config),
        smtp: Option<SmtpSink>,
    ) -> World {
        let (payflow, stripe, webex, zoom, discord) = (
            Payflow::start().await,
            Stripe::start().await,
            WebexEmulator::start().await,
            ZoomEmulator::start().await,
            DiscordEmulator::start().await,
        );
        let emulators = (&payflow, &stripe, &webex, &zoom, &discord, smtp.as_ref());
        let config = configure(emulators, payflow_timeout_secs, tweak);
        let app = App::configured(db, config).await;
        app.store.set_switches(switches).await.unwrap();
        let host: Email = HOST.parse().unwrap();
        app.store.link_discord_user(HOST_USER, &host, 1).await.unwrap();
        let sender = Sender::new(&app.base);
        World {
            app,
            payflow_timeout_secs,
            tweak,
            sender,
            payflow,
            stripe,
            webex,
            zoom,
            discord,
            smtp,
        }
    }

    /// A second server on the same database, calling the same emulators.
    pub async fn another_server(&self, db: &Db) -> App {
        let emulators = (
            &self.payflow,
            &self.stripe,
            &self.webex,
            &self.zoom,
            &self.discord,
            self.smtp.as_ref(),
        );
        App::configured(db, configure(emulators, self.payflow_timeout_secs, self.tweak)).await
    }
}

type Emulators<'a> = (
    &'a Payflow,
    &'a Stripe,
    &'a WebexEmulator,
    &'a ZoomEmulator,
    &'a DiscordEmulator,
    Option<&'a SmtpSink>,
);

fn configure(
    (payflow, stripe, webex, zoom, discord, smtp): Emulators,
    payflow_timeout_secs: u64,
    tweak: fn(&mut Config),
) -> impl FnOnce(&mut Config) + use<> {
    let payments = with_payflow(payflow, payflow_timeout_secs);
    let clients = emulators::clients(Some(webex), Some(zoom), Some(discord));
    let smtp = smtp.map(|sink| sink.url.clone());
    let stripe_base = stripe.base.clone();
    move |c: &mut Config| {
        c.stripe.api_base = format!("{stripe_base}/").parse().unwrap();
        c.stripe.secret_key = emulators::stripe::SECRET_KEY.to_owned().into();
        c.stripe.webhook_secret = emulators::stripe::WEBHOOK_SECRET.to_owned().into();
        if let Some(url) = smtp {
            c.smtp.url = Some(SecretString::from(url));
            c.smtp.from = Some("Tollbooth <tollbooth@example.com>".into());
            c.webex.bot_token = Some(SecretString::from(emulators::webex::BOT_TOKEN));
        }
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
