"""Exact learning coefficients of singular learning theory, and the exact finite-nbeta LLC target (chapters 8-11).

``learning_coefficient_rrr`` is Aoyagi & Watanabe's (2005) reduced-rank regression result and
``learning_coefficient_dln`` Aoyagi's (2024) deep linear network result, both for a linear
map with a Gaussian (squared-error) likelihood and a prior positive at the truth; both return a
:class:`LearningCoefficient`, a float that also carries the multiplicity ``m`` (the order of the
pole: ``F_n = n L_n + lambda ln n - (m - 1) ln ln n + O(1)``).

``exact_llc_target`` is what the LLC estimator of :mod:`utils.llc` converges to at a finite
``nbeta`` and localization, for a deep linear network with a zero teacher. With whitened inputs
the loss is ``L(w) = ||P||_F^2 / 2`` for the end-to-end product ``P = W_L ... W_1``, and the
Gaussian integral over one layer leaves an expectation over the eigenvalues of a Wishart matrix
(two-layer networks: of ``W_2^T W_2`` or ``W_1 W_1^T``; three-layer networks: of ``W_1 W_1^T``
and ``W_3^T W_3``, the middle layer integrated out). A 2 x 2 Wishart matrix with ``N`` degrees
of freedom is parametrised by its trace ``s ~ chi^2_(2N)`` and ``v = 4 det / s^2 ~ Beta((N-1)/2,
1)``, independent; the integrals run on uniform grids in ``ln s`` and in ``logit(v^((N-1)/2))``,
where the integrands are analytic in a strip and the trapezoid rule converges exponentially
(error about ``exp(-pi^2 / QUAD_STEP)``, checked against brute-force Monte Carlo in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from scipy.special import log_expit

from ._validate import check_int, check_int_sequence, check_real

__all__ = [
    "LearningCoefficient",
    "exact_llc_target",
    "learning_coefficient_dln",
    "learning_coefficient_normal_crossing",
    "learning_coefficient_rrr",
]

#: Trapezoid step of the exact target's quadrature (in ln(trace) and in the logit variable).
QUAD_STEP = 0.4
#: e-folds of each density's tails that the quadrature grids keep.
QUAD_TAIL = 30.0


class LearningCoefficient(float):
    """A learning coefficient ``lambda`` (a float; prints as one) with its multiplicity ``m`` (chapters 8-9)."""

    multiplicity: int

    def __new__(cls, value: float, multiplicity: int) -> LearningCoefficient:
        self = super().__new__(cls, value)
        self.multiplicity = int(multiplicity)
        return self

    def __getnewargs__(self) -> tuple[float, int]:  # type: ignore[override]
        return float(self), self.multiplicity


def learning_coefficient_normal_crossing(powers: Sequence[int]) -> float:
    """``K(w) = prod_j w_j^(2 k_j)`` with uniform prior has ``lambda = min_j 1 / (2 k_j)`` (chapter 8)."""
    ks = check_int_sequence("powers", powers, minimum=0)
    if not any(ks):
        raise ValueError("powers must contain at least one positive power")
    return min(1 / (2 * k) for k in ks if k > 0)


def learning_coefficient_rrr(m: int, h: int, n: int, r: int) -> LearningCoefficient:
    """Aoyagi & Watanabe (2005): lambda and multiplicity of reduced-rank regression ``y = B A x`` (chapter 9).

    Input dimension ``m``, inner width ``h``, output dimension ``n``, true rank ``r <= min(m, h, n)``;
    the multiplicity is 2 in the first case when ``m + h + n + r`` is odd, else 1.
    """
    m = check_int("m", m, minimum=1)
    h = check_int("h", h, minimum=1)
    n = check_int("n", n, minimum=1)
    r = check_int("r", r, minimum=0)
    if r > min(m, h, n):
        raise ValueError(f"r must be <= min(m, h, n) = {min(m, h, n)}, got {r}")
    if n + r <= m + h and m + r <= n + h and h + r <= m + n:
        num = 2 * (h + r) * (m + n) - (m - n) ** 2 - (h + r) ** 2
        odd = (m + h + n + r) % 2
        return LearningCoefficient((num + odd) / 8, 1 + odd)
    if m + h < n + r:
        return LearningCoefficient((h * m - h * r + n * r) / 2, 1)
    if n + h < m + r:
        return LearningCoefficient((h * n - h * r + m * r) / 2, 1)
    return LearningCoefficient(m * n / 2, 1)  # m + n < h + r


def learning_coefficient_dln(widths: Sequence[int], rank: int) -> LearningCoefficient:
    """Aoyagi (2024): lambda and multiplicity of a deep linear network ``x -> W_L ... W_1 x`` (chapter 9).

    ``widths = [H_1, ..., H_{L+1}]`` from input to output; the true product has rank ``rank``.
    With ``M_j = H_j - r``, pick the set ``S`` of ``l + 1`` smallest ``M_j`` with
    ``max_S M < min_(not S) M``, ``sum_S M >= l max_S M`` and ``sum_S M < l min_(not S) M``; then
    ``lambda = (r (H_1 + H_{L+1}) - r^2) / 2 + a (l - a) / (4 l) - l (l - 1) / 4 (sum_S M / l)^2
    + 1/2 sum_(i<j in S) M_i M_j`` with ``a = sum_S M - l (ceil(sum_S M / l) - 1)``, and the
    multiplicity is ``m = a (l - a) + 1``.
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
    return LearningCoefficient(float(lam), a * (l - a) + 1)


