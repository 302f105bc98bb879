//! Background work that survives a panic: a loop that panics is logged and started
//! again ([`spawn_guarded`]); a panic in one item of work is logged and ends only that
//! item ([`log_if_panicked`]).

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

/// Wait before a background loop that panicked starts again: a loop that panics at
/// once cannot spin.
pub const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Runs the loop `make()` returns as a task; if it panics, logs the panic and runs a
/// new one after [`RESTART_AFTER`], until `shutdown` turns true. Ends when a loop
/// returns.
pub fn spawn_guarded<F, Fut>(
    name: &'static str,
    shutdown: watch::Receiver<bool>,
    make: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    guarded(name, shutdown, RESTART_AFTER, make)
}

fn guarded<F, Fut>(
    name: &'static str,
    shutdown: watch::Receiver<bool>,
    restart_after: Duration,
    make: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut shutdown = shutdown;
    tokio::spawn(async move {
        loop {
            match tokio::spawn(make()).await {
                Ok(()) => return,
                Err(e) if e.is_panic() => tracing::error!(
                    task = name,
                    panic = %panic_message(&*e.into_panic()),
                    "a background task panicked; it starts again in {} ms",
                    restart_after.as_millis()
                ),
                Err(_) => return,
            }
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(restart_after) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}

/// The value of a finished item of work, or `None` (logged) when it panicked or was
/// cancelled.
pub fn log_if_panicked<T>(work: &str, result: Result<T, JoinError>) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) if e.is_panic() => {
            tracing::error!(work, panic = %panic_message(&*e.into_panic()), "a task panicked");
            None
        }
        Err(_) => None,
    }
}

/// HTML larger than this is sanitized on the blocking pool ([`sanitize_html`]).
pub const INLINE_SANITIZE_BYTES: usize = 16 * 1024;

/// [`sluice_model::content::sanitize_html`] (which truncates its input at
/// `MAX_HTML_BYTES`), on the blocking pool when the input is large: cleaning half a
/// megabyte of HTML takes milliseconds, which an async worker serving streams must not
/// spend. A panic in it yields empty content (logged).
pub async fn sanitize_html(html: String) -> String {
    if html.len() <= INLINE_SANITIZE_BYTES {
        return sluice_model::content::sanitize_html(&html);
    }
    let cleaned =
        tokio::task::spawn_blocking(move || sluice_model::content::sanitize_html(&html)).await;
    log_if_panicked("sanitizing HTML", cleaned).unwrap_or_default()
}

/// The message a panic carried.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    const WAIT: Duration = Duration::from_millis(10);

    #[tokio::test]
    async fn a_loop_that_panics_starts_again_and_one_that_returns_ends() {
        let (_stop, shutdown) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let handle = guarded("test", shutdown, WAIT, move || {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("boom");
                }
            }
        });
        handle.await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "two panics, then a clean end"
        );
    }

    #[tokio::test]
    async fn shutdown_ends_the_restarts() {
        let (stop, shutdown) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let handle = guarded("test", shutdown, Duration::from_secs(3600), move || {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                panic!("always");
            }
        });
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(WAIT).await;
        }
        stop.send(true).unwrap();
        handle.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn large_html_is_sanitized_like_small_html() {
        let cell = "<p>a <script>x</script><b>b</b></p>";
        let big = cell.repeat(INLINE_SANITIZE_BYTES / cell.len() + 10);
        let cleaned = sanitize_html(big.clone()).await;
        assert_eq!(cleaned, sluice_model::content::sanitize_html(&big));
        assert!(!cleaned.contains("script"));
        assert_eq!(sanitize_html(cell.into()).await, "<p>a <b>b</b></p>");
    }

    #[tokio::test]
    async fn item_panics_are_contained() {
        let r = tokio::spawn(async { panic!("item") }).await;
        assert_eq!(log_if_panicked::<()>("item", r), None);
        let ok = tokio::spawn(async { 7 }).await;
        assert_eq!(log_if_panicked("item", ok), Some(7));
    }
}
