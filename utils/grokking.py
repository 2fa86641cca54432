"""Training many modular-arithmetic networks at once, and reading grokking off their curves (chapter 6).

:func:`train_modular` trains every network of a :class:`ModularMLP` on its own
training split, full batch, with AdamW. Each network may have its own weight decay (a
decoupled decay ``w <- (1 - lr * wd_m) w`` before each Adam step, exactly what
``torch.optim.AdamW`` does, but with one ``wd_m`` per network). It records:

- the training loss and accuracy of every network after **every** step (they come free with
  the training forward pass), so the step at which training accuracy first reaches 100 % is
  exact;
- every ``eval_every`` steps, the train and test loss and accuracy over all ``p**2`` pairs, and
  each network's parameter norm; every ``snapshot_every`` steps, a copy of all parameters (for
  the Fourier progress measures of :mod:`utils.fourier`).

:func:`grokking_steps` reads off step A (train accuracy first at 100 %) and step B (test accuracy
first above 95 %), and :func:`classify_run` names a run's phase in the vocabulary of
Liu et al. (2022): comprehension, grokking, memorisation or confusion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real

import numpy as np
import torch
from torch import nn

from ._validate import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_seed,
    check_tensor,
    check_token_range,
)
from .modular import ModularData
from .progress import progress as _progress

__all__ = [
    "MODULAR_ACTIVATIONS",
    "ModularHistory",
    "ModularMLP",
    "PHASES",
    "classify_run",
    "first_step",
    "grokking_steps",
    "train_modular",
]

#: The hidden-layer activations :class:`ModularMLP` knows (chapter 6): Gromov's quadratic and ReLU.
MODULAR_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "quadratic": torch.square,
    "relu": torch.relu,
}


class ModularMLP(nn.Module):
    """``num_models`` independent one-hidden-layer networks for ``(a op b) mod p`` (chapter 6).

    Network ``m`` has a token embedding ``E`` (``p x embed_dim``) shared by both operands, two input
    maps ``W_a, W_b`` (``embed_dim x width``) and an unembedding ``W_out`` (``width x p``)::

        logits(a, b)[c] = sum_j W_out[j, c] * phi(U[a, j] + V[b, j]),
        U = E W_a,  V = E W_b

    with ``phi(z) = z**2`` (``"quadratic"``, as in Gromov 2023) or ReLU, and no biases. Network ``m``
    is initialised from a generator seeded with ``seed + m`` (so it equals the lone network built
    with that seed), or with ``seeds[m]`` when ``seeds`` is given (so that networks in different
    conditions can share an initialisation): ``E ~ N(0, 1)``, ``W_a, W_b ~ N(0, 1 / (2 embed_dim))``
    (unit-variance pre-activations) and ``W_out ~ N(0, 1 / width)``, all multiplied by
    ``init_scale`` (one number, or one per network: the initialisation scale of Liu et al.'s
    Omnigrok, 2023). Parameters of different networks never mix.
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
        seeds: Sequence[int] | None = None,
        init_scale: float | Sequence[float] = 1.0,
    ) -> None:
        super().__init__()
        self.p = check_int("p", p, minimum=2)
        self.embed_dim = check_int("embed_dim", embed_dim, minimum=1)
        self.width = check_int("width", width, minimum=1)
        if not isinstance(activation, str):
            raise TypeError(f"activation must be one of {tuple(MODULAR_ACTIVATIONS)}, got {type(activation).__name__}")
        self.activation = check_choice("activation", activation, MODULAR_ACTIVATIONS)
        self.num_models = check_int("num_models", num_models, minimum=1)
        seed = check_seed("seed", seed)
        if seeds is None:
            net_seeds = [seed + m for m in range(self.num_models)]
        else:
            if isinstance(seeds, (str, bytes)) or np.ndim(seeds) != 1 or len(seeds) != self.num_models:
                raise ValueError(f"seeds must be a sequence of one seed per network ({self.num_models}), got {seeds!r}")
            net_seeds = [
                check_seed(f"seeds[{m}]", int(s) if isinstance(s, np.integer) else s) for m, s in enumerate(seeds)
            ]
        scales = _per_model("init_scale", init_scale, self.num_models)
        if np.any(scales <= 0):
            raise ValueError(f"init_scale must be > 0, got {init_scale!r}")
        d, n = self.embed_dim, self.width
        shapes = {"embed": (p, d, 1.0), "w_a": (d, n, 1 / (2 * d)), "w_b": (d, n, 1 / (2 * d)), "w_out": (n, p, 1 / n)}
        draws: dict[str, list[torch.Tensor]] = {k: [] for k in shapes}
        for m in range(self.num_models):
            gen = torch.Generator().manual_seed(net_seeds[m])
            for name, (rows, cols, var) in shapes.items():
                draws[name].append(torch.randn(rows, cols, generator=gen) * (math.sqrt(var) * float(scales[m])))
        self.embed = nn.Parameter(torch.stack(draws["embed"]))  # [models, p, embed_dim]
        self.w_a = nn.Parameter(torch.stack(draws["w_a"]))  # [models, embed_dim, width]
        self.w_b = nn.Parameter(torch.stack(draws["w_b"]))  # [models, embed_dim, width]
        self.w_out = nn.Parameter(torch.stack(draws["w_out"]))  # [models, width, p]

    @classmethod
    def from_weights(
        cls, embed: np.ndarray, w_a: np.ndarray, w_b: np.ndarray, w_out: np.ndarray, *, activation: str = "quadratic"
    ) -> ModularMLP:
        """A network with the given weights (shapes ``[p, d], [d, N], [d, N], [N, p]``, or with a leading model axis)."""
        named = {"embed": embed, "w_a": w_a, "w_b": w_b, "w_out": w_out}
        arrays = [torch.as_tensor(check_array(k, w).astype(np.float32)) for k, w in named.items()]
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
        check_tensor("x", x, kind="int")
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.num_models, -1, -1)
        if x.ndim != 3 or x.shape[0] != self.num_models or x.shape[2] != 2:
            raise ValueError(f"x must have shape [n, 2] or [{self.num_models}, n, 2], got {tuple(x.shape)}")
        check_token_range("x", x, self.p)
        u, v = self.tables()
        rows = torch.arange(self.num_models, device=x.device).unsqueeze(1)
        h = u[rows, x[..., 0]] + v[rows, x[..., 1]]
        return torch.bmm(MODULAR_ACTIVATIONS[self.activation](h), self.w_out)

    def all_logits(self) -> torch.Tensor:
        """Logits for every pair, ``[models, p * p, p]``, row ``a * p + b`` for the pair ``(a, b)``."""
        u, v = self.tables()
        h = (u.unsqueeze(2) + v.unsqueeze(1)).flatten(1, 2)  # [models, p * p, width]
        return torch.bmm(MODULAR_ACTIVATIONS[self.activation](h), self.w_out)


