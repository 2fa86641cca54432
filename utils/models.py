"""Small torch models (introduced in chapter 1; random deep networks from chapter 5).

:class:`TokenMLP` maps a fixed-length sequence of input tokens to a fixed-length sequence of
output tokens in one shot: one-hot inputs, flattened, through ``depth`` hidden ReLU layers of
``width`` units, then one softmax head (``vocab`` logits) per output position. Chapter 1 trains a
family of them of growing ``width`` on multi-digit addition.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ._activations import ACTIVATIONS
from ._validate import check_array, check_choice, check_int, check_module, check_real, check_seed, eval_mode
from .signal import KernelFlow


class TokenMLP(nn.Module):
    """logits[n, t, :] = W_out_t . relu(... relu(W_1 onehot(x_n) + b_1) ...) + b_out_t, for each output position t."""

    def __init__(self, num_in: int, num_out: int, vocab: int, width: int, depth: int = 1) -> None:
        super().__init__()
        self.num_in = check_int("num_in", num_in, minimum=1)
        self.num_out = check_int("num_out", num_out, minimum=1)
        self.vocab = check_int("vocab", vocab, minimum=2)
        self.width = check_int("width", width, minimum=1)
        self.depth = check_int("depth", depth, minimum=1)
        layers: list[nn.Module] = []
        d = self.num_in * self.vocab
        for _ in range(self.depth):
            layers += [nn.Linear(d, self.width), nn.ReLU()]
            d = self.width
        layers.append(nn.Linear(d, self.num_out * self.vocab))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of shape ``[n, num_out, vocab]`` for integer tokens ``x`` of shape ``[n, num_in]``."""
        if x.ndim != 2 or x.shape[1] != self.num_in:
            raise ValueError(f"x must have shape [n, {self.num_in}], got {tuple(x.shape)}")
        onehot = nn.functional.one_hot(x.long(), self.vocab).to(self.net[0].weight.dtype)
        return self.net(onehot.flatten(1)).view(-1, self.num_out, self.vocab)


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats per token) of logits ``[n, length, vocab]`` against integer targets ``[n, length]``."""
    if logits.ndim != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be [n, length, vocab] and targets [n, length], got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten().long())


@torch.no_grad()
def predict_tokens(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Most likely token at every output position: ``argmax`` of ``model(x)`` over the vocabulary, shape ``[n, length]``."""
    with eval_mode(check_module("model", model)):
        return model(x).argmax(dim=-1)


def num_parameters(model: nn.Module) -> int:
    """Number of trainable scalar parameters of ``model`` (shared ones counted once)."""
    return int(sum(p.numel() for p in check_module("model", model).parameters() if p.requires_grad))


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
    num_networks: int = 1,
    seed: int = 0,
) -> KernelFlow:
    """Measure ``q^l`` and ``c^l`` for two inputs sent through random networks (chapter 5).

    Each of ``num_networks`` independent networks of ``width`` neurons per layer draws
    ``W ~ N(0, sigma_w^2 / width)``, ``b ~ N(0, sigma_b^2)`` (seeded by ``seed``).
    Layer 0 holds two pre-activation vectors of length ``q0`` and correlation ``c0`` in random
    directions (drawn anew for each network);
    ``h^l = W^l phi(h^{l-1}) + b^l``. Returns arrays of shape ``(num_networks, depth + 1)``:
    ``q`` the first input's ``|h^l|^2 / width`` (the second's has the same law), ``c`` the
    two inputs' empirical correlation.
    """
    q0 = check_real("q0", q0, positive=True)
    c0 = check_real("c0", c0, low=-1.0, high=1.0)
    sw, sb = check_real("sigma_w", sigma_w, nonnegative=True), check_real("sigma_b", sigma_b, nonnegative=True)
    depth = check_int("depth", depth, minimum=0)
    width = check_int("width", width, minimum=2)
    num_networks = check_int("num_networks", num_networks, minimum=1)
    seed = check_seed(seed)
    phi = _torch_act(activation)
    gen = torch.Generator().manual_seed(seed)
    # per network, two random orthonormal directions, then the input pair of length q0, correlation c0
    qmat, rmat = torch.linalg.qr(torch.randn(num_networks, width, 2, generator=gen, dtype=torch.float64))
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
    for _ in range(depth):
        # float32 draws (4x faster to generate), float64 arithmetic
        w = torch.randn(num_networks, width, width, generator=gen).double() * (sw / math.sqrt(width))
        b = torch.randn(num_networks, width, 1, generator=gen, dtype=torch.float64) * sb
        h = torch.bmm(w, phi(h)) + b
        q, c = measure(h)
        qs.append(q)
        cs.append(c)
    return KernelFlow(q=torch.stack(qs, 1).numpy(), c=torch.stack(cs, 1).numpy())


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
        seed = check_seed(seed)
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
        h = x.expand(self.num_models, *x.shape) if x.dim() == 2 else x
        for layer, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, self.phi(h) if layer > 0 else h, w)
        return torch.bmm(self.phi(h), self.readout)
