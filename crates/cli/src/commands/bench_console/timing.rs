//! Asking for pages as a signed-in administrator, over loopback, and reading how long the
//! server took to make each answer.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use server::{AppState, app, bootstrap_admin_token};
use store::Store;

use crate::commands::bench_stats::round;

/// Unmeasured requests before a page's samples.
const WARM_UP: u64 = 3;

/// A page to time, and the API answer it is compared with.
pub struct Page {
    name: String,
    path: String,
    baseline: Option<String>,
}

impl Page {
    pub fn new(name: &str, path: &str) -> Self {
        Self {
            name: name.to_owned(),
            path: path.to_owned(),
            baseline: None,
        }
    }

    /// The admin API's answer with the same data.
    pub fn against(mut self, api_path: &str) -> Self {
        self.baseline = Some(api_path.to_owned());
        self
    }

    pub fn stylesheet() -> Self {
        Self::new("stylesheet", "/console/static/console.css")
    }
}

/// Latencies in milliseconds.
#[derive(Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    fn of(samples: &mut [f64]) -> Self {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let last = samples.len().saturating_sub(1);
            let index = ((last as f64) * q).round() as usize;
            samples.get(index.min(last)).copied().map_or(0.0, round)
        };
        Self {
            samples: samples.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// One page's timings.
#[derive(Serialize)]
pub struct PageTiming {
    pub page: String,
    pub path: String,
    /// The page's size in bytes.
    pub bytes: usize,
    /// What the server says it took (`Server-Timing`), from request to answer.
    pub server_ms: Latency,
    /// What the client waited, loopback and HTTP included.
    pub round_trip_ms: Latency,
    /// The admin API's JSON answer with the same data, asked as often, in the same run.
    pub baseline_api: Option<Baseline>,
}

impl PageTiming {
    pub fn server_p99(&self) -> f64 {
        self.server_ms.p99
    }
}

#[derive(Serialize)]
pub struct Baseline {
    pub path: String,
    pub round_trip_ms: Latency,
}

/// The real application on a loopback port, and a client signed in to its console.
pub struct Console {
    base: String,
    http: reqwest::Client,
    admin_token: String,
    cookie: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Console {
    pub async fn start(store: Store) -> anyhow::Result<Self> {
        let admin_token = bootstrap_admin_token(&store, None)
            .await?
            .context("a new database gets an admin token")?;
        let (secret_key, _) = store::SecretKey::generate()?;
        let state = AppState::new(store, secret_key);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let service = app(state, server::Config::default().max_body_bytes)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = tokio::spawn(async move { axum::serve(listener, service).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A stuck page ends the run with an error rather than hanging it.
            .timeout(Duration::from_secs(120))
            .build()?;
        let base = format!("http://{address}");
        let cookie = sign_in(&http, &base, &admin_token).await?;
        Ok(Self {
            base,
            http,
            admin_token,
            cookie,
            server,
        })
    }

    pub fn stop(self) {
        self.server.abort();
    }

    /// One console page: its server-side time, its round trip and its size.
    async fn page(&self, path: &str) -> anyhow::Result<(f64, f64, usize)> {
        let clock = Instant::now();
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("entrasync_session={}", self.cookie))
            .send()
            .await?;
        let status = answer.status();
        let server = answer
            .headers()
            .get("server-timing")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("app;dur="))
            .and_then(|value| value.parse::<f64>().ok());
        let body = answer.bytes().await?;
        let round_trip = clock.elapsed().as_secs_f64() * 1000.0;
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        let server = server.with_context(|| format!("{path} has no Server-Timing"))?;
        Ok((server, round_trip, body.len()))
    }

    async fn api(&self, path: &str) -> anyhow::Result<f64> {
        let clock = Instant::now();
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.admin_token)
            .send()
            .await?;
        let status = answer.status();
        answer.bytes().await?;
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        Ok(clock.elapsed().as_secs_f64() * 1000.0)
    }

    pub async fn time(&self, page: &Page, requests: u64) -> anyhow::Result<PageTiming> {
        eprintln!("bench console: {}", page.name);
        for _ in 0..WARM_UP {
            self.page(&page.path).await?;
        }
        let (mut server, mut round_trip, mut bytes) = (Vec::new(), Vec::new(), 0);
        for _ in 0..requests {
            let (took, waited, size) = self.page(&page.path).await?;
            server.push(took);
            round_trip.push(waited);
            bytes = size;
        }
        let baseline_api = match &page.baseline {
            Some(path) => {
                for _ in 0..WARM_UP {
                    self.api(path).await?;
                }
                let mut samples = Vec::new();
                for _ in 0..requests {
                    samples.push(self.api(path).await?);
                }
                Some(Baseline {
                    path: path.clone(),
                    round_trip_ms: Latency::of(&mut samples),
                })
            }
            None => None,
        };
        Ok(PageTiming {
            page: page.name.clone(),
            path: page.path.clone(),
            bytes,
            server_ms: Latency::of(&mut server),
            round_trip_ms: Latency::of(&mut round_trip),
            baseline_api,
        })
    }
}

/// Signs in with the admin token as a browser does: the form's token, then the session.
async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<String> {
    let form = http.get(format!("{base}/console/sign-in")).send().await?;
    let form_cookie = cookie(&form, "entrasync_sign_in").context("the sign-in form's cookie")?;
    let html = form.text().await?;
    let csrf = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the sign-in form's token")?
        .to_owned();
    let answer = http
        .post(format!("{base}/console/sign-in"))
        .header("cookie", format!("entrasync_sign_in={form_cookie}"))
        .form(&[("csrf", csrf.as_str()), ("token", token)])
        .send()
        .await?;
    cookie(&answer, "entrasync_session").context("signing in to the console")
}

fn cookie(answer: &reqwest::Response, name: &str) -> Option<String> {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| value.strip_prefix(&format!("{name}=")))
        .and_then(|rest| rest.split(';').next())
        .map(str::to_owned)
}
