"""Random draws shared by the generators: inverse-CDF picks and positive integer splits."""

from __future__ import annotations

import numpy as np


def cdf_pick(u: np.ndarray, probs: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Inverse-CDF draw: ``u`` uniform in [0, 1); ``probs`` (k,) or (r, k) with ``rows``."""
    cdf = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    if rows is None:
        return np.minimum(np.searchsorted(cdf, u, side="right"), probs.shape[-1] - 1)
    out = np.zeros(u.shape[0], dtype=np.int64)
    for k in range(probs.shape[-1] - 1):
        out += u >= cdf[rows, k]
    return out


def allocate(
    total: int, n: int, rng: np.random.Generator, *, minimum: int, spread: float
) -> np.ndarray:
    """Split ``total`` into ``n`` positive integer parts (each ≥ minimum) with some variation."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    base = np.full(n, minimum, dtype=np.int64)
    rest = total - minimum * n
    if rest <= 0:
        return np.maximum(base, 1)
    w = rng.lognormal(0.0, spread, n)
    raw = rest * w / w.sum()
    parts = np.floor(raw).astype(np.int64)
    short = rest - parts.sum()
    order = np.argsort(-(raw - parts), kind="stable")
    parts[order[:short]] += 1
    return base + parts
