//! Publish throughput against `sha256sum` plus Info-ZIP `unzip` of the same ZIP.
//!
//! Run with `cargo bench -p lamina-control --bench publish`; needs `zip`, `unzip` and
//! `sha256sum` on `PATH`. For ZIPs of about 1, 10 and 48 MB, each built with `zip -r -q` from a
//! generated layer tree (many small text files, a few large random ones), it times five runs
//! of (a) `sha256sum FILE` then `unzip -q FILE -d DIR` as processes and (b) the whole
//! PublishLayerVersion path from the base64 text already in memory (as the HTTP layer hands it
//! over): decode and hash, store the blob (fsynced), validate and extract, record the version
//! in SQLite, each run on a fresh data directory. It prints medians in MB/s of ZIP bytes
//! (higher is better), the ratio ours/baseline, the time to publish the same bytes again
//! (content-addressed: one row), and the process's peak RSS.
//!
//! Everything happens under the system temp directory; set `TMPDIR` to compare file systems
//! (e.g. `TMPDIR=/dev/shm` to leave out the disk).

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use lamina_control::LayerService;
use lamina_control::layers::{LayerContent, PublishLayerVersion};
use lamina_store::{LocalArtifacts, SqliteStore};
use lamina_types::{AccountId, Region, Scope};

/// Timed runs per side and size; the median is reported.
const RUNS: usize = 5;

/// Target ZIP sizes in MiB; the last stays under the 50 MB inline limit.
const ZIP_SIZES_MIB: [u64; 3] = [1, 10, 48];

fn main() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let scratch = tempfile::tempdir()?;
    println!(
        "{:>7} {:>6} {:>14} {:>13} {:>6} {:>15} {:>12}",
        "zip MB", "files", "baseline MB/s", "publish MB/s", "ratio", "same again ms", "peak RSS MB"
    );
    for target in ZIP_SIZES_MIB {
        let case = scratch.path().join(format!("{target}mib"));
        let (zip, files) = build_layer_zip(&case, target << 20)?;
        let zip_bytes = fs::metadata(&zip)?.len();
        let encoded = Bytes::from(STANDARD.encode(fs::read(&zip)?));
        let expected_sha = STANDARD.encode(hex_to_bytes(&sha256sum(&zip)?)?);
        reset_peak_rss();

        // Interleaved, so both sides see the same file system state (ext4, for one, slows
        // inode allocation down after many recent deletions); outputs are removed at the end.
        let (mut baseline, mut ours, mut again) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..RUNS {
            baseline.push(unzip_baseline(&zip, &case.join(format!("unzip-{run}")))?);
            let service = runtime.block_on(fresh_service(&case.join(format!("data-{run}"))))?;
            let start = Instant::now();
            let sha = runtime.block_on(publish(&service, &encoded))?;
            ours.push(start.elapsed());
            ensure!(sha == expected_sha, "CodeSha256 differs");
            let start = Instant::now();
            runtime.block_on(publish(&service, &encoded))?;
            again.push(start.elapsed());
        }
        let (baseline, ours, again) = (median(baseline), median(ours), median(again));
        let peak_rss_mib = peak_rss_kib()? as f64 / 1024.0;
        fs::remove_dir_all(&case)?;

        let mb = zip_bytes as f64 / 1e6;
        let (base_rate, our_rate) = (mb / baseline.as_secs_f64(), mb / ours.as_secs_f64());
        println!(
            "{:>7.1} {:>6} {:>14.0} {:>13.0} {:>6.2} {:>15.1} {:>12.0}",
            mb,
            files,
            base_rate,
            our_rate,
            our_rate / base_rate,
            again.as_secs_f64() * 1e3,
            peak_rss_mib,
        );
    }
    Ok(())
}

/// A layer service on an empty data directory, as `lamina serve` builds it.
async fn fresh_service(data_dir: &Path) -> Result<LayerService> {
    fs::create_dir_all(data_dir)?;
    let account = AccountId::parse("123456789012").context("account")?;
    let metadata = Arc::new(SqliteStore::open(&data_dir.join("lamina.db"), &account).await?);
    let artifacts = LocalArtifacts::open(data_dir)?;
    Ok(LayerService::new(metadata, artifacts))
}

