//! The results: a Markdown table with the machine and versions, and the targets to compare with.

use std::{collections::BTreeMap, fmt::Write as _, path::Path, time::Duration};

use crate::{Args, Result, audit::verb_total, cluster::Cluster, error::io, process::mib};

pub struct ScaleRun {
    pub n: usize,
    pub distinct: usize,
    pub operator_time: Duration,
    pub baseline_time: Duration,
    pub peak_rss: u64,
    /// Resident memory once all were Ready (the peak includes the burst).
    pub ready_rss: u64,
    pub cpu: Duration,
    pub requests: BTreeMap<String, u64>,
    pub bitbucket_calls: usize,
}

impl ScaleRun {
    pub fn ratio(&self) -> f64 {
        self.operator_time.as_secs_f64() / self.baseline_time.as_secs_f64().max(f64::EPSILON)
    }
}

pub struct SteadyRun {
    pub n: usize,
    pub distinct: usize,
    pub intervals: u32,
    pub window: Duration,
    pub requests: BTreeMap<String, u64>,
    pub bitbucket_calls: usize,
    pub cpu: Duration,
    pub rss: u64,
}

pub struct MemoryRun {
    pub tokens: usize,
    pub unrelated: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    pub peak_after: u64,
}

pub struct Report {
    machine: String,
    versions: String,
    objects_per_token: usize,
    pub scale: Vec<ScaleRun>,
    pub steady: Option<SteadyRun>,
    pub memory: Option<MemoryRun>,
}

fn first_line(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "?".into())
}

