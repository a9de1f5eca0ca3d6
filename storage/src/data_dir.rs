//! The data directory, held by one onetime process at a time.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::StorageError;

/// An exclusive claim on a data directory, released when dropped (or when the process dies: the
/// lock is the kernel's, so a killed process never leaves a stale one behind).
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed and locks it, or says which directory is taken.
    pub fn lock(path: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(path)
            .map_err(|e| StorageError::io(format!("cannot create data directory {}", path.display()), e))?;
        let lock_path = path.join("onetime.lock");
        let file = File::create(&lock_path)
            .map_err(|e| StorageError::io(format!("cannot open {}", lock_path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                path: path.to_path_buf(),
                _lock: file,
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StorageError::io(
                format!(
                    "the data directory {} is in use by another running onetime",
                    path.display()
                ),
                std::io::Error::new(std::io::ErrorKind::ResourceBusy, "locked"),
            )),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StorageError::io(format!("cannot lock {}", lock_path.display()), e))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::lock(dir.path()).unwrap();
        let error = DataDir::lock(dir.path()).err().unwrap();
        assert!(
            error.to_string().contains("in use by another running onetime"),
            "{error}"
        );
        drop(first);
        DataDir::lock(dir.path()).unwrap();
    }
}
