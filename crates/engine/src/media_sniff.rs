//! Media sniffing and metadata stripping for uploads, without decoding anything.
//!
//! Uploads come from untrusted clients, so the client's `Content-Type` and file name
//! are ignored: [`sniff`] identifies the file from its magic numbers and, for images,
//! reads the dimensions from the container header. Only a fixed list of types is
//! accepted. Anything else, in particular SVG, HTML or other text, is rejected: SVG
//! can carry scripts, and a file we served with a type we did not verify could be
//! interpreted by a browser as something executable. AVIF and HEIC are not
//! supported.
//!
//! [`strip_metadata`] removes the metadata that can reveal where, when and on what a
//! picture was taken (Exif GPS, camera serials, XMP, IPTC, PNG text chunks). It works
//! on the container structure only (JPEG segments, PNG chunks, RIFF chunks), so
//! everything it keeps, including the compressed image data, is copied byte for byte.
//! It does not decode images, which keeps decoder bugs out of the upload path.
//!
//! The one piece of Exif kept is a JPEG's orientation tag: phones store portrait
//! photos as landscape pixels plus this tag, and without it the photo would be shown
//! rotated. When the JPEG's Exif says something other than upright, the stripped file
//! gets a new, minimal Exif segment holding that tag alone (nothing else of the
//! original Exif is copied), and [`sniff`] reports a JPEG's dimensions as displayed,
//! sides swapped for the orientations that turn the picture by 90°, as Mastodon does.
//!
//! Known limits (by design):
//! - Exif in PNG (`eXIf`) and WebP (`EXIF`) is dropped whole, orientation included;
//!   phones use it in JPEG.
//! - GIF, video and audio files are returned unchanged (a GIF can hold comments, an
//!   MP4 can hold a location in `udta`); re-encode them if that matters.
//!
//! Cost: both functions are linear in the input (every loop advances by at least one
//! byte or one header, and lengths are checked before use), never panic on malformed
//! input, and allocate only the returned `Vec`, sized exactly in a first counting pass.
//! A stripped file is never longer than the original.

use std::ops::{ControlFlow, Range};

/// What kind of media, as the Mastodon API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Gifv,
    Video,
    Audio,
}

impl MediaKind {
    /// The name used in the Mastodon API's `MediaAttachment.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Gifv => "gifv",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }
}

/// The result of [`sniff`]. For images `width` and `height` are always `Some` (and
/// non-zero); for video they are read from the MP4/MOV track header when present.
/// Both are the size as displayed: after the Exif orientation of a JPEG and the
/// rotation of an MP4/MOV track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub kind: MediaKind,
    /// e.g. `"image/png"`.
    pub content_type: &'static str,
    /// e.g. `"png"` (no dot).
    pub extension: &'static str,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// Identifies the file from its first bytes (magic numbers) and, for images, reads the
/// dimensions from the header. `None`: not a supported type, or an image whose header
/// is missing or invalid.
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    // Each branch commits to its format: a file with a known magic number but a bad
    // header is rejected rather than tried as something else.
    if bytes.starts_with(PNG_SIGNATURE) {
        return sniff_png(bytes);
    }
    if bytes.starts_with(&[0xFF, SOI, 0xFF]) {
        return sniff_jpeg(bytes);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return sniff_gif(bytes);
    }
    if bytes.starts_with(b"RIFF") {
        return sniff_riff(bytes);
    }
    if at(bytes, 4, b"ftyp") {
        return sniff_iso_bmff(bytes);
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML header: WebM, or Matroska which browsers play as WebM when the codecs allow.
        return Some(media(MediaKind::Video, "video/webm", "webm"));
    }
    if bytes.starts_with(b"OggS") {
        // Byte 4 is the stream structure version, always 0; it keeps text out.
        return (bytes.get(4) == Some(&0)).then(|| media(MediaKind::Audio, "audio/ogg", "ogg"));
    }
    if is_flac(bytes) {
        return Some(flac());
    }
    if bytes.starts_with(b"ID3") {
        return sniff_id3(bytes);
    }
    if is_mpeg_audio_frame(bytes) {
        return Some(mp3());
    }
    None
}

/// Returns the file without metadata that can reveal where/when/on what it was taken:
///
/// - JPEG: drops APP1 (Exif and XMP), APP13 (IPTC/Photoshop) and COM segments, keeping
///   all other segments and the entropy-coded data byte-exact. If the first Exif
///   segment before the image data has a valid orientation other than upright, a new
///   APP1 holding only that orientation (same byte order) takes that segment's place.
///   Bytes after EOI (phone trailers, appended second images with their own Exif) and
///   stray bytes between segments are dropped too.
/// - PNG: drops `eXIf`, `tEXt`, `zTXt`, `iTXt` and `tIME` chunks, keeping all others
///   byte-exact; bytes after `IEND` are dropped.
/// - WebP: drops `EXIF` and `XMP ` chunks, clears the Exif/XMP flags in `VP8X` and
///   fixes the RIFF size; bytes after the RIFF are dropped.
/// - Other types: returned unchanged.
///
/// `sniffed` must come from [`sniff`] on the same bytes. Malformed input of a stripped
/// type (truncated, lengths out of range, missing end marker) gives an `Err` describing
/// the problem.
pub fn strip_metadata(bytes: &[u8], sniffed: &Sniffed) -> Result<Vec<u8>, &'static str> {
    match sniffed.content_type {
        "image/jpeg" => {
            let orientation = read_jpeg_header(bytes).orientation;
            rebuild(bytes, |bytes, out| write_jpeg(bytes, orientation, out))
        }
        "image/png" => rebuild(bytes, write_png),
        "image/webp" => rebuild(bytes, write_webp),
        _ => Ok(bytes.to_vec()),
    }
}

// ---------------------------------------------------------------------------------
// Constructors and bounds-checked readers.

fn media(kind: MediaKind, content_type: &'static str, extension: &'static str) -> Sniffed {
    Sniffed {
        kind,
        content_type,
        extension,
        width: None,
        height: None,
    }
}

fn image(content_type: &'static str, extension: &'static str, (w, h): (u32, u32)) -> Sniffed {
    Sniffed {
        kind: MediaKind::Image,
        content_type,
        extension,
        width: Some(w),
        height: Some(h),
    }
}

fn mp3() -> Sniffed {
    media(MediaKind::Audio, "audio/mpeg", "mp3")
}

fn flac() -> Sniffed {
    media(MediaKind::Audio, "audio/flac", "flac")
}

/// Both dimensions, or `None` if either is zero (no decoder can show such an image).
fn nonzero_size(width: u32, height: u32) -> Option<(u32, u32)> {
    (width != 0 && height != 0).then_some((width, height))
}

/// Whether `magic` occurs at `pos`.
fn at(bytes: &[u8], pos: usize, magic: &[u8]) -> bool {
    bytes.get(pos..).is_some_and(|rest| rest.starts_with(magic))
}

/// `N` bytes at `pos`, or `None` past the end.
fn array<const N: usize>(bytes: &[u8], pos: usize) -> Option<[u8; N]> {
    bytes.get(pos..pos.checked_add(N)?)?.try_into().ok()
}

fn be_u16(bytes: &[u8], pos: usize) -> Option<u16> {
    array(bytes, pos).map(u16::from_be_bytes)
}

fn be_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    array(bytes, pos).map(u32::from_be_bytes)
}

fn be_u64(bytes: &[u8], pos: usize) -> Option<u64> {
    array(bytes, pos).map(u64::from_be_bytes)
}

fn le_u16(bytes: &[u8], pos: usize) -> Option<u16> {
    array(bytes, pos).map(u16::from_le_bytes)
}

fn le_u24(bytes: &[u8], pos: usize) -> Option<u32> {
    array(bytes, pos).map(|[a, b, c]: [u8; 3]| u32::from_le_bytes([a, b, c, 0]))
}

fn le_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    array(bytes, pos).map(u32::from_le_bytes)
}

/// `pos + len` as an index, `None` on overflow (only possible on 32-bit targets).
fn offset(pos: usize, len: u32) -> Option<usize> {
    pos.checked_add(usize::try_from(len).ok()?)
}

// ---------------------------------------------------------------------------------
// Output: every stripper writes its kept pieces to a `Sink` twice, first to count them
// and then into a `Vec` of exactly that size, so nothing grows or over-allocates.

trait Sink {
    fn put(&mut self, part: &[u8]);
}

struct Counter(usize);

impl Sink for Counter {
    fn put(&mut self, part: &[u8]) {
        self.0 += part.len();
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, part: &[u8]) {
        self.extend_from_slice(part);
    }
}

fn rebuild(
    bytes: &[u8],
    write: impl Fn(&[u8], &mut dyn Sink) -> Result<(), &'static str>,
) -> Result<Vec<u8>, &'static str> {
    let mut counter = Counter(0);
    write(bytes, &mut counter)?;
    let mut out = Vec::with_capacity(counter.0);
    write(bytes, &mut out)?;
    debug_assert_eq!(out.len(), counter.0);
    Ok(out)
}

// ---------------------------------------------------------------------------------
// PNG: an 8-byte signature, then chunks of length (u32 BE), type, data, CRC.

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Text chunks (often an author, a software or a location), Exif and modification time.
const PNG_DROPPED: [&[u8; 4]; 5] = [b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"];
/// The PNG specification limits lengths and dimensions to 2^31 - 1.
const PNG_MAX: u32 = 0x7FFF_FFFF;

fn sniff_png(bytes: &[u8]) -> Option<Sniffed> {
    // The first chunk must be IHDR, whose 13 bytes start with width and height.
    if be_u32(bytes, 8)? != 13 || !at(bytes, 12, b"IHDR") {
        return None;
    }
    let (width, height) = (be_u32(bytes, 16)?, be_u32(bytes, 20)?);
    if width > PNG_MAX || height > PNG_MAX {
        return None;
    }
    Some(image("image/png", "png", nonzero_size(width, height)?))
}

struct PngChunk {
    kind: [u8; 4],
    /// Length, type, data and CRC.
    whole: Range<usize>,
}

/// Calls `visit` for each chunk from IHDR to IEND included; stops after IEND.
fn walk_png(bytes: &[u8], mut visit: impl FnMut(&PngChunk)) -> Result<(), &'static str> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err("PNG: bad signature");
    }
    let mut pos = PNG_SIGNATURE.len();
    loop {
        let len = be_u32(bytes, pos).ok_or("PNG: truncated (no IEND chunk)")?;
        if len > PNG_MAX {
            return Err("PNG: chunk length out of range");
        }
        let kind: [u8; 4] = array(bytes, pos + 4).ok_or("PNG: truncated chunk header")?;
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err("PNG: invalid chunk type");
        }
        if pos == PNG_SIGNATURE.len() && &kind != b"IHDR" {
            return Err("PNG: first chunk is not IHDR");
        }
        let end = offset(pos + 12, len).ok_or("PNG: chunk length out of range")?;
        if end > bytes.len() {
            return Err("PNG: truncated chunk");
        }
        visit(&PngChunk {
            kind,
            whole: pos..end,
        });
        if &kind == b"IEND" {
            return Ok(());
        }
        pos = end;
    }
}

