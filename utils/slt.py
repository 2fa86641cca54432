"""Exact learning coefficients of singular learning theory (chapters 8-9).

``learning_coefficient_rrr`` is Aoyagi & Watanabe's (2005) reduced-rank regression result and
``learning_coefficient_dln`` Aoyagi's (2024) deep linear network result, both for a linear
map with a Gaussian (squared-error) likelihood and a prior positive at the truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from ._validate import check_int, check_int_sequence

__all__ = [
    "learning_coefficient_dln",
    "learning_coefficient_normal_crossing",
    "learning_coefficient_rrr",
]


def learning_coefficient_normal_crossing(powers: Sequence[int]) -> float:
    """``K(w) = prod_j w_j^(2 k_j)`` with uniform prior has ``lambda = min_j 1 / (2 k_j)`` (chapter 8)."""
    ks = check_int_sequence("powers", powers, minimum=0)
    if not any(ks):
        raise ValueError("powers must contain at least one positive power")
    return min(1 / (2 * k) for k in ks if k > 0)


def learning_coefficient_rrr(m: int, h: int, n: int, r: int) -> float:
    """Aoyagi & Watanabe (2005): lambda of reduced-rank regression ``y = B A x`` (chapter 9).

    Input dimension ``m``, inner width ``h``, output dimension ``n``, true rank ``r <= min(m, h, n)``.
    """
    m = check_int("m", m, minimum=1)
    h = check_int("h", h, minimum=1)
    n = check_int("n", n, minimum=1)
    r = check_int("r", r, minimum=0)
    if r > min(m, h, n):
        raise ValueError(f"r must be <= min(m, h, n) = {min(m, h, n)}, got {r}")
    if n + r <= m + h and m + r <= n + h and h + r <= m + n:
        num = 2 * (h + r) * (m + n) - (m - n) ** 2 - (h + r) ** 2
        return (num + (1 if (m + h + n + r) % 2 else 0)) / 8
    if m + h < n + r:
        return (h * m - h * r + n * r) / 2
    if n + h < m + r:
        return (h * n - h * r + m * r) / 2
    return m * n / 2  # m + n < h + r


def learning_coefficient_dln(widths: Sequence[int], rank: int) -> float:
    """Aoyagi (2024): lambda of a deep linear network ``x -> W_L ... W_1 x`` (chapter 9).

    ``widths = [H_1, ..., H_{L+1}]`` from input to output; the true product has rank ``rank``.
    With ``M_j = H_j - r``, pick the set ``S`` of ``l + 1`` smallest ``M_j`` with
    ``max_S M < min_(not S) M``, ``sum_S M >= l max_S M`` and ``sum_S M < l min_(not S) M``; then
    ``lambda = (r (H_1 + H_{L+1}) - r^2) / 2 + a (l - a) / (4 l) - l (l - 1) / 4 (sum_S M / l)^2
    + 1/2 sum_(i<j in S) M_i M_j`` with ``a = sum_S M - l (ceil(sum_S M / l) - 1)``.
    """
    hs = check_int_sequence("widths", widths, minimum=1, min_length=2)
    r = check_int("rank", rank, minimum=0)
    if r > min(hs):
        raise ValueError(f"rank must be <= min(widths) = {min(hs)}, got {r}")
    ms = sorted(h - r for h in hs)
    for size in range(2, len(ms) + 1):
        sel, rest = ms[:size], ms[size:]
        l = size - 1
        s = sum(sel)
        nxt = rest[0] if rest else math.inf
        if max(sel) < nxt and s >= l * max(sel) and s < l * nxt:
            break
    else:  # pragma: no cover - Aoyagi proves such a set exists
        raise RuntimeError("no admissible subset found")
    big_m = -(-s // l)
    a = s - l * (big_m - 1)
    pairs = sum(sel[i] * sel[j] for i in range(len(sel)) for j in range(i + 1, len(sel)))
    lam = (
        Fraction(r * (hs[0] + hs[-1]) - r * r, 2)
        + Fraction(a * (l - a), 4 * l)
        - Fraction(l * (l - 1), 4) * Fraction(s, l) ** 2
        + Fraction(pairs, 2)
    )
    return float(lam)
