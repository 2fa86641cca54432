"""Small torch models (introduced in chapter 1; random deep networks from chapter 5).

:class:`TokenMLP` maps a fixed-length sequence of input tokens to a fixed-length sequence of
output tokens in one shot: one-hot inputs, flattened, through ``depth`` hidden ReLU layers of
``width`` units, then one softmax head (``vocab`` logits) per output position. Chapter 1 trains a
family of them of growing ``width`` on multi-digit addition.

Chapter 6's :class:`~utils.grokking.ModularMLP` lives in :mod:`utils.grokking` and chapter 7's
attention models in :mod:`utils.attention`.
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


class TokenMLPEnsemble(nn.Module):
    """``num_models`` independent one-hidden-layer token MLPs trained in one batched pass (chapter 1).

    Model ``m`` embeds the input tokens, ``u_m = b_m + sum_i E_m[i, x_i]`` (the same as a linear
    layer on one-hot inputs, as in :class:`TokenMLP` with ``depth=1``), and predicts output
    position ``t`` from ``h_mt = relu(u_m + a_mt)`` as ``logits_mt = W_mt h_mt + c_mt``.

    - ``autoregressive=False``: ``a_mt = 0``, every position is read off one hidden layer
      (separate output heads, all positions at once, like :class:`TokenMLP`).
    - ``autoregressive=True``: ``a_mt = d_mt + sum_{s<t} F_m[s, y_s]`` sees the answer tokens
      already emitted, so position ``t`` is predicted given ``y_<t`` (a causal model). The
      forward pass then takes ``[x, y]`` concatenated (teacher forcing, for training and for
      ``log p(answer)``); :func:`generate_tokens` decodes greedily from ``x`` alone.

    Output logits ``[num_models, n, num_out, vocab]``. Parameters of different models never mix,
    so :func:`ensemble_cross_entropy` (a sum over models) trains each exactly as if alone.
    """

    def __init__(
        self,
        num_in: int,
        num_out: int,
        vocab: int,
        width: int,
        *,
        num_models: int = 1,
        autoregressive: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.num_in = check_int("num_in", num_in, minimum=1)
        self.num_out = check_int("num_out", num_out, minimum=1)
        self.vocab = check_int("vocab", vocab, minimum=2)
        self.width = check_int("width", width, minimum=1)
        self.num_models = check_int("num_models", num_models, minimum=1)
        if not isinstance(autoregressive, bool):
            raise TypeError(f"autoregressive must be True or False, got {autoregressive!r}")
        self.autoregressive = autoregressive
        gen = torch.Generator().manual_seed(check_seed(seed))
        m, t, v, w = self.num_models, self.num_out, self.vocab, self.width

        def uniform(*shape: int, fan_in: int) -> nn.Parameter:
            # torch's default for nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            bound = 1.0 / math.sqrt(fan_in)
            return nn.Parameter((2 * torch.rand(*shape, generator=gen) - 1) * bound)

        fan_in = (self.num_in + (t if autoregressive else 0)) * v
        self.embed_in = uniform(m, self.num_in * v, w, fan_in=fan_in)
        self.bias_in = uniform(m, 1, w, fan_in=fan_in)
        self.head = uniform(m, t, w, v, fan_in=w)
        self.bias_out = uniform(m, 1, t, v, fan_in=w)
        if autoregressive:
            self.embed_out = uniform(m, t * v, w, fan_in=fan_in)
            self.bias_pos = uniform(m, t, w, fan_in=fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[num_models, n, num_out, vocab]``; ``x`` is ``[n, num_in]``, or ``[n, num_in + num_out]`` if autoregressive."""
        k = self.num_in + (self.num_out if self.autoregressive else 0)
        if x.ndim != 2 or x.shape[1] != k:
            raise ValueError(f"x must have shape [n, {k}], got {tuple(x.shape)}")
        x = x.long()
        m, n, t, w = self.num_models, x.shape[0], self.num_out, self.width
        u = self._embed(self.embed_in, x[:, : self.num_in]) + self.bias_in  # [m, n, w]
        if not self.autoregressive:
            # every position reads the same hidden layer: one matrix product per model
            logits = torch.bmm(torch.relu(u), self.head.permute(0, 2, 1, 3).reshape(m, w, t * self.vocab))
            return logits.view(m, n, t, self.vocab) + self.bias_out
        seen = self._embed(self.embed_out, x[:, self.num_in :], keep_positions=True)  # [m, n, t, w]
        h = torch.relu(u.unsqueeze(2) + seen + self.bias_pos.unsqueeze(1))
        # batch over (model, position): [m t, n, w] @ [m t, w, vocab]
        hb = h.permute(0, 2, 1, 3).reshape(m * t, n, w)
        logits = torch.bmm(hb, self.head.reshape(m * t, w, self.vocab)).view(m, t, n, self.vocab)
        return logits.permute(0, 2, 1, 3) + self.bias_out

    def _embed(self, table: torch.Tensor, tokens: torch.Tensor, keep_positions: bool = False) -> torch.Tensor:
        """Rows ``table[m, position * vocab + token]`` of each model, summed over positions unless kept."""
        m, rows, w = table.shape
        n, k = tokens.shape
        if keep_positions:  # [m, n, k, w]: row t sums the table rows of the tokens before t
            onehot = nn.functional.one_hot(tokens, self.vocab).to(table.dtype)  # [n, k, v]
            before = torch.ones(k, k).tril(-1).to(table.dtype)  # before[t, s] = 1 if s < t
            prefix = (before.view(1, k, k, 1) * onehot.unsqueeze(1)).view(n * k, rows)
            return torch.matmul(prefix, table).view(m, n, k, w)
        if rows <= 1024:  # small one-hot: a dense product is fastest on a CPU
            onehot = nn.functional.one_hot(tokens, self.vocab).to(table.dtype).view(n, rows)
            return torch.matmul(onehot, table)
        index = tokens + torch.arange(k) * self.vocab
        index = index.unsqueeze(0) + (torch.arange(m) * rows).view(m, 1, 1)  # [m, n, k]
        return nn.functional.embedding(index, table.reshape(m * rows, w)).sum(2)