fn write_png(bytes: &[u8], out: &mut dyn Sink) -> Result<(), &'static str> {
    out.put(PNG_SIGNATURE);
    walk_png(bytes, |chunk| {
        if !PNG_DROPPED.contains(&&chunk.kind) {
            out.put(&bytes[chunk.whole.clone()]);
        }
    })
}

// ---------------------------------------------------------------------------------
// JPEG: SOI, then marker segments (0xFF, marker, u16 BE length including itself,
// payload); each SOS segment is followed by entropy-coded data, in which 0xFF is
// escaped as FF 00 and restart markers FF D0..D7 may appear. Any marker may be
// preceded by extra 0xFF fill bytes.

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const TEM: u8 = 0x01;
const APP1: u8 = 0xE1;
const APP13: u8 = 0xED;
const COM: u8 = 0xFE;

/// Start of frame markers: C0..CF except DHT (C4), JPG (C8) and DAC (CC), which share
/// the range but are not frame headers.
fn is_sof(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Markers without a length field.
fn is_standalone(marker: u8) -> bool {
    marker == TEM || (0xD0..=0xD7).contains(&marker) || marker == EOI
}

struct JpegPiece {
    /// `None` for entropy-coded data.
    marker: Option<u8>,
    /// Fill bytes, marker, length and payload (or the entropy-coded bytes).
    whole: Range<usize>,
    /// The segment's payload, after the length field; empty for standalone markers.
    payload: Range<usize>,
}

/// Calls `visit` for every piece after SOI, up to and including EOI, or until `visit`
/// breaks. The pieces are contiguous except for stray bytes between segments, which
/// libjpeg skips with a warning and so do we.
fn walk_jpeg(
    bytes: &[u8],
    mut visit: impl FnMut(&JpegPiece) -> ControlFlow<()>,
) -> Result<(), &'static str> {
    if !bytes.starts_with(&[0xFF, SOI]) {
        return Err("JPEG: missing SOI marker");
    }
    let mut pos = 2;
    loop {
        let (marker, start, after_marker) = next_marker(bytes, pos)?;
        let piece = if is_standalone(marker) {
            JpegPiece {
                marker: Some(marker),
                whole: start..after_marker,
                payload: after_marker..after_marker,
            }
        } else if marker == SOI {
            return Err("JPEG: SOI marker inside the image");
        } else {
            let len = be_u16(bytes, after_marker).ok_or("JPEG: truncated segment length")?;
            if len < 2 {
                return Err("JPEG: segment length below 2");
            }
            let end = after_marker + usize::from(len);
            if end > bytes.len() {
                return Err("JPEG: truncated segment");
            }
            JpegPiece {
                marker: Some(marker),
                whole: start..end,
                payload: after_marker + 2..end,
            }
        };
        if visit(&piece).is_break() || marker == EOI {
            return Ok(());
        }
        pos = piece.whole.end;
        if marker == SOS {
            let end = entropy_data_end(bytes, pos)?;
            let data = JpegPiece {
                marker: None,
                whole: pos..end,
                payload: pos..end,
            };
            if visit(&data).is_break() {
                return Ok(());
            }
            pos = end;
        }
    }
}

/// Finds the next marker at or after `pos`. Returns the marker, the index of its first
/// 0xFF (fill bytes included) and the index just after the marker byte.
fn next_marker(bytes: &[u8], mut pos: usize) -> Result<(u8, usize, usize), &'static str> {
    const TRUNCATED: &str = "JPEG: truncated (no EOI marker)";
    loop {
        let rest = bytes.get(pos..).ok_or(TRUNCATED)?;
        let start = pos + rest.iter().position(|&b| b == 0xFF).ok_or(TRUNCATED)?;
        let mut i = start + 1;
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        match bytes.get(i) {
            None => return Err(TRUNCATED),
            // FF 00 outside entropy-coded data is not a marker: stray bytes, skipped.
            Some(0x00) => pos = i + 1,
            Some(&marker) => return Ok((marker, start, i + 1)),
        }
    }
}

/// The end of the entropy-coded data starting at `pos`: the first 0xFF that begins a
/// marker other than a restart marker (fill bytes included).
fn entropy_data_end(bytes: &[u8], mut pos: usize) -> Result<usize, &'static str> {
    const TRUNCATED: &str = "JPEG: truncated scan data";
    loop {
        let rest = bytes.get(pos..).ok_or(TRUNCATED)?;
        let start = pos + rest.iter().position(|&b| b == 0xFF).ok_or(TRUNCATED)?;
        let mut i = start + 1;
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        match bytes.get(i) {
            None => return Err(TRUNCATED),
            // A stuffed 0xFF data byte or a restart marker: still in the scan.
            Some(0x00 | 0xD0..=0xD7) => pos = i + 1,
            Some(_) => return Ok(start),
        }
    }
}

fn sniff_jpeg(bytes: &[u8]) -> Option<Sniffed> {
    let header = read_jpeg_header(bytes);
    // No frame header before the image data or the end: not a usable JPEG.
    let (width, height) = header.size?;
    let size = if header.orientation.is_some_and(Orientation::swaps_sides) {
        (height, width)
    } else {
        (width, height)
    };
    Some(image("image/jpeg", "jpg", size))
}

/// What the segments before the first scan say; decoders read these before any image
/// data, and browsers take the orientation from the first Exif segment among them.
struct JpegHeader {
    /// From the first frame header; `None` if there is none or it is invalid.
    size: Option<(u32, u32)>,
    /// From the first APP1 starting with the Exif identifier.
    orientation: Option<Orientation>,
}

fn read_jpeg_header(bytes: &[u8]) -> JpegHeader {
    let mut header = JpegHeader {
        size: None,
        orientation: None,
    };
    let (mut sof_seen, mut exif_seen) = (false, false);
    // An error only ends the header early: what was found before it stands.
    let _ = walk_jpeg(bytes, |piece| {
        let payload = &bytes[piece.payload.clone()];
        match piece.marker {
            Some(SOS | EOI) | None => return ControlFlow::Break(()),
            Some(marker) if is_sof(marker) && !sof_seen => {
                sof_seen = true;
                header.size = sof_size(payload);
            }
            Some(APP1) if !exif_seen && payload.starts_with(EXIF_ID) => {
                exif_seen = true;
                header.orientation =
                    exif_orientation(payload).map(|(value, big_endian)| Orientation {
                        value,
                        big_endian,
                        segment: piece.whole.start,
                    });
            }
            Some(_) => {}
        }
        ControlFlow::Continue(())
    });
    header
}

/// Width and height from a frame header: precision (1 byte), height, width (u16 BE).
/// A zero height (to be defined later by a DNL marker) is rejected: libjpeg does too.
fn sof_size(payload: &[u8]) -> Option<(u32, u32)> {
    let height = be_u16(payload, 1)?;
    let width = be_u16(payload, 3)?;
    nonzero_size(width.into(), height.into())
}

/// `orientation` must come from [`read_jpeg_header`] on the same bytes.
fn write_jpeg(
    bytes: &[u8],
    orientation: Option<Orientation>,
    out: &mut dyn Sink,
) -> Result<(), &'static str> {
    // Upright is what a decoder assumes without Exif: no segment needed.
    let kept = orientation.filter(|o| o.value != 1);
    out.put(&[0xFF, SOI]);
    walk_jpeg(bytes, |piece| {
        match (piece.marker, kept) {
            (Some(APP1), Some(o)) if o.segment == piece.whole.start => o.write_app1(out),
            (Some(APP1 | APP13 | COM), _) => {}
            _ => out.put(&bytes[piece.whole.clone()]),
        }
        ControlFlow::Continue(())
    })
}

// ---------------------------------------------------------------------------------
// Exif (in a JPEG APP1): "Exif\0\0", then a TIFF structure whose offsets count from
// its first byte: byte order ("II" little-endian, "MM" big-endian), 42, the offset of
// IFD0 (u32); an IFD is an entry count (u16), 12-byte entries (tag u16, type u16,
// count u32, then the value if it fits in 4 bytes, else its offset) and the offset
// of the next IFD (u32). Only IFD0 is read: no offset is followed beyond it, so
// hostile offsets cannot make the reader loop or wander.

const EXIF_ID: &[u8; 6] = b"Exif\0\0";
const TAG_ORIENTATION: u16 = 0x0112;
const TIFF_SHORT: u16 = 3;
/// Marker, length and payload of the APP1 [`Orientation::write_app1`] writes: the
/// Exif identifier, the TIFF header (8), IFD0 with one entry (2 + 12) and a zero
/// next-IFD offset (4). Any Exif segment with a valid orientation is at least as long
/// (see [`exif_orientation`]), so keeping the orientation never grows the file.
const ORIENTATION_APP1_LEN: usize = 4 + EXIF_ID.len() + 8 + 2 + 12 + 4;

/// A JPEG's Exif orientation: 1 is upright, 2..=4 mirror or turn by 180°, 5..=8 turn
/// by 90° (with or without mirroring), which swaps the displayed sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Orientation {
    /// 1..=8.
    value: u16,
    /// The byte order of the Exif it was read from, kept in the new segment.
    big_endian: bool,
    /// Where the Exif APP1 it was read from starts (fill bytes included); the new
    /// segment takes its place.
    segment: usize,
}

impl Orientation {
    fn swaps_sides(self) -> bool {
        self.value >= 5
    }

