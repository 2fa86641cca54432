"""Small softmax transformers for in-context regression, several seeds trained in one tensor (chapter 7).

:class:`StackedICLTransformer` holds ``num_models`` independent transformers whose parameters are
stacked on a leading axis; :func:`sample_prompts` draws fresh prompts for each model from its own
task pool (or from the prior ``N(0, I)``), and :func:`train_icl` trains all models at once on fresh
prompts every step (Raventos et al. 2023's setting: a finite pool of tasks, unlimited inputs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._validate import check_int, check_real, check_seed

__all__ = ["StackedHistory", "StackedICLTransformer", "StackedPrompts", "per_model_mse", "sample_prompts", "train_icl"]


class StackedICLTransformer(nn.Module):
    """``num_models`` softmax transformers for in-context regression with stacked parameters.

    Tokens ``z`` ``[S, B, T, d_in]`` are embedded (``h = z E``), pass ``num_layers`` residual blocks
    ``h <- h + sum_heads softmax(q k^T / sqrt(d_head)) v W_O`` and, with ``mlp_ratio > 0``,
    ``h <- h + W_2 relu(W_1 h + b_1)`` (with ``layer_norm``, each block reads a normalised ``h``,
    pre-LN, no affine); the prediction is ``u . h`` at the last token. With ``softmax=False`` the
    attention is linear, ``(q k^T / sqrt(d_head)) v / T``. Weights are
    ``N(0, init_scale^2 / fan_in)`` drawn from ``seed``; no masks (every token sees every token).
    """

    def __init__(
        self,
        d_in: int,
        d_model: int = 16,
        *,
        num_layers: int = 2,
        num_heads: int = 1,
        mlp_ratio: int = 2,
        layer_norm: bool = True,
        softmax: bool = True,
        num_models: int = 1,
        init_scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.d_in = check_int("d_in", d_in, minimum=1)
        self.d_model = check_int("d_model", d_model, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.num_heads = check_int("num_heads", num_heads, minimum=1)
        if d_model % num_heads:
            raise ValueError(f"num_heads must divide d_model = {d_model}, got {num_heads}")
        self.d_head = d_model // num_heads
        self.mlp_ratio = check_int("mlp_ratio", mlp_ratio, minimum=0)
        self.layer_norm = bool(layer_norm)
        self.softmax = bool(softmax)
        self.num_models = check_int("num_models", num_models, minimum=1)
        s = check_real("init_scale", init_scale, nonnegative=True)
        gen = torch.Generator().manual_seed(check_seed("seed", seed))
        S, D, L, H, E, F = num_models, d_model, num_layers, num_heads, self.d_head, mlp_ratio * d_model

        def draw(*shape: int, fan_in: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(S, *shape, generator=gen) * (s / math.sqrt(fan_in)))

        self.embed = draw(d_in, D, fan_in=d_in)
        self.W_Q = draw(L, H, D, E, fan_in=D)
        self.W_K = draw(L, H, D, E, fan_in=D)
        self.W_V = draw(L, H, D, E, fan_in=D)
        self.W_O = draw(L, H, E, D, fan_in=D)
        if F:
            self.W_1 = draw(L, D, F, fan_in=D)
            self.b_1 = nn.Parameter(torch.zeros(S, L, F))
            self.W_2 = draw(L, F, D, fan_in=F)
        self.readout = draw(D, fan_in=D)

    def _norm(self, h: torch.Tensor) -> torch.Tensor:
        if not self.layer_norm:
            return h
        return (h - h.mean(-1, keepdim=True)) / torch.sqrt(h.var(-1, keepdim=True, unbiased=False) + 1e-5)

    def _check(self, tokens: torch.Tensor) -> torch.Tensor:
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a tensor, got {type(tokens).__name__}")
        if tokens.ndim == 3:
            tokens = tokens.expand(self.num_models, *tokens.shape)
        if tokens.ndim != 4 or tokens.shape[0] != self.num_models or tokens.shape[-1] != self.d_in:
            raise ValueError(
                f"tokens must have shape [B, T, {self.d_in}] or [{self.num_models}, B, T, {self.d_in}], "
                f"got {tuple(tokens.shape)}"
            )
        return tokens.to(self.embed.dtype)

    def run(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(predictions [S, B], attention logits per layer [S, H, B, T, T])`` for ``tokens`` ``[(S,) B, T, d_in]``."""
        z = self._check(tokens)
        h = torch.einsum("sbti,sid->sbtd", z, self.embed)
        logits = []
        for layer in range(self.num_layers):
            a = self._norm(h)
            q = torch.einsum("sbtd,shde->shbte", a, self.W_Q[:, layer])
            k = torch.einsum("sbtd,shde->shbte", a, self.W_K[:, layer])
            v = torch.einsum("sbtd,shde->shbte", a, self.W_V[:, layer])
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)
            logits.append(scores)
            weights = torch.softmax(scores, -1) if self.softmax else scores / scores.shape[-1]
            h = h + torch.einsum("shbte,shed->sbtd", weights @ v, self.W_O[:, layer])
            if self.mlp_ratio:
                a = self._norm(h)
                hidden = torch.relu(
                    torch.einsum("sbtd,sdf->sbtf", a, self.W_1[:, layer]) + self.b_1[:, layer, None, None]
                )
                h = h + torch.einsum("sbtf,sfd->sbtd", hidden, self.W_2[:, layer])
        return torch.einsum("sbd,sd->sb", self._norm(h[:, :, -1]), self.readout), logits

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Predictions ``[S, B]`` read out at the last token."""
        return self.run(tokens)[0]

    @torch.no_grad()
    def query_key_form(self, layer: int = 0, head: int = 0) -> torch.Tensor:
        """Attention logits of a first-layer head on raw tokens (no layer norm): ``z_i^T F z_j``, ``F`` ``[S, d_in, d_in]``.

        ``F = E W_Q W_K^T E^T / sqrt(d_head)``; exact for ``layer = 0`` without ``layer_norm``.
        """
        if self.layer_norm or layer != 0:
            raise ValueError("query_key_form needs layer = 0 and layer_norm = False (the form is then exact)")
        check_int("head", head, minimum=0, maximum=self.num_heads - 1)
        wq, wk = self.W_Q[:, 0, head], self.W_K[:, 0, head]
        return self.embed @ wq @ wk.transpose(1, 2) @ self.embed.transpose(1, 2) / math.sqrt(self.d_head)


@dataclass(frozen=True)
class StackedPrompts:
    """Prompts for ``S`` models at once: ``x`` ``[S, B, N + 1, d]``, ``y`` ``[S, B, N + 1]``, tasks ``w`` ``[S, B, d]``."""

    x: torch.Tensor
    y: torch.Tensor
    w: torch.Tensor

    @property
    def target(self) -> torch.Tensor:
        """The query labels ``[S, B]``."""
        return self.y[..., -1]

    def tokens(self) -> torch.Tensor:
        """Tokens ``(x_i, y_i, 1_query)`` ``[S, B, N + 1, d + 2]``; the query's label slot holds 0."""
        y = self.y.clone()
        y[..., -1] = 0.0
        flag = torch.zeros_like(y)
        flag[..., -1] = 1.0
        return torch.cat([self.x, y[..., None], flag[..., None]], dim=-1)


