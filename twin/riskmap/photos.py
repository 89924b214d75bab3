"""Hazard photos: checked by content, stored once per content under TWIN_DATA_DIR/media by sha256.

The type is what Pillow finds in the bytes, never the file name or the client's Content-Type. A file is
written before the database row commits; if the transaction then fails the file stays behind, harmless:
it is named by its content, and the next upload of the same photo finds it there.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from twin.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 80_000_000  # a decompression bomb is refused, not decoded


@dataclass(frozen=True)
class Photo:
    """A checked photo: its content hash, type, size and dimensions, and the bytes."""

    sha256: str
    media_type: str
    size: int
    width: int
    height: int
    data: bytes

    def meta(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "media_type": self.media_type,
            "bytes": self.size,
            "width": self.width,
            "height": self.height,
        }


def check_photo(data: bytes, limit: int, name: str = "photo") -> Photo:
    """The photo, if `data` is a JPEG, PNG or WebP image of at most `limit` bytes (else 413 or 415)."""
    if len(data) > limit:
        raise PayloadTooLarge(
            f"{name} is {len(data)} bytes; a photo may be at most {limit} bytes", limit=limit
        )
    if not data:
        raise InvalidInput(f"{name} is empty")
    allowed = ", ".join(MEDIA_TYPES.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                if width * height > MAX_PIXELS:
                    raise UnsupportedMediaType(f"{name} has {width}x{height} pixels; too many to be a photo")
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError, Warning) as exc:
        raise UnsupportedMediaType(
            f"{name} is not an image this server takes; send {allowed}", accepted=list(MEDIA_TYPES.values())
        ) from exc
    if kind not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"{name} is a {kind} image; send {allowed}", accepted=list(MEDIA_TYPES.values())
        )
    digest = hashlib.sha256(data).hexdigest()
    return Photo(digest, MEDIA_TYPES[kind], len(data), width, height, data)


def media_path(media_dir: Path, sha256: str) -> Path:
    """Where the photo of this hash lives: media/ab/abcdef… (two-level fan-out keeps directories small)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFound(f"no photo {sha256!r}")
    return media_dir / sha256[:2] / sha256


def store(media_dir: Path, photo: Photo) -> Path:
    """Write the photo once: a file of the same hash is the same photo, already there."""
    path = media_path(media_dir, photo.sha256)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write beside it and rename: a reader never sees half a photo, two writers end with one file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(photo.data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(media_dir: Path, sha256: str) -> bytes:
    path = media_path(media_dir, sha256)
    if not path.exists():
        raise NotFound(f"photo {sha256} is recorded but its file is missing from the media store")
    return path.read_bytes()