impl Report {
    pub fn new(args: &Args, cluster: &Cluster) -> Result<Self> {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let machine = format!(
            "{cores} CPUs ({}), {} RAM, Linux {}",
            first_line("/proc/cpuinfo", "model name"),
            first_line("/proc/meminfo", "MemTotal"),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
        );
        let server = cluster
            .kubectl(&["version", "-o", "json"])
            .ok()
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
            .and_then(|v| v["serverVersion"]["gitVersion"].as_str().map(String::from))
            .unwrap_or_else(|| "?".into());
        let versions = format!(
            "bitbucket-token-operator {} (release build), kube-apiserver {server} with etcd from \
             scripts/versions.sh, all on this machine",
            env!("CARGO_PKG_VERSION")
        );
        Ok(Self {
            machine,
            versions,
            objects_per_token: args.objects_per_token,
            scale: Vec::new(),
            steady: None,
            memory: None,
        })
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.markdown()).map_err(io(format!("write {}", path.display())))
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Benchmark results\n");
        let _ = writeln!(
            md,
            "Written by `make bench` ({}). Machine: {}. Versions: {}. The control plane, the \
             simulator, the operator and the benchmark's own client share these CPUs, so every \
             figure includes their contention.\n",
            chrono::Utc::now().format("%Y-%m-%d"),
            self.machine,
            self.versions
        );
        let _ = writeln!(
            md,
            "Each run creates N source Secrets and N BitbucketTokens (N/{} distinct Bitbucket \
             tokens, so objects share checks as teams do) in a fresh namespace and measures from \
             the first create until all N are `Ready=True`. The baseline is a minimal controller \
             on the same control plane that only creates one Secret and patches one status per \
             object. API requests are the operator's own, from the API server's audit log (the \
             operator runs as its own ServiceAccount).\n",
            self.objects_per_token
        );
        let _ = writeln!(md, "## Time to all Ready\n");
        let _ = writeln!(
            md,
            "| N | distinct tokens | operator | baseline | operator / baseline | peak RSS | RSS when Ready | CPU | Bitbucket calls | API requests (by verb) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|");
        for run in &self.scale {
            let verbs: Vec<String> = [
                "get", "list", "watch", "create", "patch", "update", "delete",
            ]
            .iter()
            .filter_map(|verb| {
                let total = verb_total(&run.requests, verb);
                (total > 0).then(|| format!("{verb} {total}"))
            })
            .collect();
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} s | {:.1} s | {:.2} | {:.1} MiB | {:.1} MiB | {:.1} s | {} | {} |",
                run.n,
                run.distinct,
                run.operator_time.as_secs_f64(),
                run.baseline_time.as_secs_f64(),
                run.ratio(),
                mib(run.peak_rss),
                mib(run.ready_rss),
                run.cpu.as_secs_f64(),
                run.bitbucket_calls,
                verbs.join(", ")
            );
        }
        if let Some(run) = self.scale.last() {
            let _ = writeln!(
                md,
                "\nAPI requests at N = {}, by verb and resource:\n",
                run.n
            );
            for (key, count) in &run.requests {
                let _ = writeln!(md, "- `{key}`: {count}");
            }
        }
        if let Some(steady) = &self.steady {
            let intervals = f64::from(steady.intervals);
            let per = |count: u64| count as f64 / steady.n as f64 / intervals;
            let status = steady
                .requests
                .get("patch bitbuckettokens/status")
                .copied()
                .unwrap_or(0);
            let secret_writes: u64 = [
                "create secrets",
                "patch secrets",
                "update secrets",
                "delete secrets",
            ]
            .iter()
            .filter_map(|k| steady.requests.get(*k))
            .sum();
            let _ = writeln!(md, "\n## Steady state\n");
            let _ = writeln!(
                md,
                "{} BitbucketTokens ({} distinct tokens) with `validation.interval: 1m`, observed \
                 for {} s ({} intervals) after all were Ready.\n",
                steady.n,
                steady.distinct,
                steady.window.as_secs(),
                steady.intervals
            );
            let _ = writeln!(md, "| measure | value |\n|---|---|");
            let _ = writeln!(
                md,
                "| Bitbucket calls per distinct token per interval | {:.2} |",
                steady.bitbucket_calls as f64 / steady.distinct as f64 / intervals
            );
            let _ = writeln!(
                md,
                "| status patches per token per interval | {:.2} |",
                per(status)
            );
            let _ = writeln!(
                md,
                "| rendered-Secret writes per token per interval | {:.2} |",
                per(secret_writes)
            );
            let _ = writeln!(
                md,
                "| source-Secret reads per token per interval | {:.2} |",
                per(steady.requests.get("get secrets").copied().unwrap_or(0))
            );
            let _ = writeln!(
                md,
                "| operator CPU | {:.2} s over {} s ({:.1} % of one core) |",
                steady.cpu.as_secs_f64(),
                steady.window.as_secs(),
                100.0 * steady.cpu.as_secs_f64() / steady.window.as_secs_f64()
            );
            let _ = writeln!(md, "| operator RSS | {:.1} MiB |", mib(steady.rss));
            let _ = writeln!(md, "\nAll API requests in the window:\n");
            for (key, count) in &steady.requests {
                let _ = writeln!(md, "- `{key}`: {count}");
            }
        }
        if let Some(memory) = &self.memory {
            let _ = writeln!(md, "\n## Memory with unrelated Secrets\n");
            let _ = writeln!(
                md,
                "| | RSS |\n|---|---|\n| {} BitbucketTokens, no other Secrets | {:.1} MiB |\n| after {} unrelated 1 KiB Secrets in the watched namespace | {:.1} MiB (peak {:.1} MiB) |\n| growth | {:+.1} MiB |",
                memory.tokens,
                mib(memory.rss_before),
                memory.unrelated,
                mib(memory.rss_after),
                mib(memory.peak_after),
                mib(memory.rss_after) - mib(memory.rss_before)
            );
        }
        let _ = writeln!(md, "\n## Targets\n");
        let last = self.scale.iter().max_by_key(|r| r.n);
        if let Some(run) = last {
            let _ = writeln!(
                md,
                "- all Ready at N = {} within 1.5 x baseline: {:.2} x ({})",
                run.n,
                run.ratio(),
                verdict(run.ratio() <= 1.5)
            );
            let _ = writeln!(
                md,
                "- peak RSS under 100 MiB at N = {}: {:.1} MiB ({})",
                run.n,
                mib(run.peak_rss),
                verdict(mib(run.peak_rss) < 100.0)
            );
        }
        if let Some(memory) = &self.memory {
            let growth = mib(memory.rss_after) - mib(memory.rss_before);
            let _ = writeln!(
                md,
                "- under 5 MiB growth from {} unrelated Secrets: {:+.1} MiB ({})",
                memory.unrelated,
                growth,
                verdict(growth < 5.0)
            );
        }
        if let Some(steady) = &self.steady {
            let calls = steady.bitbucket_calls as f64
                / steady.distinct as f64
                / f64::from(steady.intervals);
            let _ = writeln!(
                md,
                "- at most one Bitbucket call per distinct token per interval in steady state: {calls:.2} ({})",
                verdict(calls <= 1.05)
            );
        }
        md
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}
