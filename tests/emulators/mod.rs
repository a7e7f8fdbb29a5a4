//! Local emulators of the services tollbooth talks to, built from their documented protocols.
#![allow(dead_code)] // each test file uses its own part of this module

pub mod payflow;
