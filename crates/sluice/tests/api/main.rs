//! Integration tests: the real server on an ephemeral port, HTTP from a real client,
//! every scenario on SQLite and on PostgreSQL (`SLUICE_TEST_DATABASE_URL`).

#[macro_use]
mod common;
#[path = "../support/kept_alive.rs"]
mod kept_alive;

mod accounts;
mod admin_accounts;
mod admin_domains;
mod backup;
mod bad_input;
mod c2s;
mod cards;
mod compat;
mod conversations;
mod delivery;
mod emoji;
mod featuring;
mod federation;
mod federation_docs;
mod filters;
mod fuzz;
mod health;
mod inbox;
mod inbox_trust;
mod instance;
mod limits;
mod lists;
mod markdown;
mod markup;
mod media;
mod mentions;
mod moderation;
mod notifications_v2;
mod oauth;
mod pages;
mod pins;
mod polls;
mod portability;
mod push;
mod quotes;
mod reactions;
mod reports;
mod scheduled;
mod search;
mod sign_in;
mod statuses;
mod storage;
mod streaming;
mod streams_agree;
mod tags;
mod timelines;
mod unavailable_accounts;
mod web;
mod web_i18n;
mod web_mutes;
mod web_settings;
mod web_two_factor;
