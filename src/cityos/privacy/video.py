"""De-identification of CCTV frames: faces and licence plates found by OpenCV's bundled Haar
cascades (Viola-Jones) are pixelated and blurred before a frame leaves the city.

Detectors: ``haarcascade_frontalface_default.xml`` and ``haarcascade_profileface.xml`` for faces,
``haarcascade_russian_plate_number.xml`` for plates, shipped inside ``opencv-python-headless``
4.x (5.x no longer bundles them). Each region, grown by a margin, is pixelated to blocks of about
a twelfth of its size and then Gaussian-blurred, which removes the detail a recogniser needs;
everything outside the regions is left byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np

#: Largest frame accepted [pixels].
MAX_PIXELS = 40_000_000
#: Fraction of a region's size added on every side before blurring.
MARGIN = 0.15
CASCADES = {
    "face": ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"),
    "plate": ("haarcascade_russian_plate_number.xml",),
}


@dataclass(frozen=True)
class Detection:
    """A region to hide: ``kind`` (``face`` or ``plate``) and its box [pixels]."""

    kind: str
    x: int
    y: int
    w: int
    h: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "x": self.x, "y": self.y, "width": self.w, "height": self.h}


@cache
def _cascade(name: str) -> Any:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if classifier.empty():
        raise RuntimeError(f"OpenCV cascade {name} is missing (opencv-python-headless 4.x)")
    return classifier


def detect(image: np.ndarray) -> list[Detection]:
    """Faces and plates in a BGR (or grey) frame."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    grey = cv2.equalizeHist(grey)
    smallest = max(24, min(grey.shape[:2]) // 40)
    found: list[Detection] = []
    for kind, names in CASCADES.items():
        for name in names:
            boxes = _cascade(name).detectMultiScale(
                grey, scaleFactor=1.1, minNeighbors=4, minSize=(smallest, smallest // 2)
            )
            found += [Detection(kind, int(x), int(y), int(w), int(h)) for x, y, w, h in boxes]
    return found


def blur(image: np.ndarray, regions: list[Detection], margin: float = MARGIN) -> np.ndarray:
    """A copy of ``image`` with each region (grown by ``margin``) pixelated and blurred."""
    out = image.copy()
    height, width = image.shape[:2]
    for r in regions:
        dx, dy = int(r.w * margin), int(r.h * margin)
        x0, y0 = max(0, r.x - dx), max(0, r.y - dy)
        x1, y1 = min(width, r.x + r.w + dx), min(height, r.y + r.h + dy)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        blocks = (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12))
        small = cv2.resize(patch, (max(1, (x1 - x0) // blocks[0]), max(1, (y1 - y0) // blocks[1])),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        coarse = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        kernel = max(3, (min(x1 - x0, y1 - y0) // 4) | 1)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(coarse, (kernel, kernel), 0)
    return out


def deidentify(image: np.ndarray) -> tuple[np.ndarray, list[Detection]]:
    """Detect and hide every face and plate of a frame."""
    found = detect(image)
    return blur(image, found), found


def deidentify_bytes(data: bytes, media_type: str) -> tuple[bytes, list[Detection]]:
    """Decode a PNG or JPEG frame, de-identify it, encode it in the same format.

    Raises
    ------
    ValueError
        For another format, an undecodable image or one larger than :data:`MAX_PIXELS`.
    """
    if media_type not in ("image/png", "image/jpeg"):
        raise ValueError("frames must be image/png or image/jpeg")
    flags = cv2.IMREAD_COLOR
    header = np.frombuffer(data, np.uint8)
    probe = cv2.imdecode(header, cv2.IMREAD_REDUCED_GRAYSCALE_8) if data else None
    if probe is None:
        raise ValueError("the body is not a decodable PNG or JPEG image")
    if probe.shape[0] * probe.shape[1] * 64 > MAX_PIXELS:
        raise ValueError(f"the frame is larger than {MAX_PIXELS} pixels")
    image = cv2.imdecode(header, flags)
    if image is None:
        raise ValueError("the body is not a decodable PNG or JPEG image")
    hidden, found = deidentify(image)
    ext = ".png" if media_type == "image/png" else ".jpg"
    ok, encoded = cv2.imencode(ext, hidden)
    if not ok:  # pragma: no cover - encoding a decoded frame does not fail
        raise ValueError("the frame could not be encoded")
    return encoded.tobytes(), found
