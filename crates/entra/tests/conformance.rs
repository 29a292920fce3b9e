//! `entra` over the Graph emulator keeps the same promises as the in-memory fake: the
//! conformance suite of `testkit` runs against both, so the fake cannot drift from reality.

use entra::EntraTarget;
use graph_emulator::{Emulator, EmulatorConfig};
use msgraph::{ClientConfig, Credential, Endpoints, GraphClient};

#[tokio::test]
async fn entra_over_the_emulator_passes_the_conformance_suite() {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("start the emulator");
    let endpoints = Endpoints::custom(emulator.login_url(), emulator.base_url());
    let config = ClientConfig::new(
        endpoints,
        emulator.tenant_id(),
        emulator.client_id(),
        Credential::secret(emulator.client_secret().expect("a secret")),
    );
    let target = EntraTarget::new(GraphClient::new(config).expect("client"));
    let domain = emulator.verified_domains()[0].clone();
    testkit::conformance::check(&target, &domain).await;
}
