//! Local emulators of the services tollbooth calls, built from their documented protocols
//! (`reference/`), each a real HTTP server on a loopback port.
#![allow(dead_code)] // each test file uses its own part of these emulators

pub mod discord;
pub mod payflow;
pub mod webex;
