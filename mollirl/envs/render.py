"""A tiny numpy rasterizer for the analytic envs' ``rgb_array`` frames (no display needed)."""

from __future__ import annotations

import math

import numpy as np


class Canvas:
    """An RGB image with world coordinates centred on the middle.

    Each primitive is rasterized on the pixels of its bounding box only (the same
    per-pixel test as over the whole image, so the same picture): a frame costs
    about its primitives' area, not the image's area per primitive.

    :param width: pixels.
    :param height: pixels.
    :param scale: pixels per world unit (metre).
    """

    def __init__(self, width: int, height: int, scale: float = 80.0) -> None:
        self.image = np.full((height, width, 3), 255, dtype=np.uint8)
        self.scale = scale
        self._cx, self._cy = width / 2.0, height / 2.0

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        """World (x right, y up) to pixel (col, row)."""
        return self._cx + x * self.scale, self._cy - y * self.scale

    def _window(self, cols: tuple[float, float], rows: tuple[float, float], margin: float):
        """Pixel index grids ``(xx (1, w), yy (h, 1))`` of the box around ``cols`` x ``rows`` plus
        ``margin``, clipped to the image, and its slices; None when the box misses the image."""
        height, width = self.image.shape[:2]
        c_lo, c_hi = max(0, math.floor(min(cols) - margin)), min(width, math.ceil(max(cols) + margin) + 1)
        r_lo, r_hi = max(0, math.floor(min(rows) - margin)), min(height, math.ceil(max(rows) + margin) + 1)
        if c_lo >= c_hi or r_lo >= r_hi:
            return None
        xx = np.arange(c_lo, c_hi)[None, :]
        yy = np.arange(r_lo, r_hi)[:, None]
        return xx, yy, (slice(r_lo, r_hi), slice(c_lo, c_hi))

    def line(self, p0: tuple[float, float], p1: tuple[float, float], color: tuple[int, int, int], width: float = 3.0) -> None:
        """Draw a thick segment between two world points."""
        (c0, r0), (c1, r1) = self.to_px(*p0), self.to_px(*p1)
        d = np.array([c1 - c0, r1 - r0])
        length2 = float(d @ d)
        if not np.isfinite(length2):
            return
        window = self._window((c0, c1), (r0, r1), width / 2.0 + 1.0)
        if window is None:
            return
        xx, yy, box = window
        px, py = xx - c0, yy - r0
        t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        dist2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2
        self.image[box][dist2 <= (width / 2.0) ** 2] = color

    def disk(self, p: tuple[float, float], radius_px: float, color: tuple[int, int, int]) -> None:
        """Draw a filled disk of ``radius_px`` pixels at a world point."""
        c, r = self.to_px(*p)
        if not (np.isfinite(c) and np.isfinite(r)):
            return
        window = self._window((c, c), (r, r), radius_px + 1.0)
        if window is None:
            return
        xx, yy, box = window
        self.image[box][(xx - c) ** 2 + (yy - r) ** 2 <= radius_px**2] = color
