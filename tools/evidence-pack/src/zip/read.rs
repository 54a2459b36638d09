//! A defensive ZIP reader for `verify`: it reads the central directory (ZIP64 too, as the
//! writer makes it for entries near 4 GiB), refuses anything an evidence pack never is
//! (multi-disk, encryption, methods other than stored and deflate), names that could escape
//! a directory, duplicate names, overlapping entries and more than [`MAX_ENTRIES`] entries,
//! then streams entries through inflate without ever producing more than the declared size.
//!
//! Zip bombs: an entry is inflated only when [`Entry::admit`] says so — when the signed
//! manifest vouches for its size (whatever `build` wrote, however large or compressible,
//! verifies), or, for anything the manifest does not vouch for, when it stays under
//! [`UNVOUCHED`] (per-entry size and compression ratio; `verify` caps their total).
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
use crate::zip::write::{MODE_FILE, VERSION_MADE_BY, VERSION_NEEDED_ZIP64, ZIP64_EXTRA_ID};

pub(crate) const MAX_ENTRIES: usize = 100_000;

/// Caps on inflating an entry nothing vouches for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) max_entry_size: u64,
    /// The declared sizes of all such entries together.
    pub(crate) max_total_size: u64,
    /// Above `ratio_from` bytes, an entry may not inflate more than this many times its
    /// compressed size. Real JSON/SBOMs compress 5–50×; bombs compress 1000× and more.
    pub(crate) max_ratio: u64,
    pub(crate) ratio_from: u64,
}

/// The caps for entries the signed manifest does not vouch for.
pub(crate) const UNVOUCHED: Limits = Limits {
    max_entry_size: 2 * 1024 * 1024 * 1024,
    max_total_size: 8 * 1024 * 1024 * 1024,
    max_ratio: 500,
    ratio_from: 1024 * 1024,
};

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

impl Entry {
    /// Whether inflating this entry is safe. `vouched`: the size the signed manifest gives
    /// it. An entry at exactly that size is inflated whatever its size or ratio (the signer
    /// vouches for it, and inflating stops at the declared size); an entry declaring another
    /// size was altered; an entry nobody vouches for must stay under `limits`.
    pub(crate) fn admit(
        &self,
        vouched: Option<u64>,
        limits: &Limits,
    ) -> std::result::Result<(), String> {
        match vouched {
            Some(n) if n == self.size => Ok(()),
            Some(n) => Err(format!(
                "declares {} bytes where the signed manifest says {n}: the entry was altered (not inflated)",
                self.size
            )),
            None if self.size > limits.max_entry_size => Err(format!(
                "declares {} bytes (more than {}) and the signed manifest does not vouch for it; refusing a possible zip bomb",
                self.size, limits.max_entry_size
            )),
            None if self.size > limits.ratio_from
                && self.size / self.compressed.max(1) > limits.max_ratio =>
            {
                Err(format!(
                    "compression ratio {}:1 exceeds {}:1 and the signed manifest does not vouch for it; refusing a possible zip bomb",
                    self.size / self.compressed.max(1),
                    limits.max_ratio
                ))
            }
            None => Ok(()),
        }
    }
}

fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(i..i + 8)?.try_into().ok()?))
}

/// The data of the ZIP64 extended information field (id 1) in an extra field, if any.
fn zip64_extra(extra: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    while i + 4 <= extra.len() {
        let id = u16_at(extra, i)?;
        let len = usize::from(u16_at(extra, i + 2)?);
        let data = extra.get(i + 4..i + 4 + len)?;
        if id == ZIP64_EXTRA_ID {
            return Some(data);
        }
        i += 4 + len;
    }
    None
}

fn read_at(file: &mut File, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buf)
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

/// "not a zip file (why)": the archive is structurally broken.
fn not_zip(label: &str, why: &str) -> Error {
    Error::archive(label, format!("not a zip file ({why})"))
}

fn unaccounted(label: &str) -> Error {
    Error::archive(
        label,
        "unaccounted bytes between the entries, the central directory and its end record",
    )
}

