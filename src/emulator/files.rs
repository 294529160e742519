//! Reading the emulator's files (recordings, images) whole, with a cap.
//!
//! A path given by mistake must fail at start-up with a message, not hang
//! or take the machine's memory: a device such as `/dev/zero` never ends,
//! and a regular file may be far larger than any recording. Regular files
//! are read, and pipes where the caller takes them (a recording given as
//! bash's `<(...)` ends when its writer does; an image named like one in a
//! directory is refused before it is opened), at most `limit` bytes of
//! them; anything else is refused before a byte is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::EmulatorError;
use crate::io::is_pipe;

/// What [`read_capped`] does with a named pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pipes {
    /// Reads it to its end: a recording given as bash's `<(...)`.
    Read,
    /// Refuses it before opening it (opening a FIFO waits for a writer,
    /// forever if none comes): an image in a directory is a file.
    Refuse,
}

/// The whole of `path`, if it is a regular file or (as `pipes` says) a
/// pipe of at most `limit` bytes: [`EmulatorError::NotAFile`] for a
/// device, a directory or a socket, [`EmulatorError::TooLarge`] past
/// `limit` (a regular file's size says so before it is read; a pipe is read
/// to `limit + 1` bytes at most), [`EmulatorError::Read`] when it cannot be
/// opened or read, or is a pipe refused.
pub(crate) fn read_capped(path: &Path, limit: u64, pipes: Pipes) -> Result<Vec<u8>, EmulatorError> {
    let read_error = |source| EmulatorError::Read {
        path: path.to_path_buf(),
        source,
    };
    if pipes == Pipes::Refuse && std::fs::metadata(path).is_ok_and(|m| is_pipe(&m.file_type())) {
        let refused = std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a FIFO, not a regular file",
        );
        return Err(read_error(refused));
    }
    let file = File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    let kind = meta.file_type();
    if !(kind.is_file() || is_pipe(&kind)) {
        return Err(EmulatorError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let too_large = || EmulatorError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    let mut data = Vec::new();
    if kind.is_file() {
        if meta.len() > limit {
            return Err(too_large());
        }
        // The size is known and within the limit: one allocation, which
        // may still fail (a 32-bit target, a small machine) as an error.
        let size = usize::try_from(meta.len())
            .map_err(|_| read_error(std::io::ErrorKind::OutOfMemory.into()))?;
        data.try_reserve_exact(size)
            .map_err(|_| read_error(std::io::ErrorKind::OutOfMemory.into()))?;
    }
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(read_error)?;
    if data.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_refusals() {
        let dir = std::env::temp_dir().join(format!("kvs-mkv-files-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ten");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_capped(&file, 10, Pipes::Read).unwrap(), b"0123456789");
        let Err(EmulatorError::TooLarge { path, limit }) = read_capped(&file, 9, Pipes::Read)
        else {
            panic!("read past the limit")
        };
        assert_eq!((path, limit), (file.clone(), 9));
        assert!(matches!(
            read_capped(&dir, 10, Pipes::Refuse),
            Err(EmulatorError::NotAFile { .. })
        ));
        assert!(matches!(
            read_capped(&dir.join("missing"), 10, Pipes::Refuse),
            Err(EmulatorError::Read { .. })
        ));
        #[cfg(target_os = "linux")]
        {
            let Err(e) = read_capped(Path::new("/dev/zero"), u64::MAX, Pipes::Read) else {
                panic!("/dev/zero read")
            };
            assert!(e.to_string().contains("/dev/zero"), "{e}");
            assert!(matches!(e, EmulatorError::NotAFile { .. }), "{e}");
            // A FIFO refused is not opened: with no writer, that would
            // wait forever.
            let fifo = dir.join("fifo");
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            let Err(e) = read_capped(&fifo, 10, Pipes::Refuse) else {
                panic!("a FIFO read")
            };
            assert!(e.to_string().contains("FIFO"), "{e}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
