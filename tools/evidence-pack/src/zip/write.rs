//! A minimal, deterministic ZIP writer: deflate (miniz_oxide through flate2) or stored,
//! entries in the order given (the caller sorts them), one fixed DOS timestamp, mode 0644,
//! UTF-8 names, no data descriptors, no comment. ZIP64 only where needed: an entry whose
//! size (known before it is written: the file's length) or offset nears 4 GiB gets the
//! ZIP64 extra field, and the archive gets the ZIP64 end records when an entry did or the
//! entry count or central directory outgrows the classic fields. Otherwise no extra fields.
//!
//! Why not the `zip` crate: its API and defaults change between releases, it writes
//! extended-timestamp extra fields and the current time unless told otherwise, and it
//! pulls a dozen optional codecs. A reproducible writer is ~150 lines; every byte of its
//! output is decided here.

use std::io::{Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

/// An entry whose size hint or local header offset reaches this is written as ZIP64: far
/// enough below 4 GiB that deflate's worst-case growth of incompressible data still fits
/// the decision made before the data is seen.
pub(crate) const ZIP64_FROM: u64 = 0xF000_0000;

const VERSION_NEEDED: u16 = 20; // 2.0: deflate
pub(crate) const VERSION_NEEDED_ZIP64: u16 = 45; // 4.5: ZIP64
/// The ZIP64 extended information extra field's header id.
pub(crate) const ZIP64_EXTRA_ID: u16 = 0x0001;
pub(crate) const VERSION_MADE_BY: u16 = (3 << 8) | 20; // Unix, 2.0: external attributes are a mode
const FLAG_UTF8: u16 = 1 << 11;
pub(crate) const MODE_FILE: u32 = 0o100_644;

struct CentralEntry {
    name: String,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    zip64: bool,
}

/// One entry's data as streamed.
struct Streamed {
    sha256: String,
    crc: u32,
    size: u64,
    compressed: u64,
}

/// What was written for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) sha256: String,
    pub(crate) bytes: u64,
}

pub(crate) struct ZipWriter<W: Write + Seek> {
    out: W,
    entries: Vec<CentralEntry>,
    time: u16,
    date: u16,
    method: Method,
    zip64_from: u64,
}

/// How entries are stored: deflate level 1 (`fast`, the default), deflate level 6
/// (`best`: on a 50 MB SBOM ~17 % smaller but 5x slower with miniz_oxide), or stored as
/// is (for artifacts that are already compressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Fast,
    Best,
    Store,
}

impl Method {
    fn code(self) -> u16 {
        match self {
            Method::Fast | Method::Best => 8,
            Method::Store => 0,
        }
    }
}

/// Counts bytes passing through to the inner writer.
struct Counting<'a, W: Write> {
    inner: &'a mut W,
    count: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Where an entry's bytes go: through deflate, or straight out.
enum Sink<'a, W: Write> {
    Deflate(flate2::write::DeflateEncoder<&'a mut W>),
    Store(&'a mut W),
}

impl<W: Write> Sink<'_, W> {
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Deflate(e) => e.write_all(buf),
            Sink::Store(w) => w.write_all(buf),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Deflate(e) => e.finish().map(drop),
            Sink::Store(_) => Ok(()),
        }
    }
}

fn too_large(what: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "{what} grew past 4 GiB while it was read (it was smaller when the pack started); give it as a file that does not change"
    ))
}

const SAT16: u16 = 0xFFFF;
const SAT32: u32 = 0xFFFF_FFFF;

/// (DOS time, DOS date) for a Unix time, clamped to the DOS range 1980–2107.
pub(crate) fn dos_datetime(unix: i64) -> (u16, u16) {
    let min = 315_532_800; // 1980-01-01T00:00:00Z
    let max = 4_354_819_198; // 2107-12-31T23:59:58Z
    let t = gatehouse::time::Timestamp::from_unix(unix.clamp(min, max)).to_rfc3339();
    // "YYYY-MM-DDTHH:MM:SSZ"
    let n = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
    let (y, mo, d, h, mi, s) = (n(0..4), n(5..7), n(8..10), n(11..13), n(14..16), n(17..19));
    let time = (h << 11) | (mi << 5) | (s / 2);
    let date = ((y - 1980) << 9) | (mo << 5) | d;
    (time, date)
}

