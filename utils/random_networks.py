"""Random deep networks in torch: measured kernel flows, gradients and batches of MLPs (chapter 5).

The mean-field theory these measurements are held against is numpy-only, in :mod:`utils.signal`:
:func:`propagate` measures the length ``q^l`` and correlation ``c^l`` that
:func:`utils.signal.kernel_flow` predicts, :func:`gradient_norms` the backpropagated gradients
whose growth per layer is :func:`utils.signal.chi`, and :class:`ParallelMLP` is the batch of
networks that chapter 5 trains across the order-to-chaos transition.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._activations import ACTIVATIONS
from ._validate import check_array, check_choice, check_int, check_real, check_seed, check_tensor
from .signal import KernelFlow, kernel_fixed_point

__all__ = ["TORCH_ACTIVATIONS", "ParallelMLP", "gradient_norms", "propagate"]


#: torch versions of the activations that :mod:`utils.signal` knows by name.
TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "erf": torch.special.erf,
    "linear": lambda x: x,
}


def _torch_act(activation: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if not isinstance(activation, str):
        raise TypeError(f"activation must be one of {ACTIVATIONS} here, got {type(activation).__name__}")
    check_choice("activation", activation, ACTIVATIONS)
    return TORCH_ACTIVATIONS[activation]


@dataclass(frozen=True)
class _Networks:
    """The checked arguments of :func:`propagate` and :func:`gradient_norms`, and their random layers."""

    sigma_w: float
    sigma_b: float
    depth: int
    width: int
    num_models: int
    phi: Callable[[torch.Tensor], torch.Tensor]
    gen: torch.Generator

    @classmethod
    def checked(cls, sigma_w, sigma_b, depth, width, num_models, seed, activation, *, min_depth: int) -> _Networks:
        return cls(
            sigma_w=check_real("sigma_w", sigma_w, nonnegative=True),
            sigma_b=check_real("sigma_b", sigma_b, nonnegative=True),
            depth=check_int("depth", depth, minimum=min_depth),
            width=check_int("width", width, minimum=2),
            num_models=check_int("num_models", num_models, minimum=1),
            phi=_torch_act(activation),
            gen=torch.Generator().manual_seed(check_seed("seed", seed)),
        )

    def layer(self, h: torch.Tensor) -> torch.Tensor:
        """``W phi(h) + b`` with fresh ``W ~ N(0, sigma_w^2 / width)``, ``b ~ N(0, sigma_b^2)`` per network."""
        m, n = self.num_models, self.width
        # float32 draws (4x faster to generate), float64 arithmetic
        w = torch.randn(m, n, n, generator=self.gen).double() * (self.sigma_w / math.sqrt(n))
        b = torch.randn(m, n, 1, generator=self.gen, dtype=torch.float64) * self.sigma_b
        return torch.bmm(w, self.phi(h)) + b


@torch.no_grad()
def propagate(
    q0: float,
    c0: float,
    sigma_w: float,
    sigma_b: float,
    *,
    depth: int,
    width: int = 1000,
    activation: str = "tanh",
    num_models: int = 1,
    seed: int = 0,
) -> KernelFlow:
    """Measure ``q^l`` and ``c^l`` for two inputs sent through random networks (chapter 5).

    Each of ``num_models`` independent networks of ``width`` neurons per layer draws
    ``W ~ N(0, sigma_w^2 / width)``, ``b ~ N(0, sigma_b^2)`` (seeded by ``seed``).
    Layer 0 holds two pre-activation vectors of length ``q0`` and correlation ``c0`` in random
    directions (drawn anew for each network);
    ``h^l = W^l phi(h^{l-1}) + b^l``. Returns arrays of shape ``(num_models, depth + 1)``:
    ``q`` the first input's ``|h^l|^2 / width`` (the second's has the same law), ``c`` the
    two inputs' empirical correlation.
    """
    q0 = check_real("q0", q0, positive=True)
    c0 = check_real("c0", c0, low=-1.0, high=1.0)
    nets = _Networks.checked(sigma_w, sigma_b, depth, width, num_models, seed, activation, min_depth=0)
    width, num_models, gen = nets.width, nets.num_models, nets.gen
    # per network, two random orthonormal directions, then the input pair of length q0, correlation c0
    qmat, rmat = torch.linalg.qr(torch.randn(num_models, width, 2, generator=gen, dtype=torch.float64))
    signs = torch.sign(torch.diagonal(rmat, dim1=-2, dim2=-1)).unsqueeze(-2)  # makes the directions uniform
    e = qmat * signs * math.sqrt(width)
    x1 = math.sqrt(q0) * e[..., 0]
    x2 = math.sqrt(q0) * (c0 * e[..., 0] + math.sqrt(max(1.0 - c0**2, 0.0)) * e[..., 1])
    h = torch.stack([x1, x2], dim=2)  # (networks, width, inputs)

    def measure(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.einsum("nia,nib->nab", h, h) / width
        q = g[:, 0, 0]
        c = g[:, 0, 1] / torch.sqrt(g[:, 0, 0] * g[:, 1, 1])
        return q, c

    qs, cs = [], []
    q, c = measure(h)
    qs.append(q)
    cs.append(c)
    for _ in range(nets.depth):
        h = nets.layer(h)
        q, c = measure(h)
        qs.append(q)
        cs.append(c)
    return KernelFlow(q=torch.stack(qs, 1).numpy(), c=torch.stack(cs, 1).numpy())


def gradient_norms(
    sigma_w: float,
    sigma_b: float,
    *,
    depth: int,
    width: int = 500,
    activation: str = "tanh",
    q0: float | None = None,
    num_models: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Backpropagated squared gradients ``|dF/dh^l|^2 / width`` through random networks (chapter 5).

    The forward pass is :func:`propagate`'s (``W ~ N(0, sigma_w^2 / width)``, ``b ~ N(0, sigma_b^2)``),
    from one input of length ``q0`` (default: the fixed point ``q*``, so the kernel has settled).
    ``F = v . h^depth`` with ``v ~ N(0, 1)``, differentiated by autograd. Mean-field theory
    (Schoenholz et al. 2017): ``E |dF/dh^l|^2 / width = chi_1^(depth - l)``. Returns shape
    ``(num_models, depth + 1)``, index ``l = 0..depth``.
    """
    nets = _Networks.checked(sigma_w, sigma_b, depth, width, num_models, seed, activation, min_depth=1)
    width, num_models, gen = nets.width, nets.num_models, nets.gen
    if q0 is None:
        q0 = kernel_fixed_point(nets.sigma_w, nets.sigma_b, activation)
        if not math.isfinite(q0) or q0 <= 0.0:
            raise ValueError(f"q0 must be given: the length map has no finite positive fixed point here (q* = {q0})")
    q0 = check_real("q0", q0, positive=True)
    h = torch.randn(num_models, width, 1, generator=gen, dtype=torch.float64)
    h = (math.sqrt(q0 * width) * h / h.norm(dim=1, keepdim=True)).requires_grad_(True)
    hs = [h]
    for _ in range(nets.depth):
        h = nets.layer(h)
        h.retain_grad()
        hs.append(h)
    v = torch.randn(num_models, width, 1, generator=gen, dtype=torch.float64)
    (v * h).sum().backward()
    grads = torch.stack([x.grad.pow(2).sum(dim=(1, 2)) / width for x in hs], dim=1)
    return grads.numpy()


