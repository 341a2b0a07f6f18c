//! Criterion benches of the Rust core: admission, outcome recording, a trip-and-recover cycle, the
//! status snapshot (as JSON, what JavaScript receives) for 5, 1,000 and 10,000 agents, and two
//! threads contending for one breaker. Run: `cargo bench --no-default-features --bench core`.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use agent_circuit_breaker::breaker::{Breaker, Failure, Outcome};
use agent_circuit_breaker::clock::{Clock, ManualTime};
use agent_circuit_breaker::config::{Config, ConfigPatch, MaxAgents};
use agent_circuit_breaker::registry::Registry;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use parking_lot::Mutex;

fn admission_and_recording(c: &mut Criterion) {
    let mut events = Vec::new();
    let mut b = Breaker::new(Config::default(), 0);
    // Every permit is tracked until reported, so admission is measured with its report.
    c.bench_function("acquire + record success (CLOSED)", |bench| {
        bench.iter(|| {
            let permit = b.acquire(black_box(1), &mut events).unwrap();
            black_box(b.record(permit, Outcome::Success, black_box(1), &mut events))
        })
    });
    let permit = b.acquire(1, &mut events).unwrap();
    b.record(permit, Outcome::Success, 1, &mut events);
    c.bench_function("record a permit already reported (ignored)", |bench| {
        bench.iter(|| black_box(b.record(permit, Outcome::Success, black_box(1), &mut events)))
    });
    let mut open = Breaker::new(Config::default(), 0);
    open.force_open(0, &mut events);
    c.bench_function("acquire (OPEN, rejected)", |bench| bench.iter(|| black_box(open.acquire(black_box(1), &mut events))));
}

fn trip_and_recover(c: &mut Criterion) {
    let mut events = Vec::with_capacity(16);
    c.bench_function("trip and recover (5 failures, timeout, 2 probes)", |bench| {
        let mut b = Breaker::new(Config::default(), 0);
        let mut now = 0;
        bench.iter(|| {
            for _ in 0..5 {
                let p = b.acquire(now, &mut events).unwrap();
                b.record(p, Outcome::Failure(Failure::Timeout), now, &mut events);
            }
            now += 60_000;
            for _ in 0..2 {
                let p = b.acquire(now, &mut events).unwrap();
                b.record(p, Outcome::Success, now, &mut events);
            }
            events.clear();
            black_box(b.state())
        })
    });
}

fn registry_of(n: usize) -> Registry {
    let mut r = Registry::new(Config::default(), MaxAgents::new(Some(n as f64)).unwrap(), Clock::Manual(Arc::new(ManualTime::new(0))));
    for i in 0..n {
        let slot = r.add(&format!("agent-{i}"), &ConfigPatch::default()).unwrap() as usize;
        let p = r.acquire(slot).unwrap();
        r.record(slot, p, Outcome::Failure(Failure::Network));
    }
    r
}

fn status_snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("status of every agent, as JSON");
    for n in [5usize, 1_000, 10_000] {
        let mut r = registry_of(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| black_box(serde_json::to_string(&r.snapshot_all()).unwrap()))
        });
    }
    group.finish();
}

fn contention(c: &mut Criterion) {
    let shared = Arc::new(Mutex::new(registry_of(1)));
    shared.lock().reset(0);
    c.bench_function("acquire + record success, 2 threads on one breaker (per call)", |bench| {
        bench.iter_custom(|iters| {
            let barrier = Arc::new(Barrier::new(3));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (shared, barrier) = (shared.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        for _ in 0..iters {
                            let p = shared.lock().acquire(0).unwrap();
                            shared.lock().record(0, p, Outcome::Success);
                        }
                    })
                })
                .collect();
            barrier.wait();
            let t0 = Instant::now();
            threads.into_iter().for_each(|t| t.join().unwrap());
            let elapsed: Duration = t0.elapsed();
            elapsed / 2
        })
    });
}

criterion_group!(benches, admission_and_recording, trip_and_recover, status_snapshot, contention);
criterion_main!(benches);
