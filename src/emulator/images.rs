//! Images for GetImages: files in a directory, named by time.
//!
//! A file `<N>.jpg`, `<N>.jpeg` or `<N>.png` is the image at `N`
//! milliseconds. `N` from 10^12 up (September 2001 and later) is an absolute
//! time since the Unix epoch; a smaller `N` is an offset from the start of
//! the recording, so that the same directory fits a stream whatever its
//! timestamps (and, live, every repetition of the recording). Other files
//! are ignored. Images are read once, when the emulator starts.

use std::path::Path;

use bytes::Bytes;

use super::files::{read_capped, Pipes};
use super::{EmulatorError, MAX_IMAGE_SIZE};

/// From this many milliseconds up, a file name is an absolute time.
pub(crate) const ABSOLUTE_FROM_MS: u64 = 1_000_000_000_000;

/// `JPEG` or `PNG`, as GetImages names the formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageFormat {
    Jpeg,
    Png,
}

impl ImageFormat {
    pub fn parse(s: &str) -> Option<ImageFormat> {
        match s {
            "JPEG" => Some(ImageFormat::Jpeg),
            "PNG" => Some(ImageFormat::Png),
            _ => None,
        }
    }

    fn from_extension(ext: &str) -> Option<ImageFormat> {
        match ext.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Some(ImageFormat::Jpeg),
            "png" => Some(ImageFormat::Png),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Entry {
    millis: u64,
    format: ImageFormat,
    content: Bytes,
}

/// The images of one stream, in time order.
#[derive(Debug, Default)]
pub(crate) struct ImageIndex {
    entries: Vec<Entry>,
}

/// The span of one fragment, for [`ImageIndex::pick`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// The fragment's timestamp (of the kind the request selects by).
    pub start_ms: u64,
    pub duration_ms: u64,
    /// The fragment's offset in the recording.
    pub offset_ms: u64,
}

impl ImageIndex {
    /// Reads every image of `dir`. An error names what could not be read:
    /// `dir`, or the one file in it (a subdirectory named like an image, a
    /// dangling link, a file without permission, a link to a device, a
    /// FIFO, a file larger than [`MAX_IMAGE_SIZE`]), not `dir` for all.
    pub fn load(dir: &Path) -> Result<ImageIndex, EmulatorError> {
        let mut entries = Vec::new();
        let in_dir = |source| EmulatorError::Read {
            path: dir.to_path_buf(),
            source,
        };
        for item in std::fs::read_dir(dir).map_err(in_dir)? {
            let path = item.map_err(in_dir)?.path();
            let (Some(stem), Some(ext)) = (
                path.file_stem().and_then(|s| s.to_str()),
                path.extension().and_then(|s| s.to_str()),
            ) else {
                continue;
            };
            let (Ok(millis), Some(format)) =
                (stem.parse::<u64>(), ImageFormat::from_extension(ext))
            else {
                continue;
            };
            // A FIFO named like an image is refused, not opened (which
            // waited for a writer forever: the emulator never started).
            let content = Bytes::from(read_capped(&path, MAX_IMAGE_SIZE, Pipes::Refuse)?);
            if content.is_empty() {
                continue;
            }
            entries.push(Entry {
                millis,
                format,
                content,
            });
        }
        entries.sort_by_key(|e| e.millis);
        Ok(ImageIndex { entries })
    }

    /// How many images there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The image for time `t` inside a fragment: the latest image of the
    /// fragment at or before `t`, else the fragment's first image. `None`
    /// when the fragment has no image in this format.
    pub fn pick(&self, format: ImageFormat, t: u64, w: Window) -> Option<&Bytes> {
        let end = w.start_ms + w.duration_ms;
        let mut best: Option<(u64, &Entry)> = None;
        for e in self.entries.iter().filter(|e| e.format == format) {
            let at = if e.millis >= ABSOLUTE_FROM_MS {
                e.millis
            } else if e.millis >= w.offset_ms {
                w.start_ms + (e.millis - w.offset_ms)
            } else {
                continue;
            };
            if at < w.start_ms || at >= end {
                continue;
            }
            let better = match best {
                None => true,
                // The latest at or before t; failing that, the earliest.
                Some((b, _)) if at <= t => b > t || at >= b,
                Some((b, _)) => b > t && at < b,
            };
            if better {
                best = Some((at, e));
            }
        }
        best.map(|(_, e)| &e.content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(names: &[u64]) -> ImageIndex {
        ImageIndex {
            entries: names
                .iter()
                .map(|&millis| Entry {
                    millis,
                    format: ImageFormat::Png,
                    content: Bytes::from(millis.to_string()),
                })
                .collect(),
        }
    }

    #[test]
    fn picks_within_the_fragment() {
        let images = index(&[0, 1000, 2500, 4000]);
        // Fragment at offset 2000 of the recording, 2 s long, at 10_000.
        let w = Window {
            start_ms: 10_000,
            duration_ms: 2000,
            offset_ms: 2000,
        };
        let pick = |t| images.pick(ImageFormat::Png, t, w).cloned();
        assert_eq!(
            pick(10_100),
            Some(Bytes::from("2500")),
            "earliest of the fragment"
        );
        assert_eq!(pick(11_000), Some(Bytes::from("2500")));
        assert_eq!(images.pick(ImageFormat::Jpeg, 11_000, w), None);
        let absolute = index(&[1_600_000_000_000, 1_600_000_001_000]);
        let w = Window {
            start_ms: 1_600_000_000_000,
            duration_ms: 2000,
            offset_ms: 0,
        };
        let got = absolute
            .pick(ImageFormat::Png, 1_600_000_001_500, w)
            .unwrap();
        assert_eq!(got, &Bytes::from("1600000001000"));
    }
}
