"""Clipping lines to the image rectangle [0, width] × [0, height] (image pixel coordinates)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

XY = tuple[float, float]


def clip_segment(p: XY, q: XY, width: float, height: float) -> tuple[XY, XY] | None:
    """Liang–Barsky: the part of segment p→q inside [0, width] × [0, height], or None."""
    t0, t1 = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for edge_p, edge_q in ((-dx, p[0]), (dx, width - p[0]), (-dy, p[1]), (dy, height - p[1])):
        if edge_p == 0:
            if edge_q < 0:
                return None
            continue
        r = edge_q / edge_p
        if edge_p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    start = p if t0 == 0.0 else (p[0] + t0 * dx, p[1] + t0 * dy)
    end = q if t1 == 1.0 else (p[0] + t1 * dx, p[1] + t1 * dy)
    return start, end


def clip_polyline(points: Sequence[XY], width: float, height: float) -> list[list[XY]]:
    """The pieces of a polyline inside the image (an unclipped one comes back whole, points unchanged)."""
    pieces: list[list[XY]] = []
    current: list[XY] = []
    for p, q in itertools.pairwise(points):
        clipped = clip_segment(p, q, width, height)
        if clipped is None:
            if current:
                pieces.append(current)
                current = []
            continue
        a, b = clipped
        if current and current[-1] == a:
            current.append(b)
        else:
            if current:
                pieces.append(current)
            current = [a, b]
        if b != q:  # left the image
            pieces.append(current)
            current = []
    if current:
        pieces.append(current)
    # drop pieces that only touch the image at a point; clamp rounding errors onto the border
    return [
        [(min(max(x, 0.0), width), min(max(y, 0.0), height)) for x, y in piece]
        for piece in pieces
        if len(piece) > 2 or piece[0] != piece[-1]
    ]