def sample_prompts(
    pools: Sequence[torch.Tensor | None],
    num_prompts: int,
    num_context: int,
    dim: int,
    *,
    noise: float,
    generator: torch.Generator,
) -> StackedPrompts:
    """Fresh prompts for each model ``s``: ``w`` uniform over the rows of ``pools[s]`` ``[M_s, dim]``, or ``N(0, I)`` if None.

    Inputs ``x ~ N(0, I_dim)`` and label noise ``noise * N(0, 1)`` are fresh for every prompt.
    """
    B = check_int("num_prompts", num_prompts, minimum=1)
    N = check_int("num_context", num_context, minimum=0)
    d = check_int("dim", dim, minimum=1)
    noise = check_real("noise", noise, nonnegative=True)
    S = len(pools)
    if S == 0:
        raise ValueError("pools must name one task pool (or None) per model, got none")
    for i, p in enumerate(pools):
        if p is not None and (not isinstance(p, torch.Tensor) or p.ndim != 2 or p.shape[1] != d or p.shape[0] == 0):
            raise ValueError(
                f"pools[{i}] must be None or a tensor [M, {d}] with M >= 1, got {getattr(p, 'shape', p)!r}"
            )
    x = torch.randn(S, B, N + 1, d, generator=generator)
    w = torch.randn(S, B, d, generator=generator)
    u = torch.rand(S, B, generator=generator)
    for i, p in enumerate(pools):
        if p is not None:
            w[i] = p.float()[(u[i] * p.shape[0]).long().clamp(max=p.shape[0] - 1)]
    y = torch.einsum("sbnd,sbd->sbn", x, w) + noise * torch.randn(S, B, N + 1, generator=generator)
    return StackedPrompts(x, y, w)


