//! `entrasync bench console` at a tiny size, through the real binary: every page is asked for
//! and answers, with the server's own timing and a baseline where the API answers the same
//! question, and the report says what was loaded. Timings are printed, never asserted.

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_entrasync");

#[test]
fn a_tiny_bench_console_times_every_page_beside_its_baseline() {
    let output = Command::new(BIN)
        .args(["bench", "console", "--users", "300", "--groups", "5"])
        .args(["--memberships", "600", "--requests", "3"])
        .env_remove("ENTRASYNC_CONFIG")
        .output()
        .expect("run entrasync bench console");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON on standard output");
    assert_eq!(report["benchmark"], "console", "{report}");
    assert_eq!(report["directory"]["users"], 300, "{report}");
    assert_eq!(report["directory"]["memberships"], 600, "{report}");
    assert_eq!(
        report["directory"]["plan_items"], 300,
        "an item per user: {report}"
    );
    assert!(report["goal_met"].is_boolean(), "{report}");
    let pages = report["pages"].as_array().expect("pages");
    let names: Vec<&str> = pages.iter().filter_map(|p| p["page"].as_str()).collect();
    for wanted in [
        "overview",
        "provider settings",
        "plan, first page",
        "users, searched by email",
        "group with its first members",
        "mapping editor",
        "find a user by email (with its mapped document)",
    ] {
        assert!(names.contains(&wanted), "{wanted}: {names:?}");
    }
    for page in pages {
        assert_eq!(page["server_ms"]["samples"], 3, "{page}");
        assert!(page["server_ms"]["p99"].is_f64(), "{page}");
        assert!(page["bytes"].as_u64().is_some_and(|b| b > 500), "{page}");
    }
    let baselines = pages
        .iter()
        .filter(|page| page["baseline_api"]["round_trip_ms"]["samples"] == 3)
        .count();
    assert!(baselines >= 12, "most pages have an API baseline: {report}");
    assert_eq!(
        report["baseline_stylesheet"]["server_ms"]["samples"], 3,
        "{report}"
    );
}
