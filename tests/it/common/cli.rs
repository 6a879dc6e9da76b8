//! The built `careband` binary, run as a person would run it.

use std::path::Path;
use std::process::Command;

/// What a run printed and how it exited.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; -1 when the process was killed by a signal.
    pub code: i32,
}

/// Runs `careband args` in `dir`. `CAREBAND_DATA` is removed so that the shipped data is used
/// unless the arguments say otherwise, whatever the caller's environment.
pub fn careband_in(dir: &Path, args: &[&str]) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_careband"))
        .args(args)
        .current_dir(dir)
        .env_remove("CAREBAND_DATA")
        .output()
        .unwrap();
    Run {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code().unwrap_or(-1),
    }
}

/// Runs `careband args` in an empty temporary directory, so that relative paths and anything
/// the run writes stay out of the source tree.
pub fn careband(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    careband_in(dir.path(), args)
}
