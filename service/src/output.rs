//! What a command prints: its result as text for people, or with `--json` as one JSON
//! object on stdout; an error as a line on stderr, or with `--json` as
//! `{"error": {"code", "message", "exit_code"}}` there.

use crate::error::Error;
use serde_json::{json, Value};
use std::fmt::Display;

#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// Prints a command's result: `value` with `--json`, else `text`.
    pub fn result(&self, value: Value, text: impl Display) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    /// Reports a failure on stderr.
    pub fn error(&self, code: &str, message: &str, exit_code: u8) {
        if self.json {
            let error =
                json!({"error": {"code": code, "message": message, "exit_code": exit_code}});
            eprintln!("{error}");
        } else {
            eprintln!("zkclaim: {message}");
        }
    }

    /// Reports `e` on stderr; its exit code.
    pub fn fail(&self, e: &Error) -> u8 {
        self.error(e.code(), &e.to_string(), e.exit_code());
        e.exit_code()
    }
}
