"""Recognise common non-video files from their first bytes, before FFmpeg sees them.

FFmpeg opens far more than videos (still images, ANSI text, playlists that point at other files),
so files that are plainly something else are refused here with a message naming what they are.
"""

from __future__ import annotations

from .errors import MediaError

SNIFF_BYTES = 4096

_CONVERT = "Upload a video file (MP4/H.264 works everywhere)."

# (magic prefix, offset, what the file is)
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image"),
    (b"\xff\xd8\xff", 0, "a JPEG image"),
    (b"GIF87a", 0, "a GIF image"),
    (b"GIF89a", 0, "a GIF image"),
    (b"BM", 0, "a BMP image"),
    (b"II*\x00", 0, "a TIFF image"),
    (b"MM\x00*", 0, "a TIFF image"),
    (b"WEBP", 8, "a WebP image"),
    (b"%PDF", 0, "a PDF document"),
    (b"PK\x03\x04", 0, "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", 0, "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"),
    (b"Rar!\x1a\x07", 0, "a RAR archive"),
    (b"\x7fELF", 0, "a program (ELF executable)"),
    (b"MZ", 0, "a Windows program"),
)

# ISO-BMFF brands of still-image formats (HEIC/HEIF/AVIF share the MP4 box structure).
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def sniff(head: bytes) -> None:
    """Raise MediaError if ``head`` (the first bytes of a file) is plainly not a video."""
    if not head:
        raise MediaError("The file is empty (0 bytes). Upload the video again.")
    for magic, offset, what in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            kind = "still image" if "image" in what else "file"
            raise MediaError(
                f"This is {what}, not a video: a {kind} cannot be annotated as a video. {_CONVERT}"
            )
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        raise MediaError(f"This is a HEIF/AVIF still image, not a video. {_CONVERT}")
    if _looks_like_text(head):
        first_line = head.split(b"\n", 1)[0][:40].decode("utf-8", "replace").strip()
        what = "a playlist (M3U/HLS)" if first_line.startswith("#EXTM3U") else "a text file"
        raise MediaError(f"This is {what}, not a video (it starts with {first_line!r}). {_CONVERT}")


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        # A multi-byte character may be cut at the end of the sample.
        head.decode("utf-8") if len(head) < SNIFF_BYTES else head[:-4].decode("utf-8")
    except UnicodeDecodeError:
        return False
    printable = sum(1 for b in head if b >= 32 or b in b"\t\r\n\f")
    return printable / len(head) > 0.95