fn multi_disk(label: &str) -> Error {
    Error::archive(label, "multi-disk zip archives are not read")
}

/// The file, checked to be a regular file before it is opened: opening a FIFO blocks until
/// a writer comes, and a zip is read by seeking, which a FIFO cannot do.
fn open_regular(path: &Path, label: &str) -> Result<File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(label, e))?;
    if !meta.is_file() {
        return Err(Error::archive(
            label,
            if meta.is_dir() {
                "is a directory, not an evidence zip"
            } else {
                "is not a regular file (a FIFO, socket or device): a zip is read by seeking; save it to a file first"
            },
        ));
    }
    File::open(path).map_err(|e| Error::io(label, e))
}

/// The classic end-of-central-directory record: its 22 bytes, where it starts, and the
/// length of the comment after it.
struct EndRecord {
    fields: [u8; 22],
    at: u64,
    comment_len: usize,
}

impl EndRecord {
    fn u16(&self, i: usize) -> u16 {
        u16_at(&self.fields, i).unwrap_or(0)
    }

    fn u32(&self, i: usize) -> u32 {
        u32_at(&self.fields, i).unwrap_or(0)
    }

    /// The end record is the last one whose comment runs exactly to the end of the file.
    fn find(file: &mut File, label: &str) -> Result<EndRecord> {
        let len = file.metadata().map_err(|e| Error::io(label, e))?.len();
        if len < 22 {
            return Err(not_zip(label, "too short"));
        }
        let tail_len = len.min(22 + 65_535);
        let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
        file.seek(SeekFrom::Start(len - tail_len))
            .map_err(|e| Error::io(label, e))?;
        file.read_exact(&mut tail)
            .map_err(|e| Error::io(label, e))?;
        let eocd = (0..=tail.len() - 22).rev().find(|&i| {
            u32_at(&tail, i) == Some(0x0605_4b50)
                && u16_at(&tail, i + 20).map(usize::from) == Some(tail.len() - i - 22)
        });
        let Some(eocd) = eocd else {
            return Err(not_zip(label, "no end-of-central-directory record"));
        };
        let mut fields = [0u8; 22];
        fields.copy_from_slice(&tail[eocd..eocd + 22]);
        let end = EndRecord {
            fields,
            at: len - tail_len + eocd as u64,
            comment_len: tail.len() - eocd - 22,
        };
        if end.u16(4) != 0 || end.u16(6) != 0 || end.u16(8) != end.u16(10) {
            return Err(multi_disk(label));
        }
        Ok(end)
    }
}

/// Where the central directory is, and where it must end (at the ZIP64 end record, or at
/// the classic end record).
struct Directory {
    count: u64,
    size: u64,
    offset: u64,
    end: u64,
}

impl Directory {
    /// From the end record, or from the ZIP64 end record when a locator right before the
    /// end record points at one; a ZIP64 end record not as our writer makes it is listed in
    /// `noncanonical`.
    fn locate(
        file: &mut File,
        label: &str,
        end: &EndRecord,
        noncanonical: &mut Vec<String>,
    ) -> Result<Directory> {
        let mut locator = [0u8; 20];
        let zip64 = end.at >= 20
            && read_at(file, end.at - 20, &mut locator).is_ok()
            && u32_at(&locator, 0) == Some(0x0706_4b50);
        if zip64 {
            return Directory::zip64(file, label, end, &locator, noncanonical);
        }
        if end.u16(10) == 0xFFFF || end.u32(12) == 0xFFFF_FFFF || end.u32(16) == 0xFFFF_FFFF {
            return Err(not_zip(
                label,
                "the end record points to a ZIP64 end record that is not there",
            ));
        }
        Ok(Directory {
            count: u64::from(end.u16(10)),
            size: u64::from(end.u32(12)),
            offset: u64::from(end.u32(16)),
            end: end.at,
        })
    }

