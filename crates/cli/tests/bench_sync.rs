//! `entrasync bench sync` at a small size, through the real binary: the counts it reports are
//! the promises of the sync (the floor of writes on the initial sync; a dry run and a second
//! sync that write nothing, the second reading exactly the pages), so a regression in any of
//! them fails the build. Loopback only.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

fn count(report: &Value, path: &[&str]) -> Option<u64> {
    path.iter().fold(report, |value, key| &value[*key]).as_u64()
}

#[test]
fn a_small_bench_sync_writes_the_floor_then_nothing() {
    let output = Command::new(BIN)
        .args(["bench", "sync", "--users", "120", "--groups", "6"])
        .args(["--memberships", "300", "--latency-samples", "3"])
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run entrasync bench sync");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");

    let initial = &report["initial_full_sync"];
    assert_eq!(initial["status"], "succeeded", "{report}");
    assert_eq!(
        count(initial, &["write_requests"]),
        count(initial, &["floor_writes"]),
        "{report}"
    );
    assert_eq!(count(initial, &["remote", "users"]), Some(120), "{report}");
    assert_eq!(count(initial, &["remote", "groups"]), Some(6), "{report}");
    assert_eq!(
        count(initial, &["remote", "memberships"]),
        Some(300),
        "{report}"
    );

    let plan = &report["dry_run_of_the_synced_tenant"];
    assert_eq!(plan["status"], "succeeded", "{report}");
    assert_eq!(count(plan, &["write_requests"]), Some(0), "{report}");
    assert!(count(plan, &["read_requests"]) > Some(0), "{report}");

    let second = &report["second_full_sync_unchanged"];
    assert_eq!(second["status"], "succeeded", "{report}");
    assert_eq!(count(second, &["write_requests"]), Some(0), "{report}");
    assert_eq!(
        count(second, &["read_requests"]),
        count(second, &["pages_of_users_groups_and_members"]),
        "{report}"
    );
    assert_eq!(
        count(&report, &["direct_sync_latency_ms", "samples"]),
        Some(3),
        "{report}"
    );
}
