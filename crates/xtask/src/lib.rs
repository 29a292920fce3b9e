//! Checks of the workspace itself. The architecture's arrows, as `ARCHITECTURE.md` draws them
//! (`model ← mapping ← engine ← {store, entra → msgraph} ← runner ← server ← cli` and
//! `scim ← server`, with `graph-emulator` depending on nothing of ours and `testkit` for tests
//! only), written down once here and checked against `cargo metadata` by this crate's test.

/// Each crate of ours, and the crates of ours it may depend on (normal and build
/// dependencies; dev-dependencies may also name `testkit` and `graph-emulator`).
pub const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("mapping", &["model"]),
    ("engine", &["model", "mapping"]),
    ("msgraph", &[]),
    ("scim", &[]),
    ("graph-emulator", &[]),
    ("entra", &["engine", "msgraph", "model"]),
    ("store", &["engine", "model", "mapping"]),
    (
        "runner",
        &["engine", "entra", "mapping", "model", "msgraph", "store"],
    ),
    (
        "server",
        &["engine", "mapping", "model", "runner", "scim", "store"],
    ),
    (
        "cli",
        &[
            "engine",
            "entra",
            "graph-emulator",
            "mapping",
            "model",
            "msgraph",
            "runner",
            "server",
            "store",
        ],
    ),
    ("testkit", &["engine", "mapping", "model"]),
    ("xtask", &[]),
];

/// Crates that may appear as dev-dependencies anywhere (test support).
pub const TEST_SUPPORT: &[&str] = &["testkit", "graph-emulator"];

/// One dependency that breaks the rules: `from` depends on `to` (of `kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub from: String,
    pub to: String,
    pub kind: String,
}

/// The violations in `cargo metadata --format-version 1 --no-deps` output.
pub fn violations(metadata: &serde_json::Value) -> Result<Vec<Violation>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata has no packages")?;
    let ours: Vec<&str> = packages
        .iter()
        .filter_map(|package| package["name"].as_str())
        .collect();
    let mut found = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some((_, allowed)) = ALLOWED.iter().find(|(crate_name, _)| *crate_name == name) else {
            return Err(format!(
                "crate {name} has no entry in xtask's ALLOWED: say what it may depend on"
            ));
        };
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let to = dependency["name"].as_str().unwrap_or_default();
            if !ours.contains(&to) {
                continue;
            }
            let kind = dependency["kind"].as_str().unwrap_or("normal");
            // Tests may also use the domain types and mappings to build their fixtures.
            let test_only =
                kind == "dev" && (TEST_SUPPORT.contains(&to) || matches!(to, "model" | "mapping"));
            let permitted = allowed.contains(&to) || test_only;
            if !permitted {
                found.push(Violation {
                    from: name.to_owned(),
                    to: to.to_owned(),
                    kind: kind.to_owned(),
                });
            }
        }
    }
    Ok(found)
}
