//! (g) Warm invokes through the HTTP API of a real `lamina serve` (`--auth none`, its default
//! isolation and network), against a trivial loopback HTTP server driven by the same client:
//! - concurrency 1: latency p50/p99, the no-op handler's own time (the median `Duration` of
//!   its REPORT lines) and the overhead over it (goal: p50 <= 0.1 ms, p99 <= 1 ms), and the
//!   server process's CPU time per invoke (its own threads only, not the functions');
//! - concurrency 8 and 32: throughput, each client on its own kept-alive connection.
//!
//! The client is a minimal HTTP/1.1 writer and reader on blocking sockets, so it adds the
//! same small cost to both sides.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use base64::Engine;

/// Invokes measured at concurrency 1.
const LATENCY_INVOKES: usize = 3000;
/// Invokes measured at each higher concurrency, spread over the clients.
const THROUGHPUT_INVOKES: usize = 6000;
/// Invokes each client makes before measuring, so every environment is warm.
const WARMUP_PER_CLIENT: usize = 30;
const CONCURRENCIES: [usize; 2] = [8, 32];
const FUNCTION: &str = "bench-http";
const INVOKE_PATH: &str = "/2015-03-31/functions/bench-http/invocations";
const PAYLOAD: &[u8] = br#"{"n": 1}"#;

/// Runs (g) against the `lamina` binary at `lamina` and prints its lines.
pub fn run(lamina: &Path) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = Server::start(lamina, dir.path())?;
    create_function(&server.address)?;
    let baseline = TrivialServer::start()?;

    // Concurrency 1, the two sides taking turns in blocks so a drift of the machine weighs
    // on both alike.
    let mut lamina_client = Client::connect(&server.address)?;
    let mut trivial_client = Client::connect(&baseline.address)?;
    for _ in 0..WARMUP_PER_CLIENT {
        lamina_client.invoke()?;
        trivial_client.invoke()?;
    }
    let cpu_before = process_cpu(server.child.id())?;
    let (mut lamina_times, mut trivial_times) = (Vec::new(), Vec::new());
    for _ in 0..LATENCY_INVOKES / 100 {
        for _ in 0..100 {
            let t = Instant::now();
            lamina_client.invoke()?;
            lamina_times.push(t.elapsed());
        }
        for _ in 0..100 {
            let t = Instant::now();
            trivial_client.invoke()?;
            trivial_times.push(t.elapsed());
        }
    }
    let cpu = process_cpu(server.child.id())?.saturating_sub(cpu_before);
    let handler = handler_duration(&dir.path().join("data/logs"))?;
    lamina_times.sort();
    trivial_times.sort();
    let (p50, p99) = (quantile(&lamina_times, 0.5), quantile(&lamina_times, 0.99));
    println!(
        "baseline  trivial HTTP server, loopback, concurrency 1   p50 {:>7.3} ms   p99 {:>7.3} ms",
        ms(quantile(&trivial_times, 0.5)),
        ms(quantile(&trivial_times, 0.99))
    );
    println!(
        "warm HTTP API  concurrency 1   p50 {:>7.3} ms   p99 {:>7.3} ms   handler's own time (REPORT Duration, median) {:.3} ms",
        ms(p50),
        ms(p99),
        ms(handler)
    );
    println!(
        "warm HTTP API  overhead over the handler   p50 {:>7.3} ms (goal 0.100)   p99 {:>7.3} ms (goal 1.000)   server CPU {:.0} us per invoke",
        ms(p50.saturating_sub(handler)),
        ms(p99.saturating_sub(handler)),
        cpu.as_secs_f64() * 1e6 / LATENCY_INVOKES as f64
    );
    drop((lamina_client, trivial_client));

    for concurrency in CONCURRENCIES {
        let trivial = throughput(&baseline.address, concurrency)?;
        let lamina = throughput(&server.address, concurrency)?;
        println!(
            "warm HTTP API  concurrency {concurrency:<2}  {lamina:>7.0} invokes/s   trivial HTTP server {trivial:>7.0} requests/s"
        );
    }
    Ok(())
}

/// Invokes per second of `concurrency` clients, each on its own connection, after each has
/// made `WARMUP_PER_CLIENT` invokes (new environments start then, not in the measure).
fn throughput(address: &str, concurrency: usize) -> Result<f64> {
    let (ready, started) = mpsc::channel::<()>();
    let mut gates = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (gate, go) = mpsc::channel::<()>();
        gates.push(gate);
        let ready = ready.clone();
        let address = address.to_owned();
        clients.push(std::thread::spawn(move || -> Result<()> {
            let mut client = Client::connect(&address)?;
            for _ in 0..WARMUP_PER_CLIENT {
                client.invoke()?;
            }
            let _ = ready.send(());
            go.recv().context("the bench stopped")?;
            for _ in 0..THROUGHPUT_INVOKES / concurrency {
                client.invoke()?;
            }
            Ok(())
        }));
    }
    for _ in 0..concurrency {
        started.recv().context("a client failed while warming up")?;
    }
    let start = Instant::now();
    for gate in gates {
        let _ = gate.send(());
    }
    for client in clients {
        client
            .join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))??;
    }
    Ok((THROUGHPUT_INVOKES / concurrency * concurrency) as f64 / start.elapsed().as_secs_f64())
}

