"""Small torch models (introduced in chapter 1; random deep networks from chapter 5).

:class:`TokenMLP` maps a fixed-length sequence of input tokens to a fixed-length sequence of
output tokens in one shot: one-hot inputs, flattened, through ``depth`` hidden ReLU layers of
``width`` units, then one softmax head (``vocab`` logits) per output position. Chapter 1 trains a
family of them of growing ``width`` on multi-digit addition.

Chapter 7 (attention): :func:`attention`, :class:`SingleHeadAttention`, the linear self-attention
layer :class:`LinearSelfAttention` (with its effective preconditioner ``gamma()``) and the small
softmax transformer :class:`ICLTransformer`.

Chapter 6 (grokking): :class:`ModularMLP`, many one-hidden-layer networks for modular arithmetic
trained as one batched model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ._activations import ACTIVATIONS
from ._validate import (
    check_array,
    check_choice,
    check_int,
    check_int_sequence,
    check_module,
    check_real,
    check_seed,
    eval_mode,
)
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


def gradient_norms(
    sigma_w: float,
    sigma_b: float,
    *,
    depth: int,
    width: int = 500,
    activation: str = "tanh",
    q0: float | None = None,
    num_networks: int = 1,
    seed: int = 0,
) -> np.ndarray:
    """Backpropagated squared gradients ``|dF/dh^l|^2 / width`` through random networks (chapter 5).

    The forward pass is :func:`propagate`'s (``W ~ N(0, sigma_w^2 / width)``, ``b ~ N(0, sigma_b^2)``),
    from one input of length ``q0`` (default: the fixed point ``q*``, so the kernel has settled).
    ``F = v . h^depth`` with ``v ~ N(0, 1)``, differentiated by autograd. Mean-field theory
    (Schoenholz et al. 2017): ``E |dF/dh^l|^2 / width = chi_1^(depth - l)``. Returns shape
    ``(num_networks, depth + 1)``, index ``l = 0..depth``.
    """
    from .signal import kernel_fixed_point

    sw, sb = check_real("sigma_w", sigma_w, nonnegative=True), check_real("sigma_b", sigma_b, nonnegative=True)
    depth = check_int("depth", depth, minimum=1)
    width = check_int("width", width, minimum=2)
    num_networks = check_int("num_networks", num_networks, minimum=1)
    seed = check_seed(seed)
    phi = _torch_act(activation)
    if q0 is None:
        q0 = kernel_fixed_point(sw, sb, activation)
        if not math.isfinite(q0) or q0 <= 0.0:
            raise ValueError(f"q0 must be given: the length map has no finite positive fixed point here (q* = {q0})")
    q0 = check_real("q0", q0, positive=True)
    gen = torch.Generator().manual_seed(seed)
    h = torch.randn(num_networks, width, 1, generator=gen, dtype=torch.float64)
    h = (math.sqrt(q0 * width) * h / h.norm(dim=1, keepdim=True)).requires_grad_(True)
    hs = [h]
    for _ in range(depth):
        w = torch.randn(num_networks, width, width, generator=gen).double() * (sw / math.sqrt(width))
        b = torch.randn(num_networks, width, 1, generator=gen, dtype=torch.float64) * sb
        h = torch.bmm(w, phi(h)) + b
        h.retain_grad()
        hs.append(h)
    v = torch.randn(num_networks, width, 1, generator=gen, dtype=torch.float64)
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


class ToyModelOfSuperposition(nn.Module):
    """Elhage et al.'s toy model ``f(x) = ReLU(W^T W x + b)``, ``W`` of shape ``(m, c)``, ``b`` of shape ``(c,)`` (chapter 10).

    Built from given ``W`` and ``b`` (arrays or tensors, copied as float64 parameters). Its
    exact loss in the high-sparsity limit is ``utils.tms.loss(model.W, model.b)``.
    """

    def __init__(self, W: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> None:
        super().__init__()
        W = torch.as_tensor(np.asarray(W, dtype=float) if not isinstance(W, torch.Tensor) else W).detach().double()
        b = torch.as_tensor(np.asarray(b, dtype=float) if not isinstance(b, torch.Tensor) else b).detach().double()
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"W must have shape (m, c) and b shape (c,), got {tuple(W.shape)} and {tuple(b.shape)}")
        self.W = nn.Parameter(W.clone())
        self.b = nn.Parameter(b.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.W.T @ self.W + self.b)


# ---------------------------------------------------------------------------------------------
# Chapter 7: attention. Tokens are rows: h has shape [batch, T, d_model].


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention: ``A = softmax(q k^T / sqrt(d_k))`` row-wise, output ``A v`` (chapter 7).

    ``q`` ``[..., T_q, d_k]``, ``k`` ``[..., T, d_k]``, ``v`` ``[..., T, d_v]``; returns
    ``(A v, A)``, shapes ``[..., T_q, d_v]`` and ``[..., T_q, T]``; each row of ``A`` sums to 1.
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"q, k, v must be [..., T_q, d_k], [..., T, d_k], [..., T, d_v], got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v, weights


class SingleHeadAttention(nn.Module):
    """One softmax attention head: ``out = softmax(Q K^T / sqrt(d_head)) V W_O``, ``Q, K, V = h W_Q, h W_K, h W_V``.

    Weights are ``N(0, init_scale^2 / fan_in)``, drawn from ``seed``; no biases.
    """

    def __init__(self, d_model: int, d_head: int | None = None, *, init_scale: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.d_head = check_int("d_head", d_head if d_head is not None else d_model, minimum=1)
        s = check_real("init_scale", init_scale, nonnegative=True)
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))

        def draw(n_in: int, n_out: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(n_in, n_out, generator=gen) * (s / math.sqrt(n_in)))

        self.W_Q, self.W_K, self.W_V = (draw(self.d_model, self.d_head) for _ in range(3))
        self.W_O = draw(self.d_head, self.d_model)

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """The attention matrix ``A[b, i, j]``: how much token ``i`` reads from token ``j``."""
        return attention(h @ self.W_Q, h @ self.W_K, h @ self.W_V)[1]

    def forward(self, h: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Output ``[batch, T, d_model]``; with ``last_only`` only the last token's row, ``[batch, 1, d_model]``."""
        if h.shape[-1] != self.d_model:
            raise ValueError(f"h must have last dimension d_model = {self.d_model}, got shape {tuple(h.shape)}")
        q = h[..., -1:, :] @ self.W_Q if last_only else h @ self.W_Q
        out, _ = attention(q, h @ self.W_K, h @ self.W_V)
        return out @ self.W_O


