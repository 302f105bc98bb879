#!/usr/bin/env python3
"""Writes the fuzz targets' seed inputs (fuzz/seeds/<target>/): small, valid examples
of what each target reads, so that mutations start from inputs that get past the first
checks. Deterministic: run it again and nothing changes. parse_document's seeds are the
ActivityPub fixtures (tests/fixtures/activitypub), not written here.

    python3 fuzz/seeds/make.py
"""
import base64
import hashlib
import struct
import zlib
from email.utils import formatdate
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(target, name, data):
    d = HERE / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# media_sniff --------------------------------------------------------------------------


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(width, height, extra):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\0" + b"\x80\x40\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + b"".join(extra)
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def exif(orientation, big_endian=True):
    e = ">" if big_endian else "<"
    tiff = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 8)
    entries = [struct.pack(e + "HHI", 0x010F, 2, 4) + b"Cam\0"]
    if orientation:
        entries.append(struct.pack(e + "HHIH", 0x0112, 3, 1, orientation) + b"\0\0")
    tiff += struct.pack(e + "H", len(entries)) + b"".join(entries) + b"\0\0\0\0"
    return b"Exif\0\0" + tiff


def jpeg(width, height, middle):
    jfif = segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
    dqt = segment(0xDB, b"\0" + bytes(range(1, 65)))
    sof = segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\0")
    dht = segment(0xC4, b"\0" + b"\x01" + b"\0" * 15 + b"\0")
    sos = segment(0xDA, b"\x01\x01\0\0\x3F\0")
    scan = b"\x12\x34\xFF\x00\x56\xFF\xD0\x78"
    return b"\xFF\xD8" + jfif + middle + dqt + sof + dht + sos + scan + b"\xFF\xD9"


def riff_chunk(fourcc, data):
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def riff(form, chunks):
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + form + chunks


def vp8(width, height):
    return riff_chunk(b"VP8 ", b"\x50\x02\x00\x9D\x01\x2A"
                      + struct.pack("<HH", width, height) + b"\x01\x02\x03")


def vp8l(width, height):
    bits = (width - 1) | ((height - 1) << 14) | (1 << 28)
    return riff_chunk(b"VP8L", b"\x2F" + struct.pack("<I", bits) + b"\x07\x10")


def vp8x(flags, width, height):
    return riff_chunk(b"VP8X", bytes([flags, 0, 0, 0])
                      + struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3])


def box(kind, payload):
    return struct.pack(">I", len(payload) + 8) + kind + payload


def tkhd(width, height, matrix):
    payload = b"\0\0\0\x03" + b"\x11" * 20 + b"\0" * 16
    payload += b"".join(struct.pack(">i", v) for v in matrix)
    return box(b"tkhd", payload + struct.pack(">II", width << 16, height << 16))


IDENTITY = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000]
ROTATE_90 = [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000]

write("media_sniff", "text.png", png(3, 2, [
    png_chunk(b"tEXt", b"Author\0Alice"),
    png_chunk(b"eXIf", exif(1)),
    png_chunk(b"tIME", b"\x07\xe8\x01\x02\x03\x04\x05"),
]))
write("media_sniff", "plain.png", png(1, 1, []))
write("media_sniff", "oriented-be.jpg", jpeg(4, 3, segment(0xE1, exif(6))
                                            + segment(0xFE, b"taken at home")))
write("media_sniff", "oriented-le.jpg", jpeg(4, 3, segment(0xE1, exif(8, False))
                                            + segment(0xED, b"Photoshop 3.0\08BIM")))
