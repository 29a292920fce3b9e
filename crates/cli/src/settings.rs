//! What a command needs to know: the loaded configuration plus the global flags.

use std::path::Path;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use server::Config;

use crate::{client::ApiClient, output::OutputFormat};

pub struct Settings {
    pub config: Config,
    server: Option<String>,
    token: Option<SecretString>,
    pub output: OutputFormat,
}

impl Settings {
    pub fn load(
        file: Option<&Path>,
        server: Option<String>,
        token: Option<String>,
        output: OutputFormat,
    ) -> anyhow::Result<Self> {
        let config = Config::load(file)?;
        Ok(Self {
            config,
            server,
            token: token.map(SecretString::from),
            output,
        })
    }

    /// A client for the admin API, from the flags, the environment or the configuration.
    pub fn client(&self) -> anyhow::Result<ApiClient> {
        let url = self
            .server
            .clone()
            .unwrap_or_else(|| self.config.server_url());
        let token = self
            .token
            .as_ref()
            .or(self.config.token.as_ref())
            .or(self.config.admin_token.as_ref())
            .context(
                "no API token: pass --token, set ENTRASYNC_TOKEN, or set `token` in the \
                 configuration file (`entrasync serve` prints the admin token on its first start)",
            )?;
        ApiClient::new(&url, token.expose_secret())
    }
}