PHASES = ("comprehension", "grokking", "memorisation", "confusion")

_ADAM_EPS = 1e-8  # torch.optim.AdamW's default eps


@dataclass(frozen=True)
class ModularHistory:
    """What :func:`train_modular` records; arrays have one column per network.

    ``step_loss``/``step_acc``: ``[steps + 1, models]``, training loss (nats) and accuracy of the
    parameters after ``t`` steps, row ``t``. ``eval_step``: the steps of the full evaluations;
    ``train_acc``, ``test_acc``, ``train_loss``, ``test_loss``, ``weight_norm`` (the L2 norm of all
    of a network's parameters): ``[len(eval_step), models]``. ``snapshots``: ``{step: {name:
    array [models, ...]}}``. ``train_mask``/``test_mask``/``labels``: ``[models, p * p]`` over the
    pairs ``a * p + b``.
    """

    step_loss: np.ndarray
    step_acc: np.ndarray
    eval_step: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    weight_norm: np.ndarray
    train_mask: np.ndarray
    test_mask: np.ndarray
    labels: np.ndarray
    weight_decay: np.ndarray
    snapshots: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)


def _masks(data: Sequence[tuple[ModularData, ModularData]], p: int) -> tuple[np.ndarray, ...]:
    m = len(data)
    train_mask = np.zeros((m, p * p), dtype=bool)
    test_mask = np.zeros((m, p * p), dtype=bool)
    labels = np.full((m, p * p), -1, dtype=np.int64)
    for i, pair in enumerate(data):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(d, ModularData) for d in pair)):
            raise TypeError(f"data[{i}] must be a (train, test) pair of ModularData, as modular_arithmetic returns")
        train, test = pair
        if train.p != p or test.p != p:
            raise ValueError(f"data[{i}] is for p = {train.p}, {test.p}; the model has p = {p}")
        if train.op != test.op:
            raise ValueError(f"data[{i}]: train and test use different operations ({train.op!r}, {test.op!r})")
        if np.intersect1d(train.pair_index, test.pair_index).size:
            raise ValueError(f"data[{i}]: the train and test splits share pairs")
        train_mask[i, train.pair_index] = True
        test_mask[i, test.pair_index] = True
        labels[i, train.pair_index] = train.y.numpy()
        labels[i, test.pair_index] = test.y.numpy()
    return train_mask, test_mask, labels


def _per_model(name: str, value: float | Sequence[float], m: int) -> np.ndarray:
    values = np.atleast_1d(check_array(name, value, nonnegative=True))
    if values.ndim != 1 or values.size not in (1, m):
        raise ValueError(f"{name} must be one number or one per network ({m}), got {value!r}")
    return np.broadcast_to(values, (m,)).copy()


