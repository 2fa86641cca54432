"""Signal propagation in wide random networks: the mean-field kernel recursion (chapter 5).

Numpy only. Finite random networks in torch (``propagate``, ``ParallelMLP``) are in
:mod:`utils.random_networks`.

A fully connected network with pre-activations ``h^l = W^l phi(h^{l-1}) + b^l``, weights
``W_ij ~ N(0, sigma_w^2 / N)`` and biases ``b_i ~ N(0, sigma_b^2)``. At infinite width the
length ``q^l = |h^l|^2 / N`` of one input and the correlation ``c^l`` between two inputs obey
a deterministic layer-to-layer map (Poole et al. 2016; Schoenholz et al. 2017):

* length map ``q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2`` (``z ~ N(0, 1)``);
* correlation map ``c -> (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q'`` with ``(u1, u2)``
  Gaussian of variances ``q`` and correlation ``c``;
* ``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``: the slope of the correlation map at ``c = 1``;
  ``chi_1 < 1`` is the ordered phase, ``chi_1 > 1`` the chaotic phase;
* depth scales ``xi_q = -1/ln(chi_parallel)`` and ``xi_c = -1/ln(chi_c)``.

Expectations use Gauss-Hermite quadrature (1-D for the length map, 2-D for the correlation
map; in :mod:`utils._activations`, with the activations known by name). For tanh its error grows with ``q`` (the integrand saturates over a scale ``1/sqrt(q)``):
below about ``1e-8`` for ``q <= 4`` and ``1e-6`` for ``q <= 8`` (the phase diagram's range),
about ``1e-3`` by ``q = 30``. ``"relu"`` and ``"linear"`` use closed forms (the arc-cosine kernel for ReLU).

ReLU (and linear) networks are scale invariant, so their length map is linear in ``q``:
``q -> sigma_w^2 q / 2 + sigma_b^2`` for ReLU. It has a finite fixed point
``q* = sigma_b^2 / (1 - sigma_w^2 / 2)`` only when ``sigma_w^2 < 2``; for ``sigma_w^2 > 2``
(or ``sigma_w^2 = 2`` with ``sigma_b > 0``) lengths grow without bound and
:func:`kernel_fixed_point` returns ``inf``; at ``sigma_w^2 = 2, sigma_b = 0`` (He
initialization) every ``q`` is a fixed point (marginal) and it returns ``nan``.
``chi_1 = sigma_w^2 / 2`` for ReLU whatever ``q`` is, so ``critical_sigma_w`` is ``sqrt(2)``.
:func:`leaky_relu` gives the leaky ReLUs, also in closed form (a second member of ReLU's
scale-invariant universality class); every function here takes one as ``activation``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ._activations import ACTIVATIONS, ActivationLike, expect, expect2, leaky_relu, resolve
from ._validate import check_array, check_int, check_real, float_or_array

__all__ = [
    "ACTIVATIONS",
    "DepthScales",
    "KernelFlow",
    "chi",
    "chi_parallel",
    "correlation_fixed_point",
    "critical_sigma_w",
    "depth_scales",
    "kernel_fixed_point",
    "kernel_flow",
    "leaky_relu",
    "length_map",
    "relu_length_fluctuations",
    "relu_log_length_variance",
]


@dataclass(frozen=True)
class KernelFlow:
    """Lengths ``q[..., l]`` and correlations ``c[..., l]`` for layers ``l = 0..depth``."""

    q: np.ndarray
    c: np.ndarray


@dataclass(frozen=True)
class DepthScales:
    """Depth scales (in layers) over which lengths and correlations approach their fixed points."""

    xi_q: float
    xi_c: float


def _check_sigmas(sigma_w: float, sigma_b: float) -> tuple[float, float]:
    return check_real("sigma_w", sigma_w, nonnegative=True), check_real("sigma_b", sigma_b, nonnegative=True)


# ---- the maps --------------------------------------------------------------------------


def length_map(
    q: float | np.ndarray, sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh"
) -> float | np.ndarray:
    """One layer of the length map: ``q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2`` (chapter 5)."""
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    qa = check_array("q", q, nonnegative=True)
    if act.slope2 is not None:
        out = sw**2 * act.slope2 * qa + sb**2
    else:
        out = sw**2 * expect(lambda u: act.phi(u) ** 2, qa) + sb**2
    return float_or_array(out, q)


def _correlation_map(
    c: float | np.ndarray, q: float | np.ndarray, sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh"
) -> float | np.ndarray:
    """One layer of the correlation map for two inputs of equal length ``q`` (chapter 5).

    ``c -> (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / length_map(q)``, where ``(u1, u2)`` are
    Gaussian with variances ``q`` and correlation ``c``; at ``q = q*`` this is Schoenholz et
    al.'s map. ReLU uses the arc-cosine kernel in closed form.
    """
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    ca = check_array("c", c, low=-1.0, high=1.0)
    qa = check_array("q", q, nonnegative=True)
    ca, qa = np.broadcast_arrays(ca, qa)
    if act.kernel is not None:
        num = sw**2 * qa * act.kernel(ca) + sb**2
    else:
        num = sw**2 * expect2(act.phi, act.phi, qa, ca) + sb**2
    den = np.asarray(length_map(qa, sw, sb, activation))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
    # a correlation is in [-1, 1]; quadrature rounding puts one near 1 a few ulp above it
    # (sigma_w = 0.5, sigma_b = 0.1 gave 1 + 2e-16), which the next layer's check would reject
    out = np.clip(out, -1.0, 1.0)
    return float_or_array(out, c, q)


def kernel_flow(
    q0: float, c0: float, sigma_w: float, sigma_b: float, depth: int, activation: ActivationLike = "tanh"
) -> KernelFlow:
    """Iterate the length and correlation maps ``depth`` times from ``(q0, c0)`` (chapter 5)."""
    q0 = check_real("q0", q0, nonnegative=True)
    c0 = check_real("c0", c0, low=-1.0, high=1.0)
    depth = check_int("depth", depth, minimum=0)
    _check_sigmas(sigma_w, sigma_b)
    resolve(activation)
    q, c = np.empty(depth + 1), np.empty(depth + 1)
    q[0], c[0] = q0, c0
    for layer in range(depth):
        c[layer + 1] = _correlation_map(c[layer], q[layer], sigma_w, sigma_b, activation)
        q[layer + 1] = length_map(q[layer], sigma_w, sigma_b, activation)
    return KernelFlow(q=q, c=c)


# ---- fixed points, susceptibilities and depth scales ------------------------------------


def kernel_fixed_point(sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh") -> float:
    """The fixed point ``q*`` of the length map reached from ``q > 0`` (chapter 5).

    For tanh-like activations it is the unique positive root of ``q = length_map(q)``, or 0
    when ``sigma_b = 0`` and ``chi_1(q = 0) <= 1``. ReLU/linear: ``sigma_b^2 / (1 - a sigma_w^2)``
    with ``a = 1/2`` (ReLU) or 1 (linear) when ``a sigma_w^2 < 1``; ``inf`` when lengths grow
    without bound; ``nan`` in the marginal case ``a sigma_w^2 = 1, sigma_b = 0`` (every ``q``
    is fixed). Raises ValueError if no finite fixed point is found for a callable activation.
    """
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    if act.slope2 is not None:
        slope = act.slope2 * sw**2
        if abs(slope - 1.0) < 1e-12:  # marginal (round-off in sqrt(2)**2 included)
            return math.nan if sb == 0.0 else math.inf
        if slope < 1.0:
            return sb**2 / (1.0 - slope)
        return math.inf

    def f(q: float) -> float:
        return float(sw**2 * expect(lambda u: act.phi(u) ** 2, np.asarray(q)) + sb**2) - q

    lo = 0.0
    if f(0.0) <= 0.0:  # q = 0 is a fixed point (sigma_b = 0, phi(0) = 0): is it unstable?
        lo = 1e-10
        if f(lo) <= 0.0:
            return 0.0
    hi = max(1.0, 2 * (sw**2 + sb**2))
    for _ in range(60):
        if f(hi) < 0.0:
            break
        hi *= 2.0
    else:
        raise ValueError(
            f"no finite fixed point of the length map for sigma_w={sw}, sigma_b={sb}: lengths grow without bound"
        )
    return float(brentq(f, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=200))


def chi(sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh") -> float:
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]`` at the length fixed point (chapter 5).

    ``chi_1 > 1``: chaotic (nearby inputs decorrelate); ``chi_1 < 1``: ordered. For ReLU it is
    ``sigma_w^2 / 2`` whatever ``q`` is (also when ``q*`` is infinite).
    """
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    if act.slope2 is not None:
        return sw**2 * act.slope2
    q = kernel_fixed_point(sw, sb, activation)
    return float(sw**2 * expect(lambda u: act.dphi(u) ** 2, np.asarray(q)))


def chi_parallel(sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh") -> float:
    """Slope of the length map at ``q*``: ``sigma_w^2 E[phi'(u)^2 + phi(u) phi''(u)]``, ``u = sqrt(q*) z``.

    (Gaussian integration by parts gives ``d/dq E[phi(sqrt(q) z)^2]``.) For ReLU: ``sigma_w^2 / 2``.
    """
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    if act.slope2 is not None:
        return sw**2 * act.slope2
    q = kernel_fixed_point(sw, sb, activation)
    return float(sw**2 * expect(lambda u: act.dphi(u) ** 2 + act.phi(u) * act.d2phi(u), np.asarray(q)))


def correlation_fixed_point(sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh") -> float:
    """The stable fixed point ``c*`` of the correlation map at ``q = q*`` (chapter 5).

    ``c* = 1`` in the ordered phase and at criticality (``chi_1 <= 1``); ``c* < 1`` in the
    chaotic phase. ReLU has ``c* = 1`` always (for ``sigma_w^2 >= 2`` lengths diverge and
    correlations approach 1 only polynomially in depth).
    """
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    if act.slope2 is not None or chi(sw, sb, activation) <= 1.0:
        return 1.0
    q = kernel_fixed_point(sw, sb, activation)

    def f(c: float) -> float:
        return float(_correlation_map(c, q, sw, sb, activation)) - c

    f0 = f(0.0)
    if abs(f0) < 1e-13:
        return 0.0
    delta = 1e-6
    while f(1.0 - delta) >= 0.0 and delta < 0.5:
        delta *= 4.0
    return float(brentq(f, 0.0, 1.0 - delta, xtol=1e-13, maxiter=200))


def _chi_c(sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh") -> float:
    """Slope of the correlation map at ``c*``: ``sigma_w^2 E[phi'(u1) phi'(u2)]`` at ``(q*, c*)`` (chapter 5).

    Equals ``chi_1`` in the ordered phase (``c* = 1``).
    """
    sw, sb = _check_sigmas(sigma_w, sigma_b)
    act = resolve(activation)
    c_star = correlation_fixed_point(sw, sb, activation)
    if act.slope2 is not None or c_star == 1.0:
        return chi(sw, sb, activation)
    q = kernel_fixed_point(sw, sb, activation)
    return float(sw**2 * expect2(act.dphi, act.dphi, np.asarray(q), np.asarray(c_star)))


def depth_scales(sigma_w: float, sigma_b: float, activation: ActivationLike = "tanh") -> DepthScales:
    """``xi_q = -1/ln(chi_parallel)`` and ``xi_c = -1/ln(chi_c)`` in layers; ``inf`` where the slope is >= 1 (chapter 5)."""

    def xi(slope: float) -> float:
        if slope >= 1.0 - 1e-12:  # at (or, by round-off, just below) criticality
            return math.inf
        return -1.0 / math.log(slope) if slope > 0.0 else 0.0

    return DepthScales(
        xi_q=xi(chi_parallel(sigma_w, sigma_b, activation)), xi_c=xi(_chi_c(sigma_w, sigma_b, activation))
    )


def critical_sigma_w(sigma_b: float, activation: ActivationLike = "tanh") -> float:
    """The order-to-chaos line: the ``sigma_w`` where ``chi_1(sigma_w, sigma_b) = 1`` (chapter 5).

    ReLU: ``sqrt(2)`` for every ``sigma_b`` (only ``sigma_b = 0`` has a finite, marginal ``q*``).
    Raises ValueError if ``chi_1`` does not cross 1 for ``sigma_w`` in ``(0, 1000]``.
    """
    sb = check_real("sigma_b", sigma_b, nonnegative=True)
    act = resolve(activation)
    if act.slope2 is not None:
        return math.sqrt(1.0 / act.slope2)

    def f(sw: float) -> float:
        return chi(sw, sb, activation) - 1.0

    lo, hi = 1e-3, 1.0
    while f(hi) < 0.0:
        lo, hi = hi, 2.0 * hi
        if hi > 1000.0:
            raise ValueError(f"chi_1 stays below 1 for sigma_w <= 1000 at sigma_b={sb}: no critical point found")
    if f(lo) > 0.0:
        raise ValueError(f"chi_1 exceeds 1 already at sigma_w={lo} for sigma_b={sb}: no critical point found")
    return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12, maxiter=200))


def _depths(depth: int | np.ndarray) -> np.ndarray:
    """Layer indices ``l >= 1`` (whole numbers, a scalar or an array) as a float array."""
    ls = check_array("depth", depth, low=1.0)
    if np.any(ls != np.round(ls)):
        raise ValueError(f"depth must hold whole numbers of layers, got {ls[ls != np.round(ls)][:5].tolist()}")
    return ls


def relu_length_fluctuations(depth: int | np.ndarray, width: int) -> float | np.ndarray:
    """Exact ``Var[q^l] / E[q^l]^2`` at width ``N`` for ReLU at ``sigma_w^2 = 2, sigma_b = 0`` (chapter 5).

    For an input in a uniformly random direction, as :func:`utils.random_networks.propagate` draws it:
    ``(1 + 3/(N+2)) (1 + 5/N)^(l-1) (1 + 2/N) - 1`` for ``l >= 1``. By rotation invariance each
    layer multiplies ``|relu(h)|^2`` by an independent ``(2/N) chi^2_K`` with
    ``K ~ Binomial(N, 1/2)`` (second moment ``1 + 5/N``); the input direction gives ``1 + 3/(N+2)``
    and the last layer's ``chi^2_N / N`` gives ``1 + 2/N``. About ``5 l / N`` for ``1 << l << N``.
    """
    width = check_int("width", width, minimum=1)
    ls = _depths(depth)
    n = float(width)
    out = (1.0 + 3.0 / (n + 2.0)) * (1.0 + 5.0 / n) ** (ls - 1) * (1.0 + 2.0 / n) - 1.0
    return float_or_array(out, depth)


def relu_log_length_variance(depth: int | np.ndarray, width: int) -> float | np.ndarray:
    """Exact ``Var[ln q^l] = l v(N)`` for ReLU at ``sigma_w^2 = 2, sigma_b = 0``, width ``N`` (chapter 5).

    ``v(N) = E_K[psi_1(K/2)] + Var_K[psi(K/2)]``, ``K ~ Binomial(N, 1/2)`` given ``K >= 1``
    (``psi``, ``psi_1``: digamma, trigamma): each layer multiplies ``|relu(h)|^2`` by an independent
    ``(2/N) chi^2_K``, and for an input in a uniformly random direction (as :func:`utils.random_networks.propagate` draws
    it) the input and read-out factors add exactly one more ``v(N)``. ``v(N) = 5/N + O(1/N^2)``.
    """
    from scipy.special import digamma, polygamma
    from scipy.stats import binom

    width = check_int("width", width, minimum=2)
    ls = _depths(depth)
    k = np.arange(1, width + 1)
    p = binom.pmf(k, width, 0.5)
    p = p / p.sum()
    psi = digamma(k / 2)
    v = float(np.sum(p * polygamma(1, k / 2)) + np.sum(p * psi**2) - np.sum(p * psi) ** 2)
    return float_or_array(ls * v, depth)
