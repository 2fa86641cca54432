"""Attention as weights computed from the context (chapter 7). Tokens are rows: ``h`` is ``[batch, T, d_model]``.

:func:`attention`, one :class:`SingleHeadAttention` head, the linear self-attention layer
:class:`LinearSelfAttention` (with its effective preconditioner ``gamma()``), several such layers
trained at once (:class:`StackedLinearAttention`, merged or separate key and query) and the small
softmax transformer :class:`ICLTransformer`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import check_int, check_real, check_seed, check_tensor

__all__ = ["ICLTransformer", "LinearSelfAttention", "SingleHeadAttention", "StackedLinearAttention", "attention"]


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention: ``A = softmax(q k^T / sqrt(d_k))`` row-wise, output ``A v`` (chapter 7).

    ``q`` ``[..., T_q, d_k]``, ``k`` ``[..., T, d_k]``, ``v`` ``[..., T, d_v]``; returns
    ``(A v, A)``, shapes ``[..., T_q, d_v]`` and ``[..., T_q, T]``; each row of ``A`` sums to 1.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        check_tensor(name, t, kind="float")
        if t.ndim < 2:
            raise ValueError(f"{name} must have at least 2 axes [..., tokens, features], got shape {tuple(t.shape)}")
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
        gen = torch.Generator().manual_seed(check_seed("seed", seed))

        def draw(num_in: int, num_out: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(num_in, num_out, generator=gen) * (s / math.sqrt(num_in)))

        self.W_Q, self.W_K, self.W_V = (draw(self.d_model, self.d_head) for _ in range(3))
        self.W_O = draw(self.d_head, self.d_model)

    def weights(self, h: torch.Tensor) -> torch.Tensor:
        """The attention matrix ``A[b, i, j]``: how much token ``i`` reads from token ``j``."""
        return attention(h @ self.W_Q, h @ self.W_K, h @ self.W_V)[1]

    def forward(self, h: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """Output ``[batch, T, d_model]``; with ``last_only`` only the last token's row, ``[batch, 1, d_model]``."""
        check_tensor("h", h, kind="float")
        if h.ndim < 2 or h.shape[-1] != self.d_model:
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
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
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
        check_tensor("tokens", tokens, kind="float")
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


