//! `entrasync bench chaos` at a small size, one scenario per test, through the real binary:
//! a regression that makes a duplicate, loses an object or a membership, or leaves a run stuck
//! fails the build. A few hundred objects, a 2 s lease, the emulator's clock 60 times faster
//! than real time; loopback only. Each test also checks that its chaos really happened (faults,
//! storms, kills), so that the proof cannot pass by doing nothing.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

/// Runs one scenario with seed 1 and returns its report (the whole JSON when it failed).
fn chaos(scenario: &str) -> Value {
    let output = Command::new(BIN)
        .args(["bench", "chaos", "--scenarios", scenario, "--seed", "1"])
        .args(["--users", "200", "--groups", "20", "--memberships", "600"])
        .args(["--lease-seconds", "2", "--time-scale", "60"])
        .args(["--latency-probes", "3", "--plan-every-seconds", "5"])
        .args([
            "--sync-timeout-seconds",
            "120",
            "--converge-timeout-seconds",
            "60",
        ])
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run entrasync bench chaos");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|_| panic!("bench chaos printed no JSON ({}): {stderr}", output.status));
    let totals = &report["totals"];
    assert!(
        output.status.success() && totals["passed"] == true,
        "chaos {scenario} failed ({}): {stderr}\n{stdout}",
        output.status
    );
    for key in [
        "duplicates",
        "lost",
        "stuck",
        "scenarios_that_could_not_run",
    ] {
        assert_eq!(totals[key], 0, "{key} in {stdout}");
    }
    let scenario_report = report["scenarios"][0].clone();
    assert_eq!(
        scenario_report["convergence"]["converged"], true,
        "{stdout}"
    );
    assert!(
        scenario_report["plans"]["full_syncs_with_a_plan"].as_u64() >= Some(1),
        "a dry run during the full sync: {stdout}"
    );
    scenario_report
}

fn count(report: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(report, |value, key| &value[*key])
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn faults_storms_and_changes_during_a_full_sync_lose_nothing() {
    let report = chaos("faults");
    assert!(
        count(&report, &["graph", "faults_before_the_handler"]) > 0,
        "{report}"
    );
    assert!(
        count(&report, &["graph", "faults_after_the_write"]) > 0,
        "{report}"
    );
    assert!(count(&report, &["storms", "storms"]) > 0, "{report}");
    assert!(count(&report, &["graph", "throttled_429"]) > 0, "{report}");
    assert!(
        count(&report, &["changes", "users_deleted"]) > 0,
        "{report}"
    );
    assert!(
        count(&report, &["direct_sync_latency_ms", "samples"]) > 0,
        "{report}"
    );
    assert_eq!(
        count(&report, &["runs", "full_syncs", "succeeded"]),
        2,
        "{report}"
    );
}

#[test]
fn a_node_killed_five_times_during_the_initial_full_sync_loses_nothing() {
    let report = chaos("kill");
    let points = report["kills"]["points"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(points.len(), 5, "{report}");
    assert!(
        points.iter().all(|kill| kill.get("skipped").is_none()),
        "every kill came during the initial full sync: {report}"
    );
    assert!(
        count(&report, &["runs", "full_syncs", "interrupted"]) >= 1,
        "{report}"
    );
}

#[test]
fn two_nodes_on_postgresql_lose_nothing_when_the_one_syncing_is_killed() {
    // The bench says so plainly when PostgreSQL cannot be reached (CI has it; locally
    // `scripts/ensure-postgres` starts it, or DATABASE_URL names another).
    let report = chaos("two-nodes");
    assert_eq!(report["kill"]["held_the_full_sync"], true, "{report}");
    assert!(
        count(&report, &["runs", "full_syncs", "interrupted"]) >= 1,
        "{report}"
    );
    assert!(
        count(&report, &["runs", "full_syncs", "succeeded"]) >= 1,
        "{report}"
    );
}
