//! The decoder limits (`kvs_mkv::Limits`) as flags, shared by every command
//! that decodes: `--max-element-size`, `--max-chunk-size`, `--max-depth`,
//! `--max-tags`, `--max-tracks`. A value is checked where it is parsed:
//! anything but a whole number of at least 1 (sizes with an optional KiB,
//! MiB or GiB suffix) is bad usage, exit status 2, naming the flag.

use kvs_mkv::Limits;

/// The limits a command decodes with; each unset flag keeps the library's
/// default.
#[derive(clap::Args, Debug, Clone, Copy)]
#[command(next_help_heading = "Decoder limits")]
pub struct LimitArgs {
    #[command(flatten)]
    walk: WalkLimitArgs,
    /// Largest element read into memory whole (a frame, a tag value,
    /// CodecPrivate), in bytes; a KiB, MiB or GiB suffix multiplies by
    /// 1024, 1024², 1024³. Default 64MiB.
    #[arg(long, value_name = "BYTES", value_parser = bytes, allow_negative_numbers = true)]
    max_element_size: Option<u64>,
    /// Most SimpleTags in one chunk. Default 4096.
    #[arg(long, value_name = "N", value_parser = count, allow_negative_numbers = true)]
    max_tags: Option<usize>,
    /// Most TrackEntries in one chunk. Default 128.
    #[arg(long, value_name = "N", value_parser = count, allow_negative_numbers = true)]
    max_tracks: Option<usize>,
}

/// The limits that bound walking the elements alone (what `dump` does: it
/// reads no payload whole and counts neither tags nor tracks, so it takes
/// no flag it would ignore).
#[derive(clap::Args, Debug, Clone, Copy)]
#[command(next_help_heading = "Decoder limits")]
pub struct WalkLimitArgs {
    /// Largest chunk (from its EBML header), in bytes, with the same
    /// suffixes; also the largest element passed over unread. Default
    /// 256MiB.
    #[arg(long, value_name = "BYTES", value_parser = bytes, allow_negative_numbers = true)]
    max_chunk_size: Option<u64>,
    /// Deepest nesting of master elements. Default 32.
    #[arg(long, value_name = "N", value_parser = count, allow_negative_numbers = true)]
    max_depth: Option<usize>,
}

impl LimitArgs {
    /// The library's defaults with the flags given set.
    pub fn limits(&self) -> Limits {
        let mut limits = self.walk.limits();
        if let Some(v) = self.max_element_size {
            limits.max_element_size = v;
        }
        if let Some(v) = self.max_tags {
            limits.max_tags_per_chunk = v;
        }
        if let Some(v) = self.max_tracks {
            limits.max_tracks = v;
        }
        limits
    }
}

impl WalkLimitArgs {
    /// The library's defaults with the flags given set.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(v) = self.max_chunk_size {
            limits.max_chunk_size = v;
        }
        if let Some(v) = self.max_depth {
            limits.max_depth = v;
        }
        limits
    }
}

/// A whole number of at least 1 (no sign): 0 would refuse every input.
fn positive(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a whole number of at least 1".into());
    }
    match s.parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("too large (the most is {})", u64::MAX)),
    }
}

/// A size in bytes: a whole number of at least 1, optionally followed by
/// KiB, MiB or GiB.
fn bytes(s: &str) -> Result<u64, String> {
    let (digits, unit) = [("KiB", 1u64 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30)]
        .into_iter()
        .find_map(|(suffix, unit)| s.strip_suffix(suffix).map(|d| (d, unit)))
        .unwrap_or((s, 1));
    positive(digits)
        .map_err(|e| format!("{e} (bytes, optionally with a KiB, MiB or GiB suffix)"))?
        .checked_mul(unit)
        .ok_or_else(|| format!("too large (the most is {} bytes)", u64::MAX))
}

/// A count: a whole number of at least 1.
fn count(s: &str) -> Result<usize, String> {
    let v = positive(s)?;
    usize::try_from(v).map_err(|_| format!("too large (the most is {})", usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts() {
        assert_eq!(bytes("1"), Ok(1));
        assert_eq!(bytes("4KiB"), Ok(4096));
        assert_eq!(bytes("3MiB"), Ok(3 << 20));
        assert_eq!(bytes("2GiB"), Ok(2 << 30));
        assert_eq!(bytes(&u64::MAX.to_string()), Ok(u64::MAX));
        for bad in [
            "", "0", "0KiB", "-1", "+1", "1.5", "KiB", "1 KiB", "1kb", "1KB",
        ] {
            assert!(bytes(bad).is_err(), "{bad:?}");
        }
        assert!(bytes("18446744073709551616").is_err());
        assert!(bytes("17179869184GiB").is_err());
        assert_eq!(count("32"), Ok(32));
        assert!(count("0").is_err() && count("-3").is_err() && count("1KiB").is_err());
    }
}
