//! Benchmark (not a test): evaluations per second of the default user mapping, compiled once,
//! on one thread, against a native Rust function that computes the same document in the same
//! run. Prints JSON.
//!
//! `cargo run --release -p mapping --example bench [-- USERS]`
//!
//! Each pass maps every synthetic user end to end: model `User` → rhai value, evaluation of the
//! pre-compiled AST, result → JSON, validation against the Graph property table, merge. Figures
//! are the best of three timed passes after one warm-up pass, by wall clock and, where Linux
//! tells (`/proc/thread-self/schedstat`), by the time this thread actually ran on a core: on a
//! machine shared with other work the wall clock also counts time spent waiting for a core.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mapping::{
    Context, Mapped, Mapper, ProviderContext, UserInput, UserMappings, default_user_mapping,
    random_password, text::mail_nickname,
};
use model::{Attributes, Email, User, UserId, UserKind, Username};
use serde_json::{Map, Value, json};

const DEFAULT_USERS: usize = 100_000;
const TARGET_PER_SEC: f64 = 100_000.0;
const PASSES: usize = 3;
const DEPARTMENTS: [&str; 3] = ["Sales", "Engineering", "Support"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => DEFAULT_USERS,
    };
    let users = synthetic_users(count)?;
    let groups: Vec<String> = vec!["staff".into(), "engineering".into()];

    let compile_started = Instant::now();
    let mapper = Mapper::new();
    let engine_build = compile_started.elapsed();
    let compile_started = Instant::now();
    let list = mapper.compile_users(&[default_user_mapping()])?;
    let compile = compile_started.elapsed();

    let provider = ProviderContext::new("bench", &json!({"tenant": "contoso"}));
    let link = json!({"id": "00000000-0000-0000-0000-000000000000", "displayName": "old"});

    let mut scenarios = Vec::new();
    for (name, link) in [
        ("update (link present)", Some(&link)),
        ("create (link is ())", None),
    ] {
        let context = Context {
            provider: &provider,
            link,
        };
        let identical = check_identical(&mapper, &list, &users, &groups, &context)?;
        let rhai = best_of(PASSES, || {
            run_rhai(&mapper, &list, &users, &groups, &context)
        })?;
        let native = best_of(PASSES, || Ok(run_native(&users, link.is_none())))?;
        scenarios.push(json!({
            "scenario": name,
            "rhai": figures(rhai, count),
            "native_baseline": figures(native, count),
            "rhai_vs_native_slowdown": ratio(rhai.cpu.unwrap_or(rhai.wall), native.cpu.unwrap_or(native.wall)),
            "outputs_identical_to_native": identical,
            "meets_target": per_sec(rhai.cpu.unwrap_or(rhai.wall), count) >= TARGET_PER_SEC,
        }));
    }

    let report = json!({
        "benchmark": "default user mapping, compiled once, one thread",
        "mapping": mapping::DEFAULT_USER_MAPPING_NAME,
        "users_per_pass": count,
        "passes": format!("best of {PASSES} after 1 warm-up"),
        "engine_build_ms": millis(engine_build),
        "compile_ms": millis(compile),
        "target_evals_per_sec": TARGET_PER_SEC,
        "profile": if cfg!(debug_assertions) { "debug (use --release)" } else { "release" },
        "meets_target_judged_by": "on-CPU time where known, else wall clock",
        "load_average": std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned)),
        "scenarios": scenarios,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn synthetic_users(count: usize) -> Result<Vec<User>, Box<dyn std::error::Error>> {
    let created = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .ok_or("bad date")?;
    (0..count)
        .map(|i| {
            let attributes = Attributes::from_value(json!({
                "department": DEPARTMENTS[i % 3],
                "employee_number": i,
                "cost_centre": format!("CC-{}", i % 97),
            }))?;
            Ok(User {
                id: UserId::new(),
                username: Username::parse(format!("user.{i:06}"))?,
                name: format!("User Number {i}"),
                // One in 50 has no email, so the optional branch is exercised.
                email: (i % 50 != 0)
                    .then(|| Email::parse(format!("user.{i:06}@contoso.com")))
                    .transpose()?,
                is_active: i % 10 != 0,
                kind: UserKind::Internal,
                attributes,
                created_at: created,
                updated_at: created,
            })
        })
        .collect()
}

