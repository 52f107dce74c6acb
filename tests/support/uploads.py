"""Pictures made here (bright discs and dark squares, easy to tell apart) and the Your images
page's class and upload steps, for AppTest."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest


def picture(kind: str, k: int, fmt: str = "PNG", size=(40, 30)) -> bytes:
    rng = np.random.default_rng(k)
    h, w = size[1], size[0]
    a = rng.integers(0, 40, (h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    cy, cx = h / 2 + rng.integers(-3, 4), w / 2 + rng.integers(-3, 4)
    if kind == "disc":
        a[(yy - cy) ** 2 + (xx - cx) ** 2 < 100] = (240, 200, 40)
    else:
        a[(abs(yy - cy) < 8) & (abs(xx - cx) < 8)] = (40, 120, 240)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format=fmt)
    return buf.getvalue()


def files(kind: str, n: int) -> list[tuple[str, bytes, str]]:
    return [
        (
            f"{kind} {k} é.{'jpg' if k % 2 else 'png'}",
            picture(kind, k, "JPEG" if k % 2 else "PNG"),
            "image/jpeg" if k % 2 else "image/png",
        )
        for k in range(n)
    ]


def add_class(at: AppTest, name: str) -> None:
    at.text_input(key="up_new_class").input(name)
    at.button(key="up_add_class").click().run()
    assert not at.exception, at.exception


def uploader(at: AppTest, prefix: str):
    found = [u for u in at.file_uploader if u.proto.id.split("-")[-1].startswith(prefix)]
    assert len(found) == 1, [u.proto.id for u in at.file_uploader]
    return found[0]


def class_uploader(at: AppTest, cls: str):
    import hashlib

    return uploader(at, f"up_files_{hashlib.sha1(cls.encode()).hexdigest()[:10]}_")


def upload(at: AppTest, cls: str, items) -> None:
    class_uploader(at, cls).set_value(items).run()
    assert not at.exception, at.exception


def two_classes(at: AppTest, n: int = 12) -> None:
    add_class(at, "disc")
    add_class(at, "square")
    upload(at, "disc", files("disc", n))
    upload(at, "square", files("square", n))
