//! The access-token cache: one token per client, reused until shortly before it expires.
//!
//! A new token is fetched single-flight: the first caller that needs one starts the token
//! request as a task of its own, and every caller that needs a token meanwhile joins that
//! flight instead of asking again. Each flight has a deadline (start + token timeout); the
//! request gives up at it and so does everyone waiting, so a login endpoint that never answers
//! costs each caller at most one token timeout, however many are queued. The lock guarding the
//! cache is a plain mutex held only to read or swap state, never across an await.
//!
//! The flight is a task rather than a future polled by its callers so that a caller that is
//! cancelled (its request timed out, its sync was stopped) does not stall or cancel the
//! fetch the others are waiting for.

mod endpoint;

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::clock::later;
use crate::error::GraphError;

use endpoint::Issued;
pub(crate) use endpoint::TokenEndpoint;

/// Refresh this long before expiry at most (Graph tokens live 60–90 minutes).
const MAX_EARLY_REFRESH: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub(crate) struct AccessToken {
    pub(crate) value: SecretString,
    refresh_at: Instant,
    /// Which fetch produced it, so a 401 invalidates only the token that failed.
    pub(crate) generation: u64,
}

impl AccessToken {
    pub(crate) fn bearer(&self) -> String {
        format!("Bearer {}", self.value.expose_secret())
    }
}

type Answer = Result<AccessToken, GraphError>;

/// One token request in progress, as the callers waiting for it see it.
#[derive(Clone)]
struct Flight {
    id: u64,
    /// Nobody waits for this flight past it.
    deadline: Instant,
    answer: Shared<BoxFuture<'static, Answer>>,
}

#[derive(Default)]
struct State {
    current: Option<AccessToken>,
    generation: u64,
    flight: Option<Flight>,
    /// Flights started so far: each flight's id.
    flights: u64,
}

struct Core {
    endpoint: TokenEndpoint,
    state: Mutex<State>,
}

pub(crate) struct TokenCache {
    core: Arc<Core>,
}

impl TokenCache {
    pub(crate) fn new(endpoint: TokenEndpoint) -> Self {
        Self {
            core: Arc::new(Core {
                endpoint,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// A valid token: the cached one, or the answer of the (single) token request in flight,
    /// started if none is. Never waits past that request's deadline.
    pub(crate) async fn get(&self) -> Answer {
        let flight = {
            let mut state = self.core.lock();
            let now = Instant::now();
            if let Some(t) = state.current.as_ref().filter(|t| now < t.refresh_at) {
                return Ok(t.clone());
            }
            // A flight past its deadline has failed, or is about to: not worth joining.
            match state.flight.as_ref().filter(|f| now < f.deadline) {
                Some(f) => f.clone(),
                None => self.take_off(&mut state),
            }
        };
        let timeout = self.core.endpoint.timeout;
        tokio::time::timeout_at(flight.deadline, flight.answer)
            .await
            .unwrap_or_else(|_| Err(self.core.endpoint.timed_out(timeout)))
    }

    /// Forgets the token of `generation` (Graph answered 401 to it); a newer one is kept.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut state = self.core.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|t| t.generation == generation)
        {
            state.current = None;
        }
    }

    /// Starts a token request and records it as the flight to join.
    fn take_off(&self, state: &mut State) -> Flight {
        state.flights += 1;
        let id = state.flights;
        let deadline = later(Instant::now(), self.core.endpoint.timeout);
        // The task settles the flight itself; it cannot do so before `state.flight` is set
        // below, since settling takes the lock this caller holds.
        let task = tokio::spawn({
            let core = Arc::clone(&self.core);
            async move {
                let issued = core.endpoint.request().await;
                core.settle(id, issued)
            }
        });
        // Weak: the flight is stored in the core; a strong reference would keep it alive.
        let core: Weak<Core> = Arc::downgrade(&self.core);
        let answer = async move {
            match task.await {
                Ok(answer) => answer,
                // The task panicked or the runtime is shutting down: settle in its place, so
                // the next caller starts afresh instead of joining a dead flight.
                Err(e) => {
                    let failure = GraphError::TokenTransport(format!(
                        "the token request ended abnormally: {e}"
                    ));
                    match core.upgrade() {
                        Some(core) => core.settle(id, Err(failure)),
                        None => Err(failure),
                    }
                }
            }
        }
        .boxed()
        .shared();
        let flight = Flight {
            id,
            deadline,
            answer,
        };
        state.flight = Some(flight.clone());
        flight
    }
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends flight `id` with `issued`: caches a new token, or passes the failure on (the next
    /// caller starts a new flight).
    fn settle(&self, id: u64, issued: Result<Issued, GraphError>) -> Answer {
        let mut state = self.lock();
        if state.flight.as_ref().is_some_and(|f| f.id == id) {
            state.flight = None;
        }
        let Issued { value, lifetime } = issued?;
        // Refresh early, but never so early that a short-lived token (a scaled emulator
        // clock) would be refreshed on every request.
        let early = MAX_EARLY_REFRESH.min(lifetime / 10);
        state.generation += 1;
        let token = AccessToken {
            value,
            refresh_at: later(Instant::now(), lifetime.saturating_sub(early)),
            generation: state.generation,
        };
        state.current = Some(token.clone());
        Ok(token)
    }
}
