//! Reading and writing the spec's JSON files, with errors that name the file. The path `-`
//! is standard input for a file read (one per command) and standard output for one written.

use crate::error::Error;
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use zeroize::Zeroizing;

/// Whether a file was already read from standard input: a second `-` would read nothing.
static STDIN_READ: AtomicBool = AtomicBool::new(false);

/// `-`: standard input or output.
pub fn is_stdio(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The path as errors name it.
fn name(path: &Path) -> PathBuf {
    if is_stdio(path) {
        "standard input".into()
    } else {
        path.into()
    }
}

/// For a clap argument that names a file rewritten in place or a folder: `-` refused.
pub fn not_stdio(arg: &str) -> Result<PathBuf, String> {
    match arg {
        "-" => Err("`-` (standard input or output) cannot stand for this file".into()),
        path => Ok(path.into()),
    }
}

/// The text of `path`, or of standard input for `-`; wiped once dropped, since key files
/// hold secrets.
pub fn read_text(path: &Path) -> Result<Zeroizing<String>, Error> {
    let io = |source| Error::Io {
        path: name(path),
        source,
    };
    if !is_stdio(path) {
        return std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(io);
    }
    if STDIN_READ.swap(true, Ordering::SeqCst) {
        return Err(Error::Usage(
            "`-` (standard input) names two files: at most one file per command can be read \
             from standard input"
                .into(),
        ));
    }
    std::io::read_to_string(std::io::stdin())
        .map(Zeroizing::new)
        .map_err(io)
}

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    serde_json::from_str(&read_text(path)?).map_err(|e| Error::BadFile {
        path: name(path),
        reason: e.to_string(),
    })
}

/// Writes pretty JSON to `path`, or to stdout when `path` is `None` or `-`.
pub fn write<T: Serialize>(path: Option<&Path>, value: &T) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).expect("our types serialize");
    text.push('\n');
    match path.filter(|p| !is_stdio(p)) {
        Some(p) => std::fs::write(p, text).map_err(|source| Error::Io {
            path: p.into(),
            source,
        }),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Writes a file only its owner can read: for secret keys. `-` prints it on stdout.
pub fn write_secret<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    if is_stdio(path) {
        return write(None, value);
    }
    let mut text =
        Zeroizing::new(serde_json::to_string_pretty(value).expect("our types serialize"));
    text.push('\n');
    write_secret_bytes(path, text.as_bytes())
}

/// Writes `bytes` to a new file only its owner can read; never replaces a file.
pub fn write_secret_bytes(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_new(path, bytes, 0o600)
}

/// Writes `bytes` to a new file; never replaces a file.
pub fn write_new_bytes(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_new(path, bytes, 0o644)
}

/// A new file of `bytes`, with Unix permissions `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)
}

/// Moves `path` aside to `PATH.bak-TIME` (UTC, to the millisecond), so that `--force` never
/// destroys what it replaces; refuses if that backup exists. Returns the backup's path.
pub fn keep_backup(path: &Path) -> Result<std::path::PathBuf, Error> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let now = chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%S%.3fZ");
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".bak-{now}"));
    let backup = std::path::PathBuf::from(name);
    if backup.exists() {
        return Err(Error::Io {
            path: backup,
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    std::fs::rename(path, &backup).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    Ok(backup)
}
