"""A tiny numpy rasterizer for the analytic envs' ``rgb_array`` frames (no display needed)."""

from __future__ import annotations

import numpy as np


class Canvas:
    """An RGB image with world coordinates centred on the middle.

    :param width: pixels.
    :param height: pixels.
    :param scale: pixels per world unit (metre).
    """

    def __init__(self, width: int, height: int, scale: float = 80.0) -> None:
        self.image = np.full((height, width, 3), 255, dtype=np.uint8)
        self.scale = scale
        self._cx, self._cy = width / 2.0, height / 2.0
        yy, xx = np.mgrid[0:height, 0:width]
        self._xx, self._yy = xx, yy

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        """World (x right, y up) to pixel (col, row)."""
        return self._cx + x * self.scale, self._cy - y * self.scale

    def line(self, p0: tuple[float, float], p1: tuple[float, float], color: tuple[int, int, int], width: float = 3.0) -> None:
        """Draw a thick segment between two world points."""
        (c0, r0), (c1, r1) = self.to_px(*p0), self.to_px(*p1)
        d = np.array([c1 - c0, r1 - r0])
        length2 = float(d @ d)
        if not np.isfinite(length2):
            return
        px, py = self._xx - c0, self._yy - r0
        t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
        dist2 = (px - t * d[0]) ** 2 + (py - t * d[1]) ** 2
        self.image[dist2 <= (width / 2.0) ** 2] = color

    def disk(self, p: tuple[float, float], radius_px: float, color: tuple[int, int, int]) -> None:
        """Draw a filled disk of ``radius_px`` pixels at a world point."""
        c, r = self.to_px(*p)
        if not (np.isfinite(c) and np.isfinite(r)):
            return
        self.image[(self._xx - c) ** 2 + (self._yy - r) ** 2 <= radius_px**2] = color
