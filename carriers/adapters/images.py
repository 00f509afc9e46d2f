"""Label images into the formats warehouses print: GIF/PNG from a carrier into PDF or PNG.

UPS renders labels as GIF (or thermal languages); Pillow re-encodes the image so a
laser printer gets a PDF page of the label's physical size.
"""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

# UPS label images are 4 x 6 inches at 203 dpi (1218 x 812 px, rotated)
_DPI = 203.0


class BadImage(ValueError):
    """The carrier's image could not be decoded."""


def convert(data_b64: str, target: str) -> str:
    """Base64 image → base64 ``target`` ("pdf" or "png")."""
    try:
        raw = base64.b64decode(data_b64, validate=False)
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            page = image.convert("L" if image.mode in ("1", "L", "P") else "RGB")
    except (binascii.Error, UnidentifiedImageError, OSError) as exc:
        raise BadImage(f"label image unreadable: {exc}") from exc
    out = io.BytesIO()
    if target == "pdf":
        page.save(out, format="PDF", resolution=_DPI)
    else:
        page.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")