impl<W: Write + Seek> ZipWriter<W> {
    /// Every entry gets the timestamp `unix` (seconds; DOS time has 2-second resolution).
    pub(crate) fn new(out: W, unix: i64, method: Method) -> Self {
        let (time, date) = dos_datetime(unix);
        ZipWriter {
            out,
            entries: Vec::new(),
            time,
            date,
            method,
            zip64_from: ZIP64_FROM,
        }
    }

    /// Writes entries as ZIP64 from this size or offset on (tests use 0: ZIP64 everywhere,
    /// without writing 4 GiB).
    #[cfg(test)]
    pub(crate) fn with_zip64_from(mut self, from: u64) -> Self {
        self.zip64_from = from;
        self
    }

    /// The local header with zero CRC and sizes (patched once known); a ZIP64 entry has
    /// 0xFFFFFFFF sizes and a 20-byte ZIP64 extra field holding the real ones.
    fn local_header(&mut self, name: &str, zip64: bool) -> std::io::Result<()> {
        let name_len = u16::try_from(name.len())
            .map_err(|_| std::io::Error::other(format!("{name:?}: a name over 65535 bytes")))?;
        let mut h = Vec::with_capacity(30 + name.len() + 20);
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&version_needed(zip64).to_le_bytes());
        h.extend_from_slice(&FLAG_UTF8.to_le_bytes());
        h.extend_from_slice(&self.method.code().to_le_bytes());
        h.extend_from_slice(&self.time.to_le_bytes());
        h.extend_from_slice(&self.date.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // CRC, patched
        let sizes = if zip64 { SAT32 } else { 0 };
        h.extend_from_slice(&sizes.to_le_bytes());
        h.extend_from_slice(&sizes.to_le_bytes());
        h.extend_from_slice(&name_len.to_le_bytes());
        h.extend_from_slice(&(if zip64 { 20u16 } else { 0 }).to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            h.extend_from_slice(&ZIP64_EXTRA_ID.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&[0u8; 16]); // size, compressed size: patched
        }
        self.out.write_all(&h)
    }

    /// Streams `data` into a new entry named `name`, returning its SHA-256 and size. The
    /// local header is written first with zero sizes and patched once they are known.
    pub(crate) fn add(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<Written> {
        self.add_sized(name, data, 0)
    }

    /// [`Self::add`] for data of about `size_hint` bytes (a file's length): from
    /// [`ZIP64_FROM`] on, the entry is written as ZIP64.
    pub(crate) fn add_sized(
        &mut self,
        name: &str,
        data: &mut dyn Read,
        size_hint: u64,
    ) -> std::io::Result<Written> {
        if let Some(prev) = self.entries.last()
            && prev.name.as_str() >= name
        {
            return Err(std::io::Error::other(format!(
                "zip entries out of order or duplicated: {name:?} after {:?}",
                prev.name
            )));
        }
        let offset = self.out.stream_position()?;
        let zip64 = size_hint >= self.zip64_from || offset >= self.zip64_from;
        self.local_header(name, zip64)?;
        let streamed = self.stream(name, data, zip64)?;
        self.patch_local_header(offset, name, zip64, &streamed)?;
        self.entries.push(CentralEntry {
            name: name.to_owned(),
            crc: streamed.crc,
            compressed: streamed.compressed,
            size: streamed.size,
            offset,
            zip64,
        });
        Ok(Written {
            sha256: streamed.sha256,
            bytes: streamed.size,
        })
    }

    /// Streams `data` through the entry's compression into the output: its SHA-256, CRC-32,
    /// size and compressed size. An entry that is not ZIP64 may not reach 4 GiB.
    fn stream(
        &mut self,
        name: &str,
        data: &mut dyn Read,
        zip64: bool,
    ) -> std::io::Result<Streamed> {
        let mut hasher = Sha256::new();
        let mut crc = flate2::Crc::new();
        let mut size = 0u64;
        let mut counting = Counting {
            inner: &mut self.out,
            count: 0,
        };
        {
            let mut enc = match self.method {
                Method::Fast | Method::Best => Sink::Deflate(flate2::write::DeflateEncoder::new(
                    &mut counting,
                    flate2::Compression::new(if self.method == Method::Fast { 1 } else { 6 }),
                )),
                Method::Store => Sink::Store(&mut counting),
            };
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match data.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                let chunk = &buf[..n];
                hasher.update(chunk);
                crc.update(chunk);
                size += n as u64;
                if !zip64 && size >= u64::from(SAT32) {
                    return Err(too_large(name));
                }
                enc.write_all(chunk)?;
            }
            enc.finish()?;
        }
        let compressed = counting.count;
        if !zip64 && compressed >= u64::from(SAT32) {
            return Err(too_large(name));
        }
        Ok(Streamed {
            sha256: gatehouse::hash::hex(&hasher.finalize()),
            crc: crc.sum(),
            size,
            compressed,
        })
    }

