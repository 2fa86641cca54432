"""Activations by name and Gaussian expectations of them, for :mod:`utils.signal` (numpy only; private).

Expectations over ``z ~ N(0, 1)`` use Gauss-Hermite quadrature: :func:`expect` is 1-D,
``E[f(sqrt(q) z)]``, and :func:`expect2` is 2-D, ``E[f(u1) g(u2)]`` with ``(u1, u2)`` Gaussian
of variances ``q`` and correlation ``c``. The torch versions of the same activations are
:data:`utils.random_networks.TORCH_ACTIVATIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import erf

from ._validate import check_choice, check_real

#: The activations known by name.
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "erf", "linear")

#: Quadrature nodes (per dimension) of the 1-D and 2-D Gauss-Hermite rules.
N_NODES_1D = 201
N_NODES_2D = 101

#: Central-difference step for the derivatives of a callable activation.
FD_STEP = 1e-4

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """An activation ``phi`` with its first two derivatives.

    For the piecewise-linear, positively homogeneous activations (ReLU, linear) ``slope2`` is
    ``E[phi'(z)^2] = E[phi(z)^2]`` (1/2 for ReLU, 1 for linear), so the length map is
    ``sigma_w^2 slope2 q + sigma_b^2``, and ``kernel(c) = E[phi(u1) phi(u2)] / q`` is the
    closed-form correlation kernel; both are ``None`` for every other activation.
    """

    name: str
    phi: Fn
    dphi: Fn
    d2phi: Fn
    slope2: float | None = None
    kernel: Fn | None = None


ActivationLike = str | Activation | Fn


def _relu_kernel(c: np.ndarray) -> np.ndarray:
    """Arc-cosine kernel: ``E[relu(u1) relu(u2)] / q = (sqrt(1-c^2) + (pi - arccos c) c) / (2 pi)``."""
    c = np.clip(c, -1.0, 1.0)
    return (np.sqrt(1.0 - c**2) + (math.pi - np.arccos(c)) * c) / (2 * math.pi)


def _zeros(x: np.ndarray) -> np.ndarray:
    return np.zeros_like(np.asarray(x, dtype=float))


_NAMED: dict[str, Activation] = {
    "tanh": Activation(
        "tanh",
        np.tanh,
        lambda x: 1.0 - np.tanh(x) ** 2,
        lambda x: -2.0 * np.tanh(x) * (1.0 - np.tanh(x) ** 2),
    ),
    "erf": Activation(
        "erf",
        erf,
        lambda x: 2.0 / math.sqrt(math.pi) * np.exp(-(x**2)),
        lambda x: -4.0 * x / math.sqrt(math.pi) * np.exp(-(x**2)),
    ),
    "relu": Activation(
        "relu",
        lambda x: np.maximum(x, 0.0),
        lambda x: (np.asarray(x) > 0).astype(float),
        _zeros,
        slope2=0.5,
        kernel=_relu_kernel,
    ),
    "linear": Activation(
        "linear",
        lambda x: np.asarray(x, dtype=float),
        lambda x: np.ones_like(np.asarray(x, dtype=float)),
        _zeros,
        slope2=1.0,
        kernel=lambda c: np.asarray(c, dtype=float),
    ),
}


def leaky_relu(slope: float) -> Activation:
    """Leaky ReLU ``phi(u) = max(u, slope * u)``, ``0 <= slope <= 1``, with its closed-form kernel.

    ``E[phi(u1) phi(u2)] / q = (1 + a^2) k(c) - 2 a k(-c)`` with ``k`` the ReLU arc-cosine kernel
    (``phi(u) = relu(u) - a relu(-u)``, and ``(u1, -u2)`` has correlation ``-c``);
    ``E[phi'(z)^2] = (1 + a^2) / 2``. ``slope = 0`` is ReLU, ``slope = 1`` the identity.
    """
    a = check_real("slope", slope, low=0.0, high=1.0)
    return Activation(
        f"leaky_relu({a:g})",
        lambda x: np.where(np.asarray(x) > 0, x, a * np.asarray(x)),
        lambda x: np.where(np.asarray(x) > 0, 1.0, a),
        _zeros,
        slope2=(1.0 + a * a) / 2.0,
        kernel=lambda c: (1.0 + a * a) * _relu_kernel(c) - 2.0 * a * _relu_kernel(-np.asarray(c, dtype=float)),
    )


def resolve(activation: ActivationLike) -> Activation:
    """A name from :data:`ACTIVATIONS`, an :class:`Activation` (e.g. :func:`leaky_relu`), or a vectorised callable.

    A callable's derivatives are taken by central differences.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        return _NAMED[check_choice("activation", activation, ACTIVATIONS)]
    if not callable(activation):
        raise TypeError(
            f"activation must be one of {ACTIVATIONS} or a callable, got {type(activation).__name__} ({activation!r})"
        )
    f, h = activation, FD_STEP

    def phi(x: np.ndarray) -> np.ndarray:
        return np.asarray(f(x), dtype=float)

    return Activation(
        getattr(f, "__name__", "callable"),
        phi,
        lambda x: (phi(x + h) - phi(x - h)) / (2 * h),
        lambda x: (phi(x + h) - 2 * phi(x) + phi(x - h)) / h**2,
    )


_z1, _w1 = hermegauss(N_NODES_1D)
_w1 = _w1 / math.sqrt(2 * math.pi)  # probabilists' rule: sum(w f(z)) = E[f(z)], z ~ N(0, 1)
_z2, _w2 = hermegauss(N_NODES_2D)
_w2 = _w2 / math.sqrt(2 * math.pi)
_Z1, _Z2 = np.meshgrid(_z2, _z2, indexing="ij")
_W2 = np.outer(_w2, _w2)


def expect(f: Fn, q: np.ndarray) -> np.ndarray:
    """``E[f(sqrt(q) z)]``, ``z ~ N(0, 1)``, vectorised over an array of ``q >= 0``."""
    u = np.sqrt(q)[..., None] * _z1
    return np.sum(_w1 * f(u), axis=-1)


def expect2(f: Fn, g: Fn, q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``E[f(u1) g(u2)]``, ``(u1, u2)`` Gaussian with variances ``q`` and correlation ``c`` (broadcast)."""
    q, c = np.broadcast_arrays(np.asarray(q, float), np.asarray(c, float))
    s = np.sqrt(q)[..., None, None]
    cc = c[..., None, None]
    u1 = s * _Z1
    u2 = s * (cc * _Z1 + np.sqrt(np.clip(1.0 - cc**2, 0.0, None)) * _Z2)
    return np.sum(_W2 * f(u1) * g(u2), axis=(-2, -1))