    /// ZIP64: the locator points at the ZIP64 end record, which must end where the locator
    /// starts (so no byte goes unaccounted for).
    fn zip64(
        file: &mut File,
        label: &str,
        end: &EndRecord,
        locator: &[u8; 20],
        noncanonical: &mut Vec<String>,
    ) -> Result<Directory> {
        let locator_pos = end.at - 20;
        if u32_at(locator, 4) != Some(0) || u32_at(locator, 16) != Some(1) {
            return Err(multi_disk(label));
        }
        let at = u64_at(locator, 8).unwrap_or(u64::MAX);
        if at.checked_add(56) != Some(locator_pos) {
            return Err(not_zip(
                label,
                "the ZIP64 end record is not right before its locator",
            ));
        }
        let mut r = [0u8; 56];
        read_at(file, at, &mut r).map_err(|e| Error::io(label, e))?;
        let f32 = |i| u32_at(&r, i).unwrap_or(u32::MAX);
        let f64 = |i| u64_at(&r, i).unwrap_or(u64::MAX);
        if f32(0) != 0x0606_4b50 || f64(4) != 44 {
            return Err(not_zip(label, "the ZIP64 end record is malformed"));
        }
        if f32(16) != 0 || f32(20) != 0 || f64(24) != f64(32) {
            return Err(multi_disk(label));
        }
        let (count, cd_size, cd_offset) = (f64(32), f64(40), f64(48));
        // Each classic field is saturated or says the same as the ZIP64 record.
        let agrees = |classic: u64, sat: u64, full: u64| classic == sat || classic == full;
        if !agrees(u64::from(end.u16(8)), 0xFFFF, count)
            || !agrees(u64::from(end.u16(10)), 0xFFFF, count)
            || !agrees(u64::from(end.u32(12)), 0xFFFF_FFFF, cd_size)
            || !agrees(u64::from(end.u32(16)), 0xFFFF_FFFF, cd_offset)
        {
            return Err(not_zip(
                label,
                "the end record disagrees with the ZIP64 end record",
            ));
        }
        if u16_at(&r, 12) != Some(VERSION_MADE_BY)
            || u16_at(&r, 14) != Some(VERSION_NEEDED_ZIP64)
            || end.u16(8) != 0xFFFF
            || end.u32(12) != 0xFFFF_FFFF
            || end.u32(16) != 0xFFFF_FFFF
        {
            noncanonical.push("(the ZIP64 end record)".to_owned());
        }
        Ok(Directory {
            count,
            size: cd_size,
            offset: cd_offset,
            end: at,
        })
    }

    /// The central directory's bytes, once its count and place are checked.
    fn read(&self, file: &mut File, label: &str) -> Result<Vec<u8>> {
        if self.count > MAX_ENTRIES as u64 {
            return Err(Error::archive(
                label,
                format!(
                    "{} entries (more than {MAX_ENTRIES}); refusing it",
                    self.count
                ),
            ));
        }
        if self.offset.checked_add(self.size) != Some(self.end) {
            if self.offset.saturating_add(self.size) > self.end {
                return Err(not_zip(
                    label,
                    "the central directory lies outside the file",
                ));
            }
            return Err(unaccounted(label));
        }
        let mut cd = vec![0u8; usize::try_from(self.size).unwrap_or(0)];
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| Error::io(label, e))?;
        file.read_exact(&mut cd).map_err(|e| Error::io(label, e))?;
        Ok(cd)
    }
}

