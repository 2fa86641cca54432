"""Local learning coefficient (LLC) estimation with Langevin samplers (chapter 9).

**The convention used everywhere in the course.** The chains sample the *tempered, localized*
posterior around the given parameters ``w*``::

    p(w) ∝ exp(-nbeta * L_n(w) - (localization / 2) * ||w - w*||^2)

where ``L_n(w)`` is the mean per-sample loss ``loss_fn(model(x), y)`` on the full data and
``nbeta = n * beta`` is the *effective inverse temperature*, by default ``n / ln n``
(``beta = 1 / ln n``, Watanabe's WBIC temperature). The estimate is::

    llc = nbeta * (E_p[L_n(w)] - L_n(w*))

with ``L_n(w*)`` computed once on the **full** data. The model's parameters are unchanged.

**Samplers.** Both start every chain at ``w*`` and propose the Langevin (SGLD) step::

    w' = w - (eps / 2) * (nbeta * grad L(w) + localization * (w - w*)) + N(0, eps I)

* ``"mala"`` (the default with full-batch data and ``step_size="auto"``): the Metropolis-adjusted
  Langevin algorithm. Each proposal is accepted with probability
  ``min(1, p(w') q(w | w') / (p(w) q(w' | w)))``, so the chains sample ``p`` *exactly*: no
  step-size bias, at the cost of one full-batch gradient per step, like full-batch SGLD.
* ``"sgld"`` (the default with minibatches or a fixed ``step_size``): every proposal is taken, with the gradient of a
  minibatch loss. Its stationary law is ``p`` only as ``eps -> 0``: a finite step inflates the
  spread along stiff directions and biases the estimate upwards.

**The ``step_size="auto"`` rules** (both act during burn-in only; the draws use one fixed step).

* MALA: dual averaging (Hoffman & Gelman 2014, Stan's constants) of ``log eps`` so that the
  mean acceptance probability over chains and burn-in steps reaches ``target_accept = 0.7``,
  starting from the step where a single move is accepted half of the time.
* SGLD: ``eps = 0.1 / a_max``, where ``a_max`` is the largest curvature of the potential
  ``nbeta L_b + localization/2 ||w - w*||^2`` (power iteration on gradient differences, on the
  step's minibatch, largest over chains and over the estimates at burn-in steps 0, 1, 2, 4, 8, ...).
  An unadjusted Langevin step inflates the variance along a direction of curvature ``a`` by
  ``1 / (1 - eps a / 4)``: at most 2.5 %, less along flatter directions. Minibatch gradient
  noise adds its own (uncontrolled) bias.

**Diagnostics** (Vehtari et al. 2021, in :mod:`utils.mcmc`). ``r_hat``: rank-normalised, folded
split R-hat of the full-batch loss (every draw for MALA and full-batch SGLD; for minibatch SGLD
at chosen draws: one per epoch, at least 8 and at most 64 per chain,
evenly spaced and ending at the last draw, so that the diagnostics never cost more than about
one forward pass over the data per epoch of sampling and at most 64 of them whatever the run's
length); ``ess``: bulk effective sample size of the draws' losses; ``mcse``: Monte Carlo
standard error of the estimate; ``drift_z``: the running mean's drift (last half against first
quarter, in standard errors); ``acceptance_rate`` (MALA); ``r_hat_distance`` and
``ess_distance``: R-hat and bulk ESS of the squared distance ``||w - w*||^2`` (``distance_trace``);
``relaxations``: the burn-in in units of ``1 / (localization eps)``, the relaxation time (in steps)
of a direction that only the localization holds. ``converged`` is true when R-hat < 1.01, ESS
>= 100 per chain, ``|drift z| < 3``, (MALA) acceptance >= 0.2, and the chains have relaxed: the
burn-in lasted at least 3 relaxation times, or the distance from ``w*`` passes R-hat and ESS
itself. That last check is what the loss-based ones miss: every chain starts at ``w*``, so along
flat directions (surplus units of a network) all chains spread out together, agree with each
other, and their loss looks stationary while its mean still rises (chapter 9). Otherwise the
estimator warns with what to change. ``localization_sensitivity`` is ``d llc / d ln
localization`` (exactly ``-localization * Cov(nbeta L_n, ||w - w*||^2 / 2)`` under ``p``,
estimated from the same draws): large values mean the estimate depends on the localization.

**Defaults.** ``localization = 1`` (a unit Gaussian prior around ``w*``; a stronger one pulls
the chains in and lowers the estimate, see chapter 9). The estimator warns when
``localization > 0.1 nbeta``. ``num_chains = 16``: on small networks (the "gram" path) a step
costs about the same for 4 or 16 chains, and R-hat needs many chains to see slow modes.
``num_draws = 32000``: against the exact targets of 14 zero-teacher networks over 4 seeds
(``bench/README.md``), 8,000 draws missed by more than 4 % or failed the checks in 8 of 56 runs,
32,000 draws in 6 (2 of 44 on networks without a width-1 hidden layer, both flagged).
Burn-in (``num_burnin=None``): half of ``num_draws``, extended with ``step_size="auto"`` until it
lasts 3 relaxation times ``1 / (localization eps)``, at most ``8 num_draws``. devinterp 2.0.1's
``default_nbeta`` is ``b / ln b`` with ``b`` the *batch size* (times gradient-accumulation
steps); the course uses the sample size ``n``. Accuracy on deep linear networks and timings
against devinterp are in ``bench/README.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from . import mcmc
from ._llc_batched import ChainLoss
from ._llc_sampling import Run, SamplerDivergedError, minibatches, run_chains, sgld_step
from ._validate import (
    check_array,
    check_callable,
    check_choice,
    check_data,
    check_int,
    check_mean_loss,
    check_module,
    check_real,
    check_seed,
)

__all__ = [
    "LLCResult",
    "SamplerDivergedError",
    "StepSizeScan",
    "calibrate_step_size",
    "default_nbeta",
    "estimate_llc",
    "sgld_step",
]

SAMPLERS = ("auto", "mala", "sgld")
#: MALA's default ``target_accept`` for ``step_size="auto"``.
TARGET_ACCEPT = 0.7
#: Convergence thresholds: R-hat, bulk ESS per chain, ``|drift z|``, MALA acceptance.
R_HAT_MAX, ESS_PER_CHAIN, DRIFT_Z_MAX, ACCEPT_MIN = 1.01, 100, 3.0, 0.2
#: Default burn-in, as a fraction of ``num_draws``.
BURNIN_FRACTION = 0.5
#: The burn-in must last this many relaxation times ``1 / (localization step_size)`` (or the
#: distance from w* must pass R-hat and ESS); ``num_burnin=None`` extends it to that, at most
#: ``MAX_BURNIN_FACTOR`` times ``num_draws``.
RELAX_TIMES, MAX_BURNIN_FACTOR = 3.0, 8
#: Minibatch SGLD: the fewest and the most full-batch losses per chain for R-hat.
DIAGNOSTIC_POINTS = (8, 64)


@dataclass(frozen=True)
class LLCResult:
    """An LLC estimate with its diagnostics (chapter 9).

    ``loss_trace[c, t]`` is chain ``c``'s loss at draw ``t`` (full-batch for MALA, the step's
    minibatch loss for SGLD); ``per_chain[c] = nbeta * (mean_t loss_trace[c, t] - init_loss)``;
    ``full_loss_trace`` holds the full-batch losses that R-hat is computed on. ``path`` says how
    the chains were evaluated: ``"fast"``, ``"vmap"`` or ``"loop"``.
    """

    mean: float
    std: float
    per_chain: np.ndarray
    loss_trace: np.ndarray
    init_loss: float
    r_hat: float
    converged: bool
    ess: float
    mcse: float
    drift_z: float
    acceptance_rate: float | None
    localization_sensitivity: float
    problems: tuple[str, ...]
    nbeta: float
    step_size: float
    localization: float
    n: int
    batch_size: int | None
    num_burnin: int
    sampler: str
    path: str
    full_loss_trace: np.ndarray
    distance_trace: np.ndarray
    r_hat_distance: float
    ess_distance: float
    relaxations: float

    @property
    def llc_trace(self) -> np.ndarray:
        """Running estimate per chain: ``nbeta * (mean of the first t draws - init_loss)``, ``[chains, draws]``."""
        t = np.arange(1, self.loss_trace.shape[1] + 1)
        return self.nbeta * (np.cumsum(self.loss_trace, axis=1) / t - self.init_loss)

    def __str__(self) -> str:
        acc = "" if self.acceptance_rate is None else f", acceptance {self.acceptance_rate:.2f}"
        return (
            f"LLC = {self.mean:.3f} ± {self.std:.3f} (std over {len(self.per_chain)} chains), "
            f"MCSE {self.mcse:.3f}\n"
            f"R-hat {self.r_hat:.3f}, ESS {self.ess:.0f}, drift z {self.drift_z:+.1f}{acc}\n"
            f"distance from w*: R-hat {self.r_hat_distance:.2f}, ESS {self.ess_distance:.0f}; "
            f"burn-in {self.num_burnin} = {self.relaxations:.1f} relaxation times\n"
            f"converged: {'yes' if self.converged else 'no'} ({self.sampler}, "
            f"step {self.step_size:.3g}, nbeta {self.nbeta:.1f}, "
            f"localization {self.localization:g})"
        )


def default_nbeta(n: int) -> float:
    """The default effective inverse temperature ``nbeta = n / ln n`` (``beta = 1/ln n``; chapter 9)."""
    n = check_int("n", n, minimum=2)
    return n / math.log(n)


def _diagnostic_draws(num_draws: int, per_epoch: int) -> np.ndarray:
    """Draws (0-based) at which minibatch SGLD records the full-batch loss for R-hat (chapter 9).

    ``k = ceil(num_draws / per_epoch)`` (one per epoch of draws), clipped to ``DIAGNOSTIC_POINTS``
    = [8, 64] and to ``num_draws``; draw ``(j + 1) num_draws // k - 1`` for ``j = 0..k-1``.
    """
    num_draws = check_int("num_draws", num_draws, minimum=1)
    per_epoch = check_int("per_epoch", per_epoch, minimum=1)
    lo, hi = DIAGNOSTIC_POINTS
    k = min(num_draws, max(lo, min(hi, -(-num_draws // per_epoch))))
    return (np.arange(1, k + 1) * num_draws) // k - 1


def _diagnose(
    trace: np.ndarray,
    full: np.ndarray,
    dist: np.ndarray,
    accept: float | None,
    chains: int,
    step: float,
    relaxations: float,
    relax_steps: float,
) -> tuple[float, float, float, float, float, float, tuple[str, ...]]:
    """R-hat, bulk ESS, MCSE and drift z of the loss; R-hat and ESS of the distance from w*; the failed checks."""
    r = mcmc.r_hat(full) if full.shape[1] >= 4 else math.inf
    ess = mcmc.ess_bulk(trace)
    mcse = mcmc.mcse_mean(trace) if np.ptp(trace) > 0 else 0.0
    z = mcmc.drift_z(trace) if trace.shape[1] >= 16 else math.inf
    moving = dist.shape[1] >= 4 and np.ptp(dist) > 0
    r_dist = mcmc.r_hat(dist) if moving else math.inf
    ess_dist = mcmc.ess_bulk(dist) if moving else 0.0
    problems = []
    if not r < R_HAT_MAX:
        problems.append(
            f"R-hat = {r:.3f} >= {R_HAT_MAX}: the chains disagree.\n"
            "  Run more draws (num_draws) or a longer burn-in (num_burnin)."
        )
    if ess < ESS_PER_CHAIN * chains:
        problems.append(
            f"bulk ESS = {ess:.0f} < {ESS_PER_CHAIN * chains} ({ESS_PER_CHAIN} per chain).\n"
            f"  Raise num_draws, or step_size (now {step:.3g}) if it is tiny."
        )
    if not abs(z) < DRIFT_Z_MAX:
        problems.append(f"drift z = {z:+.1f}: the running mean still moves.\n  Raise num_burnin and num_draws.")
    if accept is not None and accept < ACCEPT_MIN:
        problems.append(
            f"acceptance rate {accept:.2f} < {ACCEPT_MIN}: the chains stick.\n"
            f"  Lower step_size (now {step:.3g}) or use step_size='auto'."
        )
    mixed = r_dist < R_HAT_MAX and ess_dist >= ESS_PER_CHAIN * chains
    if not (relaxations >= RELAX_TIMES or mixed):
        need = "" if not math.isfinite(relax_steps) else f" (>= {math.ceil(RELAX_TIMES * relax_steps)})"
        problems.append(
            f"burn-in = {relaxations:.2f} relaxation times 1/(localization step_size)\n"
            f"  < {RELAX_TIMES:g}, and the distance from w* is not mixed (R-hat {r_dist:.2f},\n"
            f"  ESS {ess_dist:.0f}): directions that only the localization holds\n"
            f"  may still be spreading out from w*. Raise num_burnin{need}\n"
            "  or leave it at None (it then lasts long enough)."
        )
    return r, ess, mcse, z, r_dist, ess_dist, tuple(problems)


def estimate_llc(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    *,
    step_size: float | str = "auto",
    localization: float = 1.0,
    nbeta: float | None = None,
    num_chains: int = 16,
    num_draws: int = 32000,
    num_burnin: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    sampler: str = "auto",
    target_accept: float = TARGET_ACCEPT,
    diagnostic_every: int | None = None,
    vectorize: bool | str = "auto",
    divergence_factor: float = 100.0,
    check_every: int = 100,
) -> LLCResult:
    """Estimate the LLC ``nbeta * (E[L_n(w)] - L_n(w*))`` at the model's parameters (chapter 9).

    Samples ``exp(-nbeta L_n(w) - localization/2 ||w - w*||^2)`` (``nbeta`` defaults to
    ``n / ln n``) with ``num_chains`` chains from ``w* =`` the model's parameters (unchanged
    afterwards): ``num_burnin`` steps (default: half of ``num_draws``) are dropped, then
    ``num_draws`` are kept. ``sampler="auto"`` is MALA for full-batch data (``batch_size=None``)
    with ``step_size="auto"``, and plain SGLD otherwise (minibatches, or a fixed step size); ``step_size="auto"`` adapts the step during burn-in to
    ``target_accept`` (see the module docstring). ``diagnostic_every`` (minibatch SGLD): steps
    between full-batch losses for R-hat (default: one per epoch, 8 to 64 per chain, as above). ``vectorize``: ``"auto"`` picks
    the fast path for an ``nn.Sequential`` of Linear and elementwise layers, else vmap;
    ``True`` forces vmap, ``False`` a loop over chains. A loss that is NaN/inf or exceeds
    ``init_loss + divergence_factor * max(|init_loss|, d / nbeta)`` (checked every
    ``check_every`` steps) raises :class:`SamplerDivergedError`. Warns when the run has not
    converged, when the estimate is negative and when ``localization > 0.1 nbeta``.
    """
    x, y = _check_data(model, loss_fn, data)
    n = int(x.shape[0])
    auto_step = isinstance(step_size, str)
    if auto_step:
        check_choice("step_size", step_size, ("auto",))
    else:
        step_size = check_real("step_size", step_size, positive=True)
    localization = check_real("localization", localization, nonnegative=True)
    nbeta = default_nbeta(n) if nbeta is None else check_real("nbeta", nbeta, positive=True)
    num_chains = check_int("num_chains", num_chains, minimum=1)
    num_draws = check_int("num_draws", num_draws, minimum=16)
    auto_burnin = num_burnin is None
    num_burnin = round(BURNIN_FRACTION * num_draws) if auto_burnin else check_int("num_burnin", num_burnin, minimum=0)
    seed = check_seed("seed", seed)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
        if batch_size > n:
            raise ValueError(f"batch_size must be <= the number of samples ({n}), got {batch_size}")
    sampler = check_choice("sampler", sampler, SAMPLERS)
    if sampler == "auto":  # MALA needs full-batch data; a fixed step keeps plain SGLD (as before issue 14)
        sampler = "mala" if batch_size is None and auto_step else "sgld"
    if sampler == "mala" and batch_size is not None:
        raise ValueError("sampler='mala' needs full-batch data: use batch_size=None or sampler='sgld'")
    target = check_real("target_accept", target_accept, low=0.05, high=0.995)
    if auto_step and num_burnin < 50:
        raise ValueError(f"num_burnin must be >= 50 with step_size='auto' (it adapts the step), got {num_burnin}")
    per_epoch = max(1, n // batch_size) if batch_size else 1
    if diagnostic_every is None:
        diag_at = _diagnostic_draws(num_draws, per_epoch)
    else:
        diag_at = np.arange(0, num_draws, check_int("diagnostic_every", diagnostic_every, minimum=1))
    divergence_factor = check_real("divergence_factor", divergence_factor, positive=True)
    check_every = check_int("check_every", check_every, minimum=1)
    if not (isinstance(vectorize, bool) or vectorize == "auto"):
        raise ValueError(f"vectorize must be True, False or 'auto', got {vectorize!r}")

    f = ChainLoss(model, loss_fn, x, y, vectorize=vectorize)
    with torch.no_grad():
        init_loss = float(f(f.w_star[None], None, grad=False)[0][0])
    if not math.isfinite(init_loss):
        raise ValueError(f"the loss at the given parameters is not finite ({init_loss})")
    limit = init_loss + divergence_factor * max(abs(init_loss), f.d / nbeta)
    gen = torch.Generator().manual_seed(seed)
    steps = num_burnin + num_draws
    batches = None if batch_size is None else minibatches(n, batch_size, num_chains, steps, gen)
    more = None if batch_size is None else (lambda k: minibatches(n, batch_size, num_chains, k, gen))
    run = run_chains(
        f,
        sampler=sampler,
        step_size=None if auto_step else step_size,
        target=target,
        nbeta=nbeta,
        gamma=localization,
        chains=num_chains,
        num_burnin=num_burnin,
        draws=num_draws,
        batches=batches,
        more_batches=more,
        seed=seed,
        diag_at=set(diag_at.tolist()),
        limit=limit,
        check_every=check_every,
        relax=RELAX_TIMES if auto_burnin and auto_step and localization > 0 else None,
        max_burnin=max(num_burnin, MAX_BURNIN_FACTOR * num_draws),
    )
    return _result(
        run,
        init_loss=init_loss,
        nbeta=nbeta,
        localization=localization,
        n=n,
        batch_size=batch_size,
        sampler=sampler,
        path=f.path,
    )


def _check_data(model: Any, loss_fn: Any, data: Any) -> tuple[torch.Tensor, torch.Tensor]:
    check_module("model", model)
    check_callable("loss_fn", loss_fn, "loss_fn(model(x), y)")
    x, y = check_data("data", data, min_rows=2)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model must have trainable parameters (requires_grad), found none")
    check_mean_loss(model, loss_fn, x, y)
    return x, y


def _result(
    run: Run,
    *,
    init_loss: float,
    nbeta: float,
    localization: float,
    n: int,
    batch_size: int | None,
    sampler: str,
    path: str,
) -> LLCResult:
    """Assemble the estimate and its diagnostics, and warn about what needs changing."""
    trace, full, dist2 = run.losses.numpy(), run.full.numpy(), run.dist2.numpy()
    chains = trace.shape[0]
    per_chain = nbeta * (trace.mean(axis=1) - init_loss)
    mean = float(per_chain.mean())
    rate = localization * run.step_size  # relaxation rate per step of a direction held by the localization alone
    relaxations = rate * run.burnin
    r, ess, mcse, z, r_dist, ess_dist, problems = _diagnose(
        trace, full, dist2, run.accept, chains, run.step_size, relaxations, 1 / rate if rate > 0 else math.inf
    )
    cov = float(np.mean((trace - trace.mean()) * (dist2 - dist2.mean())))
    for a in (trace, per_chain, full, dist2):
        a.flags.writeable = False
    result = LLCResult(
        mean=mean,
        std=float(per_chain.std(ddof=1)) if chains > 1 else 0.0,
        per_chain=per_chain,
        loss_trace=trace,
        init_loss=init_loss,
        r_hat=r,
        converged=not problems,
        ess=ess,
        mcse=nbeta * mcse,
        drift_z=z,
        acceptance_rate=run.accept,
        localization_sensitivity=-localization * nbeta * cov / 2,
        problems=problems,
        nbeta=float(nbeta),
        step_size=run.step_size,
        localization=localization,
        n=n,
        batch_size=batch_size,
        num_burnin=run.burnin,
        sampler=sampler,
        path=path,
        full_loss_trace=full,
        distance_trace=dist2,
        r_hat_distance=r_dist,
        ess_distance=ess_dist,
        relaxations=relaxations,
    )
    if problems:
        warnings.warn("the LLC chains have not converged:\n" + "\n".join(problems), stacklevel=3)
    if mean < 0:
        warnings.warn(
            f"negative LLC estimate ({mean:.3g}): the chains found lower loss than at w*.\n"
            "  w* is not a local minimum (train longer) or localization is too weak.",
            stacklevel=3,
        )
    if localization > 0.1 * nbeta:
        warnings.warn(
            f"localization = {localization:g} > 0.1 nbeta = {0.1 * nbeta:.3g}: the localizing term\n"
            "  dominates and shrinks the estimate. Lower localization.",
            stacklevel=3,
        )
    return result


@dataclass(frozen=True)
class StepSizeScan:
    """Result of :func:`calibrate_step_size`: estimate, spread, R-hat, convergence per step size (chapter 9)."""

    step_sizes: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    r_hat: np.ndarray
    converged: np.ndarray
    diverged: np.ndarray
    acceptance_rate: np.ndarray

    @property
    def plateau(self) -> tuple[float, float] | None:
        """The widest run (>= 2) of consecutive step sizes that neither diverge nor give R-hat > 1.1,
        whose estimates lie within 10 % of their median: ``(smallest, largest)``, or None."""
        stable = ~self.diverged & ~(self.r_hat > 1.1)
        best: tuple[int, int] | None = None
        for a in range(len(stable)):
            for b in range(a + 1, len(stable) + 1):
                if not stable[a:b].all():
                    break
                med = np.median(self.mean[a:b])
                close = np.all(np.abs(self.mean[a:b] - med) <= 0.1 * abs(med))
                if close and (best is None or b - a > best[1] - best[0]):
                    best = (a, b)
        if best is None or best[1] - best[0] < 2:
            return None
        return float(self.step_sizes[best[0]]), float(self.step_sizes[best[1] - 1])


def calibrate_step_size(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    step_sizes: Any,
    **kwargs: Any,
) -> StepSizeScan:
    """Run :func:`estimate_llc` at each fixed step size; record estimate, R-hat, convergence, divergence (chapter 9).

    Draw it with :func:`utils.plotting.plot_step_size_scan`. With SGLD the estimate drifts with
    the step size (too small: unconverged, too large: biased upwards); with MALA it should not.
    """
    eps = check_array("step_sizes", step_sizes, positive=True)
    if eps.ndim != 1 or eps.size < 2:
        raise ValueError(f"step_sizes must be a 1-D sequence of at least 2 step sizes, got shape {eps.shape}")
    eps = np.sort(eps)
    k = eps.size
    mean, std, rh, acc = (np.full(k, np.nan) for _ in range(4))
    converged, diverged = np.zeros(k, bool), np.zeros(k, bool)
    for i, s in enumerate(eps):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = estimate_llc(model, loss_fn, data, step_size=float(s), **kwargs)
        except SamplerDivergedError:
            diverged[i] = True
            continue
        mean[i], std[i], rh[i], converged[i] = res.mean, res.std, res.r_hat, res.converged
        acc[i] = np.nan if res.acceptance_rate is None else res.acceptance_rate
    return StepSizeScan(eps, mean, std, rh, converged, diverged, acc)
