//! The measurements: time to all Ready against the baseline for each N, steady state, and memory
//! with unrelated Secrets.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    time::{Duration, Instant},
};

use kube::Client;

use crate::{
    Args, Result, audit, baseline,
    cluster::Cluster,
    error::BenchError,
    objects::{create_namespace, create_tokens, create_unrelated, watch_until_ready},
    operator::Operator,
    process::{self, Usage},
    report::{MemoryRun, Report, ScaleRun, SteadyRun},
    world,
};

const READY_TIMEOUT: Duration = Duration::from_secs(1800);

pub async fn run_all(args: &Args) -> Result<()> {
    let root = std::env::current_dir().map_err(crate::error::io("current dir"))?;
    if !root.join("bench").is_dir() || !args.operator.is_file() {
        return Err(BenchError::Failed(format!(
            "run from the repository root after `cargo build --release` ({} missing); `make bench` does both",
            args.operator.display()
        )));
    }
    eprintln!("bto-bench: starting a dedicated control plane with an audit log");
    let cluster = Cluster::start(&root)?;
    let result = measure(args, &root, &cluster).await;
    cluster.stop(&root);
    let report = result?;
    report.write(&args.results)?;
    crate::plot::draw(&report, &args.plot)?;
    eprintln!(
        "bto-bench: wrote {} and {}",
        args.results.display(),
        args.plot.display()
    );
    Ok(())
}

async fn measure(args: &Args, root: &Path, cluster: &Cluster) -> Result<Report> {
    let client = cluster.client().await?;
    cluster.kubectl(&[
        "apply",
        "--server-side",
        "-f",
        &root
            .join("crds/bitbucket-token-operator.io_bitbuckettokens.yaml")
            .display()
            .to_string(),
    ])?;
    cluster.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/bitbuckettokens.bitbucket-token-operator.io",
        "--timeout=60s",
    ])?;
    let mut report = Report::new(args, cluster)?;
    warm_up(args, client.clone()).await?;
    for &n in &args.sizes {
        let run = scale_run(args, cluster, &client, n).await?;
        eprintln!(
            "bto-bench: N={n}: operator {:.1}s, baseline {:.1}s (x{:.2}), peak RSS {:.1} MiB (when Ready {:.1} MiB), CPU {:.1}s, {} Bitbucket calls",
            run.operator_time.as_secs_f64(),
            run.baseline_time.as_secs_f64(),
            run.ratio(),
            process::mib(run.peak_rss),
            process::mib(run.ready_rss),
            run.cpu.as_secs_f64(),
            run.bitbucket_calls
        );
        report.scale.push(run);
    }
    if args.steady_size > 0 {
        let (steady, memory) = steady_and_memory(args, cluster, &client).await?;
        report.steady = Some(steady);
        report.memory = memory;
    }
    Ok(report)
}

/// `prefix-<k>`, a fresh namespace name per run (the same N may be measured twice).
fn unique(prefix: &str) -> String {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{k}")
}

/// A discarded baseline round, so that the first measured run does not pay for the benchmark
/// client's connections and the API server's first requests to the new CRD.
async fn warm_up(args: &Args, client: Client) -> Result<()> {
    let namespace = unique("warm-up");
    create_namespace(&client, &namespace).await?;
    let controller = baseline::start(&client, &namespace);
    let ready = watch_until_ready(&client, &namespace, 200, Instant::now(), READY_TIMEOUT);
    create_tokens(&client, &namespace, 200, 20, args.create_concurrency).await?;
    ready
        .await
        .map_err(|e| BenchError::Failed(format!("watch task: {e}")))??;
    controller.abort();
    Ok(())
}

fn distinct(args: &Args, n: usize) -> usize {
    (n / args.objects_per_token.max(1)).max(1)
}

fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(crate::error::io("find a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(crate::error::io("find a free port"))?
        .port())
}

/// Polls `/readyz` until it answers 200.
async fn wait_ready(port: u16, pid: u32) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if process::usage(pid).is_none() {
            return Err(BenchError::Failed("the operator exited".into()));
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /readyz HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(BenchError::Failed("the operator never became ready".into()))
}

async fn start_operator(
    args: &Args,
    cluster: &Cluster,
    sim: &bitbucket_simulator::Simulator,
    namespace: &str,
) -> Result<Operator> {
    let port = free_port()?;
    let operator = Operator::start(
        &args.operator,
        cluster,
        sim,
        namespace,
        port,
        &args.operator_log_level,
    )?;
    wait_ready(port, operator.pid()).await?;
    Ok(operator)
}

