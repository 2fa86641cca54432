"""Token MLPs for multi-digit addition (chapter 1).

:class:`TokenMLP` maps a fixed-length sequence of input tokens to a fixed-length sequence of
output tokens in one shot: one-hot inputs, flattened, through ``depth`` hidden ReLU layers of
``width`` units, then one softmax head (``vocab`` logits) per output position.
:class:`TokenMLPEnsemble` holds ``num_models`` one-hidden-layer token MLPs trained in one batched
pass; chapter 1 trains a family of them of growing ``width`` on the addition data of
:mod:`utils.addition`, with :func:`ensemble_cross_entropy` as the loss, and decodes their
answers with :func:`generate_tokens`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import check_int, check_seed, check_tensor, check_tokens, eval_mode

__all__ = [
    "TokenMLP",
    "TokenMLPEnsemble",
    "answer_log_likelihood",
    "ensemble_cross_entropy",
    "generate_tokens",
]


def _set_sizes(model: nn.Module, num_in: int, num_out: int, vocab: int, width: int) -> None:
    """Check the sizes shared by both token MLPs and set them as the model's attributes."""
    model.num_in = check_int("num_in", num_in, minimum=1)
    model.num_out = check_int("num_out", num_out, minimum=1)
    model.vocab = check_int("vocab", vocab, minimum=2)
    model.width = check_int("width", width, minimum=1)


class TokenMLP(nn.Module):
    """logits[n, t, :] = W_out_t . relu(... relu(W_1 onehot(x_n) + b_1) ...) + b_out_t, for each output position t."""

    def __init__(self, num_in: int, num_out: int, vocab: int, width: int, depth: int = 1) -> None:
        super().__init__()
        _set_sizes(self, num_in, num_out, vocab, width)
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
        check_tokens("x", x, self.vocab, f"[n, {self.num_in}]")
        if x.shape[1] != self.num_in:
            raise ValueError(f"x must have shape [n, {self.num_in}], got {tuple(x.shape)}")
        onehot = nn.functional.one_hot(x.long(), self.vocab).to(self.net[0].weight.dtype)
        return self.net(onehot.flatten(1)).view(-1, self.num_out, self.vocab)


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
        _set_sizes(self, num_in, num_out, vocab, width)
        self.num_models = check_int("num_models", num_models, minimum=1)
        if not isinstance(autoregressive, bool):
            raise TypeError(f"autoregressive must be True or False, got {autoregressive!r}")
        self.autoregressive = autoregressive
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
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
        check_tokens("x", x, self.vocab, f"[n, {k}]")
        if x.shape[1] != k:
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
    check_tensor("logits", logits, kind="float")
    check_tensor("targets", targets, kind="int")
    if logits.ndim != 4 or targets.shape != logits.shape[1:3]:
        raise ValueError(
            f"logits must be [m, n, length, vocab] and targets [n, length], "
            f"got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= logits.shape[-1]):
        raise ValueError(
            f"targets must hold tokens in [0, {logits.shape[-1]}) (the vocabulary of logits), "
            f"got values from {int(targets.min())} to {int(targets.max())}"
        )
    logp = torch.log_softmax(logits, dim=-1)
    picked = logp.gather(-1, targets.long().expand(logits.shape[0], -1, -1).unsqueeze(-1))
    return -picked.mean(dim=(1, 2, 3)).sum()


def _check_ensemble(model: object) -> None:
    if not isinstance(model, TokenMLPEnsemble):
        raise TypeError(f"model must be a TokenMLPEnsemble, got {type(model).__name__}")


@torch.no_grad()
def generate_tokens(model: TokenMLPEnsemble, x: torch.Tensor) -> torch.Tensor:
    """Greedy answers ``[num_models, n, num_out]``: argmax at each position, fed back if autoregressive."""
    _check_ensemble(model)
    check_tokens("x", x, model.vocab, f"[n, {model.num_in}]")
    if x.shape[1] != model.num_in:
        raise ValueError(f"x must have shape [n, {model.num_in}] (the questions alone), got {tuple(x.shape)}")
    with eval_mode(model):
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
    _check_ensemble(model)
    check_tokens("x", x, model.vocab, f"[n, {model.num_in}]")
    check_tokens("y", y, model.vocab, f"[{x.shape[0]}, {model.num_out}]")
    if x.shape[1] != model.num_in or y.shape != (x.shape[0], model.num_out):
        raise ValueError(
            f"x and y must have shapes [n, {model.num_in}] and [n, {model.num_out}], "
            f"got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    with eval_mode(model):
        inp = torch.cat([x, y], dim=1) if model.autoregressive else x
        logp = torch.log_softmax(model(inp), dim=-1)
        return logp.gather(-1, y.long().expand(model.num_models, -1, -1).unsqueeze(-1)).squeeze(-1).sum(-1)
