"""CCTV frame de-identification on synthetic frames the tests draw: a face and a licence plate
are found by OpenCV's bundled Haar cascades and made unrecognisable; nothing else changes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from privacy_kit import bearer

from cityos.privacy.video import MARGIN, blur, deidentify, detect


def _face(img: np.ndarray, cx: int, cy: int, s: int) -> None:
    """A drawn frontal face of height about ``s`` pixels centred on (cx, cy)."""
    cv2.ellipse(img, (cx, cy), (int(0.42 * s), int(0.55 * s)), 0, 0, 360, (150, 180, 215), -1)
    cv2.ellipse(
        img, (cx, cy - int(0.42 * s)), (int(0.44 * s), int(0.2 * s)), 0, 180, 360, (30, 30, 40), -1
    )
    for side in (-1, 1):
        ex, ey = cx + side * int(0.18 * s), cy - int(0.1 * s)
        brow = (int(0.1 * s), int(0.03 * s))
        cv2.ellipse(img, (ex, ey - int(0.1 * s)), brow, 0, 0, 360, (40, 40, 50), -1)
        cv2.ellipse(img, (ex, ey), (int(0.08 * s), int(0.045 * s)), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (ex, ey), int(0.035 * s), (30, 30, 30), -1)
    nose = ((cx, cy - int(0.02 * s)), (cx - int(0.03 * s), cy + int(0.12 * s)))
    cv2.line(img, *nose, (110, 140, 175), max(1, int(0.02 * s)))
    mouth = (int(0.14 * s), int(0.04 * s))
    cv2.ellipse(img, (cx, cy + int(0.27 * s)), mouth, 0, 0, 360, (60, 60, 140), -1)


def _plate(img: np.ndarray, x: int, y: int, w: int, h: int, text: str = "A123BC") -> None:
    """A white licence plate with a black border and black characters."""
    cv2.rectangle(img, (x, y), (x + w, y + h), (250, 250, 250), -1)
    cv2.rectangle(img, (x, y), (x + w, y + h), (0, 0, 0), max(2, h // 12))
    org = (x + w // 14, y + int(h * 0.78))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, h / 36, (0, 0, 0), max(2, h // 10))


def _street() -> np.ndarray:
    """A frame with a pedestrian's face, a car with a plate, and a building."""
    img = np.full((480, 640, 3), 90, np.uint8)
    cv2.rectangle(img, (450, 20), (630, 200), (120, 120, 110), -1)  # building
    _face(img, 180, 200, 180)
    cv2.rectangle(img, (330, 250), (620, 420), (40, 40, 120), -1)  # car body
    _plate(img, 360, 340, 200, 44)
    return cv2.GaussianBlur(img, (5, 5), 0)


def _edges(img: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    grey = cv2.cvtColor(img[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def test_faces_and_plates_are_found_and_hidden():
    frame = _street()
    found = detect(frame)
    kinds = sorted(d.kind for d in found)
    assert "face" in kinds and "plate" in kinds
    face = next(d for d in found if d.kind == "face")
    assert face.x < 180 < face.x + face.w and face.y < 200 < face.y + face.h
    plate = next(d for d in found if d.kind == "plate")
    assert plate.x < 460 < plate.x + plate.w and plate.y < 362 < plate.y + plate.h
    hidden, again = deidentify(frame)
    assert [d.kind for d in again] == [d.kind for d in found]
    assert not [d for d in detect(hidden) if d.kind == "face"]  # no face left to find
    for d in found:
        box = (d.x, d.y, d.w, d.h)
        assert _edges(hidden, box) < 0.1 * _edges(frame, box)  # the detail is gone
    # outside the hidden regions, not one pixel changed
    mask = np.zeros(frame.shape[:2], bool)
    for d in found:
        dx, dy = int(d.w * MARGIN), int(d.h * MARGIN)
        mask[max(0, d.y - dy) : d.y + d.h + dy, max(0, d.x - dx) : d.x + d.w + dx] = True
    assert np.array_equal(hidden[~mask], frame[~mask])
    assert not np.array_equal(hidden[mask], frame[mask])


def test_a_frame_without_people_or_cars_is_unchanged():
    img = np.full((480, 640, 3), 90, np.uint8)
    cv2.rectangle(img, (50, 50), (300, 400), (120, 120, 120), -1)
    cv2.line(img, (0, 450), (640, 430), (200, 200, 200), 3)
    hidden, found = deidentify(img)
    assert found == [] and np.array_equal(hidden, img)
    assert np.array_equal(blur(img, []), img)


def test_http_deidentify(city):
    ok, png = cv2.imencode(".png", _street())
    assert ok
    operator = bearer(city.mint("op-1", ("operator",)), **{"Content-Type": "image/png"})
    response = city.client.post(
        "/privacy/v1/video/deidentify", content=png.tobytes(), headers=operator
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert (
        int(response.headers["cityos-faces"]) >= 1 and int(response.headers["cityos-plates"]) >= 1
    )
    hidden = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert hidden.shape == (480, 640, 3)
    assert not [d for d in detect(hidden) if d.kind == "face"]
    auditor = bearer(city.mint("aud", ("auditor",)))
    (entry,) = city.client.get("/privacy/v1/audit?action=video.deidentify", headers=auditor).json()
    assert entry["actor"] == "op-1" and entry["outcome"].startswith("done:")


@pytest.mark.parametrize(
    ("content_type", "body", "needle"),
    [
        ("image/gif", b"GIF89a", "image/png or image/jpeg"),
        ("image/png", b"not a png at all", "decodable"),
        ("image/jpeg", b"", "decodable"),
    ],
)
def test_http_bad_frames(city, content_type, body, needle):
    headers = bearer(city.mint("op-1", ("operator",)), **{"Content-Type": content_type})
    response = city.client.post("/privacy/v1/video/deidentify", content=body, headers=headers)
    assert response.status_code == 400 and needle in response.json()["detail"]


def test_http_video_roles(city):
    buyer = bearer(city.mint("b", ("data_buyer",)), **{"Content-Type": "image/png"})
    response = city.client.post("/privacy/v1/video/deidentify", content=b"x", headers=buyer)
    assert response.status_code == 403
