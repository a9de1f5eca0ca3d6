//! The crash-test harness shared by the storage tests: a child process (this same test binary,
//! running one test by name) writes until it is SIGKILLed, printing the key of every write that
//! was acknowledged; the parent then reopens the store and checks those keys.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Stdout, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The data directory a child writes to, set by [`acknowledged_until_killed`].
const CHILD_DIR: &str = "STORAGE_CRASH_TEST_CHILD_DIR";

/// The data directory when this process is a crash test's child; `None` in a normal test run.
pub fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_DIR).map(PathBuf::from)
}

/// In the child: tells the parent that the write of `key` was acknowledged.
pub fn acknowledge(stdout: &Mutex<Stdout>, key: &str) {
    let mut out = stdout.lock().unwrap();
    writeln!(out, "{key}").unwrap();
    out.flush().unwrap();
}

/// Runs the test `child` of this binary on `dir`, collects the keys it acknowledges until there
/// are `enough`, then kills it (SIGKILL) mid-write and returns them.
pub fn acknowledged_until_killed(child: &str, dir: &Path, enough: usize) -> BTreeSet<String> {
    let mut process = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut acked = BTreeSet::new();
    for line in BufReader::new(process.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // Keys are "{writer}-{n}"; the test harness's own lines have spaces.
        if line.contains('-') && !line.contains(' ') {
            acked.insert(line);
        }
        if acked.len() >= enough {
            break;
        }
    }
    process.kill().unwrap();
    process.wait().unwrap();
    acked
}
