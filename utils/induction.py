"""Induction heads in a small attention-only transformer (chapter 7; Olsson et al. 2022).

- :class:`RepeatTask` draws sequences whose second part repeats their first: a random segment of
  ``period`` tokens (period drawn per sequence) written out again and again, so the next token is
  predictable only by finding the previous occurrence of the current token in the context.
- :class:`AttentionOnlyTransformer` holds ``num_models`` independent attention-only transformers
  whose parameters are stacked on a leading axis, so several seeds train in one tensor.
- The scores read a head's role: the previous-token score, :func:`prefix_matching_score`,
  :func:`copying_score`; :func:`in_context_score` is the behavioural measure (late minus early loss).
- :func:`induction_circuit` builds the two-head induction circuit by hand; :func:`train_induction`
  trains all models at once on fresh sequences and records the loss and the scores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._validate import check_int, check_real, check_seed

__all__ = [
    "AttentionOnlyTransformer",
    "InductionRun",
    "RepeatTask",
    "copying_score",
    "evaluate_heads",
    "in_context_score",
    "induction_circuit",
    "prefix_matching_score",
    "train_induction",
]


@dataclass(frozen=True)
class RepeatTask:
    """Sequences of ``seq_len`` tokens from ``vocab_size``: ``x_t = x_(t - P)`` for ``t >= P``, ``P`` uniform in ``[min_period, max_period]``.

    The first ``P`` tokens are distinct, drawn uniformly without replacement, so the token after
    the previous occurrence of ``x_t`` is unique. Token ``t + 1`` is predictable from the context
    exactly when ``t >= P``, i.e. when ``x_t`` has occurred before.
    """

    vocab_size: int
    seq_len: int
    min_period: int
    max_period: int

    def __post_init__(self) -> None:
        check_int("vocab_size", self.vocab_size, minimum=2)
        check_int("seq_len", self.seq_len, minimum=3)
        check_int("min_period", self.min_period, minimum=2)
        check_int("max_period", self.max_period, minimum=self.min_period)
        if self.max_period > self.seq_len - 2:
            raise ValueError(f"max_period must be <= seq_len - 2 = {self.seq_len - 2}, got {self.max_period}")
        if self.max_period > self.vocab_size:
            raise ValueError(f"max_period must be <= vocab_size = {self.vocab_size}, got {self.max_period}")

    def sample(self, num_seqs: int, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``(tokens [num_seqs, seq_len] int64, periods [num_seqs] int64)`` drawn with ``generator``."""
        n = check_int("num_seqs", num_seqs, minimum=1)
        segment = torch.rand(n, self.vocab_size, generator=generator).argsort(dim=1)[:, : self.max_period]
        periods = torch.randint(self.min_period, self.max_period + 1, (n,), generator=generator)
        t = torch.arange(self.seq_len)
        return torch.gather(segment, 1, t[None, :] % periods[:, None]), periods

    def optimal_loss(self) -> torch.Tensor:
        """The Bayes-optimal expected loss at each position ``t`` (predicting ``x_(t+1)``), ``[seq_len - 1]`` nats.

        If ``t >= P`` (``x_t`` occurred before) the next token is known: loss 0. Otherwise every token
        so far is new, so ``P >= t + 1``: the next token is ``x_0`` with probability
        ``q = Pr(P = t + 1 | P >= t + 1)``, else uniform over the ``V - t - 1`` unseen tokens.
        """
        V, lo, hi = self.vocab_size, self.min_period, self.max_period
        out = torch.zeros(self.seq_len - 1, dtype=torch.float64)
        for t in range(self.seq_len - 1):
            remaining = hi - max(lo, t + 1) + 1  # periods still possible (P >= t + 1)
            if remaining <= 0:
                continue  # P <= t for every period: the next token is a repeat
            q = 1.0 / remaining if t + 1 >= lo else 0.0
            p_now = q * remaining / (hi - lo + 1)  # Pr(P = t + 1)
            p_later = (remaining - (1 if t + 1 >= lo else 0)) / (hi - lo + 1)  # Pr(P > t + 1)
            if p_now:
                out[t] += p_now * -math.log(q)
            if p_later:
                out[t] += p_later * -math.log((1 - q) / (V - t - 1))
        return out

    @property
    def early(self) -> slice:
        """Positions ``t`` whose next token is never predictable in context (``t + 1 < min_period``)."""
        return slice(0, self.min_period - 1)

    @property
    def late(self) -> slice:
        """Positions ``t`` whose own token is always a repeat (``t >= max_period``), so ``x_(t+1)`` is known."""
        return slice(self.max_period, self.seq_len - 1)


