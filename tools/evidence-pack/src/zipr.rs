//! A defensive ZIP reader for `verify`: it reads the central directory, refuses anything an
//! evidence pack never is (multi-disk, ZIP64, encryption, methods other than stored and
//! deflate), names that could escape a directory, duplicate names, overlapping entries and
//! zip bombs (caps on entry count, per-entry and total size, and compression ratio), then
//! streams entries through inflate without ever producing more than the declared size.
//!
//!
//! Every byte of a pack is accounted for, so that a single changed byte anywhere is found:
//! entries are contiguous from offset 0 up to the central directory; each local header must
//! repeat its central-directory record (version, flags, method, time, CRC, sizes, name); and
//! entries whose remaining metadata (extra fields, comments, Unix mode 0644, version made
//! by) differs from what our writer fixes are listed in `noncanonical` — a pack re-zipped
//! by another tool still verifies by content, with a warning that it is not the built file.
//!
//! Structural problems are `Error::Archive` (exit 2: "not a pack we can judge"). A damaged
//! entry (CRC, inflate error, wrong size) is an [`EntryError`] so `verify` can name it as
//! tampering.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub(crate) const MAX_ENTRIES: usize = 100_000;
pub(crate) const MAX_ENTRY_SIZE: u64 = 2 * 1024 * 1024 * 1024;
pub(crate) const MAX_TOTAL_SIZE: u64 = 8 * 1024 * 1024 * 1024;
/// Above 1 MiB, an entry may not inflate more than this many times its compressed size.
/// Real JSON/SBOMs compress 5–50×; bombs compress 1000× and more.
pub(crate) const MAX_RATIO: u64 = 500;

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    pub(crate) size: u64,
    header_offset: u64,
    data_offset: u64,
    /// Central-directory bytes 6..28 (version needed … uncompressed size), which the local
    /// header repeats at 4..26.
    repeated: [u8; 22],
}

/// An entry read back intact: (sha256 hex, size, its bytes when asked to keep them).
pub(crate) type EntryRead = (String, u64, Option<Vec<u8>>);

pub(crate) struct ZipReader {
    file: File,
    label: String,
    pub(crate) entries: Vec<Entry>,
    /// Entries whose zip metadata is not what evidence-pack writes (see the module docs).
    pub(crate) noncanonical: Vec<String>,
}

/// Why one entry could not be read back intact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub(crate) struct EntryError {
    pub(crate) name: String,
    pub(crate) message: String,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

/// A safe relative path: no absolute paths, drive letters, backslashes, `.`/`..`/empty
/// segments, or control characters.
pub(crate) fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 1024
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.chars().any(char::is_control)
        && name.as_bytes().get(1) != Some(&b':')
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