# -- the exact finite-nbeta target of a zero-teacher deep linear network -----------------------


def exact_llc_target(widths: Sequence[int], nbeta: Any, localization: float = 1.0) -> Any:
    """Exact ``nbeta (E[L_n] - L_n(w*))`` of a zero-teacher deep linear network (chapter 9).

    Conventions: no biases, ``w* = 0``, whitened inputs (empirical second moment exactly ``I``),
    ``y = 0``, ``L_n = mean_i ||y_i - f(x_i)||^2 / 2`` and the posterior
    ``exp(-nbeta L_n(w) - localization / 2 ||w||^2)``. With ``L`` layers the target depends on
    ``nbeta / localization^L`` only. ``widths = [d_in, ..., d_out]``: one layer (regular:
    ``(d/2) t / (1 + t)``), two layers ``[d_in, h, d_out]`` with ``min(h, d_out) <= 2`` or
    ``min(h, d_in) <= 2``, three layers with both hidden widths ``<= 2``; anything else raises
    NotImplementedError. ``nbeta`` may be an array (the result has its shape).
    """
    hs = check_int_sequence("widths", widths, minimum=1, min_length=2)
    loc = check_real("localization", localization, positive=True)
    nb = np.asarray(nbeta, dtype=float) if not isinstance(nbeta, (bool, str)) else None
    if nb is None or nb.ndim > 1 or nb.size == 0 or not np.all(np.isfinite(nb)) or np.any(nb <= 0):
        raise ValueError(f"nbeta must be a positive finite number or 1-d array of them, got {nbeta!r}")
    layers = len(hs) - 1
    t = nb / loc**layers
    if layers == 1:
        out = 0.5 * hs[0] * hs[1] * t / (1.0 + t)
    elif layers == 2:
        d_in, h, d_out = hs
        sides = [((min(h, d_out), max(h, d_out)), d_in / 2), ((min(h, d_in), max(h, d_in)), d_out / 2)]
        (p, dof), alpha = min(sides, key=lambda side: (side[0][0], -side[0][1]))  # fewest eigenvalues
        if p > 2:
            raise NotImplementedError(
                f"exact_llc_target covers two-layer networks with min(h, d_out) <= 2 or min(h, d_in) <= 2, got {hs}"
            )
        out = _target([(p, dof)], alpha, np.atleast_1d(t))
    elif layers == 3 and max(hs[1:3]) <= 2:
        d_in, h1, h2, d_out = hs
        out = _target([(min(h1, d_in), max(h1, d_in)), (min(h2, d_out), max(h2, d_out))], 0.5, np.atleast_1d(t))
    else:
        raise NotImplementedError(
            "exact_llc_target covers one- and two-layer networks (min(h, d_out) <= 2 or "
            f"min(h, d_in) <= 2) and three-layer networks with hidden widths <= 2, got {hs}"
        )
    return float(out.reshape(())) if nb.ndim == 0 else np.asarray(out, dtype=float).reshape(nb.shape)


