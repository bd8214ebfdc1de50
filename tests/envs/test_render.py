"""The analytic envs' rasterizer draws on each primitive's bounding box only: the same pixels as over the whole image."""

import numpy as np

from mollirl.envs.render import Canvas


def _reference(width, height, scale, primitives):
    """Every primitive tested on every pixel (the rasterizer before its bounding boxes)."""
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    to_px = lambda x, y: (width / 2.0 + x * scale, height / 2.0 - y * scale)  # noqa: E731
    for kind, args in primitives:
        if kind == "line":
            p0, p1, color, w = args
            (c0, r0), (c1, r1) = to_px(*p0), to_px(*p1)
            d = np.array([c1 - c0, r1 - r0])
            length2 = float(d @ d)
            if not np.isfinite(length2):
                continue
            px, py = xx - c0, yy - r0
            t = np.clip((px * d[0] + py * d[1]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
            image[(px - t * d[0]) ** 2 + (py - t * d[1]) ** 2 <= (w / 2.0) ** 2] = color
        else:
            p, radius, color = args
            c, r = to_px(*p)
            if np.isfinite(c) and np.isfinite(r):
                image[(xx - c) ** 2 + (yy - r) ** 2 <= radius**2] = color
    return image


def test_bounding_boxes_draw_the_same_pixels():
    rng = np.random.default_rng(0)
    for trial in range(40):
        width, height = (int(v) for v in rng.integers(20, 120, size=2))
        scale = float(rng.uniform(5, 60))
        primitives = []
        for _ in range(8):
            color = tuple(int(v) for v in rng.integers(0, 256, size=3))
            p0, p1 = tuple(rng.normal(0, 2.0, 2)), tuple(rng.normal(0, 2.0, 2))
            if rng.random() < 0.1:
                p1 = p0  # a zero-length segment: a dot
            if rng.random() < 0.1:
                p1 = (float("nan"), 0.0)
            if rng.random() < 0.6:
                primitives.append(("line", (p0, p1, color, float(rng.uniform(0.5, 9)))))
            else:
                primitives.append(("disk", (p0, float(rng.uniform(0.5, 12)), color)))
        canvas = Canvas(width, height, scale)
        for kind, args in primitives:
            getattr(canvas, kind)(*args)
        np.testing.assert_array_equal(canvas.image, _reference(width, height, scale, primitives), err_msg=str(trial))