def ensemble_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over models of each model's mean cross-entropy (nats per token); logits ``[m, n, length, vocab]``."""
    if logits.ndim != 4 or targets.shape != logits.shape[1:3]:
        raise ValueError(
            f"logits must be [m, n, length, vocab] and targets [n, length], "
            f"got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(-1, targets.long().expand(logits.shape[0], -1, -1).unsqueeze(-1))
    return -picked.mean(dim=(1, 2, 3)).sum()


@torch.no_grad()
def generate_tokens(model: TokenMLPEnsemble, x: torch.Tensor) -> torch.Tensor:
    """Greedy answers ``[num_models, n, num_out]``: argmax at each position, fed back if autoregressive."""
    with eval_mode(check_module("model", model)):
        if not model.autoregressive:
            return model(x).argmax(-1)
        m, n, t = model.num_models, x.shape[0], model.num_out
        out = torch.zeros(m, n, t, dtype=torch.long)
        for pos in range(t):
            # each model decodes on its own past outputs: run the batched model on model i's prefix
            for i in range(m):
                logits = model(torch.cat([x, out[i]], dim=1))[i, :, pos]
                out[i, :, pos] = logits.argmax(-1)
        return out


@torch.no_grad()
def answer_log_likelihood(model: TokenMLPEnsemble, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``log p(y | x)`` in nats, ``[num_models, n]``: sum over positions of ``log p(y_t | x, y_<t)``."""
    with eval_mode(check_module("model", model)):
        inp = torch.cat([x, y], dim=1) if model.autoregressive else x
        logp = torch.log_softmax(model(inp), dim=-1)
        return logp.gather(-1, y.long().expand(model.num_models, -1, -1).unsqueeze(-1)).squeeze(-1).sum(-1)


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


def deep_linear_network(
    widths: list[int],
    rank: int,
    *,
    n: int = 10_000,
    seed: int = 0,
    surplus_out: float = 0.0,
    whiten: bool = False,
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
    Its loss is :func:`half_squared_error`, zero at these parameters. ``whiten=True`` makes the
    inputs' empirical second moment exactly ``I`` (``x -> x M^(-1/2)``, in float64 before the cast):
    with ``rank=0`` that is the zero-teacher network of :func:`utils.slt.exact_llc_target`.
    """
    hs = check_int_sequence("widths", widths, minimum=1, min_length=3)
    if not isinstance(whiten, bool):
        raise TypeError(f"whiten must be True or False, got {whiten!r}")
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
    x = torch.randn(n, hs[0], generator=gen, dtype=torch.float64 if whiten else dtype)
    if whiten:
        if n < hs[0]:
            raise ValueError(f"n must be >= widths[0] = {hs[0]} to whiten the inputs, got {n}")
        evals, evecs = torch.linalg.eigh(x.T @ x / n)
        x = (x @ evecs @ torch.diag(evals.rsqrt()) @ evecs.T).to(dtype)
    with torch.no_grad():
        y = model(x)
    return model, (x, y)


def half_squared_error(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``mean_i ||out_i - y_i||^2 / 2``: the Gaussian negative log-likelihood (unit variance, up to a constant; chapter 9)."""
    return 0.5 * (out - y).square().sum(dim=-1).mean()
