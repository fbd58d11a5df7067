// Each test binary uses only part of the support code.
#![allow(dead_code)]

pub mod catalog;
pub mod cli;
pub mod frameworks;
pub mod oracle;
pub mod postgres;
pub mod venv;
