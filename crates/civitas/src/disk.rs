//! Guarding the data directory: writable, and never allowed to fill up.
//!
//! Storage survives a crash at any point, but a write that fails because the disk is full stops
//! the node with a storage error. The node therefore refuses to start below a free-space
//! minimum and, while running, stops cleanly (as on SIGTERM) before the disk fills, saying why
//! and what to do.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default free space the node keeps on the data directory's file system, in MiB.
pub const DEFAULT_MIN_FREE_MB: u64 = 512;
/// How often the running node checks free space.
const WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// Bytes available to this (unprivileged) process on the file system holding `path`.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stats` points to writable memory
    // of the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stats.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled the structure.
    let stats = unsafe { stats.assume_init() };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Ok((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
}

/// Checks that files can be created in `dir`.
pub fn check_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(".civitas-write-test");
    std::fs::write(&probe, b"ok").with_context(|| {
        format!(
            "data directory {} is not writable; fix its permissions or choose another",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn describe_shortage(dir: &Path, free: u64, min_free_mb: u64) -> String {
    format!(
        "the disk holding {} has {} MiB free, below the {min_free_mb} MiB this node keeps free \
         (min_free_disk_mb in node.toml); free some space or move data_dir, then start the node \
         again: nothing was lost",
        dir.display(),
        free / (1024 * 1024)
    )
}

/// Refuses to start when the data directory's disk is below the minimum.
pub fn check_free(dir: &Path, min_free_mb: u64) -> Result<()> {
    let free = free_bytes(dir)
        .with_context(|| format!("cannot read the free space of {}", dir.display()))?;
    if free < min_free_mb.saturating_mul(1024 * 1024) {
        bail!("{}", describe_shortage(dir, free, min_free_mb));
    }
    Ok(())
}

/// Resolves once free space on `dir`'s disk drops below the minimum, after logging why.
pub async fn watch(dir: PathBuf, min_free_mb: u64) {
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        match free_bytes(&dir) {
            Ok(free) if free < min_free_mb.saturating_mul(1024 * 1024) => {
                tracing::error!(
                    "stopping cleanly: {}",
                    describe_shortage(&dir, free, min_free_mb)
                );
                return;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the data directory's free space"),
        }
    }
}

/// Turns storage panics caused by the environment into a sentence an operator can act on.
pub fn install_panic_hint() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        let hint = if message.contains("No space left on device") || message.contains("os error 28")
        {
            Some("the disk holding the data directory is full")
        } else if message.contains("Permission denied") || message.contains("os error 13") {
            Some("the data directory is no longer writable")
        } else if message.contains("Read-only file system") || message.contains("os error 30") {
            Some("the data directory's file system is read-only")
        } else {
            None
        };
        match hint {
            Some(hint) => eprintln!(
                "error: {hint}. The node stopped before acknowledging anything it had not stored; \
                 fix the cause and start it again (details: {message})"
            ),
            None => default(info),
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_free_space_and_refuses_an_impossible_minimum() {
        let dir = std::env::temp_dir();
        assert!(free_bytes(&dir).unwrap() > 0);
        assert!(check_free(&dir, 0).is_ok());
        let error = check_free(&dir, u64::MAX / (1024 * 1024)).unwrap_err();
        assert!(error.to_string().contains("min_free_disk_mb"), "{error}");
        assert!(free_bytes(Path::new("/definitely/not/here")).is_err());
    }
}