@dataclass(frozen=True)
class StackedHistory:
    """What :func:`train_icl` records: ``loss`` ``[steps, S]`` (training MSE per model), and every
    ``eval_every`` steps at ``eval_step`` ``[E]``: ``evals[name]`` ``[E, S]`` (test MSE per model) and
    ``probes[name]`` ``[E, S, ...]``."""

    loss: np.ndarray
    eval_step: np.ndarray
    evals: dict[str, np.ndarray]
    probes: dict[str, np.ndarray]


@torch.no_grad()
def per_model_mse(
    model: StackedICLTransformer, prompts: StackedPrompts | tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Mean squared error of each model on ``prompts`` (or ``(tokens, target)``), ``[S]``."""
    tokens, target = (prompts.tokens(), prompts.target) if isinstance(prompts, StackedPrompts) else prompts
    return ((model(tokens) - target) ** 2).mean(-1)


def train_icl(
    model: StackedICLTransformer,
    pools: Sequence[torch.Tensor | None],
    *,
    num_context: int,
    noise: float,
    steps: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    warmup: int = 50,
    decay_from: float = 1.0,
    eval_every: int = 50,
    eval_sets: Mapping[str, StackedPrompts] | None = None,
    probes: Mapping[str, Callable[[StackedICLTransformer], torch.Tensor]] | None = None,
    seed: int = 0,
) -> StackedHistory:
    """Train model ``s`` with Adam on fresh prompts of ``pools[s]`` (see :func:`sample_prompts`), all models at once.

    The summed loss keeps the models independent (Adam acts per parameter). The learning rate rises
    linearly over ``warmup`` steps and, from the fraction ``decay_from`` of the steps on, falls
    linearly to 0. ``eval_sets`` (name -> prompts ``[S, B, ...]``) and ``probes`` (name -> function
    of the model returning ``[S, ...]``) are recorded at step 0, every ``eval_every`` steps and at the end.
    """
    if not isinstance(model, StackedICLTransformer):
        raise TypeError(f"model must be a StackedICLTransformer, got {type(model).__name__}")
    if len(pools) != model.num_models:
        raise ValueError(f"pools must hold one entry per model ({model.num_models}), got {len(pools)}")
    dim = model.d_in - 2
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_real("lr", lr, positive=True)
    warmup = check_int("warmup", warmup, minimum=0)
    decay_from = check_real("decay_from", decay_from, low=0.0, high=1.0)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    gen = torch.Generator().manual_seed(check_seed("seed", seed))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = np.empty((steps, model.num_models))
    eval_step: list[int] = []
    evals: dict[str, list[np.ndarray]] = {}
    probed: dict[str, list[np.ndarray]] = {}

    def record(step: int) -> None:
        eval_step.append(step)
        for name, prompts in (eval_sets or {}).items():
            evals.setdefault(name, []).append(per_model_mse(model, prompts).numpy().astype(np.float64))
        with torch.no_grad():
            for name, fn in (probes or {}).items():
                probed.setdefault(name, []).append(np.asarray(fn(model), dtype=np.float64))

    def factor(step: int) -> float:
        rise = min(1.0, step / warmup) if warmup else 1.0
        start = decay_from * steps
        fall = 1.0 if step <= start or decay_from >= 1.0 else max(0.0, (steps - step) / (steps - start))
        return rise * fall

    record(0)
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr * factor(step)
        prompts = sample_prompts(pools, batch_size, num_context, dim, noise=noise, generator=gen)
        per_model = ((model(prompts.tokens()) - prompts.target) ** 2).mean(-1)
        if not torch.all(torch.isfinite(per_model)):
            raise FloatingPointError(f"training loss became non-finite at step {step}: lower lr (now {lr})")
        opt.zero_grad(set_to_none=True)
        per_model.sum().backward()
        opt.step()
        losses[step - 1] = per_model.detach().numpy()
        if step % eval_every == 0 or step == steps:
            record(step)
    return StackedHistory(
        loss=losses,
        eval_step=np.asarray(eval_step),
        evals={k: np.stack(v) for k, v in evals.items()},
        probes={k: np.stack(v) for k, v in probed.items()},
    )
