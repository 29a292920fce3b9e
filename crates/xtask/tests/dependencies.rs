//! The crates depend on each other only as the architecture allows.

use std::process::Command;

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON")
}

#[test]
fn no_crate_depends_on_one_it_must_not() {
    let violations = xtask::violations(&metadata()).expect("read the metadata");
    assert!(
        violations.is_empty(),
        "dependencies against the architecture: {violations:?}"
    );
}

#[test]
fn the_check_catches_an_arrow_back_up() {
    let metadata = serde_json::json!({"packages": [
        {"name": "engine", "dependencies": [{"name": "store", "kind": null}]},
        {"name": "store", "dependencies": [{"name": "engine", "kind": null}]},
    ]});
    let violations = xtask::violations(&metadata).expect("read");
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(
        (violations[0].from.as_str(), violations[0].to.as_str()),
        ("engine", "store")
    );
}

#[test]
fn a_new_crate_must_say_what_it_may_depend_on() {
    let metadata = serde_json::json!({"packages": [{"name": "newcomer", "dependencies": []}]});
    assert!(xtask::violations(&metadata).is_err());
}