    /// Writes the CRC and sizes, known now, into the local header at `offset`; leaves the
    /// output at its end.
    fn patch_local_header(
        &mut self,
        offset: u64,
        name: &str,
        zip64: bool,
        s: &Streamed,
    ) -> std::io::Result<()> {
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(offset + 14))?;
        self.out.write_all(&s.crc.to_le_bytes())?;
        if zip64 {
            // The extra field's data, after the 30-byte header, the name and its 4-byte head.
            self.out
                .seek(SeekFrom::Start(offset + 30 + name.len() as u64 + 4))?;
            self.out.write_all(&s.size.to_le_bytes())?;
            self.out.write_all(&s.compressed.to_le_bytes())?;
        } else {
            // Both below 4 GiB: checked when streamed.
            self.out.write_all(&(s.compressed as u32).to_le_bytes())?;
            self.out.write_all(&(s.size as u32).to_le_bytes())?;
        }
        self.out.seek(SeekFrom::Start(end))?;
        Ok(())
    }

    /// Writes the central directory and the end record (after the ZIP64 end record and its
    /// locator, when needed); returns the writer.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        let cd_start = self.out.stream_position()?;
        let mut cd = Vec::new();
        for e in &self.entries {
            self.central_record(e, &mut cd)?;
        }
        self.out.write_all(&cd)?;
        let count = self.entries.len() as u64;
        let cd_size = cd.len() as u64;
        let zip64 = self.entries.iter().any(|e| e.zip64)
            || count >= u64::from(SAT16)
            || cd_size >= u64::from(SAT32)
            || cd_start >= u64::from(SAT32);
        self.out
            .write_all(&end_records(count, cd_size, cd_start, zip64))?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// One entry's central-directory record, appended to `cd`.
    fn central_record(&self, e: &CentralEntry, cd: &mut Vec<u8>) -> std::io::Result<()> {
        let name_len = u16::try_from(e.name.len())
            .map_err(|_| std::io::Error::other(format!("{:?}: a name over 65535 bytes", e.name)))?;
        cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        cd.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
        cd.extend_from_slice(&version_needed(e.zip64).to_le_bytes());
        cd.extend_from_slice(&FLAG_UTF8.to_le_bytes());
        cd.extend_from_slice(&self.method.code().to_le_bytes());
        cd.extend_from_slice(&self.time.to_le_bytes());
        cd.extend_from_slice(&self.date.to_le_bytes());
        cd.extend_from_slice(&e.crc.to_le_bytes());
        if e.zip64 {
            cd.extend_from_slice(&SAT32.to_le_bytes());
            cd.extend_from_slice(&SAT32.to_le_bytes());
        } else {
            // Below 4 GiB: `add` refuses more for an entry that is not ZIP64.
            cd.extend_from_slice(&(e.compressed as u32).to_le_bytes());
            cd.extend_from_slice(&(e.size as u32).to_le_bytes());
        }
        cd.extend_from_slice(&name_len.to_le_bytes());
        cd.extend_from_slice(&(if e.zip64 { 28u16 } else { 0 }).to_le_bytes()); // extra
        cd.extend_from_slice(&0u16.to_le_bytes()); // comment
        cd.extend_from_slice(&0u16.to_le_bytes()); // disk
        cd.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        cd.extend_from_slice(&(MODE_FILE << 16).to_le_bytes());
        if e.zip64 {
            cd.extend_from_slice(&SAT32.to_le_bytes());
        } else {
            // A local header at or past ZIP64_FROM made the entry ZIP64.
            cd.extend_from_slice(&(e.offset as u32).to_le_bytes());
        }
        cd.extend_from_slice(e.name.as_bytes());
        if e.zip64 {
            // Size, compressed size, local header offset: the three fields saturated above.
            cd.extend_from_slice(&ZIP64_EXTRA_ID.to_le_bytes());
            cd.extend_from_slice(&24u16.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            cd.extend_from_slice(&e.compressed.to_le_bytes());
            cd.extend_from_slice(&e.offset.to_le_bytes());
        }
        Ok(())
    }
}

