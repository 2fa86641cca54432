"""Galton-Watson branching processes: exact extinction probabilities and a seeded simulator (chapter 2).

Each individual of generation ``n`` has an independent random number of children with mean ``m``
(the *offspring distribution*); ``Z_n`` is the population of generation ``n``, starting from
``Z_0 = 1``. Two offspring distributions are supported:

- ``"poisson"``: Poisson(m), probability generating function ``f(s) = exp(m (s - 1))``, variance ``m``;
- ``"geometric"``: ``P(k) = p (1 - p)^k`` on ``k = 0, 1, 2, ...`` with ``p = 1 / (1 + m)``,
  ``f(s) = 1 / (1 + m (1 - s))``, variance ``m (1 + m)``.

The extinction probability ``q = P(Z_n = 0 for some n)`` is the smallest root of ``q = f(q)`` in
``[0, 1]``: ``q = 1`` for ``m <= 1`` and ``q < 1`` for ``m > 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln

from ._validate import check_array, check_choice, check_int, check_real, check_seed, float_or_array

__all__ = [
    "OFFSPRING",
    "PopulationMoments",
    "avalanche_cutoff",
    "blowup_time",
    "extinction_by_generation",
    "extinction_probability",
    "increasing_returns",
    "mean_total_progeny",
    "pgf",
    "population_moments",
    "relaxation_time",
    "simulate",
    "simulate_total_progeny",
    "survival_probability",
    "total_progeny_pmf",
]

OFFSPRING = ("poisson", "geometric")


def _as_means(m: Any) -> np.ndarray:
    """Validate mean offspring numbers: real, finite, >= 0 (scalars or arrays)."""
    return check_array("m", m, nonnegative=True, meaning="mean number of offspring")


def pgf(s: Any, m: Any, offspring: str = "poisson") -> Any:
    """The offspring generating function ``f(s) = E[s^k]`` (chapter 2).

    ``exp(m (s-1))`` for Poisson (any real ``s``); ``1 / (1 + m (1 - s))`` for geometric, whose series
    converges only for ``|s| < 1 + 1/m``.
    """
    offspring = check_choice("offspring", offspring, OFFSPRING)
    s_arr = check_array("s", s)
    m_arr = _as_means(m)
    if offspring == "poisson":
        return float_or_array(np.exp(m_arr * (s_arr - 1.0)), s, m)
    outside = np.abs(s_arr) * m_arr >= 1.0 + m_arr
    if np.any(outside):
        bad = np.broadcast_to(s_arr, outside.shape)[outside]
        raise ValueError(
            f"s must satisfy |s| < 1 + 1/m for geometric offspring (E[s^k] diverges there), got s = {bad[0]:g}"
        )
    return float_or_array(1.0 / (1.0 + m_arr * (1.0 - s_arr)), s, m)


def survival_probability(m: Any, offspring: str = "poisson") -> Any:
    """Survival probability ``1 - q`` of a Galton-Watson process started from one individual (chapter 2).

    Exactly 0 for ``m <= 1``. For Poisson offspring it is the root ``s > 0`` of ``s = 1 - exp(-m s)``,
    found by Newton's method on ``h(s) = (1 - exp(-m s)) / s - 1 = (m - 1) + m (phi(m s) - 1)``
    with ``phi(y) = (1 - e^-y) / y``: ``h`` is decreasing and convex, so Newton converges from any
    start, and with ``phi - 1`` summed as a series for small ``m s`` no term cancels, so ``s`` has
    full relative precision near ``m = 1``, where ``s ~ 2 (m - 1)`` (``1 - q`` would lose it). For
    geometric offspring ``s = 1 - 1/m``. Vectorised over ``m``.
    """
    offspring = check_choice("offspring", offspring, OFFSPRING)
    arr = _as_means(m)
    mm = np.atleast_1d(arr).astype(float)
    s = np.zeros_like(mm)
    sup = mm > 1.0
    if offspring == "geometric":
        s[sup] = (mm[sup] - 1.0) / mm[sup]
        return float_or_array(s.reshape(arr.shape), m)
    if np.any(sup):
        ms = mm[sup]
        excess = ms - 1.0  # exact for 1 < m <= 2 (Sterbenz)

        def h_and_slope(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            y = ms * x
            small = y < 1e-2  # phi(y) - 1 and phi'(y) by their Taylor series (error < 1e-18)
            yy = np.where(small, 1.0, y)  # the direct formulas, used only where y >= 1e-2
            phi_1 = np.where(
                small,
                y * (-1 / 2 + y * (1 / 6 + y * (-1 / 24 + y * (1 / 120 + y * (-1 / 720 + y / 5040))))),
                -np.expm1(-yy) / yy - 1.0,
            )
            dphi = np.where(
                small,
                -1 / 2 + y * (1 / 3 + y * (-1 / 8 + y * (1 / 30 + y * (-1 / 144 + y / 840)))),
                (np.exp(-yy) * (1.0 + yy) - 1.0) / yy**2,
            )
            return excess + ms * phi_1, ms * ms * dphi

        x = np.minimum(2.0 * excess, 1.0)
        for _ in range(100):
            h, slope = h_and_slope(x)
            step = h / slope
            x = x - step
            # Newton converges quadratically: after a step below 1e-12 x the error is ~1e-24 x, far below
            # the rounding noise of h (which keeps the steps from reaching exactly 0 for large m)
            if np.all(np.abs(step) <= 1e-12 * x):
                break
        s[sup] = x
    return float_or_array(s.reshape(arr.shape), m)


def extinction_probability(m: Any, offspring: str = "poisson") -> Any:
    """Extinction probability ``q``: the smallest root of ``q = f(q)`` in [0, 1], e.g. ``q = exp(m (q - 1))`` (chapter 2).

    Exactly 1 for ``m <= 1``; vectorised over ``m``. See :func:`survival_probability` (``1 - q``),
    which is the more accurate quantity near ``m = 1``.
    """
    s = np.asarray(survival_probability(m, offspring), dtype=float)
    mm = _as_means(m)
    if offspring == "poisson":
        q = np.exp(-mm * s)  # q = exp(m (q - 1)) = exp(-m s): full relative precision when q is tiny
    else:
        q = np.where(mm > 1.0, 1.0 / np.where(mm > 1.0, mm, 1.0), 1.0)
    return float_or_array(q, m)


def extinction_by_generation(m: float, generations: int, offspring: str = "poisson") -> np.ndarray:
    """``P(Z_n = 0)`` for ``n = 0 .. generations``: the iterates ``q_n = f(q_{n-1})``, ``q_0 = 0`` (chapter 2).

    Exact for every ``n``; ``q_n`` increases to the extinction probability ``q``.
    """
    m = check_real("m", m, nonnegative=True)
    generations = check_int("generations", generations, minimum=0)
    offspring = check_choice("offspring", offspring, OFFSPRING)
    q = np.zeros(generations + 1)
    for n in range(1, generations + 1):
        q[n] = pgf(q[n - 1], m, offspring)
    return q


@dataclass(frozen=True)
class PopulationMoments:
    """Mean, variance and skewness of a population size ``Z_n`` (floats)."""

    mean: float
    variance: float
    skewness: float


def population_moments(
    m: float, generations: int, offspring: str = "poisson", *, surviving: bool = False
) -> PopulationMoments:
    """Exact mean, variance and skewness of ``Z_n`` from ``Z_0 = 1``, or of ``Z_n`` given ``Z_n > 0`` (chapter 2).

    The factorial moments ``mu_k(n) = f_n^(k)(1)`` of ``f_n = f(f_{n-1})`` obey (chain rule)
    ``mu_1(n) = m mu_1(n-1)``, ``mu_2(n) = f2 mu_1(n-1)^2 + m mu_2(n-1)`` and
    ``mu_3(n) = f3 mu_1(n-1)^3 + 3 f2 mu_1(n-1) mu_2(n-1) + m mu_3(n-1)``, where ``f2, f3`` are the
    second and third derivatives of ``f`` at 1: ``m^2, m^3`` (Poisson) or ``2 m^2, 6 m^3`` (geometric).
    Raw moments follow from ``E[Z^2] = mu_2 + mu_1`` and ``E[Z^3] = mu_3 + 3 mu_2 + mu_1``; given
    survival each raw moment is divided by ``P(Z_n > 0)`` (``Z^k = 0`` when ``Z = 0``). The skewness is
    ``E[(Z - mean)^3] / variance^(3/2)``.
    """
    m = check_real("m", m, positive=True)
    generations = check_int("generations", generations, minimum=1)
    offspring = check_choice("offspring", offspring, OFFSPRING)
    if not isinstance(surviving, bool):
        raise TypeError(f"surviving must be True or False, got {surviving!r}")
    f2, f3 = (m**2, m**3) if offspring == "poisson" else (2 * m**2, 6 * m**3)
    mu1, mu2, mu3 = 1.0, 0.0, 0.0  # Z_0 = 1
    for _ in range(generations):
        mu1, mu2, mu3 = m * mu1, f2 * mu1**2 + m * mu2, f3 * mu1**3 + 3 * f2 * mu1 * mu2 + m * mu3
    raw1, raw2, raw3 = mu1, mu2 + mu1, mu3 + 3 * mu2 + mu1
    if surviving:
        alive = 1.0 - extinction_by_generation(m, generations, offspring)[-1]
        raw1, raw2, raw3 = raw1 / alive, raw2 / alive, raw3 / alive
    variance = raw2 - raw1**2
    third = raw3 - 3 * raw1 * raw2 + 2 * raw1**3
    return PopulationMoments(float(raw1), float(variance), float(third / variance**1.5))


def relaxation_time(m: Any, offspring: str = "poisson") -> Any:
    """Generations over which ``P(Z_n = 0)`` approaches ``q``: ``tau = -1 / ln f'(q)`` (chapter 2).

    ``q - q_n`` decays like ``f'(q)^n = exp(-n / tau)``; ``f'(q) = m q`` for Poisson offspring and
    ``m q^2`` for geometric. ``tau`` diverges like ``1 / |m - 1|`` on both sides of ``m = 1``
    (critical slowing down) and is ``inf`` at ``m = 1``, where the approach is a power law.
    """
    offspring = check_choice("offspring", offspring, OFFSPRING)
    arr = _as_means(m)
    q = np.asarray(extinction_probability(arr, offspring), dtype=float)
    slope = arr * q if offspring == "poisson" else arr * q**2
    with np.errstate(divide="ignore"):
        tau = np.where(slope > 0, -1.0 / np.log(np.where(slope > 0, slope, 0.5)), 0.0)
    tau = np.where(slope >= 1.0, np.inf, tau)
    return float_or_array(tau, m)


def mean_total_progeny(m: Any) -> Any:
    """Expected total number of individuals ever born, ``sum_n m^n = 1 / (1 - m)`` for ``m < 1``, else ``inf`` (chapter 2)."""
    arr = _as_means(m)
    with np.errstate(divide="ignore"):
        out = np.where(arr < 1.0, 1.0 / np.where(arr < 1.0, 1.0 - arr, 1.0), np.inf)
    return float_or_array(out, m)


def simulate(
    m: float,
    generations: int,
    num_runs: int,
    *,
    offspring: str = "poisson",
    cap: int = 10_000,
    seed: int = 0,
) -> np.ndarray:
    """Population sizes ``Z_0 .. Z_generations`` of ``num_runs`` independent processes from ``Z_0 = 1`` (chapter 2).

    Returns an int array of shape ``(num_runs, generations + 1)``. The children of ``Z`` individuals
    are drawn in one go (a sum of ``Z`` Poisson(m) is Poisson(m Z); a sum of ``Z`` geometrics is
    negative binomial). To keep runs cheap the population is capped: once ``Z_n`` exceeds ``cap`` it
    is set to ``cap``. A capped population dies out with probability about ``q^cap``, negligible
    unless ``m`` is very close to 1, so capping leaves extinction statistics essentially unchanged
    but makes sizes above ``cap`` meaningless. Same ``seed``, same numbers.
    """
    m = check_real("m", m, nonnegative=True)
    generations = check_int("generations", generations, minimum=1)
    num_runs = check_int("num_runs", num_runs, minimum=1)
    offspring = check_choice("offspring", offspring, OFFSPRING)
    cap = check_int("cap", cap, minimum=1)
    seed = check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    z = np.zeros((num_runs, generations + 1), dtype=np.int64)
    z[:, 0] = 1
    p_geo = 1.0 / (1.0 + m)
    for n in range(1, generations + 1):
        prev = z[:, n - 1]
        if offspring == "poisson":
            nxt = rng.poisson(m * prev)
        else:
            alive = prev > 0
            nxt = np.zeros_like(prev)
            if np.any(alive):
                nxt[alive] = rng.negative_binomial(prev[alive], p_geo)
        z[:, n] = np.minimum(nxt, cap)
    return z


def total_progeny_pmf(s: Any, m: float) -> Any:
    """``P(S = s)`` of the total progeny ``S = Z_0 + Z_1 + ...`` for Poisson(m) offspring (chapter 2).

    The Borel distribution ``P(S = s) = e^{-ms} (ms)^{s-1} / s!`` for ``s = 1, 2, ...``, computed in log
    space. At ``m = 1`` it decays like ``s^{-3/2} / sqrt(2 pi)`` (the scale-free avalanche law); for
    ``m != 1`` Stirling's formula gives ``P(S = s) ~ s^{-3/2} e^{-s / s_xi} / (m sqrt(2 pi))`` with the
    cutoff ``s_xi = 1 / (m - 1 - ln m) ~ 2 / (1 - m)^2`` (the ``1/m`` is left over from ``(ms)^{s-1}``).
    For ``m > 1`` the sum over ``s`` is the extinction probability ``q`` (the rest is ``S = inf``).
    """
    s_arr = check_array("s", s, low=1.0)
    if np.any(s_arr != np.round(s_arr)):
        raise ValueError("s must hold whole numbers >= 1 (sizes of a cascade)")
    m = check_real("m", m, positive=True)
    log_p = -m * s_arr + (s_arr - 1.0) * np.log(m * s_arr) - gammaln(s_arr + 1.0)
    return float_or_array(np.exp(log_p), s)


def avalanche_cutoff(m: Any) -> Any:
    """The size ``s_xi = 1 / (m - 1 - ln m)`` at which the total-progeny law is cut off, ``~ 2 / (1 - m)^2`` (chapter 2)."""
    arr = check_array("m", m, positive=True, meaning="mean number of offspring")
    d = arr - 1.0
    # m - 1 - ln m = d^2/2 - d^3/3 + ...: log1p keeps the difference accurate; the series for tiny d
    gap = np.where(np.abs(d) < 1e-4, d * d * (0.5 - d / 3.0 + d * d / 4.0), d - np.log1p(d))
    with np.errstate(divide="ignore"):
        out = np.where(gap > 0, 1.0 / np.where(gap > 0, gap, 1.0), np.inf)
    return float_or_array(out, m)


def simulate_total_progeny(m: float, num_runs: int, *, cap: int = 10_000, seed: int = 0) -> np.ndarray:
    """Total progeny ``S`` of ``num_runs`` independent Poisson(m) processes from one individual (chapter 2).

    Generation by generation, ``Z_{n+1} ~ Poisson(m Z_n)`` for the runs still alive; a run whose total
    reaches ``cap`` is stopped and reported as ``cap`` (read ``S = cap`` as ``S >= cap``). Int array of
    shape ``(num_runs,)``; same ``seed``, same numbers.
    """
    m = check_real("m", m, nonnegative=True)
    num_runs = check_int("num_runs", num_runs, minimum=1)
    cap = check_int("cap", cap, minimum=1)
    rng = np.random.default_rng(check_seed("seed", seed))
    total = np.ones(num_runs, dtype=np.int64)
    z = np.ones(num_runs, dtype=np.int64)
    active = np.arange(num_runs)
    while active.size:
        z_act = rng.poisson(m * z[active])
        total[active] += z_act
        z[active] = z_act
        active = active[(z_act > 0) & (total[active] < cap)]
    return np.minimum(total, cap)


def increasing_returns(t: Any, exponent: float, *, rate: float = 1.0, x0: float = 1.0) -> Any:
    """Solution of ``dx/dt = rate * x^exponent``, ``x(0) = x0 > 0``: growth whose speed rises with its output (chapter 2).

    ``exponent = 1``: exponential, ``x0 e^{rate t}`` (a branching process with constant ``m``).
    ``exponent > 1``: ``x0 (1 - t / t*)^{-1/(exponent - 1)}``, which blows up at the finite time
    ``t* = 1 / (rate (exponent - 1) x0^{exponent - 1})`` (:func:`blowup_time`); ``inf`` for ``t >= t*``.
    ``exponent < 1`` grows only polynomially. Vectorised over ``t >= 0``.
    """
    t_arr = check_array("t", t, nonnegative=True, meaning="time")
    a = check_real("exponent", exponent)
    rate = check_real("rate", rate, positive=True)
    x0 = check_real("x0", x0, positive=True)
    if a == 1.0:
        return float_or_array(x0 * np.exp(rate * t_arr), t)
    base = 1.0 - (a - 1.0) * rate * x0 ** (a - 1.0) * t_arr
    with np.errstate(divide="ignore"):
        x = np.where(base > 0, x0 * np.where(base > 0, base, 1.0) ** (-1.0 / (a - 1.0)), np.inf)
    return float_or_array(x, t)


def blowup_time(exponent: float, *, rate: float = 1.0, x0: float = 1.0) -> float:
    """Time ``t* = 1 / (rate (exponent - 1) x0^{exponent - 1})`` at which ``dx/dt = rate x^exponent`` blows up (chapter 2).

    ``inf`` for ``exponent <= 1`` (no finite-time singularity).
    """
    a = check_real("exponent", exponent)
    rate = check_real("rate", rate, positive=True)
    x0 = check_real("x0", x0, positive=True)
    if a <= 1.0:
        return float("inf")
    return float(1.0 / (rate * (a - 1.0) * x0 ** (a - 1.0)))