    /// Writes an APP1 segment holding the Exif identifier, a TIFF header and IFD0 with
    /// this orientation as its only entry (SHORT, count 1) and no next IFD.
    fn write_app1(self, out: &mut dyn Sink) {
        let u16_bytes = |v: u16| {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32_bytes = |v: u32| {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let length = (ORIENTATION_APP1_LEN - 2) as u16; // 34: a constant that fits
        out.put(&[0xFF, APP1]);
        out.put(&length.to_be_bytes());
        out.put(EXIF_ID);
        out.put(if self.big_endian { b"MM" } else { b"II" });
        out.put(&u16_bytes(42));
        out.put(&u32_bytes(8)); // IFD0 right after the header
        out.put(&u16_bytes(1)); // one entry
        out.put(&u16_bytes(TAG_ORIENTATION));
        out.put(&u16_bytes(TIFF_SHORT));
        out.put(&u32_bytes(1)); // count
        out.put(&u16_bytes(self.value)); // a SHORT sits in the first 2 of the 4 bytes
        out.put(&[0, 0]);
        out.put(&u32_bytes(0)); // no next IFD
    }
}

/// The orientation (1..=8) and byte order (`true`: big-endian) of an Exif APP1
/// payload. `None` unless the TIFF header is valid, IFD0 lies after it and entirely
/// (entries and next-IFD offset) within the payload, and IFD0's first orientation
/// entry is a SHORT of count 1 with a value in 1..=8.
fn exif_orientation(payload: &[u8]) -> Option<(u16, bool)> {
    let tiff = payload.strip_prefix(EXIF_ID)?;
    let big_endian = match array(tiff, 0)? {
        [b'M', b'M', 0, 42] => true,
        [b'I', b'I', 42, 0] => false,
        _ => return None,
    };
    let read_u16 = |pos| {
        if big_endian {
            be_u16(tiff, pos)
        } else {
            le_u16(tiff, pos)
        }
    };
    let read_u32 = |pos| {
        if big_endian {
            be_u32(tiff, pos)
        } else {
            le_u32(tiff, pos)
        }
    };
    let ifd = usize::try_from(read_u32(4)?).ok()?;
    if ifd < 8 {
        return None; // inside the header
    }
    let count = usize::from(read_u16(ifd)?);
    // The count, the entries and the next-IFD offset.
    let end = ifd.checked_add(6)?.checked_add(count.checked_mul(12)?)?;
    if end > tiff.len() {
        return None;
    }
    let entry = (0..count)
        .map(|i| ifd + 2 + 12 * i)
        .find(|&entry| read_u16(entry) == Some(TAG_ORIENTATION))?;
    let value = read_u16(entry + 8)?;
    let valid =
        read_u16(entry + 2)? == TIFF_SHORT && read_u32(entry + 4)? == 1 && (1..=8).contains(&value);
    valid.then_some((value, big_endian))
}

// ---------------------------------------------------------------------------------
// GIF: signature, then the logical screen descriptor (width, height as u16 LE).

fn sniff_gif(bytes: &[u8]) -> Option<Sniffed> {
    let size = nonzero_size(le_u16(bytes, 6)?.into(), le_u16(bytes, 8)?.into())?;
    Some(image("image/gif", "gif", size))
}

// ---------------------------------------------------------------------------------
// RIFF (WebP, WAV): "RIFF", u32 LE size of what follows, form type, then chunks of
// FourCC, u32 LE size, data and a pad byte when the size is odd.

/// VP8X flag bits (in the first payload byte) announcing EXIF and XMP chunks.
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

fn sniff_riff(bytes: &[u8]) -> Option<Sniffed> {
    if at(bytes, 8, b"WAVE") {
        return Some(media(MediaKind::Audio, "audio/wav", "wav"));
    }
    if !at(bytes, 8, b"WEBP") {
        return None; // AVI and other RIFF forms are not supported.
    }
    // The first chunk holds the image header (simple formats) or the canvas (VP8X).
    let fourcc: [u8; 4] = array(bytes, 12)?;
    let chunk_size = le_u32(bytes, 16)?;
    let payload = bytes.get(20..)?;
    let size = match &fourcc {
        b"VP8 " if chunk_size >= 10 => vp8_size(payload)?,
        b"VP8L" if chunk_size >= 5 => vp8l_size(payload)?,
        b"VP8X" if chunk_size >= 10 => vp8x_size(payload)?,
        _ => return None,
    };
    Some(image("image/webp", "webp", size))
}

/// Lossy: a 3-byte frame tag (bit 0 clear on key frames), the start code 9D 01 2A,
/// then 14-bit width and height (the top 2 bits are a scaling hint).
fn vp8_size(payload: &[u8]) -> Option<(u32, u32)> {
    if payload.first()? & 1 != 0 || !at(payload, 3, &[0x9D, 0x01, 0x2A]) {
        return None;
    }
    let width = le_u16(payload, 6)? & 0x3FFF;
    let height = le_u16(payload, 8)? & 0x3FFF;
    nonzero_size(width.into(), height.into())
}

/// Lossless: signature 0x2F, then 14 bits width - 1, 14 bits height - 1, 1 bit alpha
/// and a 3-bit version that must be 0.
fn vp8l_size(payload: &[u8]) -> Option<(u32, u32)> {
    if payload.first() != Some(&0x2F) {
        return None;
    }
    let bits = le_u32(payload, 1)?;
    if bits >> 29 != 0 {
        return None;
    }
    Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
}

/// Extended: flags (1 byte), reserved (3), canvas width - 1 and height - 1 (u24 LE).
fn vp8x_size(payload: &[u8]) -> Option<(u32, u32)> {
    Some((le_u24(payload, 4)? + 1, le_u24(payload, 7)? + 1))
}

struct RiffChunk {
    fourcc: [u8; 4],
    /// Header, data and pad byte.
    whole: Range<usize>,
    /// Data only.
    payload: Range<usize>,
}

/// Calls `visit` for every chunk inside the RIFF size; bytes after it are not visited.
fn walk_webp(
    bytes: &[u8],
    mut visit: impl FnMut(&RiffChunk) -> Result<(), &'static str>,
) -> Result<(), &'static str> {
    if !bytes.starts_with(b"RIFF") || !at(bytes, 8, b"WEBP") {
        return Err("WebP: bad RIFF header");
    }
    let riff_size = le_u32(bytes, 4).ok_or("WebP: truncated RIFF header")?;
    let riff_end = offset(8, riff_size).ok_or("WebP: RIFF size out of range")?;
    if riff_end < 12 {
        return Err("WebP: RIFF size too small");
    }
    if riff_end > bytes.len() {
        return Err("WebP: truncated (shorter than its RIFF size)");
    }
    let mut pos = 12;
    while pos < riff_end {
        if riff_end - pos < 8 {
            return Err("WebP: truncated chunk header");
        }
        let fourcc: [u8; 4] = array(bytes, pos).ok_or("WebP: truncated chunk header")?;
        let size = le_u32(bytes, pos + 4).ok_or("WebP: truncated chunk header")?;
        let payload_end = offset(pos + 8, size).ok_or("WebP: chunk size out of range")?;
        let end = payload_end + usize::from(size % 2 == 1);
        if end > riff_end {
            return Err("WebP: chunk overruns the RIFF size");
        }
        visit(&RiffChunk {
            fourcc,
            whole: pos..end,
            payload: pos + 8..payload_end,
        })?;
        pos = end;
    }
    Ok(())
}

fn keeps_webp_chunk(chunk: &RiffChunk) -> bool {
    &chunk.fourcc != b"EXIF" && &chunk.fourcc != b"XMP "
}

fn write_webp(bytes: &[u8], out: &mut dyn Sink) -> Result<(), &'static str> {
    // The RIFF size counts everything after itself: add up the kept chunks first (a
    // walk over chunk headers only).
    let mut kept = 4; // the "WEBP" form type
    walk_webp(bytes, |chunk| {
        if keeps_webp_chunk(chunk) {
            kept += chunk.whole.len();
        }
        Ok(())
    })?;
    // Never more than the original size, which fitted.
    let riff_size = u32::try_from(kept).map_err(|_| "WebP: RIFF size out of range")?;
    out.put(b"RIFF");
    out.put(&riff_size.to_le_bytes());
    out.put(b"WEBP");
    walk_webp(bytes, |chunk| {
        if !keeps_webp_chunk(chunk) {
            return Ok(());
        }
        if &chunk.fourcc == b"VP8X" {
            // Decoders may look for the chunks the flags announce: clear the flags
            // of the chunks we drop.
            if chunk.payload.len() < 10 {
                return Err("WebP: VP8X chunk too short");
            }
            let flags = chunk.payload.start;
            out.put(&bytes[chunk.whole.start..flags]);
            out.put(&[bytes[flags] & !(VP8X_EXIF | VP8X_XMP)]);
            out.put(&bytes[flags + 1..chunk.whole.end]);
        } else {
            out.put(&bytes[chunk.whole.clone()]);
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------
// ISO base media (MP4, MOV, M4A): boxes of u32 BE size (1: a u64 size follows the
// type; 0: up to the end), type, payload. The file starts with `ftyp`: major brand,
// minor version, compatible brands.

/// Brands of HEIF still images and image sequences (HEIC, AVIF): not supported, even
/// when an MP4 brand is listed as compatible.
const HEIF_BRANDS: [&[u8; 4]; 10] = [
    b"mif1", b"mif2", b"msf1", b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc",
];

/// The media a brand stands for, for the brands we accept.
fn brand_media(brand: &[u8]) -> Option<Sniffed> {
    match brand {
        b"qt  " => Some(media(MediaKind::Video, "video/quicktime", "mov")),
        b"M4A " => Some(media(MediaKind::Audio, "audio/mp4", "m4a")),
        b"isom" | b"iso2" | b"mp41" | b"mp42" | b"avc1" | b"M4V " => {
            Some(media(MediaKind::Video, "video/mp4", "mp4"))
        }
        _ => None,
    }
}

fn sniff_iso_bmff(bytes: &[u8]) -> Option<Sniffed> {
    let ftyp_size = usize::try_from(be_u32(bytes, 0)?).ok()?;
    if ftyp_size < 16 || ftyp_size % 4 != 0 {
        return None;
    }
    // Brands start after size and type; a truncated ftyp gives fewer compatible brands.
    let brands = bytes.get(8..ftyp_size.min(bytes.len()))?;
    let major = brands.get(..4)?;
    let compatible = || brands.get(8..).unwrap_or_default().chunks_exact(4);
    let is_heif = |brand: &[u8]| HEIF_BRANDS.iter().any(|heif| heif.as_slice() == brand);
    if is_heif(major) || compatible().any(is_heif) {
        return None;
    }
    // The major brand says what the file is; compatible brands cover major brands we
    // don't list (e.g. "dash", "iso6", "mp71").
    let mut sniffed = brand_media(major).or_else(|| compatible().find_map(brand_media))?;
    if sniffed.kind == MediaKind::Video
        && let Some((width, height)) = mp4_size(bytes)
    {
        sniffed.width = Some(width);
        sniffed.height = Some(height);
    }
    Some(sniffed)
}

/// Iterates over the boxes in `bytes[range]`, yielding type and payload range. Stops at
/// the first malformed box (size too small or past the range).
struct Boxes<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Boxes<'a> {
    fn new(bytes: &'a [u8], range: Range<usize>) -> Self {
        Boxes {
            bytes,
            pos: range.start,
            end: range.end.min(bytes.len()),
        }
    }

    fn parse_next(&mut self) -> Option<([u8; 4], Range<usize>)> {
        let start = self.pos;
        if start >= self.end {
            return None;
        }
        let kind: [u8; 4] = array(self.bytes, start + 4)?;
        let (header, size) = match be_u32(self.bytes, start)? {
            0 => (8, self.end - start),
            1 => (16, usize::try_from(be_u64(self.bytes, start + 8)?).ok()?),
            size => (8, usize::try_from(size).ok()?),
        };
        let end = start.checked_add(size)?;
        if size < header || end > self.end {
            return None;
        }
        self.pos = end;
        Some((kind, start + header..end))
    }
}

impl Iterator for Boxes<'_> {
    type Item = ([u8; 4], Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        let item = self.parse_next();
        if item.is_none() {
            self.pos = self.end; // don't resume inside a malformed box
        }
        item
    }
}

/// The display size of the first track with one (audio tracks have 0 x 0), from
/// `moov/trak/tkhd`. Linear: each box is visited at most once.
fn mp4_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let (_, moov) = Boxes::new(bytes, 0..bytes.len()).find(|(kind, _)| kind == b"moov")?;
    Boxes::new(bytes, moov)
        .filter(|(kind, _)| kind == b"trak")
        .find_map(|(_, trak)| {
            let (_, tkhd) = Boxes::new(bytes, trak).find(|(kind, _)| kind == b"tkhd")?;
            tkhd_size(bytes.get(tkhd)?)
        })
}

/// `tkhd` payload: version and flags (4 bytes), times, track id and duration (20 bytes
/// in version 0, 32 in version 1), 8 reserved, layer, group, volume and 2 reserved
/// (8), the 3x3 matrix (36), then width and height in 16.16 fixed point.
fn tkhd_size(payload: &[u8]) -> Option<(u32, u32)> {
    let times = match payload.first()? {
        0 => 20,
        1 => 32,
        _ => return None,
    };
    let matrix = 4 + times + 16;
    let a = i32::from_be_bytes(array(payload, matrix)?);
    let b = i32::from_be_bytes(array(payload, matrix + 4)?);
    let width = be_u32(payload, matrix + 36)? >> 16;
    let height = be_u32(payload, matrix + 40)? >> 16;
    let (width, height) = nonzero_size(width, height)?;
    // The size is before the matrix; phones store portrait video as landscape frames
    // with a 90° rotation (a = 0, b = ±1), which is displayed with the sides swapped.
    Some(if a == 0 && b != 0 {
        (height, width)
    } else {
        (width, height)
    })
}

// ---------------------------------------------------------------------------------
// Audio.

/// "fLaC", then the mandatory first metadata block: STREAMINFO (type 0, the top bit
/// marks the last block) of 34 bytes. Checking it keeps text starting "fLaC" out.
fn is_flac(bytes: &[u8]) -> bool {
    bytes.starts_with(b"fLaC")
        && bytes
            .get(4)
            .is_some_and(|block_type| block_type & 0x7F == 0)
        && at(bytes, 5, &[0, 0, 34])
}

/// ID3v2 tag: "ID3", major version 2..=4, revision, flags, then a 28-bit size stored
/// 7 bits per byte. It usually precedes MP3 frames, sometimes a FLAC stream.
fn sniff_id3(bytes: &[u8]) -> Option<Sniffed> {
    let [_, _, _, major, revision, flags, size @ ..]: [u8; 10] = array(bytes, 0)?;
    if !(2..=4).contains(&major) || revision == 0xFF || size.iter().any(|b| b & 0x80 != 0) {
        return None;
    }
    let size = size
        .iter()
        .fold(0usize, |acc, &b| acc << 7 | usize::from(b));
    let footer = if flags & 0x10 != 0 { 10 } else { 0 };
    let after_tag = 10 + size + footer;
    if bytes.get(after_tag..).is_some_and(is_flac) {
        return Some(flac());
    }
    Some(mp3())
}

/// An MPEG audio frame header: 11 sync bits, then version (01 reserved), layer (00
/// reserved; ADTS AAC uses it), protection bit, bitrate (1111 invalid), sample rate
/// (11 reserved).
fn is_mpeg_audio_frame(bytes: &[u8]) -> bool {
    // FF FE is also the UTF-16LE byte order mark, whose text would pass the checks
    // below; giving up MPEG-1 layer I with CRC, a format nobody uploads, is cheaper
    // than a second-frame check.
    let Some([0xFF, b1, b2]) = array::<3>(bytes, 0) else {
        return false;
    };
    let version = (b1 >> 3) & 0b11;
    let layer = (b1 >> 1) & 0b11;
    let bitrate = b2 >> 4;
    let sample_rate = (b2 >> 2) & 0b11;
    b1 & 0xE0 == 0xE0
        && b1 != 0xFE
        && version != 0b01
        && layer != 0b00
        && bitrate != 0b1111
        && sample_rate != 0b11
}

#[cfg(test)]
mod tests {
    use super::*;

