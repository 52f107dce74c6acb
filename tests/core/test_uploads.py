"""The upload reader against real files built here: every bad input gets its own message naming
the file, and the rest of the upload still loads."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from dlviz.data.uploads import (  # noqa: E402
    ImageSet,
    Problem,
    UploadError,
    UploadLimits,
    decode_image,
    picture_array,
    read_zip,
    thumbnail_array,
)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def gradient(w: int = 12, h: int = 8) -> np.ndarray:
    """An RGB test picture with distinct corners: red grows left to right, green top to bottom."""
    x = np.linspace(0, 255, w).round().astype(np.uint8)
    y = np.linspace(0, 255, h).round().astype(np.uint8)
    out = np.zeros((h, w, 3), np.uint8)
    out[..., 0] = x[None, :]
    out[..., 1] = y[:, None]
    out[..., 2] = 40
    return out


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_decode_to_the_same_pixels(fmt):
    pixels = gradient()
    kw = {"lossless": True} if fmt == "WEBP" else {}
    out = decode_image(f"a.{fmt.lower()}", encode(Image.fromarray(pixels), fmt, **kw))
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)


def test_jpeg_and_gif_first_frame():
    pixels = gradient(32, 24)
    jpg = decode_image("photo.jpg", encode(Image.fromarray(pixels), "JPEG", quality=95))
    assert jpg.shape == (24, 32, 3) and np.abs(jpg.astype(int) - pixels).mean() < 4
    frames = [Image.new("RGB", (6, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    out = decode_image("anim.gif", gif.getvalue())
    assert out.shape == (4, 6, 3) and tuple(out[0, 0]) == (255, 0, 0)  # the first frame


def test_modes_are_converted():
    grey16 = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    assert grey16.mode.startswith("I")
    assert decode_image("deep.png", encode(grey16, "PNG"))[0, 0].tolist() == [255, 255, 255]
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in CMYK
    out = decode_image("print.jpg", encode(cmyk, "JPEG", quality=100))
    assert out[0, 0, 0] > 240 and out[0, 0, 1] < 20 and out[0, 0, 2] < 20
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 128, 0] + [0] * 765)
    assert decode_image("pal.png", encode(palette, "PNG"))[0, 0].tolist() == [0, 128, 0]
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent: laid on white
    assert decode_image("clear.png", encode(rgba, "PNG"))[0, 0].tolist() == [255, 255, 255]
    grey = Image.new("L", (4, 4), 77)
    assert decode_image("grey.png", encode(grey, "PNG"))[0, 0].tolist() == [77, 77, 77]


def test_exif_rotated_photo_is_shown_upright():
    pixels = gradient(12, 8)  # wide
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    data = encode(Image.fromarray(pixels), "JPEG", quality=95, exif=exif.tobytes())
    out = decode_image("phone.jpg", data)
    assert out.shape == (12, 8, 3)  # upright: tall
    expected = np.rot90(pixels, k=-1)  # clockwise
    assert np.abs(out.astype(int) - expected).mean() < 6


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header says `width` x `height` (a decompression bomb's
    header, without its payload)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [30_000, 10_000])  # over Pillow's own error limit; its warning
def test_a_huge_image_is_refused_as_over_the_pixel_limit_with_its_size(side):
    data = png_claiming(side, side)
    assert len(data) < 200
    problem = decode_image("bomb.png", data)
    assert isinstance(problem, Problem)
    assert "not an image" not in problem.message
    assert f"is {side:,} x {side:,} pixels ({side * side // 10**6:,} megapixels)" in problem.message
    assert "over the limit of 40 megapixels an image" in problem.message
    assert "DLVIZ_MAX_MEGAPIXELS" in problem.message  # what to do next


def test_an_exif_rotated_photo_has_an_upright_thumbnail_of_its_own_proportions():
    stored = np.full((60, 120, 3), 128, np.uint8)  # as the camera stored it: wide, grey
    stored[:, :30] = (255, 0, 0)  # red on the left: the top of the scene
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view: upright, the picture is tall
    s = ImageSet()
    s.add_files("a", [("phone.jpg", encode(Image.fromarray(stored), "JPEG", exif=exif.tobytes()))])
    assert s.sizes() == {(60, 120): 1}  # the upright size
    thumb = thumbnail_array(s.classes["a"][0].pixels, 48)  # (3, 48, 48)
    assert thumb.shape == (3, 48, 48)
    inked = np.argwhere(thumb.min(axis=0) < 0.9)  # not white: the picture itself
    red = np.argwhere((thumb[0] > 0.8) & (thumb[1] < 0.3))
    rows, cols = np.ptp(inked[:, 0]) + 1, np.ptp(inked[:, 1]) + 1
    assert rows >= 46 and cols <= 26  # tall, as the upright photo: white bars left and right
    assert red[:, 0].max() < 16  # the red band is at the top, where the scene's top is


def test_bad_files_get_a_message_naming_the_problem():
    assert "not an image" in decode_image("notes.txt", b"hello, not an image").message
    assert "empty" in decode_image("zero.png", b"").message
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    jpg = encode(Image.fromarray(noise), "JPEG")
    truncated = decode_image("cut.jpg", jpg[: len(jpg) // 2])
    assert isinstance(truncated, Problem) and "damaged or truncated" in truncated.message
    limits = UploadLimits(max_pixels=1000)  # a bomb made small: 40 x 40 = 1,600 pixels
    bomb = decode_image("bomb.png", encode(Image.new("L", (40, 40)), "PNG"), limits)
    assert "40 x 40 pixels" in bomb.message and "decompression bombs" in bomb.message
    big = decode_image("big.png", b"x" * 2000, UploadLimits(max_file_bytes=1000))
    assert "limit is" in big.message


def zip_of(entries: dict[str, bytes], symlinks: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, body)
    return buf.getvalue()


def png(color=(255, 0, 0), size=(6, 6)) -> bytes:
    return encode(Image.new("RGB", size, color), "PNG")


def test_a_zip_of_class_folders_loads_and_unsafe_entries_are_refused_by_name():
    data = zip_of(
        {
            "cats/a.png": png((200, 0, 0)),
            "cats/b c ü.png": png((0, 200, 0)),  # spaces and unicode in the name
            "dogs/x.png": png((0, 0, 200)),
            "../escape.png": png(),
            "/etc/abs.png": png(),
            "dogs/link.png": b"/etc/passwd",
            "dogs/inner.zip": zip_of({"a/b.png": png()}),
            "loose.png": png(),
            "__MACOSX/cats/._a.png": b"junk",
            "dogs/notes.txt": b"not an image",
        },
        symlinks=("dogs/link.png",),
    )
    files, problems = read_zip(data)
    assert {c: sorted(n for n, _ in items) for c, items in files.items()} == {
        "cats": ["a.png", "b c ü.png"],
        "dogs": ["notes.txt", "x.png"],
    }
    why = {p.name: p.message for p in problems}
    assert "outside the ZIP's folder" in why["../escape.png"]
    assert "absolute path" in why["/etc/abs.png"]
    assert "symbolic link" in why["dogs/link.png"]
    assert "ZIP inside the ZIP" in why["dogs/inner.zip"]
    assert "not inside a class folder" in why["loose.png"]
    assert len(problems) == 5

    images = ImageSet()
    assert images.add_zip(data) == 3  # notes.txt becomes a problem too, the rest loads
    assert {c: len(p) for c, p in images.classes.items()} == {"cats": 2, "dogs": 1}
    assert any(p.name == "notes.txt" and "not an image" in p.message for p in images.problems)


def test_zip_bombs_and_too_many_files_are_stopped():
    bomb = zip_of({"a/big.png": b"\0" * 200_000})  # compresses to a few hundred bytes
    assert len(bomb) < 2_000
    with pytest.raises(UploadError, match="unpacks to"):
        read_zip(bomb, UploadLimits(max_total_bytes=100_000))
    many = zip_of({f"a/{i}.png": png() for i in range(12)})
    with pytest.raises(UploadError, match="holds 12 files; the limit is 10"):
        read_zip(many, UploadLimits(max_files=10))
    with pytest.raises(UploadError, match="not a ZIP"):
        read_zip(b"definitely not a zip")


def test_a_zip_that_lies_about_its_sizes_reads_no_more_than_it_declares():
    data = bytearray(zip_of({"a/x.png": b"\0" * 50_000, "a/ok.png": png()}))
    # Rewrite x.png's declared uncompressed size (central directory) to 10 bytes.
    cd = data.find(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    files, problems = read_zip(bytes(data), UploadLimits(max_file_bytes=1_000))
    assert [n for n, _ in files["a"]] == ["ok.png"]
    assert problems[0].name == "a/x.png" and "could not be unpacked" in problems[0].message


def test_the_set_warns_and_blocks_as_a_person_would_need():
    s = ImageSet()
    s.add_files("cats", [(f"c{i}.png", png((i * 10, 0, 0))) for i in range(12)])
    assert s.blocking() == "Training needs at least two classes."
    s.add_class("dogs")
    assert "dogs has no images" in s.blocking()
    s.add_files("dogs", [("d1.png", png((0, 0, 9), (8, 6))), ("d2.png", png((0, 10, 0)))])
    s.add_files("dogs", [("again.png", png((0, 10, 0)))])
    assert s.blocking() == ""
    text = " ".join(s.warnings())
    assert "Few images in dogs" in text
    assert "Strong imbalance: cats has 12 images, dogs only 3" in text
    assert "1 exact duplicate image (dogs/d2.png = dogs/again.png)" in text
    assert "2 different image sizes" in text
    x, y, names = s.to_arrays(16)
    assert x.shape == (15, 3, 16, 16) and x.dtype == np.float32 and names == ("cats", "dogs")
    assert y.tolist() == [0] * 12 + [1] * 3
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[13, :, 0, 0], [0, 10 / 255, 0], atol=1e-6)
    assert s.to_arrays(16, channels=1)[0].shape == (15, 1, 16, 16)


def test_the_set_saves_as_a_zip_that_loads_back_the_same():
    s = ImageSet()
    s.add_files("rot", [("a.png", png((250, 0, 0))), ("a.jpg", png((240, 0, 0)))])
    s.add_files("grün", [("b.png", png((0, 250, 0), (5, 7)))])
    again = ImageSet()
    assert again.add_zip(s.to_zip()) == 3 and not again.problems
    assert list(again.classes) == ["rot", "grün"]
    for cls in s.classes:
        for p, q in zip(s.classes[cls], again.classes[cls]):
            np.testing.assert_array_equal(p.pixels, q.pixels)


def test_dlviz_train_learns_a_folder_and_a_zip_of_class_folders(tmp_path, capsys):
    import json

    from dlviz.cli import main
    from dlviz.config import ConfigError, DataConfig
    from dlviz.data import load_dataset

    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for cls, channel in (("red things", 0), ("blue things", 2)):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 60, (20, 24, 3), dtype=np.uint8)
            pixels[..., channel] = 200 + i  # the class is its dominant colour
            Image.fromarray(pixels).save(root / cls / f"{i} ü.png")
    (root / "red things" / "broken.jpg").write_bytes(b"not really a jpeg")
    data = load_dataset(DataConfig(name="folder", path=str(root), image_size=16, channels=3))
    assert data.class_names == ("blue things", "red things") and data.input_shape == (3, 16, 16)
    assert len(data) == 24  # the broken file is skipped
    with pytest.raises(ConfigError, match="data.path"):
        DataConfig(name="zip")

    (tmp_path / "set.zip").write_bytes(
        zip_of(
            {
                f"{c}/{i}.png": png(color)
                for c, color in (("r", (250, 0, 0)), ("b", (0, 0, 250)))
                for i in range(10)
            }
        )
    )
    cfg = tmp_path / "cfg.json"
    cfg.write_text(
        json.dumps(
            {
                "data": {"name": "zip", "path": str(tmp_path / "set.zip"), "image_size": 8,
                         "channels": 3},
                "model": {"arch": "cnn", "blocks": [{"channels": 4}]},
                "train": {"epochs": 15, "lr": 0.03, "batch_size": 8},
            }
        )
    )  # fmt: skip
    assert main(["train", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["final"]["test_accuracy"] == 1.0  # red against blue


def test_big_photos_are_kept_small_but_their_own_size_is_reported():
    big = np.random.default_rng(1).integers(0, 256, (600, 900, 3), dtype=np.uint8)
    s = ImageSet()
    s.add_files("a", [("wide.jpg", encode(Image.fromarray(big), "JPEG")), ("p.png", png())])
    kept = s.classes["a"][0].pixels
    assert max(kept.shape[:2]) <= 256 and kept.shape[1] > kept.shape[0]  # still wide
    assert s.sizes() == {(900, 600): 1, (6, 6): 1}
    exif = Image.Exif()
    exif[0x0112] = 6
    s.add_files("a", [("tall.jpg", encode(Image.fromarray(big), "JPEG", exif=exif.tobytes()))])
    assert s.classes["a"][-1].size == (600, 900)  # upright: the file's own size, turned


def test_limits_are_settings_from_the_environment_with_clear_errors():
    lim = UploadLimits.from_env(
        {"DLVIZ_MAX_FILE_MB": "5", "DLVIZ_MAX_MEGAPIXELS": "12", "DLVIZ_MAX_FILES": "300"}
    )
    assert lim.max_file_bytes == 5 * 2**20 and lim.max_pixels == 12_000_000
    assert lim.max_files == 300 and lim.max_total_bytes == UploadLimits().max_total_bytes
    assert "up to 300 images, 5 MB and 12 megapixels each" in lim.describe()
    assert UploadLimits.from_env({}) == UploadLimits()
    with pytest.raises(ValueError, match="DLVIZ_MAX_FILES must be a whole number"):
        UploadLimits.from_env({"DLVIZ_MAX_FILES": "lots"})
    with pytest.raises(ValueError, match="DLVIZ_MAX_UPLOAD_MB"):
        UploadLimits.from_env({"DLVIZ_MAX_UPLOAD_MB": "0"})


def test_a_picture_becomes_a_network_input_as_pillow_resizes_it():
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, 20:] = (255, 0, 0)  # right half red
    rgb = picture_array(pixels, 8, 3)
    assert rgb.shape == (3, 8, 8) and rgb.dtype == np.float32
    assert rgb[0, :, :3].max() == 0 and rgb[0, :, 5:].min() == 1.0  # stretched, not cropped
    assert np.allclose(rgb[1:], 0)
    grey = picture_array(pixels, 8, 1)
    expected = (
        np.asarray(
            Image.fromarray(pixels).resize((8, 8), Image.Resampling.BILINEAR).convert("L"),
            np.float32,
        )
        / 255
    )
    assert grey.shape == (1, 8, 8) and np.allclose(grey[0], expected)


def test_removing_a_class_and_one_message_for_several_empty_classes():
    s = ImageSet()
    for name in ("a", "b", "c"):
        s.add_class(name)
    assert s.blocking() == "Classes a, b, c have no images yet; add some or remove them."
    s.remove_class("b")
    s.remove_class("b")  # twice: nothing to remove
    assert list(s.classes) == ["a", "c"]
