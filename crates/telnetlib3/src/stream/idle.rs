//! The per-connection idle timeout: its setting, changeable at run time from the writer,
//! and the watch that a server's connection runs on it.
//!
//! The driver only stamps the time of each read and wakes nobody; the watch sleeps until
//! the deadline, and if a byte arrived meanwhile, until the deadline that byte set. A
//! change of the timeout wakes the watch, which computes the deadline again at once, so
//! a shorter timeout set on an idle connection ends it when the new deadline passes.

use std::time::Duration;

use tokio::time::Instant;

use super::Inner;

/// Set the idle timeout of `inner` (`None`: none). `restart`: the idle clock starts
/// again now (telnetlib3's `set_timeout` reschedules from the call), else it keeps
/// counting from the last input (or the connection's start).
pub(crate) fn set(inner: &Inner, timeout: Option<Duration>, restart: bool) {
    {
        let mut shared = inner.lock();
        shared.idle_timeout = timeout;
        if restart {
            shared.idle_since = Instant::now();
        }
    }
    // The watch may be between two looks at the setting: `notify_one` keeps a permit.
    inner.idle_changed.notify_one();
}

/// The idle timeout in force on `inner`.
pub(crate) fn get(inner: &Inner) -> Option<Duration> {
    inner.lock().idle_timeout
}

/// Returns at the idle deadline, with the timeout that passed: the timeout after the
/// later of the last byte from the peer and the last restart of the clock (the
/// connection's start until either). Never returns while no timeout is set; a deadline
/// past what an `Instant` holds never comes.
pub(crate) async fn expired(inner: &Inner) -> Duration {
    loop {
        let changed = inner.idle_changed.notified();
        let (timeout, deadline) = {
            let shared = inner.lock();
            let since = shared.last_input.max(shared.idle_since);
            (
                shared.idle_timeout,
                shared
                    .idle_timeout
                    .and_then(|timeout| since.checked_add(timeout)),
            )
        };
        match (timeout, deadline) {
            (Some(timeout), Some(deadline)) => {
                if Instant::now() >= deadline {
                    return timeout;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = changed => {}
                }
            }
            _ => changed.await,
        }
    }
}