def train_modular(
    model: ModularMLP,
    data: Sequence[tuple[ModularData, ModularData]],
    *,
    steps: int,
    lr: float | Sequence[float] = 1e-2,
    weight_decay: float | Sequence[float] = 1.0,
    betas: tuple[float, float] = (0.9, 0.98),
    eval_every: int = 10,
    snapshot_every: int | None = None,
    progress: bool = True,
) -> ModularHistory:
    """Minimise each network's mean cross-entropy on its own training split, full batch, with AdamW.

    ``data[m]`` is network ``m``'s ``(train, test)`` pair from :func:`utils.modular.modular_arithmetic`.
    ``lr`` and ``weight_decay`` are one number each or one per network: network ``m`` takes
    exactly the steps of ``torch.optim.AdamW(lr=lr[m], weight_decay=weight_decay[m])`` run on it
    alone. The model is trained in place; a non-finite loss stops training with an error.
    """
    if not isinstance(model, ModularMLP):
        raise TypeError(f"model must be a utils.grokking.ModularMLP, got {type(model).__name__}")
    m, p = model.num_models, model.p
    if not isinstance(data, (list, tuple)) or len(data) != m:
        got = f"{len(data)}" if isinstance(data, (list, tuple)) else type(data).__name__
        raise ValueError(f"data must be a list of {m} (train, test) pairs, one per network, got {got}")
    steps = check_int("steps", steps, minimum=1)
    lrs = _per_model("lr", lr, m)
    if np.any(lrs <= 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    wd = _per_model("weight_decay", weight_decay, m)
    if np.any(lrs * wd >= 1):
        raise ValueError(
            f"weight_decay must satisfy lr * weight_decay < 1 (the decay factor 1 - lr * wd must stay positive), got {wd.max()}"
        )
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise TypeError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
    if not all(0.0 <= check_real("betas", b) < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    beta1, beta2 = float(betas[0]), float(betas[1])
    eval_every = check_int("eval_every", eval_every, minimum=1)
    snapshot_every = eval_every if snapshot_every is None else check_int("snapshot_every", snapshot_every, minimum=1)
    progress = check_bool("progress", progress)
    train_mask, test_mask, labels = _masks(data, p)

    # each network's training pairs, padded to the longest split with zero weight
    n_train = train_mask.sum(1)
    n_max = int(n_train.max())
    index = np.zeros((m, n_max), dtype=np.int64)
    weight = np.zeros((m, n_max), dtype=np.float32)
    for i in range(m):
        rows = np.flatnonzero(train_mask[i])
        index[i, : rows.size] = rows
        weight[i, : rows.size] = 1.0 / rows.size
    index_t = torch.as_tensor(index)
    x = torch.stack([index_t // p, index_t % p], dim=-1)  # [models, n_max, 2]
    y = torch.as_tensor(np.take_along_axis(labels, index, 1))
    w = torch.as_tensor(weight)
    real = w > 0
    labels_t = torch.as_tensor(np.maximum(labels, 0))
    masks = {"train": torch.as_tensor(train_mask), "test": torch.as_tensor(test_mask)}

    params = [model.embed, model.w_a, model.w_b, model.w_out]
    # AdamW by hand, as torch.optim.AdamW computes it, with one learning rate per network
    moments = [(torch.zeros_like(q), torch.zeros_like(q)) for q in params]
    lr_t = torch.as_tensor(lrs, dtype=torch.float32).view(m, 1, 1)
    decay = torch.as_tensor(1.0 - lrs * wd, dtype=torch.float32).view(m, 1, 1)
    step_loss = np.zeros((steps + 1, m))
    step_acc = np.zeros((steps + 1, m))
    evals: dict[str, list[np.ndarray]] = {
        k: [] for k in ("train_acc", "test_acc", "train_loss", "test_loss", "weight_norm")
    }
    eval_steps: list[int] = []
    snapshots: dict[int, dict[str, np.ndarray]] = {}

    @torch.no_grad()
    def evaluate(step: int) -> None:
        logits = model.all_logits()
        nll = nn.functional.cross_entropy(logits.transpose(1, 2), labels_t, reduction="none")  # [models, p * p]
        correct = (logits.argmax(-1) == labels_t).float()
        for name, mask in masks.items():
            count = mask.sum(1).clamp(min=1)
            evals[f"{name}_acc"].append(((correct * mask).sum(1) / count).numpy())
            evals[f"{name}_loss"].append(((nll * mask).sum(1) / count).numpy())
        evals["weight_norm"].append(torch.sqrt(sum((q.detach() ** 2).sum((1, 2)) for q in params)).numpy())
        eval_steps.append(step)

    def snapshot(step: int) -> None:
        snapshots[step] = {
            name: q.detach().numpy().copy() for name, q in zip(("embed", "w_a", "w_b", "w_out"), params, strict=True)
        }

    bar = _progress(range(1, steps + 2), desc="training", total=steps + 1) if progress else range(1, steps + 2)
    for t in bar:  # iteration t measures the parameters after t - 1 steps, then takes step t
        out = model(x)
        nll = nn.functional.cross_entropy(out.transpose(1, 2), y, reduction="none")  # [models, n_max]
        per_model = (nll * w).sum(1)
        with torch.no_grad():
            step_loss[t - 1] = per_model.numpy()
            step_acc[t - 1] = (((out.argmax(-1) == y) & real).sum(1) / torch.as_tensor(n_train)).numpy()
        if not np.all(np.isfinite(step_loss[t - 1])):
            bad = int(np.flatnonzero(~np.isfinite(step_loss[t - 1]))[0])
            raise FloatingPointError(
                f"training loss of network {bad} became {step_loss[t - 1, bad]} after {t - 1} steps: "
                f"lower lr (now {lrs[bad]:g})"
            )
        if (t - 1) % eval_every == 0 or t - 1 == steps:
            evaluate(t - 1)
        if (t - 1) % snapshot_every == 0 or t - 1 == steps:
            snapshot(t - 1)
        if t > steps:
            break
        for q in params:
            q.grad = None
        per_model.sum().backward()
        with torch.no_grad():
            bias1, bias2 = 1.0 - beta1**t, 1.0 - beta2**t
            for q, (avg, avg_sq) in zip(params, moments, strict=True):
                q.mul_(decay)  # decoupled weight decay, then the Adam step
                avg.lerp_(q.grad, 1.0 - beta1)
                avg_sq.mul_(beta2).addcmul_(q.grad, q.grad, value=1.0 - beta2)
                denom = (avg_sq.sqrt() / math.sqrt(bias2)).add_(_ADAM_EPS)
                q.sub_((lr_t / bias1) * avg / denom)
    stacked = {k: np.stack(v) for k, v in evals.items()}
    return ModularHistory(
        step_loss=step_loss,
        step_acc=step_acc,
        eval_step=np.asarray(eval_steps),
        train_mask=train_mask,
        test_mask=test_mask,
        labels=labels,
        weight_decay=wd,
        snapshots=snapshots,
        **stacked,
    )


def first_step(steps: np.ndarray, values: np.ndarray, threshold: float, *, strict: bool = False) -> float:
    """The first entry of ``steps`` where ``values >= threshold`` (``>`` if ``strict``), or ``nan`` if never."""
    steps, values = check_array("steps", steps), check_array("values", values)
    threshold = check_real("threshold", threshold)
    strict = check_bool("strict", strict)
    if steps.shape != values.shape or steps.ndim != 1:
        raise ValueError(
            f"steps and values must be 1-D arrays of the same length, got {steps.shape} and {values.shape}"
        )
    hit = values > threshold if strict else values >= threshold
    return float(steps[np.argmax(hit)]) if hit.any() else math.nan


def grokking_steps(history: ModularHistory, *, test_threshold: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Per network, step A (training accuracy first 100 %) and step B (test accuracy first above ``test_threshold``).

    A is exact (training accuracy is recorded after every step); B is resolved to the
    evaluation interval. ``nan`` where the threshold is never reached.
    """
    check_real("test_threshold", test_threshold, low=0.0, high=1.0)
    all_steps = np.arange(history.step_acc.shape[0])
    a = np.array([first_step(all_steps, col, 1.0) for col in history.step_acc.T])
    b = np.array([first_step(history.eval_step, col, test_threshold, strict=True) for col in history.test_acc.T])
    return a, b


def _step(name: str, value: float) -> float:
    """A step number (a real ``>= 0``) or ``nan`` for "never reached", as a float; else raise naming ``name``."""
    if isinstance(value, Real) and not isinstance(value, bool) and math.isnan(value):
        return math.nan
    return check_real(name, value, nonnegative=True)


def classify_run(step_a: float, step_b: float, *, ratio: float = 5.0) -> str:
    """Name a run's phase from its steps A and B (``nan`` = never reached) within the training budget.

    ``"comprehension"``: test accuracy passes the threshold before ``ratio * A`` (or without the
    training set ever being fitted exactly); ``"grokking"``: it does, but only at ``B >= ratio * A``;
    ``"memorisation"``: the training set is fitted, the test set never is; ``"confusion"``: neither.
    """
    ratio = check_real("ratio", ratio, positive=True)
    a, b = _step("step_a", step_a), _step("step_b", step_b)
    if not math.isnan(b):
        return "grokking" if not math.isnan(a) and b >= ratio * max(a, 1.0) else "comprehension"
    return "memorisation" if not math.isnan(a) else "confusion"
