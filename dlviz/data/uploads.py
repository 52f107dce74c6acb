"""A person's own images: bytes in, a validated in-memory image set out, with no Streamlit.

Every file is checked on its own: one that is not an image, damaged, too large or unsafe becomes
a `Problem` naming the file, and the rest of the upload still loads. Nothing is written to disk.

- `decode_image(name, data)`: one file's bytes -> (H, W, 3) uint8 RGB, upright (EXIF), any of
  PNG, JPEG, WebP, BMP, GIF (first frame) and TIFF, in any mode (16-bit, CMYK, palette, RGBA,
  grey); a pixel limit stops decompression bombs before any pixel is decoded.
- `read_zip(data)`: a ZIP whose top-level folders are the classes -> files per class. Entries
  that would escape the folder (``../``, absolute paths), symlinks, nested ZIPs and files outside
  a class folder are refused by name; the entry count and the uncompressed size are capped, by
  what the ZIP declares and by what is actually read (a lying header does not get through).
- `ImageSet`: the classes with their decoded images, `warnings()` for what will hurt training
  and `to_dataset(size, ...)` for the trainer.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from dlviz.text import plural

FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "BMP", "GIF", "TIFF")
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")


@dataclass(frozen=True)
class UploadLimits:
    """What one upload may hold. Shown to the user; each is a setting."""

    max_file_bytes: int = 25 * 2**20  # one image file
    max_pixels: int = 40_000_000  # one image's width x height (about 6300 x 6300)
    max_files: int = 5_000  # images in one upload (or one ZIP)
    max_total_bytes: int = 1 * 2**30  # all of a ZIP's files, uncompressed
    keep_side: int = 256  # pictures are kept at most this many pixels a side (inputs are <= 64)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> UploadLimits:
        """The defaults, changed by ``DLVIZ_MAX_FILE_MB``, ``DLVIZ_MAX_MEGAPIXELS``,
        ``DLVIZ_MAX_FILES`` and ``DLVIZ_MAX_UPLOAD_MB`` where set (whole positive numbers;
        anything else raises ValueError naming the variable)."""
        return cls(
            **settings_from_env(
                (
                    ("DLVIZ_MAX_FILE_MB", "max_file_bytes", 2**20),
                    ("DLVIZ_MAX_MEGAPIXELS", "max_pixels", 1_000_000),
                    ("DLVIZ_MAX_FILES", "max_files", 1),
                    ("DLVIZ_MAX_UPLOAD_MB", "max_total_bytes", 2**20),
                ),
                environ,
            )
        )

    def describe(self) -> str:
        return (
            f"up to {plural(self.max_files, 'image')}, {self.max_file_bytes / 2**20:.0f} MB and "
            f"{self.max_pixels / 1e6:.0f} megapixels each, {self.max_total_bytes / 2**30:.0f} GB "
            "in all"
        )


def settings_from_env(
    table: tuple[tuple[str, str, int], ...], environ: Mapping[str, str] | None = None
) -> dict[str, int]:
    """{field: whole number x scale} for each (variable, field, scale) of `table` whose
    variable is set in `environ` (the process's environment by default); a value that is not a
    whole number of at least 1 raises ValueError naming the variable."""
    environ = os.environ if environ is None else environ
    values = {}
    for var, name, scale in table:
        text = environ.get(var, "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"{var} must be a whole number of at least 1, got {text!r}")
        values[name] = int(text) * scale
    return values


DEFAULT_LIMITS = UploadLimits()


@dataclass(frozen=True)
class Problem:
    """A file that was not loaded, and why (one sentence for a person)."""

    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class UploadError(ValueError):
    """Raised for a whole upload that cannot be used (e.g. a file that is not a ZIP)."""


def _pil():
    from PIL import Image, ImageOps  # Pillow comes with Streamlit; only uploads need it

    return Image, ImageOps


def decode_image(
    name: str, data: bytes, limits: UploadLimits = DEFAULT_LIMITS, max_side: int | None = None
) -> np.ndarray | Problem:
    """The image in `data` as (H, W, 3) uint8 RGB, upright (at most `max_side` pixels a side
    when given); or a Problem saying why not."""
    out = _decode(name, data, limits, max_side)
    return out if isinstance(out, Problem) else out[0]


def _decode(
    name: str, data: bytes, limits: UploadLimits, max_side: int | None
) -> tuple[np.ndarray, tuple[int, int]] | Problem:
    """(pixels, the upright image's original (width, height)), or a Problem."""
    Image, ImageOps = _pil()
    if len(data) > limits.max_file_bytes:
        return Problem(
            name,
            f"is {len(data) / 2**20:.1f} MB; the limit is {limits.max_file_bytes / 2**20:.0f} MB "
            "per image",
        )
    if not data:
        return Problem(name, "is empty")
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:
        # Pillow's own guard (about 179 megapixels) fired before ours could: read the header
        # without it, and let dlviz's limit (below) say what is wrong, with the sizes.
        img = _open_header(data)
        if img is None:
            return Problem(name, "is an image too large to read (a decompression bomb?)")
    except Exception:  # Pillow raises several kinds for what it cannot identify
        return Problem(name, "is not an image dlviz can read (PNG, JPEG, WebP, BMP, GIF, TIFF)")
    if img.format not in FORMATS:
        return Problem(name, f"is a {img.format} image; use PNG, JPEG, WebP, BMP, GIF or TIFF")
    w, h = img.size
    if w * h > limits.max_pixels:
        return Problem(
            name,
            f"is {w:,} x {h:,} pixels ({_megapixels(w * h)} megapixels), over the limit of "
            f"{_megapixels(limits.max_pixels)} megapixels an image, which guards against "
            "decompression bombs: resize it, or raise DLVIZ_MAX_MEGAPIXELS",
        )
    try:
        img.seek(0)  # a GIF's (or TIFF's) first frame
        if max_side and img.format in ("JPEG", "MPO"):
            img.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale: faster
        img.load()
        orientation = img.getexif().get(0x0112, 1)
        img = ImageOps.exif_transpose(img)
        if orientation in (5, 6, 7, 8):
            w, h = h, w
        if max_side and max(img.size) > max_side:
            img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
        return _to_rgb(img), (w, h)
    except Exception:
        return Problem(name, "is damaged or truncated: its pixels could not be decoded")


def _megapixels(pixels: int) -> str:
    mp = pixels / 1e6
    return f"{mp:,.0f}" if mp >= 10 else f"{mp:.2g}"


def _open_header(data: bytes):
    """`data` opened as Pillow's plugin for its format opens it, without Pillow's
    decompression-bomb check (only the header is read; dlviz's own pixel limit comes next,
    before any pixel is decoded). None when no format of FORMATS reads it."""
    Image, _ = _pil()
    Image.init()
    for fmt in FORMATS:
        factory, accept = Image.OPEN.get(fmt, (None, None))
        if factory is None or (accept is not None and not accept(data[:16])):
            continue
        try:
            return factory(io.BytesIO(data), "")
        except Exception:
            continue
    return None


def _to_rgb(img) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) uint8; transparency is laid on white."""
    Image, _ = _pil()
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or wider grey: scale to 8 bits
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        grey = np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "P" or mode == "PA":
        img = img.convert("RGBA")
    elif mode == "LA":
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


# --- ZIP files --------------------------------------------------------------------------------


def _unsafe_path(name: str) -> str:
    """Why a ZIP entry's path is refused, or "" when it is fine."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path; only paths inside the ZIP's own folders are read"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "has a path that leads outside the ZIP's folder ('..'); it was not read"
    return ""


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def read_zip(
    data: bytes, limits: UploadLimits = DEFAULT_LIMITS, what: str = "image"
) -> tuple[dict[str, list[tuple[str, bytes]]], list[Problem]]:
    """Files per class from a ZIP whose top-level folders are the classes, and the entries that
    were refused. Raises UploadError when `data` is not a ZIP or the ZIP as a whole is over a
    limit (too many files, too large uncompressed). `what` names one file in the messages
    (``image``, ``sound file``); only the limits' file count and byte sizes are used."""
    # zipfile reads the whole list of entries at once, about 500 bytes of memory each: a ZIP
    # listing far more than the limit (a few MB of empty entries) is refused before it does
    listed = data.count(b"PK\x01\x02")
    if listed > 2 * limits.max_files + 1_000:
        raise UploadError(
            f"the ZIP lists {listed:,} entries; the limit is {limits.max_files:,} files"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as e:  # BadZipFile, and zipfile's other errors (a name not UTF-8, ...)
        raise UploadError(f"this file is not a ZIP archive ({e})") from None
    problems: list[Problem] = []
    files: dict[str, list[tuple[str, bytes]]] = {}
    entries = [i for i in archive.infolist() if not i.is_dir()]
    if len(entries) > limits.max_files:
        raise UploadError(
            f"the ZIP holds {len(entries):,} files; the limit is {limits.max_files:,}"
        )
    declared = sum(i.file_size for i in entries)
    if declared > limits.max_total_bytes:
        raise UploadError(
            f"the ZIP unpacks to {declared / 2**20:,.0f} MB; the limit is "
            f"{limits.max_total_bytes / 2**20:,.0f} MB (a ZIP bomb, or too much data)"
        )
    budget = limits.max_total_bytes
    for info in entries:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        why = _unsafe_path(name)
        hidden = any((p.startswith(".") and p not in (".", "..")) or p == "__MACOSX" for p in parts)
        if hidden and not why:
            continue  # hidden files and macOS resource forks: not the person's images
        if not why and _is_symlink(info):
            why = "is a symbolic link; links are not followed"
        if not why and name.lower().endswith(".zip"):
            why = "is a ZIP inside the ZIP; unpack it and upload its folders instead"
        if not why and len(parts) < 2:
            why = (
                f"is not inside a class folder; put each class's {what}s in a folder named after it"
            )
        if not why and info.file_size > limits.max_file_bytes:
            why = (
                f"unpacks to {info.file_size / 2**20:.1f} MB; the limit is "
                f"{limits.max_file_bytes / 2**20:.0f} MB per {what}"
            )
        if why:
            problems.append(Problem(name, why))
            continue
        try:
            with archive.open(info) as f:  # read at most the limit: sizes in headers can lie
                body = f.read(min(limits.max_file_bytes, budget) + 1)
        except Exception as e:  # a damaged entry, an unsupported compression, encryption
            problems.append(Problem(name, f"could not be unpacked ({e})"))
            continue
        if len(body) > min(limits.max_file_bytes, budget):
            raise UploadError(
                f"{name} unpacks to more than its ZIP header says; the upload was stopped (a "
                "ZIP bomb?)"
            )
        if body[:4] == b"PK\x03\x04":
            problems.append(Problem(name, "is a ZIP inside the ZIP; upload its folders instead"))
            continue
        budget -= len(body)
        files.setdefault(parts[0], []).append(("/".join(parts[1:]), body))
    return files, problems


def picture_array(pixels: np.ndarray, size: int, channels: int = 3) -> np.ndarray:
    """One (H, W, 3) uint8 picture as a network input: (channels, size, size) float32 in [0, 1],
    stretched to the square (not cropped), grey when `channels` is 1."""
    Image, _ = _pil()
    img = Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR)
    if channels == 1:
        img = img.convert("L")
    a = np.asarray(img, dtype=np.float32) / 255.0
    return a[None] if channels == 1 else a.transpose(2, 0, 1)


def thumbnail_array(pixels: np.ndarray, side: int) -> np.ndarray:
    """One (H, W, 3) uint8 picture as a thumbnail: (3, side, side) float32 in [0, 1], the
    whole picture fitted inside the square as it stands (upright, its own proportions), on
    white: a portrait photo shows as a portrait, not squeezed into a square."""
    Image, _ = _pil()
    img = Image.fromarray(pixels)
    h, w = pixels.shape[:2]
    scale = side / max(h, w, 1)
    fit = img.resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
    )
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(fit, ((side - fit.width) // 2, (side - fit.height) // 2))
    return np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1) / 255.0


# --- the image set ----------------------------------------------------------------------------


@dataclass
class Picture:
    name: str
    pixels: np.ndarray  # (H, W, 3) uint8, upright, at most `keep_side` a side
    digest: str  # of the decoded pixels: the same picture in two files is a duplicate
    size: tuple[int, int] = (0, 0)  # the upright file's own (width, height)


class LabelledSet:
    """What a person's labelled set of files (pictures, clips) shares: classes of items, each
    with a `name` and a `digest`; why it cannot train yet, and the warnings every such set
    gets. `NOUN` names one item, `FEW` the count under which a class is warned of."""

    classes: dict[str, list[Any]]
    NOUN = "image"
    FEW = 5

    def duplicates(self) -> list[tuple[str, str]]:
        """Pairs (first item, its repeat) of identical items, across classes too."""
        seen: dict[str, str] = {}
        pairs = []
        for cls, items in self.classes.items():
            for item in items:
                label = f"{cls}/{item.name}"
                if item.digest in seen:
                    pairs.append((seen[item.digest], label))
                else:
                    seen[item.digest] = label
        return pairs

    def blocking(self) -> str:
        """Why this set cannot train yet ("" when it can)."""
        if len(self.classes) < 2:
            return "Training needs at least two classes."
        empty = [c for c, items in self.classes.items() if not items]
        if len(empty) == 1:
            return f"Class {empty[0]} has no {self.NOUN}s yet; add some or remove the class."
        if empty:
            return f"Classes {', '.join(empty)} have no {self.NOUN}s yet; add some or remove them."
        return ""

    def balance_warnings(self) -> list[str]:
        """Classes with few items, a strong imbalance, exact duplicates, in plain words."""
        out = []
        counts = {c: len(v) for c, v in self.classes.items() if v}
        few = [c for c, n in counts.items() if n < self.FEW]
        if few:
            out.append(
                f"Few {self.NOUN}s in {', '.join(few)} (under {self.FEW}): the network can "
                "hardly learn a class from so few, and the test split will hold at most one of "
                "them."
            )
        if len(counts) >= 2 and max(counts.values()) >= 3 * min(counts.values()):
            big = max(counts, key=counts.__getitem__)
            small = min(counts, key=counts.__getitem__)
            out.append(
                f"Strong imbalance: {big} has {plural(counts[big], self.NOUN)}, {small} only "
                f"{counts[small]}; the network may learn to answer {big} most of the time."
            )
        dup = self.duplicates()
        if dup:
            shown = "; ".join(f"{a} = {b}" for a, b in dup[:3])
            out.append(
                f"{plural(len(dup), f'exact duplicate {self.NOUN}')} ({shown}"
                + (", ..." if len(dup) > 3 else "")
                + "): a duplicate in both train and test makes the test look better than it is."
            )
        return out


@dataclass
class ImageSet(LabelledSet):
    """Classes (in the order they were made) and their decoded pictures, plus what was refused."""

    classes: dict[str, list[Picture]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add_class(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise UploadError("a class needs a name")
        self.classes.setdefault(name, [])

    def add_files(
        self, cls: str, files: list[tuple[str, bytes]], limits: UploadLimits = DEFAULT_LIMITS
    ) -> int:
        """Decode `files` into class `cls`; returns how many were added. Problems are kept."""
        self.add_class(cls)
        added = 0
        for name, data in files:
            if self.count() >= limits.max_files:
                self.problems.append(
                    Problem(
                        name, f"was not added: the limit is {plural(limits.max_files, 'image')}"
                    )
                )
                continue
            result = _decode(name, data, limits, limits.keep_side)
            if isinstance(result, Problem):
                self.problems.append(result)
                continue
            pixels, size = result
            digest = hashlib.sha1(pixels.tobytes() + bytes(str(pixels.shape), "ascii")).hexdigest()
            self.classes[cls.strip()].append(Picture(name, pixels, digest, size))
            added += 1
        return added

    def add_zip(self, data: bytes, limits: UploadLimits = DEFAULT_LIMITS) -> int:
        files, problems = read_zip(data, limits)
        self.problems += problems
        return sum(self.add_files(cls, items, limits) for cls, items in files.items())

    def remove_class(self, name: str) -> None:
        self.classes.pop(name, None)

    def count(self) -> int:
        return sum(len(v) for v in self.classes.values())

    def sizes(self) -> dict[tuple[int, int], int]:
        """(width, height) -> how many pictures have it."""
        out: dict[tuple[int, int], int] = {}
        for pics in self.classes.values():
            for p in pics:
                key = p.size if p.size != (0, 0) else (p.pixels.shape[1], p.pixels.shape[0])
                out[key] = out.get(key, 0) + 1
        return out

    def warnings(self) -> list[str]:
        """What will hurt training, in plain words."""
        out = self.balance_warnings()
        if len(self.sizes()) > 1:
            out.append(
                f"{len(self.sizes())} different image sizes: every image will be resized to "
                "the input size you choose (squares are stretched, not cropped)."
            )
        return out

    def to_arrays(self, size: int, channels: int = 3) -> tuple[np.ndarray, np.ndarray, tuple]:
        """All pictures resized to `size` x `size`: x (N, C, size, size) float32 in [0, 1],
        y (N,) int64, class names."""
        names = tuple(self.classes)
        xs = [picture_array(p.pixels, size, channels) for c in names for p in self.classes[c]]
        ys = [label for label, c in enumerate(names) for _ in self.classes[c]]
        x = np.stack(xs) if xs else np.zeros((0, channels, size, size), np.float32)
        return x, np.asarray(ys, dtype=np.int64), names

    def to_zip(self) -> bytes:
        """The labelled set as a ZIP of PNGs, one top-level folder per class (re-loadable)."""
        Image, _ = _pil()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for cls, pics in self.classes.items():
                used: set[str] = set()
                for p in pics:
                    stem = PurePosixPath(p.name).stem or "image"
                    name, k = f"{stem}.png", 1
                    while name in used:
                        k += 1
                        name = f"{stem}-{k}.png"
                    used.add(name)
                    png = io.BytesIO()
                    Image.fromarray(p.pixels).save(png, format="PNG")
                    z.writestr(f"{cls}/{name}", png.getvalue())
        return buf.getvalue()
