//! `entrasync demo`, the README's main command, as a newcomer runs it: no configuration, no
//! tenant. Its summary must match the emulator's state to what the directory expects.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

#[test]
fn the_demo_leaves_entra_exactly_as_the_directory_says() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(["demo", "--json"])
        .current_dir(dir.path())
        .env_remove("ENTRASYNC_CONFIG")
        .env_remove("ENTRASYNC_DATABASE_URL")
        .output()
        .expect("run the demo");
    let story = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the demo failed:\n{story}");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("a JSON summary");
    assert_eq!(summary["entra"], summary["expected"], "{summary}");
    assert_eq!(summary["entra"]["groups"], 50);
    // 2,003 people less a deletion, a service account made of a user, and the 3 service accounts.
    assert_eq!(summary["entra"]["users"], 1998);
    for step in [
        "Dry run",
        "Full sync succeeded",
        "rename",
        "disable",
        "delete",
        "Engineering",
        "leaves scope",
    ] {
        assert!(
            story.contains(step),
            "the story tells of {step:?}:\n{story}"
        );
    }
    assert!(
        std::fs::read_dir(dir.path())
            .expect("list")
            .next()
            .is_none(),
        "the demo leaves nothing behind in the working directory"
    );
}