    // -----------------------------------------------------------------------------
    // Builders for tiny files.

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let crc = crc32(&chunk[4..]);
        chunk.extend_from_slice(&crc.to_be_bytes());
        chunk
    }

    fn ihdr(width: u32, height: u32) -> Vec<u8> {
        let mut data = width.to_be_bytes().to_vec();
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
        png_chunk(b"IHDR", &data)
    }

    /// A sample file as its parts, each marked kept or dropped by `strip_metadata`.
    struct Sample {
        parts: Vec<(Vec<u8>, bool)>,
    }

    impl Sample {
        fn new() -> Self {
            Sample { parts: Vec::new() }
        }
        fn keep(mut self, part: impl Into<Vec<u8>>) -> Self {
            self.parts.push((part.into(), true));
            self
        }
        fn drop(mut self, part: impl Into<Vec<u8>>) -> Self {
            self.parts.push((part.into(), false));
            self
        }
        fn file(&self) -> Vec<u8> {
            self.parts
                .iter()
                .flat_map(|(part, _)| part.clone())
                .collect()
        }
        fn kept(&self) -> Vec<u8> {
            self.parts
                .iter()
                .filter(|(_, keep)| *keep)
                .flat_map(|(part, _)| part.clone())
                .collect()
        }
    }

    fn sample_png() -> Sample {
        Sample::new()
            .keep(PNG_SIGNATURE.to_vec())
            .keep(ihdr(3, 2))
            .keep(png_chunk(b"gAMA", &100_000u32.to_be_bytes()))
            .drop(png_chunk(b"eXIf", b"MM\0*\0\0\0\x08GPS 48.85N 2.35E"))
            .drop(png_chunk(b"tEXt", b"Author\0Alice"))
            .drop(png_chunk(b"zTXt", b"Comment\0\0x\x9c"))
            .drop(png_chunk(b"iTXt", b"Location\0\0\0en\0\0Home"))
            .keep(png_chunk(b"iCCP", b"sRGB\0\0\x78\x9c"))
            .drop(png_chunk(b"tIME", &[0x07, 0xE8, 1, 2, 3, 4, 5]))
            .keep(png_chunk(
                b"IDAT",
                &[0x78, 0x9C, 0xFF, 0x00, 0x49, 0x45, 0x4E, 0x44],
            ))
            .keep(png_chunk(b"IEND", b""))
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut segment = vec![0xFF, marker];
        segment.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
        segment.extend_from_slice(payload);
        segment
    }

    fn sof(marker: u8, width: u16, height: u16) -> Vec<u8> {
        let mut payload = vec![8];
        payload.extend_from_slice(&height.to_be_bytes());
        payload.extend_from_slice(&width.to_be_bytes());
        payload.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        segment(marker, &payload)
    }