async fn scale_run(args: &Args, cluster: &Cluster, client: &Client, n: usize) -> Result<ScaleRun> {
    let distinct = distinct(args, n);
    // The operator.
    let namespace = unique(&format!("op-{n}"));
    create_namespace(client, &namespace).await?;
    let sim = world::start(distinct).await?;
    let operator = start_operator(args, cluster, &sim, &namespace).await?;
    let pid = operator.pid();
    let audit_from = audit::end(&cluster.audit_log);
    let calls_before = sim.request_count();
    let cpu_before = process::usage(pid).unwrap_or_default().cpu;
    let started = Instant::now();
    let ready = watch_until_ready(client, &namespace, n, started, READY_TIMEOUT);
    create_tokens(client, &namespace, n, distinct, args.create_concurrency).await?;
    let operator_time = ready
        .await
        .map_err(|e| BenchError::Failed(format!("watch task: {e}")))??;
    let usage = process::usage(pid).unwrap_or_default();
    let (requests, _) = audit::count_since(&cluster.audit_log, audit_from);
    let bitbucket_calls = sim.request_count() - calls_before;
    drop(operator);
    sim.shutdown().await;

    // The baseline, on the same control plane.
    let namespace = unique(&format!("base-{n}"));
    create_namespace(client, &namespace).await?;
    let controller = baseline::start(client, &namespace);
    let started = Instant::now();
    let ready = watch_until_ready(client, &namespace, n, started, READY_TIMEOUT);
    create_tokens(client, &namespace, n, distinct, args.create_concurrency).await?;
    let baseline_time = ready
        .await
        .map_err(|e| BenchError::Failed(format!("watch task: {e}")))??;
    controller.abort();

    Ok(ScaleRun {
        n,
        distinct,
        operator_time,
        baseline_time,
        peak_rss: usage.peak_rss,
        ready_rss: usage.rss,
        cpu: usage.cpu.saturating_sub(cpu_before),
        requests,
        bitbucket_calls,
    })
}

async fn steady_and_memory(
    args: &Args,
    cluster: &Cluster,
    client: &Client,
) -> Result<(SteadyRun, Option<MemoryRun>)> {
    let n = args.steady_size;
    let distinct = distinct(args, n);
    let namespace = "steady";
    create_namespace(client, namespace).await?;
    let sim = world::start(distinct).await?;
    let operator = start_operator(args, cluster, &sim, namespace).await?;
    let pid = operator.pid();
    let ready = watch_until_ready(client, namespace, n, Instant::now(), READY_TIMEOUT);
    create_tokens(client, namespace, n, distinct, args.create_concurrency).await?;
    ready
        .await
        .map_err(|e| BenchError::Failed(format!("watch task: {e}")))??;
    // Let the first round of writes finish before the window opens.
    tokio::time::sleep(Duration::from_secs(10)).await;

    let window = Duration::from_secs(60 * u64::from(args.steady_intervals));
    eprintln!(
        "bto-bench: steady state: {n} tokens ({distinct} distinct) for {}s",
        window.as_secs()
    );
    let audit_from = audit::end(&cluster.audit_log);
    let calls_before = sim.request_count();
    let before: Usage = process::usage(pid).unwrap_or_default();
    tokio::time::sleep(window).await;
    let after: Usage = process::usage(pid).unwrap_or_default();
    let (requests, _) = audit::count_since(&cluster.audit_log, audit_from);
    let steady = SteadyRun {
        n,
        distinct,
        intervals: args.steady_intervals,
        window,
        requests,
        bitbucket_calls: sim.request_count() - calls_before,
        cpu: after.cpu.saturating_sub(before.cpu),
        rss: after.rss,
    };

    let memory = if args.unrelated_secrets > 0 {
        eprintln!(
            "bto-bench: memory: {} unrelated 1 KiB Secrets in the watched namespace",
            args.unrelated_secrets
        );
        let before = process::usage(pid).unwrap_or_default();
        create_unrelated(
            client,
            namespace,
            args.unrelated_secrets,
            args.create_concurrency,
        )
        .await?;
        // Let the watch deliver every event before reading memory.
        tokio::time::sleep(Duration::from_secs(15)).await;
        let after = process::usage(pid).unwrap_or_default();
        Some(MemoryRun {
            tokens: n,
            unrelated: args.unrelated_secrets,
            rss_before: before.rss,
            rss_after: after.rss,
            peak_after: after.peak_rss,
        })
    } else {
        None
    };
    drop(operator);
    sim.shutdown().await;
    Ok((steady, memory))
}
