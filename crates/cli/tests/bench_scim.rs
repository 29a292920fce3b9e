//! `entrasync bench scim` at a tiny size, through the real binary: every part runs (creates
//! beside the admin API, a `/Bulk` load, filter lookups at two sizes, SCIM writes reaching the
//! emulated Entra), and the report's shape and counts are what a reader of the JSON relies on.
//! Timings are printed, never asserted. Loopback only.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

fn count(report: &Value, path: &[&str]) -> Option<u64> {
    path.iter().fold(report, |value, key| &value[*key]).as_u64()
}

/// A `percentiles` object of `samples` latencies, each a number.
fn assert_latencies(report: &Value, path: &[&str], samples: u64) {
    let stats = path.iter().fold(report, |value, key| &value[*key]);
    assert_eq!(
        stats["samples"].as_u64(),
        Some(samples),
        "{path:?}: {report}"
    );
    for key in ["p50", "p99", "max"] {
        assert!(stats[key].is_f64(), "{path:?}.{key}: {report}");
    }
}

#[test]
fn a_tiny_bench_scim_reports_every_part_with_its_counts() {
    let output = Command::new(BIN)
        .args(["bench", "scim", "--creates", "50", "--bulk-users", "200"])
        .args(["--bulk-groups", "5", "--lookup-users", "1000"])
        .args(["--direct-users", "3"])
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run entrasync bench scim");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON on standard output");
    assert_eq!(report["benchmark"], "scim", "{report}");

    let creates = &report["post_users"]["sqlite"];
    assert_eq!(count(creates, &["creates"]), Some(50), "{report}");
    assert_eq!(count(creates, &["users_in_store"]), Some(100), "{report}");
    assert_latencies(creates, &["scim_post_users_ms"], 50);
    assert_latencies(creates, &["baseline_admin_post_users_ms"], 50);
    assert!(creates["goal_met"].is_boolean(), "{report}");
    assert!(report["post_users"]["postgres"].is_null(), "{report}");

    let bulk = &report["bulk_load"];
    assert_eq!(count(bulk, &["users"]), Some(200), "{report}");
    assert_eq!(count(bulk, &["groups"]), Some(5), "{report}");
    assert_eq!(count(bulk, &["memberships"]), Some(600), "{report}");
    assert_eq!(count(bulk, &["store", "users"]), Some(200), "{report}");
    assert_eq!(count(bulk, &["store", "groups"]), Some(5), "{report}");
    assert_eq!(
        count(bulk, &["store", "memberships"]),
        Some(600),
        "{report}"
    );
    // 200 user creates in one request, then 5 group creates in another.
    assert_eq!(count(bulk, &["requests"]), Some(2), "{report}");
    assert_eq!(count(bulk, &["operations"]), Some(205), "{report}");
    assert!(bulk["seconds"].is_f64(), "{report}");

    let lookups = &report["filter_lookups"];
    assert_eq!(
        count(lookups, &["directory_load", "users"]),
        Some(1000),
        "{report}"
    );
    let sizes = lookups["by_directory_size"].as_array().expect("sizes");
    let users: Vec<Option<u64>> = sizes.iter().map(|s| s["users"].as_u64()).collect();
    assert_eq!(users, [Some(100), Some(1000)], "{report}");
    for size in sizes {
        assert_latencies(size, &["indexed_username_eq_ms"], 200);
        assert_latencies(size, &["baseline_unindexed_username_co_ms"], 5);
    }

    let direct = &report["scim_write_to_entra"];
    assert_eq!(count(direct, &["users"]), Some(3), "{report}");
    assert_latencies(direct, &["ms"], 3);
}

#[test]
fn sizes_out_of_range_are_clamped_and_said() {
    let output = Command::new(BIN)
        .args(["bench", "scim", "--creates", "0", "--bulk-users", "1"])
        .args([
            "--bulk-groups",
            "0",
            "--lookup-users",
            "1",
            "--lookups",
            "1",
        ])
        .args(["--scans", "1", "--direct-users", "1"])
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run entrasync bench scim");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");
    assert!(stderr.contains("--creates 0 is outside"), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON on standard output");
    assert_eq!(
        count(&report, &["post_users", "sqlite", "creates"]),
        Some(1)
    );
    assert_eq!(count(&report, &["bulk_load", "groups"]), Some(1));
    assert_eq!(count(&report, &["bulk_load", "memberships"]), Some(1));
    assert_eq!(
        count(&report, &["filter_lookups", "directory_load", "users"]),
        Some(10)
    );
}
