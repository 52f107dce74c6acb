"""Reading back what a figure draws."""

from __future__ import annotations

import numpy as np


def figure_pixels(fig) -> np.ndarray:
    """The RGB pixels of an image figure's one PNG (decoded independently, with Pillow)."""
    import base64
    import io

    from PIL import Image

    source = fig.data[0].source
    assert source.startswith("data:image/png;base64,")
    png = base64.b64decode(source.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
