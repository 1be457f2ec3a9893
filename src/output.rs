//! Writing files so that readers never see half of one: write to a temporary file in the
//! same directory, flush it to disk, then rename over the target.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// A temporary file in `dir` (named `.tmp-…<suffix>`, so that [`remove_stale_temporaries`]
/// finds it), to be renamed over an output. Created with the mode any new file gets (0666
/// less the umask), not `tempfile`'s private 0600: the rename publishes it, and analysts and
/// finance read the outputs from their own accounts.
pub fn temporary_in(dir: &Path, suffix: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::Permissions::from_mode(0o666))
    };
    #[cfg(not(unix))]
    let permissions = None;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-").suffix(suffix);
    if let Some(p) = permissions {
        builder.permissions(p);
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = temporary_in(dir, "")?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    crate::crashpoint::here("file.before-rename");
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// Remove temporary files and directories a killed run left under `dir` (recursively). Call only while no
/// other run can be writing there (at the start of a stage, under the period lock).
pub fn remove_stale_temporaries(dir: &Path) -> anyhow::Result<u64> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let ty = entry.file_type()?;
        let stale = entry.file_name().to_string_lossy().starts_with(".tmp-");
        if ty.is_dir() && stale {
            // A staging directory of a killed export (or the old outputs it was replacing).
            std::fs::remove_dir_all(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            removed += 1;
        } else if ty.is_dir() {
            removed += remove_stale_temporaries(&path)?;
        } else if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("b.json")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_published_file_has_the_mode_of_any_new_file_not_a_private_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        std::fs::write(dir.path().join("plain"), b"x").unwrap();
        write_atomic(&dir.path().join("published"), b"x").unwrap();
        // Under the usual umask 022: 0644 both (it was 0600, readable by its owner only).
        assert_eq!(mode(&dir.path().join("published")), mode(&dir.path().join("plain")));
    }

    #[test]
    fn stale_temporaries_are_removed_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("x/y")).unwrap();
        std::fs::write(dir.path().join("x/y/.tmp-abc"), b"half").unwrap();
        std::fs::write(dir.path().join("x/keep.parquet"), b"whole").unwrap();
        // A killed export's staging directory, with what it had written.
        std::fs::create_dir_all(dir.path().join("x/.tmp-exports-1/csv")).unwrap();
        std::fs::write(dir.path().join("x/.tmp-exports-1/csv/cdrs.csv"), b"half").unwrap();
        assert_eq!(remove_stale_temporaries(dir.path()).unwrap(), 2);
        assert!(dir.path().join("x/keep.parquet").exists());
        assert!(!dir.path().join("x/.tmp-exports-1").exists());
        assert_eq!(remove_stale_temporaries(&dir.path().join("missing")).unwrap(), 0);
    }
}
