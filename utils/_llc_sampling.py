"""The Langevin samplers under :mod:`utils.llc`: the SGLD step, MALA, and the step-size rules (chapter 9).

All chains run in lockstep on a ``[chains, d]`` tensor of flat parameters; each chain draws its
noise and uniforms from its own generator, so the numbers do not depend on how the losses are
evaluated (fast, gram, vmap or loop path).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ._llc_batched import ChainLoss
from ._validate import check_real, check_tensor

#: SGLD's ``step_size="auto"`` rule: ``eps = SGLD_EPS_CURVATURE / (largest curvature of the potential)``.
SGLD_EPS_CURVATURE = 0.1


class SamplerDivergedError(RuntimeError):
    """A chain produced NaN/inf or an exploding loss (lower step_size or raise localization)."""


def sgld_step(
    w: torch.Tensor,
    grad: torch.Tensor,
    w_star: torch.Tensor,
    noise: torch.Tensor,
    *,
    step_size: float,
    nbeta: float,
    localization: float,
) -> torch.Tensor:
    """One SGLD step: ``w - eps/2 * (nbeta * grad + localization * (w - w*)) + sqrt(eps) * noise`` (chapter 9).

    ``w``, ``grad`` and ``noise`` are tensors of one shape (``[d]``, or ``[chains, d]``); ``w_star``
    broadcasts against them.
    """
    for name, t in (("w", w), ("grad", grad), ("w_star", w_star), ("noise", noise)):
        check_tensor(name, t, kind="float")
    for name, t in (("grad", grad), ("noise", noise)):
        if t.shape != w.shape:
            raise ValueError(f"{name} must have the shape of w, {tuple(w.shape)}, got {tuple(t.shape)}")
    if torch.broadcast_shapes(w.shape, w_star.shape) != w.shape:
        raise ValueError(f"w_star must broadcast against w of shape {tuple(w.shape)}, got {tuple(w_star.shape)}")
    return _sgld_update(
        w,
        grad,
        w_star,
        noise,
        check_real("step_size", step_size, positive=True),
        check_real("nbeta", nbeta, positive=True),
        check_real("localization", localization, nonnegative=True),
    )


def _sgld_update(
    w: torch.Tensor,
    grad: torch.Tensor,
    w_star: torch.Tensor,
    noise: torch.Tensor,
    eps: float,
    nbeta: float,
    gamma: float,
) -> torch.Tensor:
    """:func:`sgld_step` without its argument checks (the samplers' inner loop)."""
    drift = nbeta * grad + gamma * (w - w_star)
    return w - 0.5 * eps * drift + math.sqrt(eps) * noise


class DualAveraging:
    """Step-size adaptation to a target acceptance (Hoffman & Gelman 2014, Alg. 5; Stan's constants)."""

    def __init__(self, eps0: float, target: float, t0: float = 10.0, gamma: float = 0.05, kappa: float = 0.75):
        self.mu, self.target, self.t0, self.gamma, self.kappa = math.log(10 * eps0), target, t0, gamma, kappa
        self.t, self.h_bar, self.log_bar = 0, 0.0, math.log(eps0)

    def update(self, accept_prob: float) -> float:
        """Record one step's mean acceptance probability; return the next step size."""
        self.t += 1
        eta = 1.0 / (self.t + self.t0)
        self.h_bar = (1 - eta) * self.h_bar + eta * (self.target - accept_prob)
        log_eps = self.mu - math.sqrt(self.t) / self.gamma * self.h_bar
        weight = self.t**-self.kappa
        self.log_bar = weight * log_eps + (1 - weight) * self.log_bar
        return math.exp(log_eps)

    @property
    def final(self) -> float:
        """The averaged step size, used after burn-in."""
        return math.exp(self.log_bar)


class _Potential:
    """``U = nbeta L + gamma/2 |w - w*|^2`` and its gradient ``D`` for all chains, from a :class:`ChainLoss`."""

    def __init__(self, f: ChainLoss, nbeta: float, gamma: float):
        self.f, self.nbeta, self.gamma = f, nbeta, gamma

    def __call__(
        self, w: torch.Tensor, idx: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        loss, grad = self.f(w, idx)
        assert grad is not None
        u = self.nbeta * loss.double() + 0.5 * self.gamma * (w - self.f.w_star).double().square().sum(1)
        return loss, grad, u, self.nbeta * grad + self.gamma * (w - self.f.w_star)


def log_accept(
    w: torch.Tensor,
    u: torch.Tensor,
    new: torch.Tensor,
    new_u: torch.Tensor,
    new_drift: torch.Tensor,
    noise: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    """Log Metropolis-Hastings ratio of the Langevin move ``w -> new = w - eps/2 D(w) + sqrt(eps) noise``."""
    back = (w - new + 0.5 * eps * new_drift).double().square().sum(1) / (2 * eps)
    return u - new_u - back + 0.5 * noise.double().square().sum(1)


def max_curvature(
    pot: _Potential, w: torch.Tensor, idx: torch.Tensor | None, gen: torch.Generator, iters: int = 12
) -> float:
    """Largest eigenvalue of the Hessian of ``U`` at each chain (power iteration on gradient differences), max over chains."""
    _, _, _, drift = pot(w, idx)
    v = torch.randn(w.shape, generator=gen, dtype=w.dtype)
    h = 1e-3 * max(1.0, float(w.double().square().mean().sqrt()))
    lam = torch.zeros(w.shape[0], dtype=torch.float64)
    for _ in range(iters):
        v = v / v.norm(dim=1, keepdim=True)
        hv = (pot(w + h * v, idx)[3] - drift) / h
        lam = (v * hv).double().sum(1)
        v = torch.nan_to_num(hv, nan=0.0)
        if not bool((v.norm(dim=1) > 0).all()):
            break
    return float(torch.nan_to_num(lam, nan=math.inf).max())


def initial_step_size(pot: _Potential, w: torch.Tensor, noise: torch.Tensor, idx: torch.Tensor | None) -> float:
    """Double or halve ``eps`` from ``0.1 / nbeta`` until the mean acceptance crosses 1/2 (Hoffman & Gelman 2014)."""
    _, grad, u, _ = pot(w, idx)
    eps, direction = 0.1 / pot.nbeta, 0
    for _ in range(40):
        new = _sgld_update(w, grad, pot.f.w_star, noise, eps, pot.nbeta, pot.gamma)
        _, _, new_u, new_drift = pot(new, idx)
        prob = torch.nan_to_num(log_accept(w, u, new, new_u, new_drift, noise, eps).clamp(max=0).exp(), nan=0.0)
        step = 1 if float(prob.mean()) > 0.5 else -1
        if direction and step != direction:
            break
        direction, eps = step, eps * 2.0**step
    return eps


def minibatches(n: int, batch_size: int, chains: int, steps: int, gen: torch.Generator) -> torch.Tensor:
    """``[chains, steps, batch_size]`` sample indices: one random permutation per epoch and chain."""
    per_epoch = n // batch_size
    epochs = -(-steps // per_epoch)
    perms = torch.stack([torch.stack([torch.randperm(n, generator=gen) for _ in range(epochs)]) for _ in range(chains)])
    return perms[:, :, : per_epoch * batch_size].reshape(chains, epochs * per_epoch, batch_size)[:, :steps]


@dataclass
class Run:
    """What the sampling loop hands back: per-draw losses and squared distances from ``w*``, the full-batch
    losses for R-hat, the final step size, the acceptance rate (MALA) and the burn-in actually run."""

    losses: torch.Tensor
    dist2: torch.Tensor
    full: torch.Tensor
    step_size: float
    accept: float | None
    burnin: int


def relaxed_burnin(burnin: int, eps: float, gamma: float, relax: float, max_burnin: int) -> int:
    """The burn-in that lasts ``relax`` relaxation times ``1 / (gamma eps)`` (at least ``burnin``, at most ``max_burnin``)."""
    if gamma <= 0 or eps <= 0:
        return max(burnin, max_burnin)
    return max(burnin, min(max_burnin, math.ceil(relax / (gamma * eps))))


def run_chains(
    f: ChainLoss,
    *,
    sampler: str,
    step_size: float | None,
    target: float,
    nbeta: float,
    gamma: float,
    chains: int,
    num_burnin: int,
    draws: int,
    batches: torch.Tensor | None,
    more_batches: Callable[[int], torch.Tensor] | None,
    seed: int,
    diag_at: set[int],
    limit: float,
    check_every: int,
    relax: float | None = None,
    max_burnin: int = 0,
) -> Run:
    """Run all chains from ``w*`` in lockstep; with ``step_size=None`` choose it during burn-in (module docstring of utils.llc).

    With ``relax`` set, the burn-in is extended at its end (with the final step size) until it lasts
    ``relax / (gamma eps)`` steps, at most ``max_burnin``; ``more_batches(k)`` then supplies the
    extra minibatches. ``diag_at`` holds draw indices (0-based, counted from the first draw).
    """
    steps, d, w_star = num_burnin + draws, f.d, f.w_star
    pot = _Potential(f, nbeta, gamma)
    gens = [torch.Generator().manual_seed(seed * 1_000_003 + 7919 * (c + 1)) for c in range(chains)]
    aux = torch.Generator().manual_seed(seed + 12345)
    w = w_star.expand(chains, d).clone()
    losses = torch.empty(chains, steps, dtype=torch.float64)
    dist2 = torch.empty(chains, steps, dtype=torch.float64)
    full: list[torch.Tensor] = []
    idx0 = None if batches is None else batches[:, 0]
    loss, grad, u, drift = pot(w, idx0)
    adapt, eps, curvature = None, step_size, 0.0
    if eps is None and sampler == "mala":
        noise = torch.stack([torch.randn(d, generator=g, dtype=w.dtype) for g in gens])
        eps = initial_step_size(pot, w, noise, idx0)
        adapt = DualAveraging(eps, target)
    accepted, block, next_curvature, nominal = 0.0, 64, 0, num_burnin
    t, start, size = 0, 0, 0
    while t < steps:
        if t >= start + size:  # each chain's own noise and uniforms, drawn in blocks
            start, size = t, min(block, steps - t)
            noise_block = torch.stack([torch.randn(size, d, generator=g, dtype=w.dtype) for g in gens])
            uniform_block = torch.stack([torch.rand(size, generator=g, dtype=torch.float64) for g in gens])
        noise = noise_block[:, t - start]
        idx = None if batches is None else batches[:, t]
        if sampler == "sgld":
            if t > 0:
                loss, grad = f(w, idx)
            if step_size is None and t == next_curvature and t < nominal:  # steps 0, 1, 2, 4, 8, ...
                curvature = max(curvature, max_curvature(pot, w, idx, aux), gamma)
                if not 0 < curvature < math.inf:
                    raise ValueError("step_size='auto' found no positive curvature at w*: pass a step_size")
                eps, next_curvature = SGLD_EPS_CURVATURE / curvature, max(1, 2 * t)
        losses[:, t], dist2[:, t] = loss, (w - w_star).square().sum(1)  # stored in float64
        new = _sgld_update(w, grad, w_star, noise, eps, nbeta, gamma)
        if sampler == "mala":
            new_loss, new_grad, new_u, new_drift = pot(new, idx)
            log_a = log_accept(w, u, new, new_u, new_drift, noise, eps)
            keep = (uniform_block[:, t - start].log() < log_a) & torch.isfinite(new_u)
            w = torch.where(keep[:, None], new, w)
            loss, u = torch.where(keep, new_loss, loss), torch.where(keep, new_u, u)
            grad = torch.where(keep[:, None], new_grad, grad)
            if adapt is not None and t < nominal:
                prob = float(torch.nan_to_num(log_a.clamp(max=0).exp(), nan=0.0).mean())
                eps = adapt.update(prob) if t < nominal - 1 else adapt.final
            if t >= num_burnin:
                accepted += float(keep.double().mean())
        else:
            w = new
        if batches is not None and t - num_burnin in diag_at:
            full.append(f(w, None, grad=False)[0].double())
        if (t + 1) % check_every == 0 or t == steps - 1:
            _check_divergence(losses, w, t, check_every, limit, eps, gamma)
        if relax is not None and t == nominal - 1:  # the end of the nominal burn-in: extend it if too short
            num_burnin = relaxed_burnin(nominal, eps, gamma, relax, max_burnin)
            if num_burnin > nominal:
                extra = num_burnin - nominal
                steps += extra
                pad = torch.empty(chains, extra, dtype=torch.float64)
                losses = torch.cat([losses[:, :nominal], pad, losses[:, nominal:]], dim=1)
                dist2 = torch.cat([dist2[:, :nominal], pad.clone(), dist2[:, nominal:]], dim=1)
                if batches is not None and more_batches is not None:
                    batches = torch.cat([batches[:, :nominal], more_batches(extra), batches[:, nominal:]], dim=1)
        t += 1
    full_trace = losses[:, num_burnin:] if batches is None else (torch.stack(full, 1) if full else losses[:, :0])
    return Run(
        losses[:, num_burnin:],
        dist2[:, num_burnin:],
        full_trace,
        eps,
        accepted / draws if sampler == "mala" else None,
        num_burnin,
    )


def _check_divergence(
    losses: torch.Tensor, w: torch.Tensor, t: int, every: int, limit: float, eps: float, gamma: float
) -> None:
    chunk = losses[:, max(0, t + 1 - every) : t + 1]
    bad = ~torch.isfinite(chunk) | (chunk > limit)
    if bool(bad.any()) or not bool(torch.isfinite(w).all()):
        c = int(bad.any(dim=1).nonzero()[0]) if bool(bad.any()) else 0
        raise SamplerDivergedError(
            f"chain {c} diverged by step {t + 1} (loss {float(chunk.max()):.3g}, "
            f"init loss {float(losses[c, 0]):.3g}).\n"
            f"Lower step_size (now {eps:.3g}) or raise localization (now {gamma:g})."
        )
