//! Reading a `--data` file: opened without blocking, it must be a regular file of at most
//! [`MAX_DATA`] bytes, so a FIFO, a device or a huge file is refused at once, at start and on
//! reload.

use std::io::Read;

use super::cond::line_col;
use super::model::Table;
use super::parse::DataError;

/// The largest data file read (the shipped one is under 100 KB).
pub const MAX_DATA: u64 = 4 * 1024 * 1024;

impl Table {
    /// Load a data file (a regular file of at most [`MAX_DATA`] bytes, opened without blocking).
    pub fn load(path: &std::path::Path) -> Result<Table, DataError> {
        let name = path.display().to_string();
        let err = |message: String| DataError {
            file: name.clone(),
            line: 1,
            column: 1,
            message,
        };
        let bytes = read_data_file(path).map_err(err)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            DataError {
                file: name.clone(),
                line,
                column,
                message: "not valid UTF-8".into(),
            }
        })?;
        Table::parse(&text, &name)
    }
}

/// A data file's bytes: opened without blocking, a regular file, at most [`MAX_DATA`] bytes.
fn read_data_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use rustix::fs::{FileType, Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("cannot read: {}", std::io::Error::from(e)))?;
    let st =
        rustix::fs::fstat(&fd).map_err(|e| format!("cannot read: {}", std::io::Error::from(e)))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err("cannot read: not a regular file".into());
    }
    if st.st_size as u64 > MAX_DATA {
        return Err(format!("cannot read: larger than {MAX_DATA} bytes"));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_DATA + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_DATA {
        return Err(format!("cannot read: larger than {MAX_DATA} bytes"));
    }
    Ok(bytes)
}
