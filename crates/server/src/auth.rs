//! Bearer-token authentication for the admin API. Tokens are checked against the hashes the
//! store keeps; the token itself is never logged. Refused sign-ins are counted per client
//! address, and a client that keeps failing is held back for a while (429).

use std::{net::SocketAddr, time::Instant};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use rand::RngCore;
use store::{Authentication, TokenKind};

use crate::{AppState, error::ApiError};

pub use limiter::SignInLimiter;

/// Prefix of the tokens entrasync makes, so that a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "es_";

/// The shortest token entrasync accepts from its configuration. The ones it makes are 46
/// characters (256 random bits).
pub const MIN_TOKEN_CHARS: usize = 32;

/// A new random API token: 256 bits, URL-safe.
pub fn generate_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What is wrong with a token an administrator chose, if anything. It must be long enough not
/// to be guessed, and be sendable as it is in an `Authorization` header (visible ASCII).
pub fn token_problem(token: &str) -> Option<String> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Some(format!(
            "must be at least {MIN_TOKEN_CHARS} characters long (make one with `openssl rand -hex 32`)"
        ));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Some(
            "must be visible ASCII characters only, without spaces (it travels in an HTTP header)"
                .to_owned(),
        );
    }
    None
}

/// Lets through requests with an admin token that is stored and not expired. Others get 401,
/// or 429 once their address has failed too often lately (see [`SignInLimiter`]); a valid
/// token is never held back.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = bearer_token(request.headers());
    let refusal = match token {
        None => "an API token is required: send `Authorization: Bearer <token>`",
        Some(token) => match state.store.authenticate(token, TokenKind::Admin).await? {
            Authentication::Accepted(_) => return Ok(next.run(request).await),
            Authentication::Expired(_) => "the API token has expired",
            Authentication::OtherKind { .. } => "the API token does not open the admin API",
            Authentication::Unknown => "the API token is not valid",
        },
    };
    match state
        .sign_in_limiter
        .refuse(client_address(&request), Instant::now())
    {
        Some(retry_after) => Ok(too_many_attempts(retry_after.as_secs())),
        None => Err(ApiError::unauthorized(refusal)),
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
}

/// The client's address, for counting its refused tokens. Without it (an app served without
/// connect info), every client shares one count: guessing is still held back, valid tokens
/// still pass.
pub(crate) fn client_address(request: &Request) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

