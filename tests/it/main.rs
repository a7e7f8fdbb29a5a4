//! The end-to-end tests, in one binary (one link, one run): real HTTP on loopback against the
//! real router or binary, both backends, and local emulators of the services tollbooth calls.
//! `common` holds what they share, `emulators` the emulated services.

#[macro_use]
mod common;
mod emulators;

mod cli;
mod crash;
mod discord;
mod discord_gateway;
mod fee_based;
mod gateways;
mod group_seats;
mod hardening;
mod hook_check;
mod invoices;
mod linking;
mod migrations;
mod outbox;
mod pay_page;
mod pay_per_use;
mod payments;
mod promotion_codes;
mod reach;
mod refunds;
mod register_commands;
mod register_webhooks;
mod registration_store;
mod scheduling;
mod serve;
mod settlement;
mod setup;
mod simulate;
mod store;
mod waiting_list;
mod webex_api;
mod webhooks;
mod zoom_api;