class LinearSelfAttention(nn.Module):
    """One linear self-attention layer for in-context regression (Zhang, Frei & Bartlett 2024), chapter 7.

    Tokens ``z_i = (x_i, y_i)`` in R^(d+1), the query ``z_q = (x_q, 0)`` last. The layer computes
    ``f(Z) = Z + W_PV Z (Z_ctx^T W_KQ Z) / N`` (keys and values from the ``N`` context tokens only)
    and predicts the label entry of the query column:
    ``y_hat = w_PV[d]^T C W_KQ z_q`` with ``C = (1/N) sum_i z_i z_i^T``.
    """

    def __init__(self, dim: int, *, init_scale: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        s = check_real("init_scale", init_scale, nonnegative=True)
        gen = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        self.W_KQ = nn.Parameter(torch.randn(dim + 1, dim + 1, generator=gen) * s)
        self.W_PV = nn.Parameter(torch.randn(dim + 1, dim + 1, generator=gen) * s)

    @classmethod
    def from_gamma(cls, gamma: torch.Tensor) -> LinearSelfAttention:
        """The layer whose prediction is exactly one preconditioned GD step, ``y_hat = x_q^T Gamma m``.

        ``W_KQ = [[Gamma^T, 0], [0, 0]]``, ``W_PV = [[0, 0], [0, 1]]``; ``m = (1/N) sum_i y_i x_i``.
        """
        gamma = torch.as_tensor(gamma)
        if gamma.ndim != 2 or gamma.shape[0] != gamma.shape[1]:
            raise ValueError(f"gamma must be a square matrix [d, d], got shape {tuple(gamma.shape)}")
        d = gamma.shape[0]
        layer = cls(d, init_scale=0.0)
        with torch.no_grad():
            layer.W_KQ.data = layer.W_KQ.data.to(gamma.dtype)
            layer.W_PV.data = layer.W_PV.data.to(gamma.dtype)
            layer.W_KQ[:d, :d] = gamma.T
            layer.W_PV[d, d] = 1.0
        return layer

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Predictions ``[P]`` for tokens ``[P, N + 1, d + 1]`` (query last)."""
        if tokens.ndim != 3 or tokens.shape[-1] != self.dim + 1 or tokens.shape[1] < 2:
            raise ValueError(
                f"tokens must have shape [P, N + 1, {self.dim + 1}] with N >= 1, got {tuple(tokens.shape)}"
            )
        ctx, z_q = tokens[:, :-1], tokens[:, -1]
        c = ctx.transpose(1, 2) @ ctx / ctx.shape[1]  # [P, d+1, d+1]
        return torch.einsum("j,pjk,kl,pl->p", self.W_PV[self.dim], c, self.W_KQ, z_q)

    @torch.no_grad()
    def gamma(self) -> torch.Tensor:
        """The effective preconditioner: the prediction's term ``x_q^T Gamma m``, ``Gamma = v_y A^T + c v_x^T``.

        With ``W_KQ = [[A, b], [c^T, e]]`` and the last row of ``W_PV`` equal to ``(v_x^T, v_y)``.
        The other terms of the prediction (``v_x^T S A x_q`` and ``v_y (sum_i y_i^2 / N) c^T x_q``) do
        not depend linearly on the labels; they vanish at the optimum.
        """
        d = self.dim
        a, c = self.W_KQ[:d, :d], self.W_KQ[d, :d]
        v_x, v_y = self.W_PV[d, :d], self.W_PV[d, d]
        return v_y * a.T + torch.outer(c, v_x)


class ICLTransformer(nn.Module):
    """A small softmax transformer for in-context regression (chapter 7).

    Tokens ``[P, T, d_in]`` are embedded linearly (``h = z E``), pass ``n_layers`` residual blocks
    ``h <- h + attn(h)`` (one :class:`SingleHeadAttention` each; with ``mlp_width`` also
    ``h <- h + W_2 relu(W_1 h)``), and the prediction is a linear read-out of the last token.
    """

    def __init__(
        self,
        d_in: int,
        d_model: int = 16,
        *,
        n_layers: int = 1,
        mlp_width: int = 0,
        init_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.d_in = check_int("d_in", d_in, minimum=1)
        d_model = check_int("d_model", d_model, minimum=1)
        n_layers = check_int("n_layers", n_layers, minimum=1)
        mlp_width = check_int("mlp_width", mlp_width, minimum=0)
        s = check_real("init_scale", init_scale, nonnegative=True)
        seed = check_int("seed", seed, minimum=0)
        gen = torch.Generator().manual_seed(seed)
        self.embed = nn.Parameter(torch.randn(d_in, d_model, generator=gen) * (s / math.sqrt(d_in)))
        self.layers = nn.ModuleList(
            SingleHeadAttention(d_model, init_scale=s, seed=seed + 1 + i) for i in range(n_layers)
        )
        self.mlps = nn.ModuleList()
        if mlp_width:
            for _ in range(n_layers):
                w1 = nn.Linear(d_model, mlp_width)
                w2 = nn.Linear(mlp_width, d_model)
                for lin in (w1, w2):
                    nn.init.normal_(lin.weight, std=s / math.sqrt(lin.in_features), generator=gen)
                    nn.init.zeros_(lin.bias)
                self.mlps.append(nn.Sequential(w1, nn.ReLU(), w2))
        self.readout = nn.Parameter(torch.randn(d_model, generator=gen) * (s / math.sqrt(d_model)))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Predictions ``[P]`` read out at the last token."""
        if tokens.ndim != 3 or tokens.shape[-1] != self.d_in:
            raise ValueError(f"tokens must have shape [P, T, {self.d_in}], got {tuple(tokens.shape)}")
        h = tokens @ self.embed
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if i == last:  # only the last token is read out: skip the other rows of the last block
                h = h[:, -1:] + layer(h, last_only=True)
            else:
                h = h + layer(h)
            if self.mlps:
                h = h + self.mlps[i](h)
        return h[:, -1] @ self.readout

    @torch.no_grad()
    def attention_weights(self, tokens: torch.Tensor, layer: int = 0) -> torch.Tensor:
        """Attention matrix ``[P, T, T]`` of block ``layer`` on ``tokens``."""
        h = tokens @ self.embed
        for i in range(layer):
            h = h + self.layers[i](h)
            if self.mlps:
                h = h + self.mlps[i](h)
        return self.layers[layer].weights(h)

    @torch.no_grad()
    def query_key_form(self) -> torch.Tensor:
        """First block's attention logits as a bilinear form on raw tokens: ``logit(i, j) = z_i^T F z_j``.

        ``F = E W_Q W_K^T E^T / sqrt(d_head)``, shape ``[d_in, d_in]`` (``E`` the embedding).
        """
        att = self.layers[0]
        return self.embed @ att.W_Q @ att.W_K.T @ self.embed.T / math.sqrt(att.d_head)


#: The hidden-layer activations :class:`ModularMLP` knows (chapter 6): Gromov's quadratic and ReLU.
MODULAR_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "quadratic": torch.square,
    "relu": torch.relu,
}