def _log_trace_grid(k: int, t_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid in ``u = ln s`` for ``s ~ chi^2_k``, with the log density of ``u`` times the step."""
    lo = -math.log(max(t_max, 1.0)) - 2 * QUAD_TAIL / k - 3  # the density falls like exp(k u / 2)
    hi = math.log(k + 12 * math.sqrt(k) + 2 * QUAD_TAIL)
    u = np.arange(lo, hi + QUAD_STEP, QUAD_STEP)
    log_density = 0.5 * k * u - 0.5 * np.exp(u) - 0.5 * k * math.log(2) - math.lgamma(0.5 * k)
    return u, log_density + math.log(QUAD_STEP)


def _log_product_grid(ks: list[int], t_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid in ``x = ln(product of the traces)`` and its log density times the step (a convolution)."""
    grids = [_log_trace_grid(k, t_max) for k in ks]
    if len(grids) == 1:
        return grids[0]
    (ua, la), (uc, lc) = grids
    ma, mc = la.max(), lc.max()
    dens = np.convolve(np.exp(la - ma), np.exp(lc - mc))
    with np.errstate(divide="ignore"):
        return ua[0] + uc[0] + QUAD_STEP * np.arange(dens.size), np.log(dens) + ma + mc


def _shape_grid(dof: int, t_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid for ``v = 4 det / s^2 ~ Beta((dof - 1)/2, 1)`` of a 2 x 2 Wishart matrix: ``v^((dof-1)/2) = logistic(y)``."""
    a = 0.5 * (dof - 1)
    y = np.arange(-a * math.log(max(t_max, 1.0)) - QUAD_TAIL - 3, QUAD_TAIL + QUAD_STEP, QUAD_STEP)
    return np.exp(log_expit(y) / a), log_expit(y) + log_expit(-y) + math.log(QUAD_STEP)


def _target(sides: list[tuple[int, int]], alpha: float, t: np.ndarray) -> np.ndarray:
    """``E = -t d ln Z / dt`` with ``Z(t) = E[prod (1 + t s f_i c_j)^-alpha]`` over Wishart sides ``(p, dof)``.

    One side (two layers): its eigenvalue fractions ``c_j`` (sum 1, product ``v/4``) enter as
    ``(1 + tau + tau^2 v / 4)^-alpha``; two sides (three layers): the first side's fractions
    ``f_i`` are enumerated, the second's enter through ``v``; ``tau = t x`` the product of traces.
    """
    t_max = float(t.max())
    x, log_x = _log_product_grid([p * dof for p, dof in sides], t_max)
    fracs, log_first = [np.ones(1)], np.zeros(1)
    if len(sides) == 2 and sides[0][0] == 2:
        v, log_first = _shape_grid(sides[0][1], t_max)
        root = np.sqrt(1.0 - v)
        fracs = [0.5 * (1.0 + root), v / (2.0 * (1.0 + root))]
    p, dof = sides[-1]
    prod, log_last = (np.zeros(1), np.zeros(1)) if p == 1 else _shape_grid(dof, t_max)
    prod = prod / 4 if p == 2 else prod
    log_w = log_x[:, None, None] + log_first[None, :, None] + log_last[None, None, :]
    out = np.empty(t.size)
    for i, ti in enumerate(t.ravel()):
        tau = ti * np.exp(x)[:, None, None]
        log_f, drift = np.zeros(log_w.shape), np.zeros(log_w.shape)
        for f in fracs:
            q = tau * f[None, :, None]
            qq = q * q * prod[None, None, :]
            den = 1.0 + q + qq
            log_f -= alpha * np.log(den)
            drift += alpha * (q + 2.0 * qq) / den
        total = log_w + log_f
        weight = np.exp(total - total[np.isfinite(total)].max())
        out[i] = float((weight * drift).sum() / weight.sum())
    return out
