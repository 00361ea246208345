//! Where the bytes of attachments and whole emails live: [`FileStore`], with a folder on the
//! local disk ([`LocalFiles`]) today. The interface is the one an S3-compatible bucket offers
//! (put an object, get it back by key), so such a backend slots in without touching callers.
//!
//! Files are addressed by the SHA-256 of their content: storing the same bytes twice (a
//! retried delivery, the same logo in every mail) keeps one copy, and a put that is repeated
//! after a crash is harmless. A put returns only once the file is on disk and synced, so a
//! row that names it can be committed after.

use crate::StoreError;
use futures::future::BoxFuture;
use futures::FutureExt;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Storage for immutable blobs, addressed by content.
pub trait FileStore: Send + Sync + 'static {
    /// Stores `bytes` durably and returns the key they can be read back with.
    fn put(&self, bytes: Vec<u8>) -> BoxFuture<'_, Result<String, StoreError>>;

    /// Reads back what [`FileStore::put`] stored under `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, StoreError>>;
}

/// The content key of some bytes: their SHA-256 in lower-case hex.
pub fn content_key(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Files in a folder: `ROOT/ab/cd/abcd…` by content key, written through a temporary file
/// and renamed into place, so a reader never sees half a file.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files under `root`, created on first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalFiles { root: root.into() }
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        // Keys are ours (hex digests); anything else cannot name a file here, which also
        // keeps `..` and slashes from reaching the path.
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.root.join(&key[..2]).join(&key[2..4]).join(key))
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("cannot {what} {}: {e}", path.display()))
}

/// Writes `bytes` to `path` if it is not there yet: into a temporary file beside it, synced,
/// renamed into place, and the folder synced so the name survives a power cut too.
fn write_once(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("invariant: file paths have a folder");
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    let tmp = dir.join(format!(
        ".{}.{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        uuid::Uuid::now_v7().simple()
    ));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io("write", path, e));
    }
    Ok(())
}

impl FileStore for LocalFiles {
    fn put(&self, bytes: Vec<u8>) -> BoxFuture<'_, Result<String, StoreError>> {
        async move {
            let key = content_key(&bytes);
            let path = self.path(&key).expect("invariant: content keys are valid");
            tokio::task::spawn_blocking(move || write_once(&path, &bytes))
                .await
                .map_err(|e| StoreError::Unavailable(format!("file writer stopped: {e}")))??;
            Ok(key)
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Vec<u8>, StoreError>> {
        async move {
            let path = self.path(key).ok_or(StoreError::NotFound("file"))?;
            match tokio::fs::read(&path).await {
                Ok(bytes) => Ok(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(StoreError::NotFound("file"))
                }
                Err(e) => Err(io("read", &path, e)),
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn same_bytes_same_key_and_they_read_back() {
        let dir = std::env::temp_dir().join(format!("concierge-files-{}", uuid::Uuid::now_v7()));
        let files = LocalFiles::new(&dir);
        let a = files.put(b"hello".to_vec()).await.unwrap();
        let b = files.put(b"hello".to_vec()).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(files.get(&a).await.unwrap(), b"hello");
        assert!(matches!(
            files.get("../../etc/passwd").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            files.get(&content_key(b"other")).await,
            Err(StoreError::NotFound(_))
        ));
        // Nothing but the file itself is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(files.path(&a).unwrap().parent().unwrap())
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