/// Every central-directory record: names safe and unique, no encryption, stored or
/// deflate only, ZIP64 sizes and offsets from their extra field. Entries whose metadata is
/// not what our writer makes are listed in `noncanonical`.
fn parse_directory(
    cd: &[u8],
    count: u64,
    label: &str,
    noncanonical: &mut Vec<String>,
) -> Result<Vec<Entry>> {
    let count = usize::try_from(count).unwrap_or(MAX_ENTRIES);
    let mut entries: Vec<Entry> = Vec::with_capacity(count);
    let mut names = std::collections::HashSet::new();
    let mut i = 0usize;
    for _ in 0..count {
        let (entry, ours) = parse_record(cd, &mut i, label)?;
        let name = entry.name.clone();
        if !ours {
            noncanonical.push(name.clone());
        }
        if !names.insert(name.clone()) {
            return Err(Error::archive(
                label,
                format!("duplicate entry name {name:?}"),
            ));
        }
        if entry.flags & 1 != 0 {
            return Err(Error::archive(
                label,
                format!("{name}: encrypted entries are not read"),
            ));
        }
        if entry.method != 0 && entry.method != 8 {
            return Err(Error::archive(
                label,
                format!(
                    "{name}: compression method {} is not read (only stored and deflate)",
                    entry.method
                ),
            ));
        }
        if entry.method == 0 && entry.compressed != entry.size {
            return Err(Error::archive(
                label,
                format!("{name}: stored entry with different sizes"),
            ));
        }
        entries.push(entry.into_entry());
    }
    Ok(entries)
}

/// One central-directory record, as read.
struct Record {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    header_offset: u64,
    repeated: [u8; 22],
}

impl Record {
    fn into_entry(self) -> Entry {
        Entry {
            name: self.name,
            method: self.method,
            crc: self.crc,
            compressed: self.compressed,
            size: self.size,
            header_offset: self.header_offset,
            data_offset: 0,
            repeated: self.repeated,
        }
    }
}

/// The record at `*i` (advanced past it), with a safe UTF-8 name, and whether its metadata
/// is what our writer makes.
fn parse_record(cd: &[u8], i: &mut usize, label: &str) -> Result<(Record, bool)> {
    let at = *i;
    let bad = || not_zip(label, "a central directory entry is truncated or malformed");
    if u32_at(cd, at) != Some(0x0201_4b50) {
        return Err(bad());
    }
    let flags = u16_at(cd, at + 8).ok_or_else(bad)?;
    let method = u16_at(cd, at + 10).ok_or_else(bad)?;
    let crc = u32_at(cd, at + 16).ok_or_else(bad)?;
    let compressed = u64::from(u32_at(cd, at + 20).ok_or_else(bad)?);
    let size = u64::from(u32_at(cd, at + 24).ok_or_else(bad)?);
    let name_len = usize::from(u16_at(cd, at + 28).ok_or_else(bad)?);
    let extra_len = usize::from(u16_at(cd, at + 30).ok_or_else(bad)?);
    let comment_len = usize::from(u16_at(cd, at + 32).ok_or_else(bad)?);
    let header_offset = u64::from(u32_at(cd, at + 42).ok_or_else(bad)?);
    let name_bytes = cd.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
    let extra = cd
        .get(at + 46 + name_len..at + 46 + name_len + extra_len)
        .ok_or_else(bad)?;
    let mut fields = [size, compressed, header_offset];
    let ours_zip64 = zip64_fields(extra, &mut fields, label)?;
    let [size, compressed, header_offset] = fields;
    let mut repeated = [0u8; 22];
    repeated.copy_from_slice(cd.get(at + 6..at + 28).ok_or_else(bad)?);
    let made_by = u16_at(cd, at + 4).ok_or_else(bad)?;
    let disk_and_internal = (
        u16_at(cd, at + 34).ok_or_else(bad)?,
        u16_at(cd, at + 36).ok_or_else(bad)?,
    );
    let external = u32_at(cd, at + 38).ok_or_else(bad)?;
    let ours = made_by == VERSION_MADE_BY
        && (extra_len == 0 || ours_zip64)
        && comment_len == 0
        && disk_and_internal == (0, 0)
        && external == MODE_FILE << 16;
    *i = at + 46 + name_len + extra_len + comment_len;
    if *i > cd.len() {
        return Err(bad());
    }
    let name = String::from_utf8(name_bytes.to_vec())
        .map_err(|_| Error::archive(label, "an entry name is not UTF-8"))?;
    if !safe_name(&name) {
        return Err(Error::archive(
            label,
            format!("unsafe entry name {name:?} (absolute, `..`, backslash or control characters)"),
        ));
    }
    let record = Record {
        name,
        flags,
        method,
        crc,
        compressed,
        size,
        header_offset,
        repeated,
    };
    Ok((record, ours))
}