/// One PublishLayerVersion; returns the `CodeSha256`.
async fn publish(service: &LayerService, encoded: &Bytes) -> Result<String> {
    let scope = Scope::new(
        AccountId::parse("123456789012").context("account")?,
        Region::parse("us-west-2").context("region")?,
    );
    let command = PublishLayerVersion {
        layer_name: "bench".to_owned(),
        compatible_runtimes: Some(vec!["python3.12".to_owned()]),
        content: Some(LayerContent {
            zip_file_base64: Some(encoded.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let record = service
        .publish(&scope, command)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(STANDARD.encode(record.code_sha256.0))
}

fn hex_to_bytes(hex: &str) -> Result<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            Ok(u8::from_str_radix(
                hex.get(i..i + 2).context("odd hex")?,
                16,
            )?)
        })
        .collect()
}

/// The baseline: hash the ZIP, then unzip it into a fresh directory, both as processes.
fn unzip_baseline(zip: &Path, dir: &Path) -> Result<Duration> {
    let start = Instant::now();
    sha256sum(zip)?;
    run(Command::new("unzip").arg("-q").arg(zip).arg("-d").arg(dir))?;
    Ok(start.elapsed())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn sha256sum(path: &Path) -> Result<String> {
    let out = run(Command::new("sha256sum").arg(path))?;
    let hex = out
        .split_whitespace()
        .next()
        .context("sha256sum printed nothing")?;
    Ok(hex.to_owned())
}

fn run(command: &mut Command) -> Result<String> {
    let out = command.stderr(Stdio::inherit()).output()?;
    ensure!(out.status.success(), "{command:?} failed: {}", out.status);
    Ok(String::from_utf8(out.stdout)?)
}

/// Writes a layer-like tree of about `zip_bytes` once zipped under `case/src` and zips it
/// with `zip -r -q`, as in `zip -r layer.zip python/`. Returns the ZIP and its file count.
///
/// Half the ZIP is random bytes (three large files and some ~200 KB ones); the other half is
/// Python-like text in ~16 KB modules, which deflates about 3:1.
fn build_layer_zip(case: &Path, zip_bytes: u64) -> Result<(PathBuf, usize)> {
    let src = case.join("src");
    let mut rng = XorShift(zip_bytes | 1);
    let mut files = 0;
    let mut write = |path: PathBuf, bytes: &[u8], executable: bool| -> Result<()> {
        fs::create_dir_all(path.parent().context("no parent")?)?;
        File::create(&path)?.write_all(bytes)?;
        if executable {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        files += 1;
        Ok(())
    };

    let random_budget = zip_bytes / 2;
    for i in 0..3 {
        let bytes = rng.bytes((random_budget / 5) as usize);
        write(
            src.join(format!("python/lib/native/big{i}.so")),
            &bytes,
            true,
        )?;
    }
    let mut random_left = random_budget - 3 * (random_budget / 5);
    for i in 0.. {
        if random_left == 0 {
            break;
        }
        let len = random_left.min(200_000);
        random_left -= len;
        let bytes = rng.bytes(len as usize);
        write(
            src.join(format!("python/lib/native/mod{i}.so")),
            &bytes,
            false,
        )?;
    }
    let mut text_left = zip_bytes / 2 * 3;
    for i in 0.. {
        if text_left == 0 {
            break;
        }
        let len = text_left.min(4_000 + rng.next() % 24_000);
        text_left -= len;
        let path = format!("python/pkg{}/sub{}/module{i}.py", i % 23, i % 5);
        write(src.join(path), &rng.python_text(len as usize), false)?;
    }
    write(
        src.join("bin/tool"),
        b"#!/bin/sh\nexec python3 -m pkg0\n",
        true,
    )?;

    let zip = case.join("layer.zip");
    run(Command::new("zip")
        .args(["-r", "-q"])
        .arg(&zip)
        .args(["python", "bin"])
        .current_dir(&src))?;
    Ok((zip, files))
}

/// Deterministic bytes, so every run benchmarks the same archives.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out: Vec<u8> = (0..len.div_ceil(8))
            .flat_map(|_| self.next().to_le_bytes())
            .collect();
        out.truncate(len);
        out
    }

    fn python_text(&mut self, len: usize) -> Vec<u8> {
        const WORDS: [&str; 24] = [
            "def", "return", "self", "import", "numpy", "value", "for", "in", "range", "if",
            "else", "None", "data", "result", "len", "append", "class", "config", "items", "key",
            "dict", "list", "True", "False",
        ];
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            let word = WORDS[(self.next() % WORDS.len() as u64) as usize];
            out.extend_from_slice(word.as_bytes());
            match self.next() % 8 {
                0 => out.extend_from_slice(b"\n    "),
                1 => out.push(b'('),
                2 => out.push(b'_'),
                3 => out.push(b'0' + (self.0 % 10) as u8),
                _ => out.push(b' '),
            }
        }
        out.truncate(len);
        out
    }
}

/// Resets the process's peak RSS to its current RSS (Linux `clear_refs`); best effort.
fn reset_peak_rss() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size (`VmHWM`) in KiB.
fn peak_rss_kib() -> Result<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line.trim().trim_end_matches("kB").trim().parse()?)
}