fn too_many_attempts(retry_after_seconds: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!(
            "too many refused API tokens from this address; try again in {retry_after_seconds} s"
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    response
}

mod limiter {
    use std::{
        collections::HashMap,
        net::IpAddr,
        sync::Mutex,
        time::{Duration, Instant},
    };

    /// Refused sign-ins per client address, in process. After `max_failures` refusals within
    /// `window` of the first, the address's further refusals answer 429 until that window has
    /// passed; then counting starts afresh. Only refusals are counted, and a valid token is
    /// checked before this is asked, so it never holds back a valid token.
    ///
    /// A valid token still passes from a held-back address, so this does not hide from a
    /// guesser which guess was right: it slows down clients that respect 429 and makes the
    /// guessing visible in the log. Against guessing itself stand the tokens' length (256
    /// random bits when entrasync makes them, at least 32 characters when configured).
    pub struct SignInLimiter {
        max_failures: u32,
        window: Duration,
        clients: Mutex<HashMap<Client, Failures>>,
    }

    /// IPv6 clients are counted by /64, the block one host usually holds; IPv4 by address.
    /// `None`: the address is not known.
    type Client = Option<IpAddr>;

    struct Failures {
        since: Instant,
        count: u32,
    }

    /// Beyond this many addresses, only the ones within their window are kept; if they are
    /// still this many, new addresses are not counted (memory stays bounded under a spray).
    const MAX_CLIENTS: usize = 10_000;

    impl Default for SignInLimiter {
        /// 10 refusals a minute.
        fn default() -> Self {
            Self::new(10, Duration::from_secs(60))
        }
    }

    impl SignInLimiter {
        pub fn new(max_failures: u32, window: Duration) -> Self {
            Self {
                max_failures: max_failures.max(1),
                window,
                clients: Mutex::new(HashMap::new()),
            }
        }

        /// Counts one refusal from `address` at `now`. Returns how long the address must wait
        /// when it is held back (this attempt answers 429), or `None` (this one answers 401).
        pub fn refuse(&self, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
            let client = address.map(per_host);
            // A poisoned lock only means another request panicked mid-count: the counts are
            // still usable.
            let mut clients = self
                .clients
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(failures) = clients.get_mut(&client) {
                let ends = failures.since + self.window;
                if now < ends {
                    if failures.count >= self.max_failures {
                        return Some(round_up_to_seconds(ends - now));
                    }
                    failures.count += 1;
                    if failures.count == self.max_failures {
                        tracing::warn!(
                            client = %describe(client),
                            refusals = failures.count,
                            "too many refused API tokens: further attempts from this address \
                             get 429 for the rest of the window"
                        );
                    }
                    return None;
                }
                *failures = Failures {
                    since: now,
                    count: 1,
                };
                return None;
            }
            if clients.len() >= MAX_CLIENTS {
                clients.retain(|_, failures| now < failures.since + self.window);
                if clients.len() >= MAX_CLIENTS {
                    return None;
                }
            }
            clients.insert(
                client,
                Failures {
                    since: now,
                    count: 1,
                },
            );
            None
        }
    }

    fn per_host(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(_) => address,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let prefix = u128::from(v6) & !((1_u128 << 64) - 1);
                    IpAddr::V6(prefix.into())
                }
            },
        }
    }

    fn describe(client: Client) -> String {
        client.map_or_else(|| "unknown".to_owned(), |address| address.to_string())
    }

    /// `Retry-After` is in whole seconds; rounding down could send the client back too early.
    fn round_up_to_seconds(wait: Duration) -> Duration {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Duration::from_secs(seconds.max(1))
    }

    #[cfg(test)]
    mod tests {
        use std::net::{Ipv4Addr, Ipv6Addr};

        use super::*;

        const ALICE: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        const MALLORY: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66)));

        #[test]
        fn an_address_is_held_back_after_too_many_refusals_until_its_window_ends() {
            let limiter = SignInLimiter::new(3, Duration::from_secs(60));
            let start = Instant::now();
            for second in 0..3 {
                let at = start + Duration::from_secs(second);
                assert_eq!(
                    limiter.refuse(MALLORY, at),
                    None,
                    "refusal {second} is a 401"
                );
            }
            let at = start + Duration::from_millis(10_500);
            assert_eq!(
                limiter.refuse(MALLORY, at),
                Some(Duration::from_secs(50)),
                "49.5 s left, rounded up"
            );
            assert_eq!(limiter.refuse(ALICE, at), None, "others are not affected");
            // Held-back attempts do not push the window further.
            let end = start + Duration::from_secs(60);
            assert_eq!(
                limiter.refuse(MALLORY, end - Duration::from_millis(1)),
                Some(Duration::from_secs(1))
            );
            assert_eq!(limiter.refuse(MALLORY, end), None, "a fresh window");
        }

        #[test]
        fn ipv6_hosts_count_by_their_64_bit_prefix() {
            let limiter = SignInLimiter::new(2, Duration::from_secs(60));
            let now = Instant::now();
            let host = |last: u16| {
                Some(IpAddr::V6(Ipv6Addr::new(
                    0x2001, 0xdb8, 1, 2, 0, 0, 0, last,
                )))
            };
            assert_eq!(limiter.refuse(host(1), now), None);
            assert_eq!(limiter.refuse(host(2), now), None);
            assert!(limiter.refuse(host(3), now).is_some(), "one /64, one count");
            let mapped = Some(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 66).to_ipv6_mapped()));
            assert_eq!(limiter.refuse(mapped, now), None);
            assert_eq!(limiter.refuse(MALLORY, now), None);
            assert!(
                limiter.refuse(MALLORY, now).is_some(),
                "an IPv4-mapped address counts as the IPv4 one"
            );
        }

        #[test]
        fn memory_stays_bounded() {
            let limiter = SignInLimiter::new(1, Duration::from_secs(60));
            let now = Instant::now();
            for n in 0..(MAX_CLIENTS as u32 + 100) {
                limiter.refuse(Some(IpAddr::V4(Ipv4Addr::from(n))), now);
            }
            let clients = limiter.clients.lock().map(|c| c.len()).unwrap_or_default();
            assert_eq!(clients, MAX_CLIENTS);
            let later = now + Duration::from_secs(61);
            assert_eq!(limiter.refuse(MALLORY, later), None);
            let clients = limiter.clients.lock().map(|c| c.len()).unwrap_or_default();
            assert_eq!(clients, 1, "the stale ones made room");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(token_problem(&a), None, "its own tokens pass its own rule");
    }

    #[test]
    fn chosen_tokens_must_be_long_and_plain() {
        assert!(token_problem("old-token-aaaa").is_some());
        assert!(token_problem(&"x".repeat(MIN_TOKEN_CHARS - 1)).is_some());
        assert_eq!(token_problem(&"x".repeat(MIN_TOKEN_CHARS)), None);
        assert!(token_problem(&format!("{} ", "x".repeat(MIN_TOKEN_CHARS))).is_some());
        assert!(token_problem(&"é".repeat(MIN_TOKEN_CHARS)).is_some());
    }
}
