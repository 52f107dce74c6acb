"""A person's images, fuzzed: random bytes, valid PNG, JPEG, GIF, BMP, TIFF and WebP files
damaged in any way, and ZIPs of them (damaged too) each give a picture or a Problem naming the
file - never an exception out of `decode_image`, `ImageSet.add_files` or `add_zip` (only
`UploadError` for a ZIP that cannot be used at all), and what was loaded before stays; images
declaring huge sizes (decompression bombs) are refused in bounded memory."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from functools import cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from support.fuzz import fuzz, mutated_bytes, offsets_of, peaks, tally

from dlviz.data.uploads import ImageSet, Problem, UploadError, decode_image, read_zip

# Pillow warns of what it skips in a damaged TIFF or EXIF block; the fuzzing makes many
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL")


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@cache
def valid_images() -> dict[str, bytes]:
    """Small valid files of every format and mode dlviz reads."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the EXIF path too
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return {
        "rgb.png": encode(rgb, "PNG"),
        "rgba.png": encode(rgb.convert("RGBA"), "PNG"),
        "palette.png": encode(rgb.convert("P"), "PNG", transparency=0),
        "grey16.png": encode(
            Image.fromarray(rng.integers(0, 65535, (5, 7), dtype=np.uint16)), "PNG"
        ),  # fmt: skip
        "photo.jpg": encode(rgb, "JPEG", quality=80, exif=exif),
        "cmyk.jpg": encode(rgb.convert("CMYK"), "JPEG"),
        "anim.gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "grey.bmp": encode(rgb.convert("L"), "BMP"),
        "rgb.tif": encode(rgb, "TIFF"),
        "float.tif": encode(rgb.convert("F"), "TIFF"),
        "packed.tif": encode(rgb, "TIFF", compression="tiff_deflate"),
        "rgb.webp": encode(rgb, "WEBP", lossless=True),
    }


def _hot(data: bytes) -> list[int]:
    """Where image formats keep their sizes: PNG's IHDR, JPEG's frame header, GIF's screen,
    BMP's and TIFF's headers, WebP's chunks; and the start of every file."""
    markers = (b"IHDR", b"IDAT", b"\xff\xc0", b"\xff\xc2", b"\xff\xe1", b"GIF8", b"BM", b"II*",
               b"VP8", b"RIFF", b"PLTE", b"tRNS")  # fmt: skip
    return offsets_of(data, markers, span=32) + list(range(min(len(data), 64)))


def images() -> st.SearchStrategy[bytes]:
    """Random bytes, a valid image, or a valid image damaged."""
    files = valid_images()
    damaged = st.sampled_from(sorted(files)).flatmap(
        lambda n: mutated_bytes([files[n]], hot=_hot(files[n]))
    )
    headers = st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00",
                               b"RIFF\x00\x00\x00\x00WEBP"])  # fmt: skip
    return st.one_of(
        st.binary(max_size=256),
        st.tuples(headers, st.binary(max_size=256)).map(b"".join),
        st.sampled_from(sorted(files.values())),
        damaged,
        damaged,
    )


def check_decoded(out, name: str) -> None:
    if isinstance(out, Problem):
        tally("refused")
        assert out.name == name and out.message and str(out).startswith(f"{name}: ")
        return
    tally("decoded")
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    assert out.ndim == 3 and out.shape[2] == 3 and out.shape[0] >= 1 and out.shape[1] >= 1


@fuzz(400)
@given(images())
def test_any_bytes_as_an_image_decode_or_are_a_named_problem(data):
    check_decoded(decode_image("upload.png", data), "upload.png")
    check_decoded(decode_image("upload.png", data, max_side=16), "upload.png")