write("media_sniff", "plain.jpg", jpeg(2, 2, b""))
write("media_sniff", "tiny.gif", b"GIF89a" + struct.pack("<HH", 3, 2) + b"\0\0\0"
      + b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0\x3B")
write("media_sniff", "lossy.webp", riff(b"WEBP", vp8(3, 2)))
write("media_sniff", "extended.webp", riff(b"WEBP", vp8x(0x2C, 3, 2) + vp8l(3, 2)
                                          + riff_chunk(b"EXIF", exif(1)[6:])
                                          + riff_chunk(b"XMP ", b"<x:xmpmeta/>")))
write("media_sniff", "rotated.mp4", box(b"ftyp", b"isom\0\0\x02\0isomavc1")
      + box(b"moov", box(b"trak", tkhd(640, 360, ROTATE_90)))
      + box(b"mdat", b"\xAB" * 16))
write("media_sniff", "plain.mov", box(b"ftyp", b"qt  \0\0\0\0qt  ")
      + box(b"moov", box(b"trak", tkhd(320, 240, IDENTITY))))
write("media_sniff", "tiny.flac", b"fLaC\x80\0\0\x22" + b"\x10" * 34)
write("media_sniff", "tagged.mp3", b"ID3\x04\0\0\0\0\0\x0A" + b"\0" * 10
      + b"\xFF\xFB\x90\x64" + b"\0" * 4)
write("media_sniff", "frame.mp3", b"\xFF\xFB\x90\x64" + b"\0" * 4)
write("media_sniff", "opus.ogg", b"OggS\0\x02" + b"\0" * 20 + b"\x01\x13OpusHead")
write("media_sniff", "tiny.webm", bytes([0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81,
                                         0x01, 0x42, 0x82, 0x84]) + b"webm")
write("media_sniff", "pcm.wav", riff(b"WAVE", riff_chunk(
    b"fmt ", bytes([1, 0, 1, 0, 0x44, 0xAC, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0]))))

# parse_request ------------------------------------------------------------------------
# Layout (sluice_fuzzing::parse_request): [flags][n] n x ([name index][u16 LE len][value])
# body. The signatures are not made with any key: they parse, and must not verify.

NAMES = ["signature", "signature-input", "digest", "content-digest", "date", "host",
         "authorization", "accept"]
NOW = 1_790_000_000
BODY = b'{"type":"Follow","actor":"https://a.example/users/a","object":"https://sluice.example/users/b"}'
KEY = "https://a.example/users/a#main-key"
SIG = base64.b64encode(b"".join(hashlib.sha256(bytes([i])).digest() for i in range(8))).decode()


def request(post, headers, body=b""):
    out = bytes([1 if post else 0, len(headers)])
    for name, value in headers:
        value = value.encode()
        out += bytes([NAMES.index(name)]) + struct.pack("<H", len(value)) + value
    return out + body


date = formatdate(NOW, usegmt=True)
digest = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
write("parse_request", "cavage-post", request(True, [
    ("host", "sluice.example"), ("date", date), ("digest", "SHA-256=" + digest),
    ("signature", f'keyId="{KEY}",algorithm="rsa-sha256",'
                  f'headers="(request-target) host date digest",signature="{SIG}"'),
], BODY))
write("parse_request", "cavage-get", request(False, [
    ("host", "sluice.example"), ("date", date), ("accept", "application/activity+json"),
    ("signature", f'keyId="{KEY}",algorithm="hs2019",created={NOW},expires={NOW + 300},'
                  f'headers="(request-target) (created) host accept",signature="{SIG}"'),
]))
write("parse_request", "authorization-get", request(False, [
    ("host", "sluice.example"), ("date", date),
    ("authorization", f'Signature keyId="{KEY}",headers="(request-target) host date",'
                      f'signature="{SIG}"'),
]))
write("parse_request", "rfc9421-post", request(True, [
    ("content-digest", f"sha-256=:{digest}:"),
    ("signature-input", f'sig1=("@method" "@target-uri" "content-digest");created={NOW};'
                        f'keyid="{KEY}";alg="rsa-v1_5-sha256"'),
    ("signature", f"sig1=:{SIG}:"),
], BODY))
write("parse_request", "rfc9421-get", request(False, [
    ("host", "sluice.example"),
    ("signature-input", f'sig1=("@method" "@target-uri");created={NOW};keyid="{KEY}"'),
    ("signature", f"sig1=:{SIG}:"),
]))