class StackedLinearAttention(nn.Module):
    """``num_models`` linear self-attention layers (as :class:`LinearSelfAttention`) with stacked parameters, chapter 7.

    Model ``s`` predicts ``y_hat = W_PV[s, d]^T C W_KQ[s] z_q`` with ``C = (1/N) sum_i z_i z_i^T``.
    Merged (``separate_kq=False``): ``W_KQ`` is one parameter. Separate: ``W_KQ = W_K W_Q^T``, with
    ``W_K, W_Q`` each ``[d + 1, d + 1]``, as in a transformer (Zhang et al. 2025 contrast the two).
    Every entry starts ``N(0, init_scale^2)``, drawn from ``seed``.
    """

    def __init__(
        self, dim: int, *, num_models: int = 1, separate_kq: bool = False, init_scale: float = 0.1, seed: int = 0
    ) -> None:
        super().__init__()
        self.dim = check_int("dim", dim, minimum=1)
        self.num_models = check_int("num_models", num_models, minimum=1)
        self.separate_kq = bool(separate_kq)
        s = check_real("init_scale", init_scale, nonnegative=True)
        gen = torch.Generator().manual_seed(check_seed("seed", seed))

        def draw() -> nn.Parameter:
            return nn.Parameter(torch.randn(num_models, dim + 1, dim + 1, generator=gen) * s)

        if self.separate_kq:
            self.W_K, self.W_Q = draw(), draw()
        else:
            self.W_KQ = draw()
        self.W_PV = draw()

    def kq(self) -> torch.Tensor:
        """The merged key-query matrix ``[S, d + 1, d + 1]`` (``W_K W_Q^T`` when separate)."""
        return self.W_K @ self.W_Q.transpose(1, 2) if self.separate_kq else self.W_KQ

    @staticmethod
    def moments(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(C, z_q)``: the context's second moments ``C = (1/N) sum_i z_i z_i^T`` ``[P, d + 1, d + 1]`` and the query ``[P, d + 1]``.

        All a linear attention layer needs of a prompt: compute them once to train on a fixed set.
        """
        if tokens.ndim != 3 or tokens.shape[1] < 2:
            raise ValueError(f"tokens must have shape [P, N + 1, d + 1] with N >= 1, got {tuple(tokens.shape)}")
        ctx = tokens[:, :-1]
        return ctx.transpose(1, 2) @ ctx / ctx.shape[1], tokens[:, -1]

    def predict(self, c: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
        """Predictions ``[S, P]`` from the moments ``(C, z_q)`` of :meth:`moments`."""
        if c.ndim != 3 or c.shape[1:] != (self.dim + 1, self.dim + 1) or z_q.shape != (c.shape[0], self.dim + 1):
            raise ValueError(
                f"c, z_q must have shapes [P, {self.dim + 1}, {self.dim + 1}], [P, {self.dim + 1}], "
                f"got {tuple(c.shape)}, {tuple(z_q.shape)}"
            )
        return torch.einsum("sj,pjk,skl,pl->sp", self.W_PV[:, self.dim], c, self.kq(), z_q)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Predictions ``[S, P]`` of every model for tokens ``[P, N + 1, d + 1]`` (query last)."""
        if tokens.ndim != 3 or tokens.shape[-1] != self.dim + 1 or tokens.shape[1] < 2:
            raise ValueError(
                f"tokens must have shape [P, N + 1, {self.dim + 1}] with N >= 1, got {tuple(tokens.shape)}"
            )
        return self.predict(*self.moments(tokens))

    @torch.no_grad()
    def gamma(self) -> torch.Tensor:
        """Each model's effective preconditioner ``Gamma = v_y A^T + c v_x^T`` (see :meth:`LinearSelfAttention.gamma`), ``[S, d, d]``."""
        d = self.dim
        kq = self.kq()
        a, c = kq[:, :d, :d], kq[:, d, :d]
        v_x, v_y = self.W_PV[:, d, :d], self.W_PV[:, d, d]
        return v_y[:, None, None] * a.transpose(1, 2) + c[:, :, None] * v_x[:, None, :]


class ICLTransformer(nn.Module):
    """A small softmax transformer for in-context regression (chapter 7).

    Tokens ``[P, T, d_in]`` are embedded linearly (``h = z E``), pass ``num_layers`` residual blocks
    ``h <- h + attn(h)`` (one :class:`SingleHeadAttention` each; with ``mlp_width`` also
    ``h <- h + W_2 relu(W_1 h)``), and the prediction is a linear read-out of the last token.
    """

    def __init__(
        self,
        d_in: int,
        d_model: int = 16,
        *,
        num_layers: int = 1,
        mlp_width: int = 0,
        init_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.d_in = check_int("d_in", d_in, minimum=1)
        d_model = check_int("d_model", d_model, minimum=1)
        num_layers = check_int("num_layers", num_layers, minimum=1)
        mlp_width = check_int("mlp_width", mlp_width, minimum=0)
        s = check_real("init_scale", init_scale, nonnegative=True)
        seed = check_seed("seed", seed)
        gen = torch.Generator().manual_seed(seed)
        self.embed = nn.Parameter(torch.randn(d_in, d_model, generator=gen) * (s / math.sqrt(d_in)))
        self.layers = nn.ModuleList(
            SingleHeadAttention(d_model, init_scale=s, seed=seed + 1 + i) for i in range(num_layers)
        )
        self.mlps = nn.ModuleList()
        if mlp_width:
            for _ in range(num_layers):
                w1 = nn.Linear(d_model, mlp_width)
                w2 = nn.Linear(mlp_width, d_model)
                for lin in (w1, w2):
                    nn.init.normal_(lin.weight, std=s / math.sqrt(lin.in_features), generator=gen)
                    nn.init.zeros_(lin.bias)
                self.mlps.append(nn.Sequential(w1, nn.ReLU(), w2))
        self.readout = nn.Parameter(torch.randn(d_model, generator=gen) * (s / math.sqrt(d_model)))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Predictions ``[P]`` read out at the last token."""
        self._check_tokens(tokens)
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

    def _check_tokens(self, tokens: torch.Tensor) -> None:
        check_tensor("tokens", tokens, kind="float")
        if tokens.ndim != 3 or tokens.shape[-1] != self.d_in:
            raise ValueError(f"tokens must have shape [P, T, {self.d_in}], got {tuple(tokens.shape)}")

    @torch.no_grad()
    def attention_weights(self, tokens: torch.Tensor, layer: int = 0) -> torch.Tensor:
        """Attention matrix ``[P, T, T]`` of block ``layer`` on ``tokens``."""
        self._check_tokens(tokens)
        layer = check_int("layer", layer, minimum=0, maximum=len(self.layers) - 1)
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
