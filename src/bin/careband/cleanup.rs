//! Temporary files a stopped run must not leave behind.
//!
//! `careband batch -o FILE` writes to a hidden temporary file beside `FILE` and renames it into
//! place at the end. When the run is stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP, the
//! temporary files registered here are removed before the process exits (with 128 + the
//! signal's number, as a shell reports it). SIGKILL cannot be caught: what it leaves is removed
//! by the next run for the same output ([`remove_stale`]), which knows the files by their
//! names, `.careband-batch-<output name>-<pid>-<random>.tmp`, and removes only those whose
//! process is gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

/// Where every temporary file name starts.
const PREFIX: &str = ".careband-batch-";

/// A temporary file whose process cannot be checked (no `/proc`) is stale after this long.
const STALE_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The temporary files to remove if a signal stops the process.
#[derive(Clone, Default)]
pub struct Cleanup {
    paths: Arc<Mutex<Vec<PathBuf>>>,
}

impl Cleanup {
    /// Starts the thread that waits for SIGINT, SIGTERM and SIGHUP.
    #[cfg(unix)]
    pub fn install() -> anyhow::Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let me = Self::default();
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("cannot watch for signals")?;
        let paths = Arc::clone(&me.paths);
        std::thread::Builder::new()
            .name("careband-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let paths = paths.lock().unwrap_or_else(PoisonError::into_inner);
                    for p in paths.iter() {
                        let _ = fs::remove_file(p);
                    }
                    eprintln!("careband: stopped by a signal; the unfinished output was removed");
                    std::process::exit(128 + signal);
                }
            })
            .context("cannot start the signal thread")?;
        Ok(me)
    }

    /// Without Unix signals there is nothing to watch: a stopped run's files are removed by
    /// the next run.
    #[cfg(not(unix))]
    pub fn install() -> anyhow::Result<Self> {
        Ok(Self::default())
    }

    /// Removes `path` if a signal stops the process from now on.
    pub fn watch(&self, path: &Path) {
        self.lock().push(path.to_path_buf());
    }

    /// No longer removes `path` (it has been renamed into place).
    pub fn forget(&self, path: &Path) {
        self.lock().retain(|p| p != path);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.paths.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The start of the temporary file names for `final_path`, this process's and others'.
fn prefix_for(final_path: &Path) -> String {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{PREFIX}{name}-")
}

/// Creates the temporary file that becomes `final_path`, beside it, and registers it with
/// `cleanup`.
pub fn temp_for(final_path: &Path, cleanup: &Cleanup) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = dir_of(final_path);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(
            "{}{}-",
            prefix_for(final_path),
            std::process::id()
        ))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    cleanup.watch(tmp.path());
    Ok(tmp)
}

/// Removes the temporary files an earlier run for `final_path` left when it was killed: those
/// whose process no longer runs (or, where that cannot be checked, older than a day).
/// Returns how many were removed.
pub fn remove_stale(final_path: &Path) -> usize {
    let prefix = prefix_for(final_path);
    let Ok(entries) = fs::read_dir(dir_of(final_path)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .filter(|r| Path::new(r).extension().is_some_and(|e| e == "tmp"))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let stale = match process_running(pid) {
            Some(running) => !running,
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_AFTER),
        };
        if stale && pid != std::process::id() && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` runs, where `/proc` can say.
fn process_running(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}
