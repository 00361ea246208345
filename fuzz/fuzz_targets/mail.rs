//! One inbound mail, as untrusted bytes from the internet, through everything the email
//! channel does to it before storage: `mime::read`, then `quotes::split` on its text and
//! `quotes::split_html` and `html::sanitise` on its HTML; and the raw bytes, as text, through
//! the splitters and the sanitiser directly.
//!
//! The calls and the checks live in the crate's regression test, so that every input saved
//! from here to `crates/email/tests/fuzz_cases/` is replayed by `cargo test` exactly as it
//! ran here.

#![no_main]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/email/tests/fuzz_regressions.rs"]
mod regressions;

thread_local! {
    /// The input being run, for the panic hook to save.
    static CURRENT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Panic locations already saved, so a frequent one is written once.
static SAVED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Where inputs that panicked inside a `catch_unwind` the code relies on are saved.
const CAUGHT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/artifacts/mail/caught");

/// `render_html` (in `quotes`) wraps html2text in `catch_unwind` and falls back to a crude tag
/// stripper, so a panic there is survived in production. libfuzzer-sys's panic hook aborts
/// on every panic, caught or not, which would stop the run on a case the code already
/// handles. This hook lets exactly those panics unwind into the fallback, and saves the
/// input once per panic location so that the html2text bug can still be reported.
fn install_panic_hook() {
    let abort_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Caught exactly when the panic unwinds through render_html's own `catch_unwind`,
        // whose frame is named after the closure it runs.
        let trace = std::backtrace::Backtrace::force_capture().to_string();
        let caught = trace
            .lines()
            .any(|l| l.contains("catch_unwind") && l.contains("render_html::{closure"));
        if !caught {
            abort_hook(info);
            return;
        }
        let location = info.location().map_or_else(
            || "unknown".to_owned(),
            |l| format!("{}:{}", l.file(), l.line()),
        );
        let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
        if saved.insert(location.clone()) {
            let name: String = location
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let path = format!("{CAUGHT_DIR}/{}", name.trim_start_matches('_'));
            let input = CURRENT.with(|c| c.borrow().clone());
            let written =
                std::fs::create_dir_all(CAUGHT_DIR).and_then(|()| std::fs::write(&path, &input));
            let _ = writeln!(
                std::io::stderr(),
                "caught panic in render_html at {location} ({info}); input saved to {path}: {written:?}"
            );
        }
    }));
}

fuzz_target!(
    init: {
        install_panic_hook();
    },
    |data: &[u8]| {
        CURRENT.with(|c| {
            let mut current = c.borrow_mut();
            current.clear();
            current.extend_from_slice(data);
        });
        regressions::exercise(data);
    }
);