/// The end of the archive: with `zip64`, the ZIP64 end record and its locator, then the
/// classic end record (its fields saturated: the ZIP64 record holds the values).
fn end_records(count: u64, cd_size: u64, cd_start: u64, zip64: bool) -> Vec<u8> {
    let mut end = Vec::with_capacity(56 + 20 + 22);
    if zip64 {
        let eocd64_at = cd_start + cd_size;
        end.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        end.extend_from_slice(&44u64.to_le_bytes()); // the size of the rest of the record
        end.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
        end.extend_from_slice(&VERSION_NEEDED_ZIP64.to_le_bytes());
        end.extend_from_slice(&0u32.to_le_bytes()); // this disk
        end.extend_from_slice(&0u32.to_le_bytes()); // the disk the directory starts on
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&cd_size.to_le_bytes());
        end.extend_from_slice(&cd_start.to_le_bytes());
        // The locator.
        end.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        end.extend_from_slice(&0u32.to_le_bytes());
        end.extend_from_slice(&eocd64_at.to_le_bytes());
        end.extend_from_slice(&1u32.to_le_bytes()); // disks in all
    }
    // With ZIP64, every classic field is saturated: the ZIP64 record holds the values.
    let (count16, cd_size32, cd_start32) = if zip64 {
        (SAT16, SAT32, SAT32)
    } else {
        (count as u16, cd_size as u32, cd_start as u32)
    };
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end.extend_from_slice(&count16.to_le_bytes());
    end.extend_from_slice(&count16.to_le_bytes());
    end.extend_from_slice(&cd_size32.to_le_bytes());
    end.extend_from_slice(&cd_start32.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    end
}

fn version_needed(zip64: bool) -> u16 {
    if zip64 {
        VERSION_NEEDED_ZIP64
    } else {
        VERSION_NEEDED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_time_of_known_instants() {
        // 2026-11-24T10:00:00Z
        let (t, d) = dos_datetime(1_795_514_400);
        assert_eq!(d >> 9, 2026 - 1980);
        assert_eq!((d >> 5) & 0xf, 11);
        assert_eq!(d & 0x1f, 24);
        assert_eq!(t >> 11, 10);
        // Before 1980 clamps to 1980-01-01 00:00.
        assert_eq!(dos_datetime(0), (0, (1 << 5) | 1));
    }

    #[test]
    fn same_input_same_bytes_and_order_is_enforced() {
        let build = || {
            let mut w = ZipWriter::new(
                std::io::Cursor::new(Vec::new()),
                1_795_514_400,
                Method::Fast,
            );
            w.add("a.txt", &mut &b"hello"[..]).expect("add");
            w.add("b/c.json", &mut &b"{}"[..]).expect("add");
            w.finish().expect("finish").into_inner()
        };
        assert_eq!(build(), build());
        let mut w = ZipWriter::new(std::io::Cursor::new(Vec::new()), 0, Method::Store);
        w.add("b", &mut &b""[..]).expect("add");
        assert!(w.add("a", &mut &b""[..]).is_err());
        assert!(w.add("b", &mut &b""[..]).is_err());
    }
}