class ParallelMLP(nn.Module):
    """``num_models`` independent deep MLPs evaluated in one batched pass (chapter 5).

    Model ``m`` has ``depth`` hidden layers of ``width`` units, weights ``N(0, sigma_w[m]^2 / fan_in)``,
    biases ``N(0, sigma_b^2)`` and a linear read-out with ``sigma_w = 1``. Input ``(batch, in_dim)``
    (shared by all models) or ``(num_models, batch, in_dim)``; output ``(num_models, batch, out_dim)``.
    Parameters of different models never mix, so summing the models' losses trains each one
    exactly as if alone (for SGD and Adam alike).
    """

    def __init__(
        self,
        sigma_w: np.ndarray | list[float],
        *,
        in_dim: int,
        width: int,
        depth: int,
        out_dim: int = 1,
        sigma_b: float = 0.0,
        activation: str = "tanh",
        seed: int = 0,
    ) -> None:
        super().__init__()
        sws = np.atleast_1d(check_array("sigma_w", sigma_w, nonnegative=True))
        if sws.ndim != 1 or sws.size == 0:
            raise ValueError(f"sigma_w must be a number or a non-empty 1-D sequence of them, got shape {sws.shape}")
        in_dim = check_int("in_dim", in_dim, minimum=1)
        width = check_int("width", width, minimum=1)
        depth = check_int("depth", depth, minimum=1)
        out_dim = check_int("out_dim", out_dim, minimum=1)
        sb = check_real("sigma_b", sigma_b, nonnegative=True)
        seed = check_seed("seed", seed)
        self.phi = _torch_act(activation)
        gen = torch.Generator().manual_seed(seed)
        m = sws.size
        scale = torch.tensor(sws, dtype=torch.float32).view(m, 1, 1)
        dims = [in_dim] + [width] * depth
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
            w = torch.randn(m, fan_in, fan_out, generator=gen) * scale / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.randn(m, 1, fan_out, generator=gen) * sb))
        self.readout = nn.Parameter(torch.randn(m, width, out_dim, generator=gen) / math.sqrt(width))
        self.num_models = m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(num_models, batch, out_dim)`` for inputs ``(batch, in_dim)`` or ``(num_models, batch, in_dim)``."""
        check_tensor("x", x, kind="float")
        in_dim = self.weights[0].shape[1]
        if x.shape[-1:] != (in_dim,) or x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[0] != self.num_models):
            raise ValueError(
                f"x must have shape (batch, {in_dim}) or ({self.num_models}, batch, {in_dim}), got {tuple(x.shape)}"
            )
        h = x.expand(self.num_models, *x.shape) if x.dim() == 2 else x
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, self.phi(h) if layer > 0 else h, w)
        return torch.bmm(self.phi(h), self.readout)
