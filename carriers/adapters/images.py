"""Label images into the formats warehouses print: GIF/PNG from a carrier into PDF or PNG.

UPS renders labels as GIF (or thermal languages), lying on its side; Pillow turns it
upright (as karrio does) and re-encodes it, so a laser printer gets a PDF page four inches
wide, whatever the image's pixel size.
"""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

# labels print on 4 inch wide stock (4 x 6, 4 x 8)
_PAGE_WIDTH_IN = 4.0


class BadImage(ValueError):
    """The carrier's image could not be decoded."""


def convert(data_b64: str, target: str) -> str:
    """Base64 image → base64 ``target`` ("pdf" or "png")."""
    try:
        raw = base64.b64decode(data_b64, validate=False)
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            page = image.convert("L" if image.mode in ("1", "L", "P") else "RGB")
        if page.mode == "L" and page.getcolors(2) is not None:
            # a black-and-white label stays one bit deep: a few kB of PDF instead of ~100
            page = page.convert("1")
        if page.width > page.height:
            page = page.rotate(-90, expand=True)
    except (binascii.Error, UnidentifiedImageError, OSError) as exc:
        raise BadImage(f"label image unreadable: {exc}") from exc
    out = io.BytesIO()
    if target == "pdf":
        page.save(out, format="PDF", resolution=page.width / _PAGE_WIDTH_IN)
    else:
        page.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")