impl ZipReader {
    pub(crate) fn open(path: &Path) -> Result<ZipReader> {
        let label = path.display().to_string();
        // Checked before opening: opening a FIFO blocks until a writer comes, and a zip is
        // read by seeking, which a FIFO cannot do.
        let meta = std::fs::metadata(path).map_err(|e| Error::io(&label, e))?;
        if !meta.is_file() {
            return Err(Error::archive(
                &label,
                if meta.is_dir() {
                    "is a directory, not an evidence zip"
                } else {
                    "is not a regular file (a FIFO, socket or device): a zip is read by seeking; save it to a file first"
                },
            ));
        }
        let mut file = File::open(path).map_err(|e| Error::io(&label, e))?;
        let len = file.metadata().map_err(|e| Error::io(&label, e))?.len();
        let not_zip = |why: &str| Error::archive(&label, format!("not a zip file ({why})"));
        if len < 22 {
            return Err(not_zip("too short"));
        }
        let tail_len = len.min(22 + 65_535);
        let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
        file.seek(SeekFrom::Start(len - tail_len))
            .map_err(|e| Error::io(&label, e))?;
        file.read_exact(&mut tail)
            .map_err(|e| Error::io(&label, e))?;
        // The end record is the last one whose comment runs exactly to the end of the file.
        let eocd = (0..=tail.len() - 22).rev().find(|&i| {
            u32_at(&tail, i) == Some(0x0605_4b50)
                && u16_at(&tail, i + 20).map(usize::from) == Some(tail.len() - i - 22)
        });
        let Some(eocd) = eocd else {
            return Err(not_zip("no end-of-central-directory record"));
        };
        let e = &tail[eocd..];
        let field16 = |i| u16_at(e, i).unwrap_or(0);
        let field32 = |i| u32_at(e, i).unwrap_or(0);
        if field16(4) != 0 || field16(6) != 0 || field16(8) != field16(10) {
            return Err(Error::archive(
                &label,
                "multi-disk zip archives are not read",
            ));
        }
        let count = usize::from(field16(10));
        let cd_size = u64::from(field32(12));
        let cd_offset = u64::from(field32(16));
        if field16(10) == 0xFFFF || field32(12) == 0xFFFF_FFFF || field32(16) == 0xFFFF_FFFF {
            return Err(Error::archive(
                &label,
                "ZIP64 archives are not read (an evidence pack is never that large)",
            ));
        }
        if count > MAX_ENTRIES {
            return Err(Error::archive(
                &label,
                format!("{count} entries (more than {MAX_ENTRIES}); refusing it"),
            ));
        }
        let eocd_pos = len - tail_len + eocd as u64;
        if cd_offset + cd_size > eocd_pos {
            return Err(not_zip("the central directory lies outside the file"));
        }
        let mut cd = vec![0u8; usize::try_from(cd_size).unwrap_or(0)];
        file.seek(SeekFrom::Start(cd_offset))
            .map_err(|e| Error::io(&label, e))?;
        file.read_exact(&mut cd).map_err(|e| Error::io(&label, e))?;

        let mut entries: Vec<Entry> = Vec::with_capacity(count);
        let mut names = std::collections::HashSet::new();
        let mut noncanonical = Vec::new();
        let mut total = 0u64;
        let mut i = 0usize;
        for _ in 0..count {
            let bad = || not_zip("a central directory entry is truncated or malformed");
            if u32_at(&cd, i) != Some(0x0201_4b50) {
                return Err(bad());
            }
            let flags = u16_at(&cd, i + 8).ok_or_else(bad)?;
            let method = u16_at(&cd, i + 10).ok_or_else(bad)?;
            let crc = u32_at(&cd, i + 16).ok_or_else(bad)?;
            let compressed = u64::from(u32_at(&cd, i + 20).ok_or_else(bad)?);
            let size = u64::from(u32_at(&cd, i + 24).ok_or_else(bad)?);
            let name_len = usize::from(u16_at(&cd, i + 28).ok_or_else(bad)?);
            let extra_len = usize::from(u16_at(&cd, i + 30).ok_or_else(bad)?);
            let comment_len = usize::from(u16_at(&cd, i + 32).ok_or_else(bad)?);
            let header_offset = u64::from(u32_at(&cd, i + 42).ok_or_else(bad)?);
            let name_bytes = cd.get(i + 46..i + 46 + name_len).ok_or_else(bad)?;
            let mut repeated = [0u8; 22];
            repeated.copy_from_slice(cd.get(i + 6..i + 28).ok_or_else(bad)?);
            let made_by = u16_at(&cd, i + 4).ok_or_else(bad)?;
            let disk_and_internal = (
                u16_at(&cd, i + 34).ok_or_else(bad)?,
                u16_at(&cd, i + 36).ok_or_else(bad)?,
            );
            let external = u32_at(&cd, i + 38).ok_or_else(bad)?;
            let ours = made_by == crate::zipw::VERSION_MADE_BY
                && extra_len == 0
                && comment_len == 0
                && disk_and_internal == (0, 0)
                && external == crate::zipw::MODE_FILE << 16;
            i += 46 + name_len + extra_len + comment_len;
            if i > cd.len() {
                return Err(bad());
            }
            let name = String::from_utf8(name_bytes.to_vec())
                .map_err(|_| Error::archive(&label, "an entry name is not UTF-8"))?;
            if !safe_name(&name) {
                return Err(Error::archive(
                    &label,
                    format!(
                        "unsafe entry name {name:?} (absolute, `..`, backslash or control characters)"
                    ),
                ));
            }
            if !ours {
                noncanonical.push(name.clone());
            }
            if !names.insert(name.clone()) {
                return Err(Error::archive(
                    &label,
                    format!("duplicate entry name {name:?}"),
                ));
            }
            if flags & 1 != 0 {
                return Err(Error::archive(
                    &label,
                    format!("{name}: encrypted entries are not read"),
                ));
            }
            if method != 0 && method != 8 {
                return Err(Error::archive(
                    &label,
                    format!(
                        "{name}: compression method {method} is not read (only stored and deflate)"
                    ),
                ));
            }
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || header_offset == 0xFFFF_FFFF {
                return Err(Error::archive(
                    &label,
                    "ZIP64 archives are not read (an evidence pack is never that large)",
                ));
            }
            if size > MAX_ENTRY_SIZE {
                return Err(Error::archive(
                    &label,
                    format!(
                        "{name}: declares {size} bytes (more than {MAX_ENTRY_SIZE}); refusing a possible zip bomb"
                    ),
                ));
            }
            if method == 0 && compressed != size {
                return Err(Error::archive(
                    &label,
                    format!("{name}: stored entry with different sizes"),
                ));
            }
            if size > 1024 * 1024 && size / compressed.max(1) > MAX_RATIO {
                return Err(Error::archive(
                    &label,
                    format!(
                        "{name}: compression ratio {}:1 exceeds {MAX_RATIO}:1; refusing a possible zip bomb",
                        size / compressed.max(1)
                    ),
                ));
            }
            total += size;
            if total > MAX_TOTAL_SIZE {
                return Err(Error::archive(
                    &label,
                    format!(
                        "entries add up to more than {MAX_TOTAL_SIZE} bytes; refusing a possible zip bomb"
                    ),
                ));
            }
            entries.push(Entry {
                name,
                method,
                crc,
                compressed,
                size,
                header_offset,
                data_offset: 0,
                repeated,
            });
        }
        // Local headers: where each entry's data starts; entries may not overlap (the
        // "overlapping files" zip bomb) nor run into the central directory.
        let mut order: Vec<usize> = (0..entries.len()).collect();
        order.sort_by_key(|&k| entries[k].header_offset);
        let mut next_free = 0u64;
        for k in order {
            let e = &mut entries[k];
            if e.header_offset > next_free {
                return Err(Error::archive(
                    &label,
                    format!("{}: unaccounted bytes before its local header", e.name),
                ));
            }
            if e.header_offset < next_free {
                return Err(Error::archive(
                    &label,
                    format!(
                        "{}: overlaps another entry; refusing a possible zip bomb",
                        e.name
                    ),
                ));
            }
            let mut h = [0u8; 30];
            file.seek(SeekFrom::Start(e.header_offset))
                .map_err(|err| Error::io(&label, err))?;
            file.read_exact(&mut h)
                .map_err(|_| not_zip("a local header is truncated"))?;
            if u32_at(&h, 0) != Some(0x0403_4b50) {
                return Err(not_zip("a local header is missing"));
            }
            if h[4..26] != e.repeated {
                return Err(Error::archive(
                    &label,
                    format!(
                        "{}: the local header disagrees with the central directory",
                        e.name
                    ),
                ));
            }
            let n = u64::from(u16_at(&h, 26).unwrap_or(0));
            let x = u64::from(u16_at(&h, 28).unwrap_or(0));
            let mut local_name = vec![0u8; usize::try_from(n).unwrap_or(0)];
            file.read_exact(&mut local_name)
                .map_err(|_| not_zip("a local header is truncated"))?;
            if local_name != e.name.as_bytes() {
                return Err(Error::archive(
                    &label,
                    format!(
                        "{}: the local header names {:?}",
                        e.name,
                        String::from_utf8_lossy(&local_name)
                    ),
                ));
            }
            e.data_offset = e.header_offset + 30 + n + x;
            next_free = e.data_offset + e.compressed;
            if next_free > cd_offset {
                return Err(Error::archive(
                    &label,
                    format!("{}: its data runs into the central directory", e.name),
                ));
            }
        }
        if next_free != cd_offset || cd_offset + cd_size != eocd_pos || tail.len() - eocd != 22 {
            return Err(Error::archive(
                &label,
                "unaccounted bytes between the entries, the central directory and its end record",
            ));
        }
        Ok(ZipReader {
            file,
            label,
            entries,
            noncanonical,
        })
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Streams an entry: SHA-256 and size of what it inflates to, and its bytes when
    /// `keep` is at least its size. Never produces more than the declared size.
    pub(crate) fn read_entry(
        &mut self,
        entry: &Entry,
        keep: u64,
    ) -> Result<std::result::Result<EntryRead, EntryError>> {
        let fail = |m: String| {
            Ok(Err(EntryError {
                name: entry.name.clone(),
                message: m,
            }))
        };
        self.file
            .seek(SeekFrom::Start(entry.data_offset))
            .map_err(|e| Error::io(&self.label, e))?;
        let raw = (&mut self.file).take(entry.compressed);
        let mut reader: Box<dyn Read + '_> = if entry.method == 8 {
            Box::new(flate2::read::DeflateDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let mut limited = reader.by_ref().take(entry.size + 1);
        let mut hasher = Sha256::new();
        let mut crc = flate2::Crc::new();
        let mut kept = (entry.size <= keep)
            .then(|| Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0)));
        let mut buf = vec![0u8; 256 * 1024];
        let mut n_total = 0u64;
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return fail(format!("cannot be inflated ({e}): the entry was altered")),
            };
            n_total += n as u64;
            if n_total > entry.size {
                return fail(format!(
                    "inflates to more than its declared {} bytes: the entry was altered",
                    entry.size
                ));
            }
            hasher.update(&buf[..n]);
            crc.update(&buf[..n]);
            if let Some(k) = kept.as_mut() {
                k.extend_from_slice(&buf[..n]);
            }
        }
        if n_total != entry.size {
            return fail(format!(
                "inflates to {n_total} bytes, not the declared {}: the entry was altered",
                entry.size
            ));
        }
        if crc.sum() != entry.crc {
            return fail("CRC-32 mismatch: the entry was altered".to_owned());
        }
        Ok(Ok((
            gatehouse::hash::hex(&hasher.finalize()),
            n_total,
            kept,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a\\b",
            "C:x",
            "./a",
            "a/",
            "a\nb",
        ] {
            assert!(!safe_name(bad), "{bad:?}");
        }
        for good in [
            "manifest.json",
            "reports/a-b.json",
            "artifacts/sbom/x.cdx.json",
            "a..b",
        ] {
            assert!(safe_name(good), "{good:?}");
        }
    }

    /// Whatever single byte of a pack changes, reading it fails: structurally, or when the
    /// entry is read back. (A changed CRC in a local header once went unnoticed.)
    #[test]
    fn every_single_byte_of_a_pack_is_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.zip");
        let f = File::create(&p).expect("create");
        let mut w = crate::zipw::ZipWriter::new(f, 1_800_000_000, crate::zipw::Method::Fast);
        w.add("a.txt", &mut &b"hello hello hello"[..]).expect("add");
        w.add("b/c.json", &mut &b"{\"k\": [1, 2, 3]}"[..])
            .expect("add");
        w.finish().expect("finish");
        let good = std::fs::read(&p).expect("read");
        let undetected: Vec<usize> = (0..good.len())
            .filter(|&i| {
                let mut bad = good.clone();
                bad[i] ^= 0x01;
                let q = dir.path().join("bad.zip");
                std::fs::write(&q, &bad).expect("write");
                let Ok(mut r) = ZipReader::open(&q) else {
                    return false;
                };
                // Metadata-only changes are reported as a `pack.canonical` warning.
                if !r.noncanonical.is_empty() {
                    return false;
                }
                let entries = r.entries.clone();
                entries
                    .iter()
                    .all(|e| matches!(r.read_entry(e, 0), Ok(Ok(_))))
            })
            .collect();
        assert!(
            undetected.is_empty(),
            "byte changes not detected at offsets {undetected:?} of {}",
            good.len()
        );
    }

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.zip");
        let f = File::create(&p).expect("create");
        let mut w = crate::zipw::ZipWriter::new(f, 1_800_000_000, crate::zipw::Method::Fast);
        w.add("a.txt", &mut &b"hello hello hello"[..]).expect("add");
        w.add("b.txt", &mut &b""[..]).expect("add");
        w.finish().expect("finish");
        let mut r = ZipReader::open(&p).expect("opens");
        assert_eq!(r.entries.len(), 2);
        let e = r.entry("a.txt").expect("a").clone();
        let (sha, n, bytes) = r.read_entry(&e, 1024).expect("io").expect("intact");
        assert_eq!(n, 17);
        assert_eq!(sha, gatehouse::hash::sha256_hex(b"hello hello hello"));
        assert_eq!(bytes.as_deref(), Some(&b"hello hello hello"[..]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), flip in 0usize..400) {
            let dir = tempfile::tempdir().expect("tmp");
            let p = dir.path().join("x.zip");
            std::fs::write(&p, &bytes).expect("write");
            let _ = ZipReader::open(&p);
            // And a valid zip with one flipped byte.
            let f = File::create(&p).expect("create");
            let mut w = crate::zipw::ZipWriter::new(f, 1_800_000_000, crate::zipw::Method::Fast);
            w.add("a.json", &mut &b"{\"a\": [1, 2, 3, 4, 5]}"[..]).expect("add");
            w.finish().expect("finish");
            let mut z = std::fs::read(&p).expect("read");
            let i = flip % z.len();
            z[i] ^= 0x5a;
            std::fs::write(&p, &z).expect("write");
            if let Ok(mut r) = ZipReader::open(&p) {
                for e in r.entries.clone() {
                    let _ = r.read_entry(&e, 1 << 20);
                }
            }
        }
    }
}