class AttentionOnlyTransformer(nn.Module):
    """``num_models`` attention-only transformers with stacked parameters (chapter 7).

    Model ``s``: ``h_t = W_E[x_t] + W_pos[t]``; each layer adds its heads,
    ``h <- h + sum_h softmax_causal(h W_Q (h W_K)^T / sqrt(d_head)) h W_V W_O``; logits ``h W_U``.
    No MLPs, no layer norm, no biases. Weights are ``N(0, init_scale^2 / fan_in)`` (embeddings
    ``N(0, 1 / d_model)``), drawn from ``seed``.
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 32,
        *,
        num_layers: int = 2,
        num_heads: int = 2,
        d_head: int | None = None,
        num_models: int = 1,
        init_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=2)
        self.seq_len = check_int("seq_len", seq_len, minimum=2)
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.num_heads = check_int("num_heads", num_heads, minimum=1)
        self.d_head = check_int("d_head", d_head if d_head is not None else max(d_model // num_heads, 1), minimum=1)
        self.num_models = check_int("num_models", num_models, minimum=1)
        s = check_real("init_scale", init_scale, nonnegative=True)
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
        S, V, T, D, L, H, E = num_models, vocab_size, seq_len, d_model, num_layers, num_heads, self.d_head

        def draw(*shape: int, std: float) -> nn.Parameter:
            return nn.Parameter(torch.randn(S, *shape, generator=gen) * std)

        self.W_E = draw(V, D, std=1 / math.sqrt(D))
        self.W_pos = draw(T, D, std=1 / math.sqrt(D))
        self.W_Q = draw(L, H, D, E, std=s / math.sqrt(D))
        self.W_K = draw(L, H, D, E, std=s / math.sqrt(D))
        self.W_V = draw(L, H, D, E, std=s / math.sqrt(D))
        self.W_O = draw(L, H, E, D, std=s / math.sqrt(H * E))
        self.W_U = draw(D, V, std=s / math.sqrt(D))

    def _check_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        if not isinstance(tokens, torch.Tensor) or tokens.dtype != torch.int64:
            got = f"dtype {tokens.dtype}" if isinstance(tokens, torch.Tensor) else type(tokens).__name__
            raise TypeError(f"tokens must be an int64 tensor (token ids), got {got}")
        if tokens.ndim == 2:
            tokens = tokens.expand(self.num_models, *tokens.shape)
        if tokens.ndim != 3 or tokens.shape[0] != self.num_models or not 1 <= tokens.shape[2] <= self.seq_len:
            raise ValueError(
                f"tokens must have shape [batch, T] or [{self.num_models}, batch, T] with T <= {self.seq_len}, "
                f"got {tuple(tokens.shape)}"
            )
        if tokens.min() < 0 or tokens.max() >= self.vocab_size:
            raise ValueError(
                f"tokens must lie in [0, {self.vocab_size}), got values in [{tokens.min()}, {tokens.max()}]"
            )
        return tokens

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits [S, B, T, V], patterns [S, L, H, B, T, T])`` for ``tokens`` ``[B, T]`` (all models) or ``[S, B, T]``."""
        tokens = self._check_tokens(tokens)
        T = tokens.shape[2]
        h = self.W_E[torch.arange(self.num_models)[:, None, None], tokens] + self.W_pos[:, None, :T]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        patterns = []
        for layer in range(self.num_layers):
            q = torch.einsum("sbtd,shde->shbte", h, self.W_Q[:, layer])
            k = torch.einsum("sbtd,shde->shbte", h, self.W_K[:, layer])
            v = torch.einsum("sbtd,shde->shbte", h, self.W_V[:, layer])
            logits = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_head)
            a = torch.softmax(logits.masked_fill(~causal, float("-inf")), dim=-1)
            h = h + torch.einsum("shbte,shed->sbtd", a @ v, self.W_O[:, layer])
            patterns.append(a)
        return h @ self.W_U[:, None], torch.stack(patterns, dim=1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``[S, B, T, V]``."""
        return self.run(tokens)[0]

    def token_loss(self, tokens: torch.Tensor) -> torch.Tensor:
        """Cross-entropy (nats) of predicting ``x_(t+1)`` at position ``t``, ``[S, B, T - 1]``."""
        tokens = self._check_tokens(tokens)
        logits = self(tokens)[:, :, :-1]
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, self.vocab_size), tokens[:, :, 1:].reshape(-1), reduction="none"
        ).view(tokens.shape[0], tokens.shape[1], -1)

    @torch.no_grad()
    def ov_circuits(self) -> torch.Tensor:
        """Each head's token-to-logit map ``W_E W_V W_O W_U``, ``[S, L, H, V, V]``."""
        return torch.einsum("svd,slhde,slhef,sfw->slhvw", self.W_E, self.W_V, self.W_O, self.W_U)


def _previous_token_score(patterns: torch.Tensor) -> torch.Tensor:
    """Mean attention from position ``t`` to ``t - 1`` (``t >= 1``), per head: ``[..., B, T, T]`` -> ``[...]``."""
    if patterns.ndim < 3 or patterns.shape[-1] != patterns.shape[-2] or patterns.shape[-1] < 2:
        raise ValueError(f"patterns must have shape [..., B, T, T] with T >= 2, got {tuple(patterns.shape)}")
    return patterns.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(-1, -2))