class ModularMLP(nn.Module):
    """``num_models`` independent one-hidden-layer networks for ``(a op b) mod p`` (chapter 6).

    Network ``m`` has a token embedding ``E`` (``p x embed_dim``) shared by both operands, two input
    maps ``W_a, W_b`` (``embed_dim x width``) and an unembedding ``W_out`` (``width x p``)::

        logits(a, b)[c] = sum_j W_out[j, c] * phi(U[a, j] + V[b, j]),   U = E W_a,  V = E W_b

    with ``phi(z) = z**2`` (``"quadratic"``, as in Gromov 2023) or ReLU, and no biases. Network ``m``
    is initialised from a generator seeded with ``seed + m`` (so it equals the lone network built
    with that seed): ``E ~ N(0, 1)``, ``W_a, W_b ~ N(0, 1 / (2 embed_dim))`` (unit-variance
    pre-activations) and ``W_out ~ N(0, 1 / width)``. Parameters of different networks never mix.
    """

    def __init__(
        self,
        p: int,
        *,
        embed_dim: int = 32,
        width: int = 128,
        activation: str = "quadratic",
        num_models: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.p = check_int("p", p, minimum=2)
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1)
        self.width = check_int("width", width, minimum=1)
        if not isinstance(activation, str):
            raise TypeError(f"activation must be one of {tuple(MODULAR_ACTIVATIONS)}, got {type(activation).__name__}")
        self.activation = check_choice("activation", activation, MODULAR_ACTIVATIONS)
        self.num_models = check_int("num_models", num_models, minimum=1)
        seed = check_seed(seed)
        d, n = self.embed_dim, self.width
        shapes = {"embed": (p, d, 1.0), "w_a": (d, n, 1 / (2 * d)), "w_b": (d, n, 1 / (2 * d)), "w_out": (n, p, 1 / n)}
        draws: dict[str, list[torch.Tensor]] = {k: [] for k in shapes}
        for m in range(self.num_models):
            gen = torch.Generator().manual_seed(seed + m)
            for name, (rows, cols, var) in shapes.items():
                draws[name].append(torch.randn(rows, cols, generator=gen) * math.sqrt(var))
        self.embed = nn.Parameter(torch.stack(draws["embed"]))  # [models, p, embed_dim]
        self.w_a = nn.Parameter(torch.stack(draws["w_a"]))  # [models, embed_dim, width]
        self.w_b = nn.Parameter(torch.stack(draws["w_b"]))  # [models, embed_dim, width]
        self.w_out = nn.Parameter(torch.stack(draws["w_out"]))  # [models, width, p]

    @classmethod
    def from_weights(
        cls, embed: np.ndarray, w_a: np.ndarray, w_b: np.ndarray, w_out: np.ndarray, *, activation: str = "quadratic"
    ) -> ModularMLP:
        """A network with the given weights (shapes ``[p, d], [d, N], [d, N], [N, p]``, or with a leading model axis)."""
        arrays = [torch.as_tensor(np.asarray(w, dtype=np.float32)) for w in (embed, w_a, w_b, w_out)]
        arrays = [w.unsqueeze(0) if w.ndim == 2 else w for w in arrays]
        e, wa, wb, wo = arrays
        if any(w.ndim != 3 for w in arrays):
            raise ValueError("embed, w_a, w_b and w_out must be 2-D, or 3-D with a leading model axis")
        m, p, d = e.shape
        n = wa.shape[2]
        if wa.shape != (m, d, n) or wb.shape != (m, d, n) or wo.shape != (m, n, p):
            raise ValueError(
                f"w_a, w_b must be [{d}, N] and w_out [N, {p}] to match embed [{p}, {d}]; "
                f"got {tuple(wa.shape)}, {tuple(wb.shape)}, {tuple(wo.shape)}"
            )
        model = cls(p, embed_dim=d, width=n, activation=activation, num_models=m)
        with torch.no_grad():
            for param, value in zip((model.embed, model.w_a, model.w_b, model.w_out), arrays, strict=True):
                param.copy_(value)
        return model

    def tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The pre-activation tables ``U = E W_a`` and ``V = E W_b``, each ``[models, p, width]``."""
        return torch.bmm(self.embed, self.w_a), torch.bmm(self.embed, self.w_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[models, n, p]`` for operand tokens ``x`` of shape ``[n, 2]`` (shared) or ``[models, n, 2]``."""
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.num_models, -1, -1)
        if x.ndim != 3 or x.shape[0] != self.num_models or x.shape[2] != 2:
            raise ValueError(f"x must have shape [n, 2] or [{self.num_models}, n, 2], got {tuple(x.shape)}")
        u, v = self.tables()
        rows = torch.arange(self.num_models, device=x.device).unsqueeze(1)
        h = u[rows, x[..., 0]] + v[rows, x[..., 1]]
        return torch.bmm(MODULAR_ACTIVATIONS[self.activation](h), self.w_out)

    def all_logits(self) -> torch.Tensor:
        """Logits for every pair, ``[models, p * p, p]``, row ``a * p + b`` for the pair ``(a, b)``."""
        u, v = self.tables()
        h = (u.unsqueeze(2) + v.unsqueeze(1)).flatten(1, 2)  # [models, p * p, width]
        return torch.bmm(MODULAR_ACTIVATIONS[self.activation](h), self.w_out)