/// A running `lamina serve`, stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(lamina: &Path, dir: &Path) -> Result<Self> {
        let mut child = Command::new(lamina)
            .args(["serve", "--listen", "127.0.0.1:0", "--auth", "none"])
            .args([
                "--runtime-sdks",
                "off",
                "--max-environments-per-function",
                "40",
            ])
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env("LAMINA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, rx) = mpsc::channel();
        // Read the bound address, then keep draining stderr so the server never blocks.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("lamina serve: http://") {
                    let address = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(address.to_owned());
                }
            }
        });
        // Owned by a Server at once, so an early return stops it.
        let mut server = Self {
            address: String::new(),
            child,
        };
        server.address = rx
            .recv_timeout(Duration::from_secs(60))
            .context("lamina serve printed no address")?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let _ = self.child.wait();
    }
}

/// Creates the no-op python3.11 function and waits until it is `Active`.
fn create_function(address: &str) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("app.py", zip::write::SimpleFileOptions::default())?;
    zip.write_all(b"def handler(event, context):\n    return event\n")?;
    let zip = zip.finish()?.into_inner();
    let body = serde_json::json!({
        "FunctionName": FUNCTION,
        "Runtime": "python3.11",
        "Role": "arn:aws:iam::123456789012:role/bench",
        "Handler": "app.handler",
        "Code": {"ZipFile": base64::engine::general_purpose::STANDARD.encode(zip)},
    });
    let mut client = Client::connect(address)?;
    let (status, answer) =
        client.request("POST", "/2015-03-31/functions", body.to_string().as_bytes())?;
    ensure!(
        status == 201,
        "CreateFunction: {status} {}",
        String::from_utf8_lossy(&answer)
    );
    let path = format!("/2015-03-31/functions/{FUNCTION}/configuration");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, answer) = client.request("GET", &path, b"")?;
        let config: serde_json::Value = serde_json::from_slice(&answer)?;
        if config["State"] == "Active" {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the function never became Active"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A kept-alive HTTP/1.1 connection.
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(address: &str) -> Result<Self> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        Ok(Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// One invoke of the function (or one request to the trivial server); fails unless 200.
    fn invoke(&mut self) -> Result<()> {
        let (status, body) = self.request("POST", INVOKE_PATH, PAYLOAD)?;
        ensure!(
            status == 200,
            "invoke: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok(())
    }

    fn request(&mut self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        self.writer.write_all(&request)?;
        read_message(&mut self.reader)
    }
}

/// Reads one HTTP/1.1 message (status line or request line, headers, a Content-Length
/// body); gives the status (0 for a request) and the body.
fn read_message(reader: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        bail!("connection closed");
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, body))
}

/// A trivial HTTP server on loopback: a thread per connection answering each request with
/// its own body. The baseline of the client and of loopback TCP.
struct TrivialServer {
    address: String,
}

impl TrivialServer {
    fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || -> Result<()> {
                    stream.set_nodelay(true)?;
                    let mut writer = stream.try_clone()?;
                    let mut reader = BufReader::new(stream);
                    loop {
                        let (_, body) = read_message(&mut reader)?;
                        let mut answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        answer.extend_from_slice(&body);
                        writer.write_all(&answer)?;
                    }
                });
            }
        });
        Ok(Self { address })
    }
}

/// The user plus system CPU time of process `pid` so far (its threads, not its children).
fn process_cpu(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no command in stat")?
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the command.
    let ticks: u64 = fields.get(11).context("no utime")?.parse::<u64>()?
        + fields.get(12).context("no stime")?.parse::<u64>()?;
    Ok(Duration::from_secs_f64(ticks as f64 / USER_HZ))
}

/// The unit of /proc's CPU times: USER_HZ, 100 per second on every Linux ABI.
const USER_HZ: f64 = 100.0;

/// The median `Duration` of the REPORT lines in the function's log file in `logs`
/// (`<account>.<function>.log`).
fn handler_duration(logs: &Path) -> Result<Duration> {
    let suffix = format!(".{FUNCTION}.log");
    let log = std::fs::read_dir(logs)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.to_string_lossy().ends_with(&suffix))
        .context("no log file of the function")?;
    let text = std::fs::read_to_string(&log).with_context(|| format!("reading {log:?}"))?;
    let mut durations: Vec<Duration> = text
        .lines()
        .filter_map(|line| line.split_once("REPORT RequestId: "))
        .filter_map(|(_, rest)| rest.split_once("\tDuration: "))
        .filter_map(|(_, rest)| rest.split_once(" ms"))
        .filter_map(|(ms, _)| ms.parse::<f64>().ok())
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    durations.sort();
    durations
        .get(durations.len() / 2)
        .copied()
        .context("no REPORT line in the function's log")
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