    fn sos() -> Vec<u8> {
        segment(SOS, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 0x3F, 0])
    }

    /// A DHT segment whose payload would read as 4660 x 22136 if taken for a SOF.
    fn dht() -> Vec<u8> {
        let mut payload = vec![0x00, 0x56, 0x78, 0x12, 0x34];
        payload.extend_from_slice(&[0; 12]);
        payload.push(0);
        segment(0xC4, &payload)
    }

    fn sample_jpeg() -> Sample {
        let jfif = b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00";
        // Exif whose bytes contain an EOI and an SOS marker: only lengths may be trusted.
        let exif = b"Exif\0\0MM\0*\xFF\xD9\xFF\xDA\0\x08GPS 48.85N 2.35E";
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Lat</x:xmpmeta>";
        let mut dqt = vec![0x00];
        dqt.extend(1..=64u8);
        Sample::new()
            .keep(vec![0xFF, SOI])
            .keep(segment(0xE0, jfif))
            .drop(segment(APP1, exif))
            .drop([vec![0xFF, 0xFF], segment(APP1, xmp)].concat()) // with fill bytes
            .keep(segment(0xE2, b"ICC_PROFILE\0\x01\x01abc"))
            .drop(segment(APP13, b"Photoshop 3.0\08BIM\x04\x04"))
            .drop(segment(COM, b"taken at home"))
            .keep(segment(0xDB, &dqt))
            .keep(dht())
            .keep([vec![0xFF, 0xFF, 0xFF], sof(0xC0, 640, 480)].concat())
            .keep(vec![0xFF, TEM]) // standalone marker between segments
            .keep(segment(0xDD, &[0, 4])) // DRI
            .keep(sos())
            // Entropy-coded data with stuffed 0xFF, a restart marker and fill bytes.
            .keep(vec![
                0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78, 0xFF, 0xFF, 0x00, 0x9A,
            ])
            .keep(vec![0xFF, EOI])
    }

    /// An Exif APP1 payload as a phone writes it, in either byte order: IFD0 holds
    /// Make, the orientation (if any), DateTime and a pointer to a GPS IFD holding a
    /// latitude, with the strings and rationals after the IFDs.
    fn phone_exif(big_endian: bool, orientation: Option<u16>) -> Vec<u8> {
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
            [u16b(tag).as_slice(), &u16b(kind), &u32b(count), &value].concat()
        };
        let entries = 3 + u16::from(orientation.is_some());
        let make_at = 8 + 2 + 12 * u32::from(entries) + 4;
        let date_at = make_at + 8;
        let gps_at = date_at + 20;
        let latitude_at = gps_at + 2 + 2 * 12 + 4;
        let mut tiff = if big_endian { b"MM\0\x2A" } else { b"II\x2A\0" }.to_vec();
        tiff.extend(u32b(8));
        tiff.extend(u16b(entries));
        tiff.extend(entry(0x010F, 2, 8, u32b(make_at))); // Make, ASCII
        if let Some(value) = orientation {
            let [a, b] = u16b(value);
            tiff.extend(entry(0x0112, 3, 1, [a, b, 0, 0]));
        }
        tiff.extend(entry(0x0132, 2, 20, u32b(date_at))); // DateTime, ASCII
        tiff.extend(entry(0x8825, 4, 1, u32b(gps_at))); // GPS IFD pointer, LONG
        tiff.extend(u32b(0));
        tiff.extend(b"Pixel 8\0");
        tiff.extend(b"2024:05:01 12:34:56\0");
        tiff.extend(u16b(2));
        tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0")); // GPSLatitudeRef
        tiff.extend(entry(0x0002, 5, 3, u32b(latitude_at))); // GPSLatitude, RATIONAL
        tiff.extend(u32b(0));
        for value in [48, 1, 51, 1, 2400, 100] {
            tiff.extend(u32b(value));
        }
        assert_eq!(tiff.len(), latitude_at as usize + 24);
        [b"Exif\0\0".as_slice(), &tiff].concat()
    }

    /// The APP1 segment a kept orientation must become, spelled out byte by byte.
    fn orientation_app1(big_endian: bool, value: u16) -> Vec<u8> {
        let [hi, lo] = value.to_be_bytes();
        let tiff = if big_endian {
            [
                b"MM\0\x2A\0\0\0\x08".as_slice(), // header, IFD0 at 8
                b"\0\x01",                        // one entry
                b"\x01\x12\0\x03\0\0\0\x01",      // Orientation, SHORT, count 1
                &[hi, lo, 0, 0],
                b"\0\0\0\0", // no next IFD
            ]
            .concat()
        } else {
            [
                b"II\x2A\0\x08\0\0\0".as_slice(),
                b"\x01\0",
                b"\x12\x01\x03\0\x01\0\0\0",
                &[lo, hi, 0, 0],
                b"\0\0\0\0",
            ]
            .concat()
        };
        [b"\xFF\xE1\0\x22Exif\0\0".as_slice(), &tiff].concat()
    }

    /// A 640 x 480 JPEG with `middle` between APP0 and the frame header.
    fn jpeg_around(middle: &[u8]) -> Vec<u8> {
        [
            vec![0xFF, SOI],
            segment(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            middle.to_vec(),
            sof(0xC0, 640, 480),
            sos(),
            vec![0x12, 0xFF, 0x00, 0x34, 0xFF, EOI],
        ]
        .concat()
    }

    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Lat</x:xmpmeta>";

    /// A phone JPEG with orientation 6 and, separately, what stripping must give.
    fn sample_oriented_jpeg(big_endian: bool) -> (Vec<u8>, Vec<u8>) {
        let exif = segment(APP1, &phone_exif(big_endian, Some(6)));
        let file = jpeg_around(&[exif, segment(APP1, XMP)].concat());
        (file, jpeg_around(&orientation_app1(big_endian, 6)))
    }

    /// The APP1 segments of a JPEG, whole.
    fn app1_segments(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut found = Vec::new();
        walk_jpeg(bytes, |piece| {
            if piece.marker == Some(APP1) {
                found.push(bytes[piece.whole.clone()].to_vec());
            }
            ControlFlow::Continue(())
        })
        .expect("a valid JPEG");
        found
    }

    fn riff(form: &[u8; 4], chunks: &[u8]) -> Vec<u8> {
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(chunks.len() as u32 + 4).to_le_bytes());
        file.extend_from_slice(form);
        file.extend_from_slice(chunks);
        file
    }

    fn riff_chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = fourcc.to_vec();
        chunk.extend_from_slice(&(data.len() as u32).to_le_bytes());
        chunk.extend_from_slice(data);
        if data.len() % 2 == 1 {
            chunk.push(0);
        }
        chunk
    }

    fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
        let mut data = vec![flags, 0, 0, 0];
        data.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        data.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        riff_chunk(b"VP8X", &data)
    }

    fn vp8l(width: u32, height: u32) -> Vec<u8> {
        let bits = (width - 1) | ((height - 1) << 14) | (1 << 28);
        let mut data = vec![0x2F];
        data.extend_from_slice(&bits.to_le_bytes());
        data.extend_from_slice(&[0x07, 0x10]);
        riff_chunk(b"VP8L", &data)
    }

    fn vp8(width: u16, height: u16) -> Vec<u8> {
        let mut data = vec![0x50, 0x02, 0x00, 0x9D, 0x01, 0x2A];
        data.extend_from_slice(&width.to_le_bytes());
        data.extend_from_slice(&height.to_le_bytes());
        data.extend_from_slice(&[0x01, 0x02, 0x03]);
        riff_chunk(b"VP8 ", &data)
    }

    /// The WebP sample and, separately, what stripping must give.
    fn sample_webp() -> (Vec<u8>, Vec<u8>) {
        let all_flags = 0x20 | 0x10 | VP8X_EXIF | VP8X_XMP; // ICC, alpha, Exif, XMP
        let iccp = riff_chunk(b"ICCP", b"odd"); // odd size: padded
        let image = vp8l(300, 200);
        let exif = riff_chunk(b"EXIF", b"MM\0*\0\0\0\x08GPS");
        let xmp = riff_chunk(b"XMP ", b"<x:xmpmeta>Lat</x:xmpmeta>");
        let file = riff(
            b"WEBP",
            &[
                vp8x(all_flags, 300, 200),
                iccp.clone(),
                image.clone(),
                exif,
                xmp,
            ]
            .concat(),
        );
        let stripped = riff(b"WEBP", &[vp8x(0x30, 300, 200), iccp, image].concat());
        (file, stripped)
    }

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = (payload.len() as u32 + 8).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut payload = major.to_vec();
        payload.extend_from_slice(&[0, 0, 2, 0]);
        for brand in compatible {
            payload.extend_from_slice(*brand);
        }
        mp4_box(b"ftyp", &payload)
    }

    const IDENTITY: [i32; 9] = [0x1_0000, 0, 0, 0, 0x1_0000, 0, 0, 0, 0x4000_0000];
    const ROTATE_90: [i32; 9] = [0, 0x1_0000, 0, -0x1_0000, 0, 0, 0, 0, 0x4000_0000];

    fn tkhd(version: u8, width: u32, height: u32, matrix: [i32; 9]) -> Vec<u8> {
        let mut payload = vec![version, 0, 0, 3];
        payload.extend(std::iter::repeat_n(
            0x11,
            if version == 1 { 32 } else { 20 },
        ));
        payload.extend_from_slice(&[0; 16]);
        for value in matrix {
            payload.extend_from_slice(&value.to_be_bytes());
        }
        payload.extend_from_slice(&(width << 16).to_be_bytes());
        payload.extend_from_slice(&(height << 16).to_be_bytes());
        mp4_box(b"tkhd", &payload)
    }

    fn trak(tkhd: Vec<u8>) -> Vec<u8> {
        mp4_box(b"trak", &[tkhd, mp4_box(b"mdia", &[0; 8])].concat())
    }

    fn sample_mp4() -> Vec<u8> {
        let moov = mp4_box(
            b"moov",
            &[
                mp4_box(b"mvhd", &[0; 100]),
                trak(tkhd(0, 0, 0, IDENTITY)), // audio track: no size
                trak(tkhd(0, 1280, 720, IDENTITY)),
            ]
            .concat(),
        );
        [
            ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"]),
            mp4_box(b"mdat", &[0xAB; 64]),
            moov,
        ]
        .concat()
    }

    fn sample_gif() -> Vec<u8> {
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0x20, 0x01, 0xC8, 0x00, 0x00, 0x00, 0x00]); // 288 x 200
        gif.extend_from_slice(&[
            0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
        ]);
        gif
    }

    fn sample_flac() -> Vec<u8> {
        let mut flac = b"fLaC\x80\x00\x00\x22".to_vec();
        flac.extend_from_slice(&[0x10; 34]);
        flac
    }

    fn sample_id3() -> Vec<u8> {
        let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x0A".to_vec();
        mp3.extend_from_slice(&[0; 10]);
        mp3.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]);
        mp3
    }

    fn all_samples() -> Vec<Vec<u8>> {
        let (webp, _) = sample_webp();
        vec![
            sample_png().file(),
            sample_jpeg().file(),
            sample_oriented_jpeg(true).0,
            sample_oriented_jpeg(false).0,
            webp,
            riff(b"WEBP", &vp8(320, 240)),
            riff(b"WEBP", &vp8l(1, 16384)),
            sample_gif(),
            sample_mp4(),
            sample_flac(),
            sample_id3(),
            vec![0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0],
            b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\x02\x03\x04\0\0\0\0\0\0\0\0\x01\x13OpusHead".to_vec(),
            riff(
                b"WAVE",
                &riff_chunk(
                    b"fmt ",
                    &[1, 0, 1, 0, 0x44, 0xAC, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0],
                ),
            ),
            [
                0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, b'w', b'e',
                b'b', b'm',
            ]
            .to_vec(),
        ]
    }

    fn sniffed_as(
        bytes: &[u8],
    ) -> (
        MediaKind,
        &'static str,
        &'static str,
        Option<u32>,
        Option<u32>,
    ) {
        let s = sniff(bytes).expect("sniffed");
        (s.kind, s.content_type, s.extension, s.width, s.height)
    }

    // -----------------------------------------------------------------------------
    // Sniffing.

    #[test]
    fn kind_names() {
        assert_eq!(MediaKind::Image.as_str(), "image");
        assert_eq!(MediaKind::Gifv.as_str(), "gifv");
        assert_eq!(MediaKind::Video.as_str(), "video");
        assert_eq!(MediaKind::Audio.as_str(), "audio");
    }

    #[test]
    fn sniffs_png_dimensions() {
        assert_eq!(
            sniff(&sample_png().file()),
            Some(Sniffed {
                kind: MediaKind::Image,
                content_type: "image/png",
                extension: "png",
                width: Some(3),
                height: Some(2),
            })
        );
    }

    #[test]
    fn rejects_png_with_bad_ihdr() {
        let with_first = |chunk: Vec<u8>| [PNG_SIGNATURE.to_vec(), chunk].concat();
        assert_eq!(sniff(&with_first(ihdr(0, 2))), None);
        assert_eq!(sniff(&with_first(ihdr(3, 0))), None);
        assert_eq!(sniff(&with_first(ihdr(0x8000_0000, 2))), None);
        assert_eq!(sniff(&with_first(png_chunk(b"gAMA", &[0; 4]))), None);
        assert_eq!(sniff(&with_first(png_chunk(b"IHDR", &[0; 12]))), None);
        assert_eq!(sniff(PNG_SIGNATURE), None);
    }

    #[test]
    fn sniffs_jpeg_dimensions_from_sof0() {
        assert_eq!(
            sniffed_as(&sample_jpeg().file()),
            (MediaKind::Image, "image/jpeg", "jpg", Some(640), Some(480))
        );
    }

    #[test]
    fn jpeg_dimensions_from_other_sofs_but_not_dht_jpg_dac() {
        for marker in [0xC1, 0xC2, 0xC3, 0xC5, 0xC7, 0xC9, 0xCB, 0xCD, 0xCF] {
            let file = [
                vec![0xFF, SOI],
                dht(),
                segment(0xC8, &[8, 0, 1, 0, 1]),
                segment(0xCC, &[8, 0, 2, 0, 2]),
                sof(marker, 17, 9),
                sos(),
                vec![0, 0xFF, EOI],
            ]
            .concat();
            assert_eq!(sniffed_as(&file).3, Some(17), "marker {marker:02X}");
            assert_eq!(sniffed_as(&file).4, Some(9), "marker {marker:02X}");
        }
    }

    #[test]
    fn jpeg_first_sof_wins() {
        let file = [
            vec![0xFF, SOI],
            sof(0xC0, 100, 50),
            sof(0xC2, 7, 7),
            sos(),
            vec![0, 0xFF, EOI],
        ]
        .concat();
        assert_eq!(sniffed_as(&file).3, Some(100));
    }

    #[test]
    fn jpeg_without_frame_header_before_scan_is_rejected() {
        let file = [vec![0xFF, SOI], dht(), sos(), vec![0, 0xFF, EOI]].concat();
        assert_eq!(sniff(&file), None);
        assert_eq!(sniff(&[0xFF, SOI, 0xFF, EOI]), None);
        // Zero height (DNL) and zero width.
        assert_eq!(sniff(&[vec![0xFF, SOI], sof(0xC0, 10, 0)].concat()), None);
        assert_eq!(sniff(&[vec![0xFF, SOI], sof(0xC0, 0, 10)].concat()), None);
        // SOF payload too short for the dimensions.
        assert_eq!(
            sniff(&[vec![0xFF, SOI], segment(0xC0, &[8, 0, 1, 0])].concat()),
            None
        );
        // Segment length below 2.
        assert_eq!(
            sniff(&[0xFF, SOI, 0xFF, 0xE0, 0x00, 0x01, 0xFF, 0xC0]),
            None
        );
    }

    #[test]
    fn jpeg_skips_stray_bytes_between_segments() {
        let file = [
            vec![0xFF, SOI],
            segment(0xE0, b"JFIF\0"),
            vec![0x00, 0x00, 0xFF, 0x00, 0x12],
            sof(0xC0, 4, 3),
            sos(),
            vec![1, 2, 0xFF, EOI],
        ]
        .concat();
        assert_eq!(sniffed_as(&file).3, Some(4));
        let stripped = strip_metadata(&file, &sniff(&file).unwrap()).unwrap();
        let expected = [
            vec![0xFF, SOI],
            segment(0xE0, b"JFIF\0"),
            sof(0xC0, 4, 3),
            sos(),
            vec![1, 2, 0xFF, EOI],
        ]
        .concat();
        assert_eq!(stripped, expected);
    }

    #[test]
    fn sniffs_gif() {
        assert_eq!(
            sniffed_as(&sample_gif()),
            (MediaKind::Image, "image/gif", "gif", Some(288), Some(200))
        );
        let gif87 = [b"GIF87a".as_slice(), &[1, 0, 2, 0, 0, 0, 0]].concat();
        assert_eq!(
            sniffed_as(&gif87),
            (MediaKind::Image, "image/gif", "gif", Some(1), Some(2))
        );
        assert_eq!(sniff(b"GIF89a\0\0\x01\0"), None); // zero width
        assert_eq!(sniff(b"GIF88a\x01\0\x01\0"), None); // no such version
        assert_eq!(sniff(b"GIF89a\x01\0\x01"), None); // truncated
    }

    #[test]
    fn sniffs_webp_variants() {
        let (extended, _) = sample_webp();
        assert_eq!(
            sniffed_as(&extended),
            (MediaKind::Image, "image/webp", "webp", Some(300), Some(200))
        );
        assert_eq!(sniffed_as(&riff(b"WEBP", &vp8(320, 240))).3, Some(320));
        assert_eq!(sniffed_as(&riff(b"WEBP", &vp8(320, 240))).4, Some(240));
        // The 2 scaling bits above the 14-bit dimensions are ignored.
        assert_eq!(
            sniffed_as(&riff(b"WEBP", &vp8(0x4000 | 320, 0xC000 | 240))).3,
            Some(320)
        );
        assert_eq!(sniffed_as(&riff(b"WEBP", &vp8l(16384, 1))).3, Some(16384));
        assert_eq!(sniffed_as(&riff(b"WEBP", &vp8l(16384, 1))).4, Some(1));
        let big = riff(b"WEBP", &vp8x(0, 1 << 24, 1 << 24));
        assert_eq!(sniffed_as(&big).3, Some(1 << 24));
    }

    #[test]
    fn rejects_bad_webp_headers() {
        let mut interframe = riff(b"WEBP", &vp8(320, 240));
        interframe[20] |= 1;
        assert_eq!(sniff(&interframe), None);
        let mut no_start_code = riff(b"WEBP", &vp8(320, 240));
        no_start_code[23] = 0;
        assert_eq!(sniff(&no_start_code), None);
        let mut bad_signature = riff(b"WEBP", &vp8l(3, 3));
        bad_signature[20] = 0x2E;
        assert_eq!(sniff(&bad_signature), None);
        let mut bad_version = riff(b"WEBP", &vp8l(3, 3));
        bad_version[24] |= 0x20;
        assert_eq!(sniff(&bad_version), None);
        assert_eq!(sniff(&riff(b"WEBP", &riff_chunk(b"ALPH", &[0; 10]))), None);
        assert_eq!(sniff(&riff(b"WEBP", &riff_chunk(b"VP8X", &[0; 4]))), None);
        assert_eq!(sniff(&riff(b"AVI ", &riff_chunk(b"LIST", &[0; 10]))), None);
    }

    #[test]
    fn sniffs_iso_bmff_brands() {
        let video = |major: &[u8; 4], compatible: &[&[u8; 4]]| {
            let s = sniff(&[ftyp(major, compatible), mp4_box(b"mdat", &[1; 8])].concat())?;
            Some((s.kind, s.content_type, s.extension))
        };
        for brand in [b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V "] {
            assert_eq!(
                video(brand, &[]),
                Some((MediaKind::Video, "video/mp4", "mp4"))
            );
        }
        assert_eq!(
            video(b"qt  ", &[b"qt  "]),
            Some((MediaKind::Video, "video/quicktime", "mov"))
        );
        assert_eq!(
            video(b"M4A ", &[b"M4A ", b"mp42", b"isom"]),
            Some((MediaKind::Audio, "audio/mp4", "m4a"))
        );
        // Unknown major brand: the compatible brands decide.
        assert_eq!(
            video(b"dash", &[b"iso6", b"mp42"]),
            Some((MediaKind::Video, "video/mp4", "mp4"))
        );
        assert_eq!(video(b"3gp5", &[b"3gp5"]), None);
        // HEIF images and sequences, even when claiming MP4 compatibility.
        assert_eq!(video(b"avif", &[b"avif", b"mif1", b"miaf"]), None);
        assert_eq!(video(b"avis", &[b"avis", b"msf1", b"iso8"]), None);
        assert_eq!(video(b"heic", &[b"mif1", b"heic"]), None);
        assert_eq!(video(b"mif1", &[b"isom"]), None);
        assert_eq!(video(b"isom", &[b"isom", b"avif"]), None);
        // Broken ftyp sizes.
        let mut bad = ftyp(b"isom", &[]);
        bad[3] = 15;
        assert_eq!(sniff(&bad), None);
        bad[3] = 1;
        assert_eq!(sniff(&bad), None);
    }

    #[test]
    fn reads_mp4_track_size() {
        assert_eq!(
            sniffed_as(&sample_mp4()),
            (MediaKind::Video, "video/mp4", "mp4", Some(1280), Some(720))
        );
        let rotated = [
            ftyp(b"qt  ", &[b"qt  "]),
            mp4_box(b"moov", &trak(tkhd(1, 1920, 1080, ROTATE_90))),
        ]
        .concat();
        assert_eq!(
            sniffed_as(&rotated),
            (
                MediaKind::Video,
                "video/quicktime",
                "mov",
                Some(1080),
                Some(1920)
            )
        );
        // A 64-bit sized mdat before moov, and no moov at all.
        let mut large_mdat = vec![0, 0, 0, 1];
        large_mdat.extend_from_slice(b"mdat");
        large_mdat.extend_from_slice(&24u64.to_be_bytes());
        large_mdat.extend_from_slice(&[0xFF; 8]);
        let file = [
            ftyp(b"mp42", &[]),
            large_mdat.clone(),
            mp4_box(b"moov", &trak(tkhd(0, 640, 360, IDENTITY))),
        ]
        .concat();
        assert_eq!(sniffed_as(&file).3, Some(640));
        let file = [ftyp(b"mp42", &[]), large_mdat].concat();
        assert_eq!(sniffed_as(&file).3, None);
        // A box claiming more than the file stops the walk: no size, still a video.
        let mut truncated = sample_mp4();
        truncated.truncate(truncated.len() - 1);
        assert_eq!(sniffed_as(&truncated).3, None);
        // A box whose size is below its header stops the walk instead of looping.
        let file = [
            ftyp(b"mp42", &[]),
            vec![0, 0, 0, 4],
            b"free".to_vec(),
            mp4_box(b"moov", &trak(tkhd(0, 640, 360, IDENTITY))),
        ]
        .concat();
        assert_eq!(sniffed_as(&file).3, None);
    }

    #[test]
    fn sniffs_audio_and_webm() {
        assert_eq!(
            sniffed_as(&sample_flac()),
            (MediaKind::Audio, "audio/flac", "flac", None, None)
        );
        assert_eq!(
            sniffed_as(&sample_id3()),
            (MediaKind::Audio, "audio/mpeg", "mp3", None, None)
        );
        assert_eq!(sniffed_as(&[0xFF, 0xFB, 0x90, 0x64]).1, "audio/mpeg"); // MPEG-1 layer III
        assert_eq!(sniffed_as(&[0xFF, 0xF3, 0x60, 0xC4]).1, "audio/mpeg"); // MPEG-2 layer III
        assert_eq!(sniffed_as(&[0xFF, 0xE3, 0x18, 0xC4]).1, "audio/mpeg"); // MPEG-2.5 layer III
        assert_eq!(sniffed_as(&[0xFF, 0xFD, 0x90, 0x64]).1, "audio/mpeg"); // MPEG-1 layer II
        let id3_then_flac = [b"ID3\x03\0\0\0\0\0\x02".as_slice(), &[0, 0], &sample_flac()].concat();
        assert_eq!(sniffed_as(&id3_then_flac).1, "audio/flac");
        let ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\x02\x03\x04";
        assert_eq!(
            sniffed_as(ogg),
            (MediaKind::Audio, "audio/ogg", "ogg", None, None)
        );
        let wav = riff(b"WAVE", &riff_chunk(b"fmt ", &[0; 16]));
        assert_eq!(
            sniffed_as(&wav),
            (MediaKind::Audio, "audio/wav", "wav", None, None)
        );
        let webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
        assert_eq!(
            sniffed_as(&webm),
            (MediaKind::Video, "video/webm", "webm", None, None)
        );
    }

    #[test]
    fn rejects_near_miss_audio() {
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), None); // ADTS AAC: layer 00
        assert_eq!(sniff(&[0xFF, 0xEB, 0x90, 0x64]), None); // reserved version 01
        assert_eq!(sniff(&[0xFF, 0xFB, 0xF0, 0x64]), None); // bad bitrate
        assert_eq!(sniff(&[0xFF, 0xFB, 0x9C, 0x64]), None); // reserved sample rate
        assert_eq!(sniff(&[0xFF, 0xFB]), None); // too short
        assert_eq!(sniff(b"ID3 is a tag format"), None);
        assert_eq!(sniff(b"ID3\x04\0\0\x80\0\0\0"), None); // not syncsafe
        assert_eq!(sniff(b"fLaC is a codec"), None);
        assert_eq!(sniff(b"OggS is a container"), None);
    }

    #[test]
    fn rejects_text_html_svg_and_unknown_bytes() {
        let rejected: [&[u8]; 20] = [
            b"",
            b"\0",
            b"hello world",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            b"\xEF\xBB\xBF<svg onload=\"alert(1)\"/>",
            b"\xFF\xFE<\0s\0v\0g\0",
            b"\xFF\xFEH\0e\0l\0l\0o\0",
            b"\xFE\xFF\0<\0s\0v\0g",
            b"   \n<svg/>",
            b"<!DOCTYPE html><html><body>hi</body></html>",
            b"<html><script>alert(1)</script>",
            b"{\"json\": true}",
            b"%PDF-1.7\n",
            b"PK\x03\x04\x14\0\0\0",
            b"\x1F\x8B\x08\0\0\0\0\0",
            b"\x7FELF\x02\x01\x01\0",
            b"MZ\x90\0\x03\0\0\0",
            b"BM\x36\0\0\0\0\0",
            b"II*\0\x08\0\0\0",
        ];
        for bytes in rejected {
            assert_eq!(sniff(bytes), None, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    // -----------------------------------------------------------------------------
    // Stripping.

    fn strip(bytes: &[u8]) -> Vec<u8> {
        strip_metadata(bytes, &sniff(bytes).expect("sniffed")).expect("stripped")
    }

    #[test]
    fn strips_png_text_exif_and_time_only() {
        let sample = sample_png();
        let stripped = strip(&sample.file());
        assert_eq!(stripped, sample.kept());
        assert!(stripped.len() < sample.file().len());
        assert_eq!(sniff(&stripped), sniff(&sample.file()));
        assert_eq!(strip(&stripped), stripped, "idempotent");
        assert_eq!(stripped.capacity(), stripped.len(), "allocated exactly");
    }

    #[test]
    fn strips_png_trailing_bytes() {
        let sample = sample_png();
        let file = [sample.file(), b"after IEND: GPS".to_vec()].concat();
        assert_eq!(strip(&file), sample.kept());
    }

    #[test]
    fn strips_jpeg_app1_app13_com_only() {
        let sample = sample_jpeg();
        let stripped = strip(&sample.file());
        assert_eq!(stripped, sample.kept());
        assert!(
            !stripped
                .windows(4)
                .any(|w| w == b"Exif" || w == b"GPS " || w == b"home")
        );
        assert_eq!(sniff(&stripped), sniff(&sample.file()));
        assert_eq!(strip(&stripped), stripped, "idempotent");
        assert_eq!(stripped.capacity(), stripped.len(), "allocated exactly");
    }

    #[test]
    fn strips_jpeg_metadata_between_scans_and_after_eoi() {
        let file = [
            vec![0xFF, SOI],
            sof(0xC2, 8, 8),
            dht(),
            sos(),
            vec![0x01, 0xFF, 0x00, 0x02],
            segment(COM, b"between scans"),
            dht(),
            sos(),
            vec![0x03, 0xFF, 0xD7, 0x04],
            segment(APP1, b"Exif\0\0late"),
            vec![0xFF, EOI],
            // A second JPEG (as in MPF or gain-map files) with its own Exif.
            vec![0xFF, SOI],
            segment(APP1, b"Exif\0\0second"),
            vec![0xFF, EOI],
        ]
        .concat();
        let expected = [
            vec![0xFF, SOI],
            sof(0xC2, 8, 8),
            dht(),
            sos(),
            vec![0x01, 0xFF, 0x00, 0x02],
            dht(),
            sos(),
            vec![0x03, 0xFF, 0xD7, 0x04],
            vec![0xFF, EOI],
        ]
        .concat();
        assert_eq!(strip(&file), expected);
    }

    #[test]
    fn strips_webp_exif_xmp_and_fixes_header() {
        let (file, expected) = sample_webp();
        let stripped = strip(&file);
        assert_eq!(stripped, expected);
        assert_eq!(
            stripped[20], 0x30,
            "ICC and alpha flags kept, Exif and XMP cleared"
        );
        assert_eq!(le_u32(&stripped, 4), Some(stripped.len() as u32 - 8));
        assert_eq!(sniff(&stripped), sniff(&file));
        assert_eq!(strip(&stripped), stripped, "idempotent");
        // Bytes after the RIFF are dropped.
        assert_eq!(strip(&[file, b"trailer".to_vec()].concat()), expected);
    }

    #[test]
    fn simple_webp_is_unchanged_by_stripping() {
        let file = riff(b"WEBP", &vp8(320, 240));
        assert_eq!(strip(&file), file);
    }

    #[test]
    fn other_types_are_returned_unchanged() {
        for file in all_samples() {
            let sniffed = sniff(&file).unwrap();
            if !["image/jpeg", "image/png", "image/webp"].contains(&sniffed.content_type) {
                assert_eq!(
                    strip_metadata(&file, &sniffed).unwrap(),
                    file,
                    "{}",
                    sniffed.content_type
                );
            }
        }
    }

    #[test]
    fn strip_rejects_bytes_of_another_type() {
        let png = sniff(&sample_png().file()).unwrap();
        let jpeg = sniff(&sample_jpeg().file()).unwrap();
        let webp = sniff(&sample_webp().0).unwrap();
        assert!(strip_metadata(&sample_jpeg().file(), &png).is_err());
        assert!(strip_metadata(&sample_png().file(), &jpeg).is_err());
        assert!(strip_metadata(&sample_gif(), &webp).is_err());
        assert!(strip_metadata(b"", &png).is_err());
    }

    #[test]
    fn strip_rejects_malformed_lengths() {
        let png = sniff(&sample_png().file()).unwrap();
        let mut huge = [PNG_SIGNATURE.to_vec(), ihdr(1, 1)].concat();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, b'I', b'D', b'A', b'T']);
        assert_eq!(
            strip_metadata(&huge, &png),
            Err("PNG: chunk length out of range")
        );
        let mut bad_type = [PNG_SIGNATURE.to_vec(), ihdr(1, 1)].concat();
        bad_type.extend_from_slice(&[0, 0, 0, 0, b'I', b'D', b'1', b'T', 0, 0, 0, 0]);
        assert_eq!(
            strip_metadata(&bad_type, &png),
            Err("PNG: invalid chunk type")
        );
        let not_ihdr = [PNG_SIGNATURE.to_vec(), png_chunk(b"IEND", b"")].concat();
        assert_eq!(
            strip_metadata(&not_ihdr, &png),
            Err("PNG: first chunk is not IHDR")
        );

        let jpeg = sniff(&sample_jpeg().file()).unwrap();
        assert!(strip_metadata(&[0xFF, SOI, 0xFF, 0xE0, 0xFF, 0xFF, 0, 0], &jpeg).is_err());
        assert!(strip_metadata(&[0xFF, SOI, 0xFF, 0xE0, 0x00, 0x00, 0xFF, EOI], &jpeg).is_err());
        assert!(strip_metadata(&[0xFF, SOI, 0xFF, SOI, 0xFF, EOI], &jpeg).is_err());

        let webp = sniff(&sample_webp().0).unwrap();
        let mut riff_too_big = sample_webp().0;
        riff_too_big[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(strip_metadata(&riff_too_big, &webp).is_err());
        let mut riff_too_small = sample_webp().0;
        riff_too_small[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert!(strip_metadata(&riff_too_small, &webp).is_err());
        let mut chunk_too_big = sample_webp().0;
        chunk_too_big[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(strip_metadata(&chunk_too_big, &webp).is_err());
        let short_vp8x = riff(b"WEBP", &riff_chunk(b"VP8X", &[VP8X_EXIF; 4]));
        assert_eq!(
            strip_metadata(&short_vp8x, &webp),
            Err("WebP: VP8X chunk too short")
        );
    }

    // -----------------------------------------------------------------------------
    // Robustness: truncation and corruption never panic; truncated images are errors.

    #[test]
    fn every_prefix_is_handled() {
        let images: Vec<(Vec<u8>, Vec<u8>)> = vec![
            (sample_png().file(), sample_png().kept()),
            (sample_jpeg().file(), sample_jpeg().kept()),
            sample_oriented_jpeg(true),
            sample_oriented_jpeg(false),
            sample_webp(),
            (riff(b"WEBP", &vp8(320, 240)), riff(b"WEBP", &vp8(320, 240))),
        ];
        for (file, expected) in &images {
            let full = sniff(file).unwrap();
            for len in 0..file.len() {
                let prefix = &file[..len];
                if let Some(sniffed) = sniff(prefix) {
                    assert_eq!(
                        sniffed, full,
                        "a prefix can only lose, not change, the type"
                    );
                }
                assert!(
                    strip_metadata(prefix, &full).is_err(),
                    "prefix {len} of {}",
                    full.content_type
                );
            }
            assert_eq!(&strip_metadata(file, &full).unwrap(), expected);
        }
        for file in all_samples() {
            let full = sniff(&file).unwrap();
            for len in 0..=file.len() {
                let prefix = &file[..len];
                if let Some(sniffed) = sniff(prefix) {
                    assert_eq!(
                        (sniffed.kind, sniffed.content_type),
                        (full.kind, full.content_type)
                    );
                    let _ = strip_metadata(prefix, &sniffed);
                }
                let _ = strip_metadata(prefix, &full);
            }
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        for file in all_samples() {
            let full = sniff(&file).unwrap();
            for pos in 0..file.len() {
                for value in [0x00, 0x01, 0x7F, 0x80, 0xD9, 0xDA, 0xFE, 0xFF] {
                    let mut corrupt = file.clone();
                    corrupt[pos] = value;
                    for sniffed in [Some(full.clone()), sniff(&corrupt)].into_iter().flatten() {
                        if let Ok(out) = strip_metadata(&corrupt, &sniffed) {
                            assert!(out.len() <= corrupt.len());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn large_inputs_are_handled_in_linear_time() {
        // 100k comment segments, then a 2 MB scan made of stuffed 0xFF bytes.
        let mut file = vec![0xFF, SOI];
        for _ in 0..100_000 {
            file.extend_from_slice(&segment(COM, b"c"));
        }
        file.extend_from_slice(&sof(0xC0, 1, 1));
        file.extend_from_slice(&sos());
        for _ in 0..1_000_000 {
            file.extend_from_slice(&[0xFF, 0x00]);
        }
        file.extend_from_slice(&[0xFF, EOI]);
        let stripped = strip(&file);
        assert_eq!(stripped.len(), file.len() - 100_000 * 5);

        // 100k text chunks.
        let text = png_chunk(b"tEXt", b"k\0v");
        let mut png = [PNG_SIGNATURE.to_vec(), ihdr(1, 1)].concat();
        for _ in 0..100_000 {
            png.extend_from_slice(&text);
        }
        png.extend_from_slice(&png_chunk(b"IEND", b""));
        assert_eq!(strip(&png).len(), 8 + 25 + 12);

        // An MP4 made of 200k empty boxes before moov.
        let mut mp4 = ftyp(b"isom", &[]);
        for _ in 0..200_000 {
            mp4.extend_from_slice(&mp4_box(b"free", b""));
        }
        mp4.extend_from_slice(&mp4_box(b"moov", &trak(tkhd(0, 2, 2, IDENTITY))));
        assert_eq!(sniffed_as(&mp4).3, Some(2));
    }

    // -----------------------------------------------------------------------------
    // Exif orientation.

    #[test]
    fn keeps_only_the_jpeg_orientation() {
        for big_endian in [true, false] {
            let (file, expected) = sample_oriented_jpeg(big_endian);
            let stripped = strip(&file);
            assert_eq!(stripped, expected, "big endian: {big_endian}");
            assert_eq!(app1_segments(&stripped), [orientation_app1(big_endian, 6)]);
            assert_eq!(orientation_app1(big_endian, 6).len(), ORIENTATION_APP1_LEN);
            // Make, DateTime, the GPS IFD and its pointer, and the XMP are gone.
            for gone in [
                b"Pixel".as_slice(),
                b"2024:05:01",
                b"N\0\0\0",
                b"\x88\x25",
                b"\x25\x88",
                b"xmpmeta",
            ] {
                assert!(!stripped.windows(gone.len()).any(|w| w == gone), "{gone:?}");
            }
            // Orientation 6 turns by 90°: the sides are swapped, before and after.
            assert_eq!(
                sniffed_as(&file),
                (MediaKind::Image, "image/jpeg", "jpg", Some(480), Some(640))
            );
            assert_eq!(sniff(&stripped), sniff(&file));
            assert_eq!(strip(&stripped), stripped, "idempotent");
            assert_eq!(stripped.capacity(), stripped.len(), "allocated exactly");
        }
    }

    #[test]
    fn every_orientation_value() {
        for big_endian in [true, false] {
            for value in (0..=10).chain([0x0100, 0x0600, 0xFFFF]) {
                let exif = segment(APP1, &phone_exif(big_endian, Some(value)));
                let file = jpeg_around(&exif);
                let stripped = strip(&file);
                let (width, height) = (sniffed_as(&file).3, sniffed_as(&file).4);
                if (5..=8).contains(&value) {
                    assert_eq!((width, height), (Some(480), Some(640)), "{value}");
                } else {
                    assert_eq!((width, height), (Some(640), Some(480)), "{value}");
                }
                if (2..=8).contains(&value) {
                    assert_eq!(stripped, jpeg_around(&orientation_app1(big_endian, value)));
                } else {
                    // Upright, or not an orientation: no Exif at all.
                    assert_eq!(stripped, jpeg_around(&[]), "{value}");
                }
                assert_eq!(sniff(&stripped), sniff(&file), "{value}");
            }
        }
        // No orientation tag at all.
        let file = jpeg_around(&segment(APP1, &phone_exif(true, None)));
        assert_eq!(strip(&file), jpeg_around(&[]));
        assert_eq!(sniffed_as(&file).3, Some(640));
    }

    #[test]
    fn orientation_comes_from_the_first_exif_before_the_scan() {
        let oriented = |value| segment(APP1, &phone_exif(false, Some(value)));
        let unoriented = segment(APP1, &phone_exif(false, None));
        let kept = orientation_app1(false, 8);
        // After XMP and with fill bytes: the new segment takes the Exif's place.
        let file = jpeg_around(&[segment(APP1, XMP), vec![0xFF, 0xFF], oriented(8)].concat());
        assert_eq!(strip(&file), jpeg_around(&kept));
        // An APP1 that only looks like Exif is not the first Exif.
        let file = jpeg_around(&[segment(APP1, b"Exif\0\xFFMM\0\x2A"), oriented(8)].concat());
        assert_eq!(strip(&file), jpeg_around(&kept));
        // The first Exif wins, even without an orientation; both are dropped.
        let file = jpeg_around(&[unoriented.clone(), oriented(8)].concat());
        assert_eq!(strip(&file), jpeg_around(&[]));
        assert_eq!(sniffed_as(&file).3, Some(640));
        let file = jpeg_around(&[oriented(3), oriented(8)].concat());
        assert_eq!(strip(&file), jpeg_around(&orientation_app1(false, 3)));
        assert_eq!(sniffed_as(&file).3, Some(640));
        // Between the frame header and the scan (decoders read it there too).
        let tail = |app1: &[u8]| {
            [
                vec![0xFF, SOI],
                sof(0xC0, 640, 480),
                app1.to_vec(),
                sos(),
                vec![0x12, 0xFF, EOI],
            ]
            .concat()
        };
        assert_eq!(strip(&tail(&oriented(8))), tail(&kept));
        assert_eq!(sniffed_as(&tail(&oriented(8))).3, Some(480));
        // After the first scan: not read, dropped.
        let late = [
            vec![0xFF, SOI],
            sof(0xC2, 640, 480),
            sos(),
            vec![0x12],
            oriented(6),
            sos(),
            vec![0x34, 0xFF, EOI],
        ]
        .concat();
        assert_eq!(sniffed_as(&late).3, Some(640));
        assert!(app1_segments(&strip(&late)).is_empty());
    }

    /// A minimal valid Exif payload with orientation 6, to break in one place.
    fn minimal_exif(big_endian: bool) -> Vec<u8> {
        orientation_app1(big_endian, 6)[4..].to_vec()
    }

    #[test]
    fn malformed_exif_is_dropped_without_panic() {
        let edit = |at: usize, with: &[u8]| {
            let mut exif = minimal_exif(true);
            exif[at..at + with.len()].copy_from_slice(with);
            exif
        };
        let malformed: Vec<Vec<u8>> = vec![
            b"Exif\0\0".to_vec(),
            b"Exif\0\0MM\0\x2A\0\0".to_vec(),
            edit(6, b"MI"),                // byte order
            edit(6, b"II"),                // little-endian marker with big-endian data
            edit(8, b"\0\x2B"),            // BigTIFF
            edit(10, b"\xFF\xFF\xFF\xF0"), // IFD0 out of range
            edit(10, b"\0\0\0\x19"),       // IFD0 at the last byte
            edit(10, b"\0\0\0\x04"),       // IFD0 inside the header
            edit(10, b"\0\0\0\0"),
            edit(14, b"\xFF\xFF"),   // 65535 entries, one present
            edit(14, b"\0\x02"),     // two entries, one present
            edit(14, b"\0\0"),       // no entries
            edit(18, b"\0\x04"),     // LONG
            edit(18, b"\0\x08"),     // SSHORT
            edit(20, b"\0\0\0\x02"), // count 2
            edit(20, b"\0\0\0\0"),   // count 0
            edit(20, b"\xFF\xFF\xFF\xFF"),
            minimal_exif(true)[..minimal_exif(true).len() - 1].to_vec(), // no next-IFD offset
        ];
        for exif in &malformed {
            let file = jpeg_around(&segment(APP1, exif));
            let stripped = strip_metadata(&file, &sniff(&file).unwrap());
            assert_eq!(stripped, Ok(jpeg_around(&[])), "{exif:?}");
            assert_eq!(sniffed_as(&file).3, Some(640), "{exif:?}");
        }
        // Unbroken, the same payload keeps its orientation.
        let file = jpeg_around(&segment(APP1, &minimal_exif(true)));
        assert_eq!(strip(&file), jpeg_around(&orientation_app1(true, 6)));
        // Offsets that loop (next IFD and a GPS pointer back to IFD0) are never followed.
        let mut looping = minimal_exif(false);
        let n = looping.len();
        looping[n - 4..].copy_from_slice(&8u32.to_le_bytes());
        let file = jpeg_around(&segment(APP1, &looping));
        assert_eq!(strip(&file), jpeg_around(&orientation_app1(false, 6)));
        // An Exif segment running past the end is a truncated file.
        let mut truncated = jpeg_around(&[]);
        truncated.truncate(20);
        truncated.extend_from_slice(&[0xFF, APP1, 0x01, 0x00]);
        truncated.extend_from_slice(&minimal_exif(true));
        assert!(sniff(&truncated).is_none());
        let jpeg = sniff(&jpeg_around(&[])).unwrap();
        assert!(strip_metadata(&truncated, &jpeg).is_err());
    }

    #[test]
    fn mutated_exif_keeps_at_most_a_minimal_orientation() {
        for big_endian in [true, false] {
            let (file, _) = sample_oriented_jpeg(big_endian);
            let exif = app1_segments(&file)[0].len();
            // Every byte of the Exif payload (not its marker or length), every value.
            let start = 20 + 4;
            for pos in start..start + exif - 4 {
                for value in 0..=255 {
                    let mut corrupt = file.clone();
                    corrupt[pos] = value;
                    let sniffed = sniff(&corrupt).unwrap();
                    let stripped = strip_metadata(&corrupt, &sniffed).unwrap();
                    assert!(stripped.len() <= corrupt.len());
                    assert_eq!(sniff(&stripped), Some(sniffed.clone()));
                    match app1_segments(&stripped).as_slice() {
                        [] => {}
                        [app1] => {
                            let order = app1[10] == b'M';
                            let orientation = read_jpeg_header(&stripped).orientation.unwrap();
                            assert!((2..=8).contains(&orientation.value));
                            assert_eq!(*app1, orientation_app1(order, orientation.value));
                        }
                        more => panic!("{} APP1 segments kept", more.len()),
                    }
                }
            }
        }
    }

    #[test]
    fn crc32_matches_the_png_reference() {
        // The IEND chunk's CRC is the same in every PNG.
        assert_eq!(png_chunk(b"IEND", b"")[8..], [0xAE, 0x42, 0x60, 0x82]);
    }
}
