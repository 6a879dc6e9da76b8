//! `careband serve` as the built binary, on a free port of 127.0.0.1: started, read from
//! (its log lines are kept), signalled, and killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// A `careband serve` child process, killed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `careband serve --listen 127.0.0.1:0 --log-level info ARGS` and waits for its
    /// listening line.
    pub fn start(args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_careband"));
        cmd.arg("serve");
        Self::spawn(cmd, args)
    }

    /// The same with at most `open_files` open files (soft and hard, through `prlimit`).
    pub fn start_with_open_files(open_files: u32, args: &[&str]) -> Self {
        let mut cmd = Command::new("prlimit");
        cmd.args([
            &format!("--nofile={open_files}:{open_files}"),
            "--",
            env!("CARGO_BIN_EXE_careband"),
            "serve",
        ]);
        Self::spawn(cmd, args)
    }

    fn spawn(mut cmd: Command, args: &[&str]) -> Self {
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0", "--log-level", "info"])
            .args(args)
            .env_remove("CAREBAND_DATA")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server (or prlimit, from util-linux) runs");
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| {
                    panic!(
                        "the server stopped before listening:\n{}",
                        log.lock().unwrap().join("\n")
                    )
                })
                .unwrap();
            log.lock().unwrap().push(line.clone());
            // The address ends at the first character no address has (a space in text logs,
            // a quote in JSON ones).
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || ".:[]".contains(c)))
                    .unwrap_or(rest.len());
                break rest[..end].parse().unwrap();
            }
        };
        // Keep reading both streams, so that the server never blocks on a full pipe, and keep
        // what it wrote for the test to read.
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            if !out.is_empty() {
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&out).into_owned());
            }
        });
        Self { child, addr, log }
    }

    /// Everything the server has written to its standard error (one entry a line) and, once
    /// it has exited, standard output, so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits up to `patience` for the process to exit by itself; whether it did.
    pub fn exits_within(&mut self, patience: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + patience;
        while std::time::Instant::now() < until {
            if !self.running() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }

    /// Sends the signal `name` (`-TERM`, `-HUP`) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