/// ZIP64: each saturated field of (size, compressed size, local header offset) takes its
/// value from the ZIP64 extra field, in this order. Returns whether the extra field is
/// exactly the one our writer makes (all three saturated, nothing else).
fn zip64_fields(extra: &[u8], fields: &mut [u64; 3], label: &str) -> Result<bool> {
    let saturated = fields.map(|v| v == 0xFFFF_FFFF);
    let ours_zip64 = saturated == [true; 3]
        && extra.len() == 28
        && u16_at(extra, 0) == Some(ZIP64_EXTRA_ID)
        && u16_at(extra, 2) == Some(24);
    if saturated.contains(&true) {
        let data = zip64_extra(extra).ok_or_else(|| {
            not_zip(
                label,
                "a ZIP64 size or offset without its ZIP64 extra field",
            )
        })?;
        let mut at = 0;
        for (field, sat) in fields.iter_mut().zip(saturated) {
            if sat {
                *field = u64_at(data, at)
                    .ok_or_else(|| not_zip(label, "a ZIP64 extra field is truncated"))?;
                at += 8;
            }
        }
    }
    Ok(ours_zip64)
}

/// Local headers: where each entry's data starts; entries may not overlap (the
/// "overlapping files" zip bomb) nor run into the central directory. Returns where the
/// last entry's data ends.
fn check_local_headers(
    file: &mut File,
    label: &str,
    entries: &mut [Entry],
    cd_offset: u64,
    noncanonical: &mut Vec<String>,
) -> Result<u64> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&k| entries[k].header_offset);
    let mut next_free = 0u64;
    for k in order {
        let e = &mut entries[k];
        if e.header_offset > next_free {
            return Err(Error::archive(
                label,
                format!("{}: unaccounted bytes before its local header", e.name),
            ));
        }
        if e.header_offset < next_free {
            return Err(Error::archive(
                label,
                format!(
                    "{}: overlaps another entry; refusing a possible zip bomb",
                    e.name
                ),
            ));
        }
        let header_len = check_local_header(file, label, e, noncanonical)?;
        e.data_offset = e.header_offset + header_len;
        next_free = e.data_offset + e.compressed;
        if next_free > cd_offset {
            return Err(Error::archive(
                label,
                format!("{}: its data runs into the central directory", e.name),
            ));
        }
    }
    Ok(next_free)
}

/// One local header repeats its central-directory record (and ZIP64 sizes); returns its
/// length. Extra fields other than our ZIP64 one list the entry in `noncanonical`.
fn check_local_header(
    file: &mut File,
    label: &str,
    e: &Entry,
    noncanonical: &mut Vec<String>,
) -> Result<u64> {
    let truncated = || not_zip(label, "a local header is truncated");
    let mut h = [0u8; 30];
    file.seek(SeekFrom::Start(e.header_offset))
        .map_err(|err| Error::io(label, err))?;
    file.read_exact(&mut h).map_err(|_| truncated())?;
    if u32_at(&h, 0) != Some(0x0403_4b50) {
        return Err(not_zip(label, "a local header is missing"));
    }
    if h[4..26] != e.repeated {
        return Err(Error::archive(
            label,
            format!(
                "{}: the local header disagrees with the central directory",
                e.name
            ),
        ));
    }
    let n = u64::from(u16_at(&h, 26).unwrap_or(0));
    let x = u64::from(u16_at(&h, 28).unwrap_or(0));
    let mut local_name = vec![0u8; usize::try_from(n).unwrap_or(0)];
    file.read_exact(&mut local_name).map_err(|_| truncated())?;
    let mut local_extra = vec![0u8; usize::try_from(x).unwrap_or(0)];
    file.read_exact(&mut local_extra).map_err(|_| truncated())?;
    // A ZIP64 local header carries both sizes in its extra field: they must be the
    // central directory's.
    let local_zip64 = u32_at(&h, 18) == Some(0xFFFF_FFFF) || u32_at(&h, 22) == Some(0xFFFF_FFFF);
    if local_zip64 {
        let data = zip64_extra(&local_extra);
        if data.and_then(|d| u64_at(d, 0)) != Some(e.size)
            || data.and_then(|d| u64_at(d, 8)) != Some(e.compressed)
        {
            return Err(Error::archive(
                label,
                format!(
                    "{}: the local header's ZIP64 sizes disagree with the central directory",
                    e.name
                ),
            ));
        }
    }
    if x != if local_zip64 { 20 } else { 0 } && !noncanonical.contains(&e.name) {
        noncanonical.push(e.name.clone());
    }
    if local_name != e.name.as_bytes() {
        return Err(Error::archive(
            label,
            format!(
                "{}: the local header names {:?}",
                e.name,
                String::from_utf8_lossy(&local_name)
            ),
        ));
    }
    Ok(30 + n + x)
}

