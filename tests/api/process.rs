//! The real `onetime` binary as a child process, for tests of start-up, signals and crashes.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_onetime");

/// `onetime` with a clean `ONETIME_*` environment, so the developer's shell cannot leak in.
pub fn onetime(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("ONETIME_") {
            command.env_remove(key);
        }
    }
    command
        .env("ONETIME_DATA_DIR", data_dir)
        .env("ONETIME_SERVER__ADDR", "127.0.0.1:0")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

pub fn run(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `onetime serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    pub fn start(command: &mut Command) -> Self {
        let mut child = command
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawned");
        let mut stderr_lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut url = None;
        let mut seen = Vec::new();
        for line in stderr_lines.by_ref() {
            let line = line.unwrap();
            if let Some(at) = line.find("listening on ") {
                let rest = &line[at + "listening on ".len()..];
                url = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
            seen.push(line);
        }
        let url = url.unwrap_or_else(|| panic!("the server never listened; it said:\n{}", seen.join("\n")));
        // Keep draining the log: a server whose stderr is closed or full is not a fair test.
        std::thread::spawn(move || stderr_lines.for_each(drop));
        Self { child, url }
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.pid()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no destructor, no flush, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
