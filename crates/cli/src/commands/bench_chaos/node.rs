//! `entrasync serve` nodes as child processes of the benchmark: the real binary, configured by
//! environment alone, with its logs (JSON lines) in a file of the scenario's directory. A node
//! keeps its port across restarts, so the API's address does not change when it is killed.

use std::{
    fs::OpenOptions,
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};

/// What every node of a scenario shares: the binary, the working directory, the environment
/// (database, key, token, Graph, lease).
#[derive(Clone)]
pub struct Cluster {
    pub exe: PathBuf,
    pub dir: PathBuf,
    pub env: Vec<(&'static str, String)>,
}

/// One `serve` node. Dropping it kills it.
pub struct Node {
    pub name: String,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    /// How many times it was started.
    pub starts: u32,
}

impl Node {
    /// A node on a port of its own, not started yet.
    pub fn new(cluster: &Cluster, name: &str) -> anyhow::Result<Self> {
        // The port is free now; the node binds it a moment later (SO_REUSEADDR, so a restart
        // after a kill gets it back at once).
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        Ok(Self {
            name: name.to_owned(),
            port,
            log: cluster.dir.join(format!("{name}.log")),
            child: None,
            starts: 0,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts `serve` and waits until it listens.
    pub async fn start(&mut self, cluster: &Cluster) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("node {} is running already", self.name);
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut command = Command::new(&cluster.exe);
        command.arg("serve").current_dir(&cluster.dir);
        // Only what the scenario says: nothing from the benchmark's own environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ENTRASYNC_") {
                command.env_remove(key);
            }
        }
        command
            .envs(cluster.env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("ENTRASYNC_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("ENTRASYNC_LOG_FORMAT", "json")
            .env("ENTRASYNC_LOG", "info,sqlx=warn,tower_http=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log.try_clone()?));
        let mut child = command.spawn().context("starting entrasync serve")?;
        let stdout = child.stdout.take().context("the node's standard output")?;
        self.child = Some(child);
        self.starts += 1;
        // Its standard output goes to the log too; the listening line says it is up.
        let (listening, up) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut listening = Some(listening);
            let mut log = log;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if line.starts_with("entrasync is listening on ")
                    && let Some(tx) = listening.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(60), up).await {
            Ok(Ok(())) => Ok(()),
            _ => {
                self.kill();
                bail!(
                    "node {} did not start (its log: {})",
                    self.name,
                    self.log.display()
                )
            }
        }
    }

    /// SIGKILL: no shutdown, no drain, nothing finished.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether this node's log says it started full-sync run `run`.
    pub fn started_run(&self, run: &str) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|log| {
            log.lines()
                .any(|line| line.contains("full sync started") && line.contains(run))
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