impl ZipReader {
    /// Opens `path` and checks its structure: every byte accounted for (see the module
    /// docs), entries listed, their data located.
    pub(crate) fn open(path: &Path) -> Result<ZipReader> {
        let label = path.display().to_string();
        let mut file = open_regular(path, &label)?;
        let end = EndRecord::find(&mut file, &label)?;
        let mut noncanonical = Vec::new();
        let dir = Directory::locate(&mut file, &label, &end, &mut noncanonical)?;
        let cd = dir.read(&mut file, &label)?;
        let mut entries = parse_directory(&cd, dir.count, &label, &mut noncanonical)?;
        let next_free = check_local_headers(
            &mut file,
            &label,
            &mut entries,
            dir.offset,
            &mut noncanonical,
        )?;
        if next_free != dir.offset || end.comment_len != 0 {
            return Err(unaccounted(&label));
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

    /// A small pack at `p`; `zip64_from` 0 writes every entry and the end as ZIP64, 18 only
    /// the entries from the second on (its local header offset), `u64::MAX` none.
    fn small_pack(p: &Path, zip64_from: u64) {
        let f = File::create(p).expect("create");
        let mut w =
            crate::zip::write::ZipWriter::new(f, 1_800_000_000, crate::zip::write::Method::Fast)
                .with_zip64_from(zip64_from);
        w.add("a.txt", &mut &b"hello hello hello"[..]).expect("add");
        w.add("b/c.json", &mut &b"{\"k\": [1, 2, 3]}"[..])
            .expect("add");
        w.finish().expect("finish");
    }

    /// Whatever single byte of a pack changes, reading it fails: structurally, or when the
    /// entry is read back. (A changed CRC in a local header once went unnoticed.) ZIP64
    /// packs too: their extra fields, end record and locator are accounted for.
    #[test]
    fn every_single_byte_of_a_pack_is_checked() {
        for zip64_from in [u64::MAX, 0, 18] {
            every_single_byte_is_checked(zip64_from);
        }
    }

    fn every_single_byte_is_checked(zip64_from: u64) {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.zip");
        small_pack(&p, zip64_from);
        let good = std::fs::read(&p).expect("read");
        let r = ZipReader::open(&p).expect("reads");
        assert!(r.noncanonical.is_empty(), "{:?}", r.noncanonical);
        assert_eq!(r.entries.len(), 2);
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
            "zip64 from {zip64_from}: byte changes not detected at offsets {undetected:?} of {}",
            good.len()
        );
    }

    /// ZIP64 as the writer makes it: Python's zipfile (an independent reader) tests every
    /// entry's CRC and reads the same bytes, and so do we.
    #[test]
    fn zip64_packs_read_back_here_and_in_pythons_zipfile() {
        let dir = tempfile::tempdir().expect("tmp");
        for (zip64_from, name) in [(0, "all.zip"), (18, "some.zip")] {
            let p = dir.path().join(name);
            small_pack(&p, zip64_from);
            let bytes = std::fs::read(&p).expect("read");
            // The ZIP64 end record and its locator are there, before the classic end record.
            let n = bytes.len();
            assert_eq!(&bytes[n - 42..n - 38], &0x0706_4b50u32.to_le_bytes());
            assert_eq!(&bytes[n - 98..n - 94], &0x0606_4b50u32.to_le_bytes());
            let out = std::process::Command::new("python3")
                .args(["-m", "zipfile", "-t"])
                .arg(&p)
                .output()
                .expect("python3 runs");
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let out = std::process::Command::new("python3")
                .args([
                    "-c",
                    "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.read('b/c.json').decode(), [i.file_size for i in z.infolist()])",
                ])
                .arg(&p)
                .output()
                .expect("python3 runs");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "{\"k\": [1, 2, 3]} [17, 16]",
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let mut r = ZipReader::open(&p).expect("opens");
            let e = r.entry("a.txt").expect("a").clone();
            let (_, size, bytes) = r.read_entry(&e, 1024).expect("io").expect("intact");
            assert_eq!(
                (size, bytes.as_deref()),
                (17, Some(&b"hello hello hello"[..]))
            );
        }
    }

    /// The zip-bomb decision, with the sizes of real cases and without writing them: a
    /// 2.5 GB artifact and 100 MB of zeros at 1029:1 once failed verify although build
    /// made them; the signed manifest vouches for them now. What nobody vouches for stays
    /// under the caps.
    #[test]
    fn the_manifest_vouches_for_sizes_and_the_caps_hold_for_the_rest() {
        let entry = |size: u64, compressed: u64| Entry {
            name: "artifacts/x".to_owned(),
            method: 8,
            crc: 0,
            compressed,
            size,
            header_offset: 0,
            data_offset: 0,
            repeated: [0; 22],
        };
        let big = entry(2_500_000_000, 2_400_000_000);
        let zeros = entry(100_000_000, 97_182);
        let json = entry(50_000_000, 5_000_000);
        assert_eq!(big.admit(Some(2_500_000_000), &UNVOUCHED), Ok(()));
        assert_eq!(zeros.admit(Some(100_000_000), &UNVOUCHED), Ok(()));
        assert_eq!(json.admit(None, &UNVOUCHED), Ok(()));
        let refused = |r: std::result::Result<(), String>, needle: &str| {
            assert!(
                r.as_ref().is_err_and(|m| m.contains(needle)),
                "{r:?} lacks {needle:?}"
            );
        };
        refused(
            big.admit(None, &UNVOUCHED),
            "declares 2500000000 bytes (more than 2147483648)",
        );
        refused(
            zeros.admit(None, &UNVOUCHED),
            "compression ratio 1028:1 exceeds 500:1",
        );
        refused(
            zeros.admit(Some(99_999_999), &UNVOUCHED),
            "where the signed manifest says 99999999: the entry was altered",
        );
        // Injected small limits: the same logic at sizes a test can afford.
        let small = Limits {
            max_entry_size: 1000,
            max_total_size: 2000,
            max_ratio: 10,
            ratio_from: 100,
        };
        assert_eq!(
            entry(100, 1).admit(None, &small),
            Ok(()),
            "ratio only above ratio_from"
        );
        assert_eq!(entry(1000, 100).admit(None, &small), Ok(()));
        refused(entry(1001, 1001).admit(None, &small), "more than 1000");
        refused(
            entry(1000, 90).admit(None, &small),
            "ratio 11:1 exceeds 10:1",
        );
        assert_eq!(entry(1_000_000, 10).admit(Some(1_000_000), &small), Ok(()));
    }

    #[test]
    fn reads_back_what_the_writer_wrote() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.zip");
        let f = File::create(&p).expect("create");
        let mut w =
            crate::zip::write::ZipWriter::new(f, 1_800_000_000, crate::zip::write::Method::Fast);
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
            let mut w = crate::zip::write::ZipWriter::new(f, 1_800_000_000, crate::zip::write::Method::Fast);
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