def deep_linear_network(
    widths: list[int],
    rank: int,
    *,
    n: int = 10_000,
    seed: int = 0,
    surplus_out: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> tuple[nn.Sequential, tuple[torch.Tensor, torch.Tensor]]:
    """A bias-free linear network at an exact factorisation of a noiseless rank-``rank`` teacher (chapter 9).

    ``widths = [H_1, ..., H_{L+1}]`` from input to output. The teacher is ``y = B A x`` with
    random ``A`` (``rank x H_1``) and ``B`` (``H_{L+1} x rank``) and ``x ~ N(0, I)`` (``n`` samples).
    The returned network computes ``B A`` exactly: its first layer holds ``A`` in its first
    ``rank`` rows, middle layers pass those ``rank`` units on (identity block), the last layer
    holds ``B`` in its first ``rank`` columns, and every other ("surplus") unit has zero in- and
    out-weights, unless ``surplus_out > 0``: then the surplus units of the last hidden layer get
    random out-weights of that scale (the function is unchanged, the point is a different one).
    Its loss is :func:`half_squared_error`, zero at these parameters.
    """
    hs = check_int_sequence("widths", widths, minimum=1, min_length=3)
    rank = check_int("rank", rank, minimum=0)
    if rank > min(hs):
        raise ValueError(f"rank must be <= min(widths) = {min(hs)}, got {rank}")
    n = check_int("n", n, minimum=1)
    surplus_out = check_real("surplus_out", surplus_out, nonnegative=True)
    gen = torch.Generator().manual_seed(check_seed(seed))
    layers = [nn.Linear(a, b, bias=False) for a, b in zip(hs[:-1], hs[1:], strict=True)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
        layers[0].weight[:rank] = torch.randn(rank, hs[0], generator=gen)
        for layer in layers[1:-1]:
            layer.weight[:rank, :rank] = torch.eye(rank)
        layers[-1].weight[:, :rank] = torch.randn(hs[-1], rank, generator=gen)
        if surplus_out > 0:
            layers[-1].weight[:, rank:] = surplus_out * torch.randn(hs[-1], hs[-2] - rank, generator=gen)
    model = nn.Sequential(*layers).to(dtype)
    x = torch.randn(n, hs[0], generator=gen, dtype=dtype)
    with torch.no_grad():
        y = model(x)
    return model, (x, y)


def half_squared_error(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``mean_i ||out_i - y_i||^2 / 2``: the Gaussian negative log-likelihood (unit variance, up to a constant; chapter 9)."""
    return 0.5 * (out - y).square().sum(dim=-1).mean()
