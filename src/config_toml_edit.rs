//! Writes one key of `config.toml` for commands that save a choice (`login --project`),
//! keeping every other key, comment and the layout a person gave the file.
//!
//! Parses with `toml_edit` (format-preserving), refuses a file that is not valid TOML rather
//! than overwrite it, and writes atomically, keeping the file's mode (0600 for a new file).
//! Never holds a secret: `config.toml` is for settings only.

use std::path::{Path, PathBuf};

use crate::config::CONFIG_FILE;
use crate::files;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not valid TOML ({reason}): fix it, then run the command again", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Sets `key = "value"` at the top level of `dir/config.toml`, creating the file if needed.
/// Returns the file's path.
pub fn set_string(dir: &Path, key: &str, value: &str) -> Result<PathBuf, EditError> {
    let path = dir.join(CONFIG_FILE);
    let existing = files::read_optional(&path).map_err(|source| EditError::Read {
        path: path.clone(),
        source,
    })?;
    let text = match &existing {
        Some(bytes) => String::from_utf8(bytes.clone()).map_err(|_| EditError::Invalid {
            path: path.clone(),
            reason: "not UTF-8".into(),
        })?,
        None => String::new(),
    };
    let mut document: toml_edit::DocumentMut =
        text.parse()
            .map_err(|err: toml_edit::TomlError| EditError::Invalid {
                path: path.clone(),
                reason: err.message().to_string(),
            })?;
    document[key] = toml_edit::value(value);
    let mode = files::mode_of(&path).unwrap_or(files::PRIVATE_FILE);
    if existing.is_none() {
        files::ensure_private_dir(dir).map_err(|source| EditError::Write {
            path: path.clone(),
            source,
        })?;
    }
    files::write_atomic(&path, document.to_string().as_bytes(), mode).map_err(|source| {
        EditError::Write {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_key_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = set_string(dir.path(), "project_id", "p-1").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "project_id = \"p-1\"\n"
        );
        #[cfg(unix)]
        assert_eq!(files::mode_of(&path), Some(0o600));
    }

    #[test]
    fn other_keys_comments_and_order_are_kept_and_the_value_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(
            &path,
            "# mine\nstore = \"file\"  # headless\nproject_id = \"old\"\nscopes = [\"a\"]\n",
        )
        .unwrap();
        set_string(dir.path(), "project_id", "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# mine\nstore = \"file\"  # headless\nproject_id = \"new\"\nscopes = [\"a\"]\n"
        );
    }

    #[test]
    fn invalid_toml_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(&path, "store = \n").unwrap();
        let err = set_string(dir.path(), "project_id", "p")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not valid TOML"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "store = \n");
    }
}
