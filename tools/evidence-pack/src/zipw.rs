//! A minimal, deterministic ZIP writer: deflate (miniz_oxide through flate2) or stored,
//! entries in the order given (the caller sorts them), one fixed DOS timestamp, mode 0644,
//! UTF-8 names, no extra fields, no data descriptors, no comment, no ZIP64.
//!
//! Why not the `zip` crate: its API and defaults change between releases, it writes
//! extended-timestamp extra fields and the current time unless told otherwise, and it
//! pulls a dozen optional codecs. A reproducible writer is ~150 lines; every byte of its
//! output is decided here.

use std::io::{Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

/// Entries and archives above this are refused (no ZIP64).
pub(crate) const MAX_SIZE: u64 = u32::MAX as u64 - 1;

const VERSION_NEEDED: u16 = 20; // 2.0: deflate
pub(crate) const VERSION_MADE_BY: u16 = (3 << 8) | 20; // Unix, 2.0: external attributes are a mode
const FLAG_UTF8: u16 = 1 << 11;
pub(crate) const MODE_FILE: u32 = 0o100_644;

struct CentralEntry {
    name: String,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
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
}

/// How entries are stored: deflate level 1 (`fast`, the default), deflate level 6
/// (`best`: on a 50 MB SBOM ~17 % smaller but 5x slower with miniz_oxide), or stored as
/// is (for artifacts that are already compressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Method {
    #[default]
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
        "{what} is larger than 4 GiB, which an evidence pack does not hold (no ZIP64)"
    ))
}

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
        }
    }

    fn local_header(
        &mut self,
        name: &str,
        crc: u32,
        compressed: u32,
        size: u32,
    ) -> std::io::Result<()> {
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
        h.extend_from_slice(&FLAG_UTF8.to_le_bytes());
        h.extend_from_slice(&self.method.code().to_le_bytes());
        h.extend_from_slice(&self.time.to_le_bytes());
        h.extend_from_slice(&self.date.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        h.extend_from_slice(&compressed.to_le_bytes());
        h.extend_from_slice(&size.to_le_bytes());
        h.extend_from_slice(
            &u16::try_from(name.len())
                .map_err(|_| too_large("a name"))?
                .to_le_bytes(),
        );
        h.extend_from_slice(&0u16.to_le_bytes()); // no extra field
        h.extend_from_slice(name.as_bytes());
        self.out.write_all(&h)
    }

    /// Streams `data` into a new entry named `name`, returning its SHA-256 and size. The
    /// local header is written first with zero sizes and patched once they are known.
    pub(crate) fn add(&mut self, name: &str, data: &mut dyn Read) -> std::io::Result<Written> {
        if let Some(prev) = self.entries.last()
            && prev.name.as_str() >= name
        {
            return Err(std::io::Error::other(format!(
                "zip entries out of order or duplicated: {name:?} after {:?}",
                prev.name
            )));
        }
        let offset = self.out.stream_position()?;
        if offset > MAX_SIZE {
            return Err(too_large("the pack"));
        }
        self.local_header(name, 0, 0, 0)?;
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
                if size > MAX_SIZE {
                    return Err(too_large(name));
                }
                enc.write_all(chunk)?;
            }
            enc.finish()?;
        }
        let compressed = counting.count;
        if compressed > MAX_SIZE {
            return Err(too_large(name));
        }
        let end = self.out.stream_position()?;
        let (crc, compressed, size, offset) = (
            crc.sum(),
            u32::try_from(compressed).map_err(|_| too_large(name))?,
            u32::try_from(size).map_err(|_| too_large(name))?,
            u32::try_from(offset).map_err(|_| too_large("the pack"))?,
        );
        self.out.seek(SeekFrom::Start(u64::from(offset) + 14))?;
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.write_all(&compressed.to_le_bytes())?;
        self.out.write_all(&size.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(end))?;
        self.entries.push(CentralEntry {
            name: name.to_owned(),
            crc,
            compressed,
            size,
            offset,
        });
        Ok(Written {
            sha256: gatehouse::hash::hex(&hasher.finalize()),
            bytes: u64::from(size),
        })
    }

    /// Writes the central directory and the end record; returns the writer.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        let cd_start = self.out.stream_position()?;
        let mut cd = Vec::new();
        for e in &self.entries {
            cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            cd.extend_from_slice(&VERSION_MADE_BY.to_le_bytes());
            cd.extend_from_slice(&VERSION_NEEDED.to_le_bytes());
            cd.extend_from_slice(&FLAG_UTF8.to_le_bytes());
            cd.extend_from_slice(&self.method.code().to_le_bytes());
            cd.extend_from_slice(&self.time.to_le_bytes());
            cd.extend_from_slice(&self.date.to_le_bytes());
            cd.extend_from_slice(&e.crc.to_le_bytes());
            cd.extend_from_slice(&e.compressed.to_le_bytes());
            cd.extend_from_slice(&e.size.to_le_bytes());
            cd.extend_from_slice(
                &u16::try_from(e.name.len())
                    .map_err(|_| too_large("a name"))?
                    .to_le_bytes(),
            );
            cd.extend_from_slice(&0u16.to_le_bytes()); // extra
            cd.extend_from_slice(&0u16.to_le_bytes()); // comment
            cd.extend_from_slice(&0u16.to_le_bytes()); // disk
            cd.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            cd.extend_from_slice(&(MODE_FILE << 16).to_le_bytes());
            cd.extend_from_slice(&e.offset.to_le_bytes());
            cd.extend_from_slice(e.name.as_bytes());
        }
        self.out.write_all(&cd)?;
        let count = u16::try_from(self.entries.len())
            .map_err(|_| std::io::Error::other("more than 65535 entries (no ZIP64)"))?;
        let cd_size = u32::try_from(cd.len()).map_err(|_| too_large("the central directory"))?;
        let cd_start = u32::try_from(cd_start).map_err(|_| too_large("the pack"))?;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&cd_size.to_le_bytes());
        end.extend_from_slice(&cd_start.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out)
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
