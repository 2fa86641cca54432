"""The training loop of chapters 1, 5 and 7 (introduced in chapter 1).

Chapter 6 trains its batch of modular-arithmetic networks with :func:`utils.grokking.train_modular`
(full-batch, every network's record per step), and chapter 10 its toy models with a few lines of
its own.

>>> history = train(model, torch.nn.functional.mse_loss, (x, y),
...                 steps=500, lr=1e-2)
>>> history.loss[-1]                    # training loss at the last step
>>> history.evals["test/accuracy"]      # recorded every eval_every steps
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ._validate import (
    check_bool,
    check_callable,
    check_choice,
    check_data,
    check_int,
    check_mean_loss,
    check_module,
    check_real,
    check_seed,
    eval_mode,
)
from .progress import progress as _progress

__all__ = ["OPTIMIZERS", "History", "num_parameters", "train"]

Data = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Metric = Callable[[torch.Tensor, torch.Tensor], float]

OPTIMIZERS = ("sgd", "adam", "adamw")


@dataclass(frozen=True)
class History:
    """What :func:`train` records.

    ``step``/``loss``: the (minibatch) training loss of every optimisation step, computed before
    that step's update (``loss[0]`` is the loss of the initial parameters, on the first batch).
    ``eval_step``/``evals``: every ``eval_every`` steps (after that step's update), each metric on each evaluation set,
    keyed ``"<set>/<metric>"``; ``"<set>/loss"`` is always recorded.
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    evals: dict[str, list[float | np.ndarray]] = field(default_factory=dict)

    def final(self, key: str) -> float:
        """The last recorded value of an evaluation ``key`` (e.g. ``"test/accuracy"``)."""
        if key not in self.evals:
            raise KeyError(f"no evaluation named {key!r}; recorded: {sorted(self.evals)}")
        return self.evals[key][-1]

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every record as a NumPy array, keyed ``step``, ``loss``, ``eval_step`` and the ``evals`` keys (chapter 7)."""
        out = {"step": np.asarray(self.step), "loss": np.asarray(self.loss), "eval_step": np.asarray(self.eval_step)}
        out.update({k: np.asarray(v) for k, v in self.evals.items()})
        return out


def _probe_value(name: str, value: object) -> float | np.ndarray:
    """A probe's reading: a float for a number, a NumPy copy for an array or tensor of several."""
    arr = np.array(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    if arr.ndim == 0:
        return float(arr)
    if arr.size == 0:
        raise ValueError(f"probes[{name!r}] returned an empty array")
    return arr


def _make_optimizer(name: str, params, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _check_mapping(name: str, value: Mapping | None) -> dict:
    """``value`` (a mapping from names, or None for none) as a dict, else raise TypeError naming ``name``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict from names to values, got {type(value).__name__}")
    return dict(value)


def num_parameters(model: nn.Module) -> int:
    """Number of trainable scalar parameters of ``model`` (shared ones counted once)."""
    return int(sum(p.numel() for p in check_module("model", model).parameters() if p.requires_grad))


@torch.no_grad()
def _evaluate(
    model: nn.Module, loss_fn: LossFn, data: Data, metrics: Mapping[str, Metric] | None = None
) -> dict[str, float]:
    """Full-data loss and metrics of ``model`` on ``data`` (model put in eval mode, then restored)."""
    x, y = check_data("data", data)
    with eval_mode(check_module("model", model)):
        out = model(x)
    result = {"loss": float(loss_fn(out, y))}
    for name, fn in (metrics or {}).items():
        result[name] = float(fn(out, y))
    return result


def train(
    model: nn.Module,
    loss_fn: LossFn,
    data: Data,
    *,
    steps: int,
    lr: float = 1e-3,
    optimizer: str = "adamw",
    weight_decay: float = 0.0,
    momentum: float = 0.0,
    batch_size: int | None = None,
    eval_every: int | None = None,
    eval_sets: Mapping[str, Data] | None = None,
    metrics: Mapping[str, Metric] | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    grad_clip: float | None = None,
    seed: int = 0,
    progress: bool = True,
    probes: Mapping[str, Callable[[nn.Module], float | np.ndarray]] | None = None,
) -> History:
    """Minimise the mean loss ``loss_fn(model(x), y)`` over ``data = (x, y)`` for ``steps`` steps.

    Full-batch when ``batch_size`` is None, else minibatches drawn by reshuffling each epoch
    (order seeded by ``seed``; seed the model's initialisation yourself before building it).
    ``lr_schedule(step)`` multiplies ``lr``. Every ``eval_every`` steps (and at the end) the
    loss and ``metrics`` are evaluated on each of ``eval_sets`` (default ``{"train": data}``).
    ``probes`` (name -> function of the model, e.g. an attention score) are recorded at the same
    steps as ``"probe/<name>"``: a number, or an array (e.g. one value per network of a batched
    model, chapter 5), copied as it is. The model is trained in place; a non-finite loss stops training
    with an error.
    """
    check_module("model", model)
    check_callable("loss_fn", loss_fn, "loss_fn(model(x), y)")
    x, y = check_data("data", data)
    steps = check_int("steps", steps, minimum=1)
    lr = check_real("lr", lr, positive=True)
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    weight_decay = check_real("weight_decay", weight_decay, nonnegative=True)
    momentum = check_real("momentum", momentum, low=0.0, high=1.0)
    if momentum and optimizer != "sgd":
        raise ValueError(
            f"momentum applies to optimizer='sgd' only, got optimizer={optimizer!r} with momentum={momentum}"
        )
    n = x.shape[0]
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
        if batch_size > n:
            raise ValueError(f"batch_size must be <= the number of samples ({n}), got {batch_size}")
    if eval_every is not None:
        eval_every = check_int("eval_every", eval_every, minimum=1)
    if grad_clip is not None:
        grad_clip = check_real("grad_clip", grad_clip, positive=True)
    seed = check_seed("seed", seed)
    if lr_schedule is not None:
        check_callable("lr_schedule", lr_schedule, "lr_schedule(step) -> factor")
    sets = {"train": (x, y)} if eval_sets is None else _check_mapping("eval_sets", eval_sets)
    for name, d in sets.items():
        check_data(f"eval_sets[{name!r}]", d)
    for name, fn in _check_mapping("metrics", metrics).items():
        check_callable(f"metrics[{name!r}]", fn, "metric(model(x), y) -> number")
    for name, fn in _check_mapping("probes", probes).items():
        check_callable(f"probes[{name!r}]", fn, "probe(model) -> number")
    progress = check_bool("progress", progress)
    check_mean_loss(model, loss_fn, x, y, sum_ok=True)

    opt = _make_optimizer(optimizer, model.parameters(), lr, weight_decay, momentum)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    history = History()
    perm, cursor = None, n

    def record(step: int) -> None:
        history.eval_step.append(step)
        for set_name, d in sets.items():
            for key, value in _evaluate(model, loss_fn, d, metrics).items():
                history.evals.setdefault(f"{set_name}/{key}", []).append(value)
        for name, fn in (probes or {}).items():
            with torch.no_grad():
                history.evals.setdefault(f"probe/{name}", []).append(_probe_value(name, fn(model)))

    model.train()
    bar = _progress(range(1, steps + 1), desc="training", total=steps) if progress else range(1, steps + 1)
    for step in bar:
        if batch_size is None:
            xb, yb = x, y
        else:
            if cursor + batch_size > n:
                perm, cursor = torch.randperm(n, generator=gen).to(x.device), 0
            idx = perm[cursor : cursor + batch_size]
            cursor += batch_size
            xb, yb = x[idx], y[idx]
        if lr_schedule is not None:
            for group in opt.param_groups:
                group["lr"] = lr * float(lr_schedule(step))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(
                f"training loss became {value} at step {step}: lower lr (now {lr}) or set grad_clip"
            )
        loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        history.step.append(step)
        history.loss.append(value)
        if eval_every is not None and step % eval_every == 0:
            record(step)
    if not history.eval_step or history.eval_step[-1] != steps:
        record(steps)
    return history
