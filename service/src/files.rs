//! Reading and writing the spec's JSON files, with errors that name the file.

use crate::error::Error;
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| Error::BadFile {
        path: path.into(),
        reason: e.to_string(),
    })
}

/// Writes pretty JSON to `path`, or to stdout when `path` is `None`.
pub fn write<T: Serialize>(path: Option<&Path>, value: &T) -> Result<(), Error> {
    let mut text = serde_json::to_string_pretty(value).expect("our types serialize");
    text.push('\n');
    match path {
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

/// Writes a file only its owner can read: for secret keys.
pub fn write_secret<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let io = |source| Error::Io {
        path: path.into(),
        source,
    };
    let mut file = options.open(path).map_err(io)?;
    let text = serde_json::to_string_pretty(value).expect("our types serialize");
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(io)
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