@fuzz(150)
@given(st.lists(images(), min_size=1, max_size=4))
def test_a_batch_of_damaged_images_adds_what_decodes_and_keeps_what_was_there(batch):
    pictures = ImageSet()
    assert pictures.add_files("before", [("good.png", valid_images()["rgb.png"])]) == 1
    files = [(f"{k}.png", data) for k, data in enumerate(batch)]
    added = pictures.add_files("after", files)
    assert [p.name for p in pictures.classes["before"]] == ["good.png"]
    assert added == len(pictures.classes["after"])
    assert added + len(pictures.problems) == len(files)
    assert all(p.name in dict(files) and p.message for p in pictures.problems)


def image_zip(entries) -> bytes:
    """A ZIP of (name, bytes) entries, in order; a name may come twice."""
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # "Duplicate name": on purpose
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


@cache
def valid_zip() -> bytes:
    files = valid_images()
    return image_zip([(f"{'cats' if k % 2 else 'dogs'}/{n}", files[n])
                      for k, n in enumerate(sorted(files))])  # fmt: skip


@fuzz(150)
@given(
    st.data(),
    st.lists(st.tuples(st.sampled_from(["a/x.png", "b/y.jpg", "../z.png", "/abs.png", "top.png",
                                        "a/in.zip", ".hidden/x.png", "a/b/c.png", "a\\x.png",
                                        "chats/é.png"]),
                       images()), max_size=4),
)  # fmt: skip
def test_a_damaged_or_hostile_zip_of_images_adds_what_it_can_or_is_refused_in_words(data, entries):
    base = valid_zip() if not entries else image_zip(entries)
    hot = offsets_of(base, (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"), span=46)
    blob = data.draw(st.just(base) | mutated_bytes([base], hot=hot), label="zip")
    pictures = ImageSet()
    pictures.add_files("before", [("good.png", valid_images()["rgb.png"])])
    try:
        added = pictures.add_zip(blob)
    except UploadError as e:
        tally("refused")
        assert str(e)
        added = 0
    else:
        tally("read")
    assert [p.name for p in pictures.classes["before"]] == ["good.png"]
    assert pictures.count() == 1 + added


# --- decompression bombs ----------------------------------------------------------------------


def png_claiming(width: int, height: int, rows: int = 4) -> bytes:
    """A PNG whose header says `width` x `height` (8-bit grey) with pixel data for only a few
    rows: what a decompression bomb's first bytes look like."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * ((width + 1) * rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def tiff_claiming(width: int, height: int) -> bytes:
    """A real small TIFF with its width and height tags rewritten."""
    data = bytearray(encode(Image.new("L", (4, 4)), "TIFF"))
    for tag, value in ((256, width), (257, height)):
        at = data.find(struct.pack("<HH", tag, 4)) if data.find(struct.pack("<HH", tag, 4)) >= 0 \
            else data.find(struct.pack("<HH", tag, 3))  # fmt: skip
        data[at + 2 : at + 4] = struct.pack("<H", 4)  # LONG
        data[at + 8 : at + 12] = struct.pack("<I", value)
    return bytes(data)


def gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("L", (4, 4)), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    at = data.find(b"\x2c")  # the image descriptor
    data[at + 5 : at + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("RGB", (8, 8)), "JPEG"))
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


BOMBS = {
    "PNG of 100,000 x 100,000": lambda: png_claiming(100_000, 100_000),
    "PNG of 2^31 - 1 x 2^31 - 1": lambda: png_claiming(2**31 - 1, 2**31 - 1, rows=0),
    "PNG just over 40 megapixels": lambda: png_claiming(6_400, 6_400),
    "TIFF of 60,000 x 60,000": lambda: tiff_claiming(60_000, 60_000),
    "GIF of 65,535 x 65,535": lambda: gif_claiming(65_535, 65_535),
    "JPEG of 65,500 x 65,500": lambda: jpeg_claiming(65_500, 65_500),
}


@pytest.mark.parametrize("case", sorted(BOMBS))
def test_an_image_declaring_a_huge_size_is_refused_naming_its_size(case):
    out = decode_image("bomb.png", BOMBS[case]())
    assert isinstance(out, Problem), case
    assert "megapixels" in out.message or "too large" in out.message, out.message


def test_decompression_bombs_are_refused_in_bounded_memory(tmp_path):
    """Each bomb's declared pixels would take gigabytes; refusing it takes next to nothing (a
    control holding 100 MB shows the measure sees memory)."""
    calls = {}
    for k, case in enumerate(sorted(BOMBS)):
        path = tmp_path / f"{k}.img"
        path.write_bytes(BOMBS[case]())
        calls[case] = f"""
            out = decode_image("bomb", open({str(path)!r}, "rb").read())
            assert isinstance(out, Problem), out
            added = ImageSet().add_files("c", [("bomb", open({str(path)!r}, "rb").read())])
            assert added == 0
        """
    # a ZIP of a 30 MB entry (over the 25 MB a file) (declared honestly), and one whose header says 100 bytes
    honest, lying = tmp_path / "honest.zip", tmp_path / "lying.zip"
    honest.write_bytes(image_zip([("a/big.png", bytes(30 << 20))]))
    lying.write_bytes(_lying(image_zip([("a/big.png", bytes(30 << 20))]), 100))
    many = tmp_path / "many.zip"
    many.write_bytes(image_zip([(f"a/{k}.png", b"") for k in range(30_000)]))
    for path in (honest, lying, many):
        calls[path.name] = f"""
            try:
                files, problems = read_zip(open({str(path)!r}, "rb").read())
                assert not files and problems, (files, problems)
            except UploadError:
                pass
        """
    mb = peaks("from dlviz.data.uploads import ImageSet, Problem, UploadError, decode_image, "
               "read_zip", calls)  # fmt: skip
    assert all(v < 100 for v in mb.values()), mb


def _lying(data: bytes, size: int) -> bytes:
    """`data` (a ZIP of one entry) with that entry's uncompressed size written as `size`."""
    out = bytearray(data)
    out[22:26] = struct.pack("<I", size)  # the local header
    central = out.find(b"PK\x01\x02")
    out[central + 24 : central + 28] = struct.pack("<I", size)
    return bytes(out)


# --- regressions: each bug found while fuzzing, with the input that showed it -------------------


def _name_not_utf8() -> bytes:
    """A ZIP whose first entry is marked as having a UTF-8 name (flag bit 11), and whose name
    starts with a byte UTF-8 never uses."""
    data = bytearray(image_zip([("cats/x.png", valid_images()["rgb.png"])]))
    central = data.find(b"PK\x01\x02")
    data[central + 9] |= 0x08
    data[central + 46] = 0xFF
    return bytes(data)


def test_a_zip_whose_entry_name_is_not_utf8_is_refused_in_words():
    """Was: zipfile raised UnicodeDecodeError while listing the entries, which read_zip did not
    catch (it caught BadZipFile and OSError): the upload crashed the page."""
    with pytest.raises(UploadError, match="^this file is not a ZIP archive"):
        read_zip(_name_not_utf8())
    pictures = ImageSet()
    pictures.add_files("before", [("good.png", valid_images()["rgb.png"])])
    with pytest.raises(UploadError):
        pictures.add_zip(_name_not_utf8())
    assert pictures.count() == 1


def test_a_zip_of_thousands_of_entries_is_refused_before_zipfile_lists_them(monkeypatch):
    """Was: zipfile listed every entry (about 500 bytes of memory each) before the file count
    was checked: 200,000 empty entries, an 18 MB upload, took 110 MB. Now the entries' own
    signatures are counted first (the memory is measured in
    test_decompression_bombs_are_refused_in_bounded_memory)."""
    from dlviz.data import uploads

    data = image_zip([(f"a/{k}.png", b"") for k in range(20_000)])

    def listed(*args, **kwargs):
        raise AssertionError("zipfile was asked to list the entries")

    monkeypatch.setattr(uploads.zipfile, "ZipFile", listed)
    with pytest.raises(UploadError, match="the ZIP lists 20,000 entries; the limit is 5,000"):
        read_zip(data)
