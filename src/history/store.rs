//! Opening a history file: for a record (created when missing, its directory made private,
//! its schema migrated forward) or for reading (never created, never written). Anything
//! that is not a pmaps history (another kind of file, a corrupt one, another program's SQLite
//! database) is refused and left as it is; so is a schema newer than this binary knows.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};

/// How long a connection waits for another one's lock (a record writing, a reader reading)
/// before it gives up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// An open history file.
#[derive(Debug)]
pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

/// The history file used without `--db`: `/var/lib/pmaps/history.sqlite` for root,
/// `$XDG_STATE_HOME/pmaps/history.sqlite` (or `~/.local/state/pmaps/history.sqlite`) for
/// anyone else.
pub fn default_path() -> Option<PathBuf> {
    if rustix::process::geteuid().is_root() {
        return Some(PathBuf::from("/var/lib/pmaps/history.sqlite"));
    }
    let absolute = |v: Option<std::ffi::OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    let state = absolute(std::env::var_os("XDG_STATE_HOME"))
        .or_else(|| absolute(std::env::var_os("HOME")).map(|h| h.join(".local/state")))?;
    Some(state.join("pmaps/history.sqlite"))
}

impl Store {
    /// Opens `path` for `pmaps record`: creates it (and its directory, mode 0700: command
    /// lines are stored) when missing, and brings its schema to this binary's version.
    pub fn open_write(path: &Path) -> anyhow::Result<Store> {
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => bail!("{shown} is not a regular file{}", kind_of(&m)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot open {shown}")),
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("cannot open {shown}"))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Each statement of a record's transaction keeps a statement journal (to undo that
        // statement alone): in a temporary file by default, written hundreds of thousands of
        // times by a first record of a thousand processes. In memory it is a few pages.
        store
            .conn
            .pragma_update(None, "temp_store", "MEMORY")
            .with_context(|| format!("cannot open {shown}"))?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing history for reading only.
    pub fn open_read(path: &Path) -> anyhow::Result<Store> {
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() => bail!("{shown} is not a regular file{}", kind_of(&m)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("no history at {shown} (`pmaps record` makes one)")
            }
            Err(e) => return Err(e).with_context(|| format!("cannot open {shown}")),
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("cannot open {shown}"))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        match store.version()? {
            None => bail!("{shown} is an empty file, not a pmaps history"),
            // An older schema's tables are a subset of this one's: read as they are (the
            // next `pmaps record` migrates the file).
            Some(_) => Ok(store),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file; `None` for an empty database (a new file). Refuses
    /// what is not a pmaps history, and a newer schema.
    fn version(&self) -> anyhow::Result<Option<i32>> {
        let shown = self.path.display();
        let pragma = |name: &str| -> anyhow::Result<i32> {
            self.conn
                .pragma_query_value(None, name, |r| r.get(0))
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::NotADatabase) => anyhow::anyhow!(
                        "{shown} is not a pmaps history (not an SQLite database, or a corrupt \
                         one); it was left as it is"
                    ),
                    _ => anyhow::Error::new(e).context(format!("cannot read {shown}")),
                })
        };
        let app = pragma("application_id")?;
        let version = pragma("user_version")?;
        if app != APPLICATION_ID {
            let tables: i64 = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
                .with_context(|| format!("cannot read {shown}"))?;
            if app == 0 && version == 0 && tables == 0 {
                return Ok(None);
            }
            bail!(
                "{shown} is an SQLite database but not a pmaps history (application_id \
                 {app:#x}); it was left as it is"
            );
        }
        if version > SCHEMA_VERSION {
            bail!(
                "{shown} has history schema version {version}, newer than this pmaps knows \
                 ({SCHEMA_VERSION}): use a newer pmaps (the file was left as it is)"
            );
        }
        Ok(Some(version))
    }

    /// The schema version of an open history (0: none yet).
    pub fn schema_version(&self) -> anyhow::Result<i32> {
        Ok(self.version()?.unwrap_or(0))
    }

    /// Creates the schema of a new file, or migrates an older one, in one transaction.
    fn migrate(&mut self) -> anyhow::Result<()> {
        let shown = self.path.display().to_string();
        if self.version()? == Some(SCHEMA_VERSION) {
            return Ok(());
        }
        // Freed pages go back to the file system at each record (incremental vacuum). Only a
        // file without tables takes the setting, before the transaction.
        if self.version()?.is_none() {
            self.conn
                .pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .with_context(|| format!("cannot initialise {shown}"))?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .with_context(|| format!("cannot lock {shown}"))?;
        // Checked again under the lock: another record may have done it meanwhile.
        let from: i32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let from = usize::try_from(from).unwrap_or(0);
        for sql in MIGRATIONS.iter().skip(from) {
            tx.execute_batch(sql)
                .with_context(|| format!("cannot migrate {shown}"))?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()
            .with_context(|| format!("cannot initialise {shown}"))?;
        Ok(())
    }
}

/// What a path that is not a regular file is, for the message.
fn kind_of(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        " (a directory)"
    } else if t.is_fifo() {
        " (a FIFO)"
    } else if t.is_char_device() || t.is_block_device() {
        " (a device)"
    } else if t.is_socket() {
        " (a socket)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_schema_and_opens_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/h.sqlite");
        drop(Store::open_write(&path).unwrap());
        let mode = std::fs::metadata(dir.path().join("sub")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o700);
        let s = Store::open_read(&path).unwrap();
        assert_eq!(s.version().unwrap(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn text_and_foreign_databases_are_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("t");
        std::fs::write(&text, b"not a database, just words ".repeat(100)).unwrap();
        let e = Store::open_write(&text).unwrap_err().to_string();
        assert!(e.contains("not a pmaps history"), "{e}");
        assert_eq!(
            std::fs::read(&text).unwrap(),
            b"not a database, just words ".repeat(100)
        );
        let other = dir.path().join("o");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE x(a)")
            .unwrap();
        let e = Store::open_write(&other).unwrap_err().to_string();
        assert!(e.contains("SQLite database but not a pmaps history"), "{e}");
    }

    #[test]
    fn a_newer_schema_is_refused_for_reading_and_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h");
        drop(Store::open_write(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        for e in [
            Store::open_write(&path).unwrap_err(),
            Store::open_read(&path).unwrap_err(),
        ] {
            assert!(e.to_string().contains("newer than this pmaps knows"), "{e}");
        }
    }
}
