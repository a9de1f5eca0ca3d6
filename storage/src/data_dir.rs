//! The data directory, held by one onetime process at a time, and private to its owner.
//!
//! It holds what would let anyone take over any account (the stores, mailed reset links, the
//! JWT secret), so the directory is 0700 and every file in it 0600, whatever the umask the
//! process was started with: claiming the directory sets the process's umask to 077, so every
//! file created afterwards, by whichever library (redb, the search index, the mail file
//! transport, backups), is private; and what an older version left more open is closed.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::StorageError;

/// An exclusive claim on a data directory, released when dropped (or when the process dies: the
/// lock is the kernel's, so a killed process never leaves a stale one behind).
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed, makes it and everything in it private, and locks it;
    /// or says which directory is taken.
    pub fn lock(path: &Path) -> Result<Self, StorageError> {
        keep_new_files_private();
        create_private_dir(path)
            .map_err(|e| StorageError::io(format!("cannot create data directory {}", path.display()), e))?;
        let lock_path = path.join("onetime.lock");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(PRIVATE_FILE)
            .open(&lock_path)
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

const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;

/// From now on, files and directories this process creates are its owner's alone.
fn keep_new_files_private() {
    // SAFETY: umask(2) only replaces the process's file mode creation mask; it cannot fail and
    // touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `path` (and missing parents) 0700, or makes an existing one and its contents
/// private: directories 0700, files 0600. Symbolic links are left alone (their own mode means
/// nothing, and what they point to is not the instance's).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(PRIVATE_DIR).create(path)?;
    make_private(path)
}

fn make_private(dir: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(dir, Permissions::from_mode(PRIVATE_DIR))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            make_private(&entry.path())?;
        } else if !kind.is_symlink() {
            let mode = entry.metadata()?.permissions().mode() & 0o777;
            if mode & !PRIVATE_FILE != 0 {
                std::fs::set_permissions(entry.path(), Permissions::from_mode(mode & PRIVATE_FILE))?;
            }
        }
    }
    Ok(())
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

    #[test]
    fn the_directory_and_what_it_holds_become_private() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        std::fs::create_dir_all(path.join("mail")).unwrap();
        for (file, mode) in [("users.redb", 0o644), ("mail/reset.eml", 0o666), ("readonly", 0o444)] {
            std::fs::write(path.join(file), "secret").unwrap();
            std::fs::set_permissions(path.join(file), Permissions::from_mode(mode)).unwrap();
        }
        std::fs::set_permissions(path.join("mail"), Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o755)).unwrap();

        let _data = DataDir::lock(&path).unwrap();
        let mode = |p: &str| std::fs::metadata(path.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(""), 0o700);
        assert_eq!(mode("mail"), 0o700);
        assert_eq!(mode("users.redb"), 0o600);
        assert_eq!(mode("mail/reset.eml"), 0o600);
        assert_eq!(mode("readonly"), 0o400, "tightened, never loosened");
        assert_eq!(mode("onetime.lock"), 0o600);
        std::fs::write(path.join("created-later"), "").unwrap();
        assert_eq!(mode("created-later"), 0o600, "whatever the umask was");
    }
}