def prefix_matching_score(patterns: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Attention from ``t`` to the tokens that follow earlier occurrences of ``x_t`` (``s <= t`` with ``x_(s-1) = x_t``).

    Summed over those ``s`` and averaged over the positions ``t`` that have one (Olsson et al. 2022);
    ``patterns`` ``[..., B, T, T]`` on ``tokens`` ``[B, T]`` -> ``[...]``.
    """
    if patterns.ndim < 3 or patterns.shape[-1] != patterns.shape[-2]:
        raise ValueError(f"patterns must have shape [..., B, T, T], got {tuple(patterns.shape)}")
    B, T = patterns.shape[-3], patterns.shape[-1]
    if tuple(tokens.shape) != (B, T):
        raise ValueError(f"tokens must have shape [{B}, {T}] (as the patterns), got {tuple(tokens.shape)}")
    match = torch.zeros(B, T, T, dtype=torch.bool)  # match[b, t, s]: x_(s-1) = x_t, 1 <= s <= t
    match[:, :, 1:] = tokens[:, :, None] == tokens[:, None, :-1]
    match &= torch.ones(T, T, dtype=torch.bool).tril()
    has = match.any(-1)
    if not has.any():
        raise ValueError("tokens must repeat: no position has an earlier occurrence of its token")
    mass = (patterns * match).sum(-1)  # [..., B, T]
    return (mass * has).sum(dim=(-1, -2)) / has.sum()


def copying_score(ov: torch.Tensor) -> torch.Tensor:
    """``sum Re(lambda) / sum |lambda|`` over the eigenvalues of each OV circuit ``[..., V, V]`` -> ``[...]``; 1 copies, 0 if zero."""
    if ov.ndim < 2 or ov.shape[-1] != ov.shape[-2]:
        raise ValueError(f"ov must have shape [..., V, V], got {tuple(ov.shape)}")
    lam = torch.linalg.eigvals(ov.double())
    total = lam.abs().sum(-1)
    return torch.where(total > 0, lam.real.sum(-1) / total.clamp(min=1e-300), torch.zeros_like(total))


def in_context_score(position_loss: torch.Tensor, task: RepeatTask) -> torch.Tensor:
    """Mean loss at ``task.late`` positions minus at ``task.early`` ones: ``[..., T - 1]`` -> ``[...]`` (negative = learns in context)."""
    if position_loss.shape[-1] != task.seq_len - 1:
        raise ValueError(f"position_loss must have last dimension {task.seq_len - 1}, got {tuple(position_loss.shape)}")
    return position_loss[..., task.late].mean(-1) - position_loss[..., task.early].mean(-1)


def induction_circuit(vocab_size: int, seq_len: int, *, sharpness: float = 20.0) -> AttentionOnlyTransformer:
    """The hand-built two-layer induction circuit (one model, one head per layer).

    Residual blocks: current token, previous token, output, position (``d_model = 3 V + T``). Layer 1
    (previous-token head) attends from ``t`` to ``t - 1`` with logit ``sharpness`` and writes
    ``x_(t-1)`` into the previous-token block; layer 2 (induction head) matches the current token
    against that block with logit ``sharpness``, and copies the matched position's token into the
    output block, which ``W_U`` reads with gain ``sharpness``. Position 0 (whose layer-1 head can only
    read itself) gets a key of ``-2 sharpness`` in layer 2.
    """
    V = check_int("vocab_size", vocab_size, minimum=2)
    T = check_int("seq_len", seq_len, minimum=2)
    beta = check_real("sharpness", sharpness, positive=True)
    E = max(V, T)
    model = AttentionOnlyTransformer(V, T, 3 * V + T, num_layers=2, num_heads=1, d_head=E, init_scale=0.0)
    tok, prev, out, pos = 0, V, 2 * V, 3 * V
    scale = beta * math.sqrt(E)  # logits are divided by sqrt(d_head)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.W_E[0, torch.arange(V), tok + torch.arange(V)] = 1.0
        model.W_pos[0, torch.arange(T), pos + torch.arange(T)] = 1.0
        # layer 1: query position t, key position s + 1 -> logit beta [s = t - 1]; value: token -> previous block
        model.W_Q[0, 0, 0, pos + torch.arange(T), torch.arange(T)] = scale
        model.W_K[0, 0, 0, pos + torch.arange(T - 1), torch.arange(1, T)] = 1.0
        model.W_V[0, 0, 0, tok + torch.arange(V), torch.arange(V)] = 1.0
        model.W_O[0, 0, 0, torch.arange(V), prev + torch.arange(V)] = 1.0
        # layer 2: query current token, key previous token -> logit beta [x_(s-1) = x_t]; value: token -> output
        model.W_Q[0, 1, 0, tok + torch.arange(V), torch.arange(V)] = scale
        model.W_K[0, 1, 0, prev + torch.arange(V), torch.arange(V)] = 1.0
        model.W_K[0, 1, 0, pos, :V] = -2.0  # position 0 has no previous token: keep it out of every match
        model.W_V[0, 1, 0, tok + torch.arange(V), torch.arange(V)] = 1.0
        model.W_O[0, 1, 0, torch.arange(V), out + torch.arange(V)] = 1.0
        model.W_U[0, out + torch.arange(V), torch.arange(V)] = beta
    return model


@dataclass(frozen=True)
class InductionRun:
    """What :func:`train_induction` records; ``S`` models, ``L`` layers, ``H`` heads, evaluations at ``step``.

    ``train_loss`` ``[steps, S]``: mean training loss per step; ``position_loss`` ``[E, S, T - 1]``:
    evaluation loss per position; the scores ``[E, S, L, H]`` on the evaluation sequences.
    """

    step: np.ndarray
    train_loss: np.ndarray
    position_loss: np.ndarray
    previous_token: np.ndarray
    prefix_matching: np.ndarray
    copying: np.ndarray

    def loss(self) -> np.ndarray:
        """Mean evaluation loss over all positions, ``[E, S]``."""
        return self.position_loss.mean(-1)


@torch.no_grad()
def evaluate_heads(model: AttentionOnlyTransformer, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-position loss ``[S, T - 1]`` and the three head scores ``[S, L, H]`` on ``tokens`` ``[B, T]``."""
    logits, patterns = model.run(tokens)
    S, B, T, V = logits.shape
    target = tokens[None, :, 1:].expand(S, B, T - 1)
    loss = torch.nn.functional.cross_entropy(logits[:, :, :-1].reshape(-1, V), target.reshape(-1), reduction="none")
    return {
        "position_loss": loss.view(S, B, T - 1).mean(1),
        "previous_token": _previous_token_score(patterns),
        "prefix_matching": prefix_matching_score(patterns, tokens),
        "copying": copying_score(model.ov_circuits()),
    }


def train_induction(
    model: AttentionOnlyTransformer,
    task: RepeatTask,
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    warmup: int = 0,
    eval_every: int = 50,
    num_eval: int = 256,
    seed: int = 0,
) -> InductionRun:
    """Train every model with Adam on fresh sequences of ``task`` (its own batch each step), recording scores.

    The loss summed over models keeps them independent (Adam acts per parameter). The learning rate
    rises linearly over ``warmup`` steps. Every ``eval_every`` steps (and at step 0 and the end),
    :func:`evaluate_heads` runs on ``num_eval`` fixed sequences drawn from ``seed + 1``.
    """
    if not isinstance(model, AttentionOnlyTransformer):
        raise TypeError(f"model must be an AttentionOnlyTransformer, got {type(model).__name__}")
    if not isinstance(task, RepeatTask):
        raise TypeError(f"task must be a RepeatTask, got {type(task).__name__}")
    if (task.vocab_size, task.seq_len) != (model.vocab_size, model.seq_len):
        raise ValueError(
            f"task must match the model's vocab_size and seq_len ({model.vocab_size}, {model.seq_len}), "
            f"got ({task.vocab_size}, {task.seq_len})"
        )
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_real("lr", lr, positive=True)
    warmup = check_int("warmup", warmup, minimum=0)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    num_eval = check_int("num_eval", num_eval, minimum=1)
    seed = check_seed("seed", seed)
    gen = torch.Generator().manual_seed(seed)
    eval_tokens, _ = task.sample(num_eval, generator=torch.Generator().manual_seed(seed + 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    S = model.num_models
    train_loss = np.empty((steps, S))
    records: dict[str, list[np.ndarray]] = {}
    eval_steps = []

    def record(step: int) -> None:
        eval_steps.append(step)
        for key, value in evaluate_heads(model, eval_tokens).items():
            records.setdefault(key, []).append(value.numpy().astype(np.float64))

    record(0)
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, step / warmup) if warmup else lr
        tokens, _ = task.sample(S * batch_size, generator=gen)
        per_model = model.token_loss(tokens.view(S, batch_size, -1)).mean(dim=(1, 2))
        if not torch.all(torch.isfinite(per_model)):
            raise FloatingPointError(f"training loss became non-finite at step {step}: lower lr (now {lr})")
        opt.zero_grad(set_to_none=True)
        per_model.sum().backward()
        opt.step()
        train_loss[step - 1] = per_model.detach().numpy()
        if step % eval_every == 0 or step == steps:
            record(step)
    return InductionRun(
        step=np.asarray(eval_steps),
        train_loss=train_loss,
        **{k: np.stack(v) for k, v in records.items()},
    )