fn run_rhai(
    mapper: &Mapper,
    list: &UserMappings,
    users: &[User],
    groups: &[String],
    context: &Context<'_>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let mut documents = 0;
    for user in users {
        let input = UserInput {
            user,
            group_names: groups,
        };
        if let Mapped::Document(doc) = mapper.map_user(list, &input, context)? {
            documents += doc.as_map().len();
        }
    }
    Ok(documents)
}

/// The same document as the default mapping, written in Rust.
fn native_document(user: &User, creating: bool) -> Map<String, Value> {
    let mut nickname = mail_nickname(user.username.as_str());
    if nickname.is_empty() {
        nickname = user.id.to_string();
    }
    let display_name = if user.name.is_empty() {
        user.username.as_str()
    } else {
        user.name.as_str()
    };
    let mut doc = Map::new();
    doc.insert("displayName".into(), display_name.into());
    doc.insert("accountEnabled".into(), user.is_active.into());
    doc.insert("mailNickname".into(), nickname.into());
    if let Some(email) = &user.email {
        doc.insert("userPrincipalName".into(), email.as_str().into());
    }
    if creating {
        doc.insert(
            "passwordProfile".into(),
            json!({"password": random_password(32), "forceChangePasswordNextSignIn": false}),
        );
        doc.insert("onPremisesImmutableId".into(), user.id.to_string().into());
    }
    doc
}

fn run_native(users: &[User], creating: bool) -> usize {
    users
        .iter()
        .map(|user| std::hint::black_box(native_document(user, creating)).len())
        .sum()
}

/// Every user's rhai document equals the native one (passwords compared by shape: both random).
fn check_identical(
    mapper: &Mapper,
    list: &UserMappings,
    users: &[User],
    groups: &[String],
    context: &Context<'_>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let creating = context.link.is_none();
    for user in users {
        let input = UserInput {
            user,
            group_names: groups,
        };
        let Mapped::Document(doc) = mapper.map_user(list, &input, context)? else {
            return Ok(false);
        };
        let mut ours = doc.into_map();
        let mut native = native_document(user, creating);
        for doc in [&mut ours, &mut native] {
            if let Some(Value::Object(profile)) = doc.get_mut("passwordProfile") {
                let len = profile
                    .get("password")
                    .and_then(Value::as_str)
                    .map(str::len);
                profile.insert("password".into(), json!(len));
            }
        }
        if ours != native {
            eprintln!("differs for {}: {ours:?} vs {native:?}", user.username);
            return Ok(false);
        }
    }
    Ok(true)
}

/// Best wall-clock time and best on-CPU time (if known) of `passes` runs.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

fn best_of(
    passes: usize,
    mut run: impl FnMut() -> Result<usize, Box<dyn std::error::Error>>,
) -> Result<Timing, Box<dyn std::error::Error>> {
    std::hint::black_box(run()?); // warm-up
    let mut best = Timing {
        wall: Duration::MAX,
        cpu: None,
    };
    for _ in 0..passes {
        let cpu_before = thread_cpu_time();
        let started = Instant::now();
        std::hint::black_box(run()?);
        best.wall = best.wall.min(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_before, thread_cpu_time()) {
            let cpu = after.saturating_sub(before);
            best.cpu = Some(best.cpu.map_or(cpu, |b| b.min(cpu)));
        }
    }
    Ok(best)
}

/// Time this thread has run on a core, from the scheduler's statistics (Linux only).
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn per_sec(elapsed: Duration, count: usize) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

fn ratio(slow: Duration, fast: Duration) -> f64 {
    (slow.as_secs_f64() / fast.as_secs_f64() * 100.0).round() / 100.0
}

fn figures(timing: Timing, count: usize) -> Value {
    let one = |elapsed: Duration| {
        json!({
            "total_ms": millis(elapsed),
            "evals_per_sec": per_sec(elapsed, count).round(),
            "us_per_eval": (elapsed.as_secs_f64() * 1e6 / count as f64 * 1000.0).round() / 1000.0,
        })
    };
    json!({
        "on_cpu": timing.cpu.map(one),
        "wall_clock": one(timing.wall),
    })
}
