"""Is the LLC estimator's shortfall on deep linear networks the sampler's, or the estimand's?

``estimate_llc`` targets ``nbeta (E[L_n(w)] - L_n(w*))`` under the localized tempered posterior
``exp(-nbeta L_n(w) - localization/2 ||w - w*||^2)``. That expectation tends to the learning
coefficient lambda only as nbeta grows; at a finite nbeta it differs from lambda by an amount
that depends on the model. This script separates the two sources of error:

* **estimate**: ``estimate_llc(..., step_size="auto")``, otherwise defaults (MALA, 4 chains);
* **reference**: an independent sampler of the same target written here from scratch: HMC in
  float64 with a Metropolis correction (so no step-size bias), random path lengths, 64 chains
  from overdispersed starts (``w* + N(0, 0.5^2)``), the exact loss of a noiseless teacher
  ``1/2 tr((P - P*) S (P - P*)^T)`` with ``S`` the data's input second moment and ``P`` the
  product of the layers; 1,000 adaptation steps, then 3,000 kept.

If the estimate agrees with the reference but not with lambda, the sampler is right and the gap
is the estimand's finite-nbeta (and localization) bias; if it disagrees with the reference, the
sampler is wrong. With a noiseless teacher the loss depends on the data only through ``S``, so
nbeta can be raised at fixed n = 10^4 without changing the singular structure.

    .venv/bin/python bench/llc_reference.py          # about 6 minutes of CPU on one thread
"""

from __future__ import annotations

import math
import time
import warnings

import torch

from utils.deep_linear import deep_linear_network, half_squared_error
from utils.llc import estimate_llc
from utils.slt import learning_coefficient_dln

NBETA_DEFAULT = 10_000 / math.log(10_000)
CASES = [  # (widths, rank, multiplicity m, nbeta)
    ([3, 2, 3], 0, 1, NBETA_DEFAULT),
    ([2, 3, 3, 2], 1, 1, NBETA_DEFAULT),
    ([3, 2, 2], 0, 2, NBETA_DEFAULT),
    ([2, 2, 2, 2], 0, 2, NBETA_DEFAULT),
    ([2, 2, 2, 2], 0, 2, 1e5),
    ([4, 3, 3, 4], 1, 2, NBETA_DEFAULT),
]


def reference_hmc(
    widths: list[int],
    rank: int,
    nbeta: float,
    *,
    localization: float = 1.0,
    surplus_out: float = 0.0,
    num_chains: int = 64,
    num_adapt: int = 1000,
    num_draws: int = 3000,
    seed: int = 1,
) -> tuple[float, float, float]:
    """Mean of ``nbeta (L(w) - L(w*))`` by HMC, its standard error over chains, and the acceptance rate."""
    model, (x, _) = deep_linear_network(widths, rank, n=10_000, seed=0, surplus_out=surplus_out, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    second_moment = x.T @ x / x.shape[0]
    weights = [layer.weight.detach().clone() for layer in model]
    shapes = [w.shape for w in weights]
    target = torch.linalg.multi_dot(weights[::-1])  # P* = W_L ... W_1
    w_star = torch.cat([w.flatten() for w in weights])

    def scaled_loss(w: torch.Tensor) -> torch.Tensor:  # [chains]
        mats, start = [], 0
        for shape in shapes:
            mats.append(w[:, start : start + shape.numel()].view(-1, *shape))
            start += shape.numel()
        product = mats[-1]
        for mat in mats[-2::-1]:
            product = product @ mat
        diff = product - target
        return nbeta * 0.5 * torch.einsum("cij,jk,cik->c", diff, second_moment, diff)

    def potential_and_grad(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = w.detach().requires_grad_(True)
        u = scaled_loss(w) + 0.5 * localization * (w - w_star).square().sum(1)
        (grad,) = torch.autograd.grad(u.sum(), w)
        return u.detach(), grad

    w = w_star + 0.5 * torch.randn(num_chains, w_star.numel(), generator=gen, dtype=torch.float64)
    step = torch.full((num_chains, 1), 1e-2, dtype=torch.float64)
    u, grad = potential_and_grad(w)
    draws, accepted = [], 0.0
    for it in range(num_adapt + num_draws):
        p = torch.randn(w.shape, generator=gen, dtype=torch.float64)
        num_leapfrog = int(torch.randint(1, 20, (), generator=gen))
        w_new, p_new = w.clone(), p - 0.5 * step * grad
        for k in range(num_leapfrog):
            w_new = w_new + step * p_new
            u_new, grad_new = potential_and_grad(w_new)
            if k < num_leapfrog - 1:
                p_new = p_new - step * grad_new
        p_new = p_new - 0.5 * step * grad_new
        log_ratio = (u + 0.5 * p.square().sum(1)) - (u_new + 0.5 * p_new.square().sum(1))
        prob = torch.nan_to_num(log_ratio.clamp(max=0).exp(), nan=0.0)
        keep = torch.rand(num_chains, generator=gen, dtype=torch.float64) < prob
        w = torch.where(keep[:, None], w_new, w)
        u = torch.where(keep, u_new, u)
        grad = torch.where(keep[:, None], grad_new, grad)
        if it < num_adapt:  # per-chain step towards 75 % acceptance
            step = step * torch.exp(0.05 * (prob[:, None] - 0.75))
        else:
            draws.append(scaled_loss(w))
            accepted += float(prob.mean())
    chain_means = torch.stack(draws).mean(0)
    se = float(chain_means.std()) / math.sqrt(num_chains)
    return float(chain_means.mean()), se, accepted / num_draws


def main() -> None:
    torch.set_num_threads(1)
    print(
        f"{'case':<16} {'m':>1} {'nbeta':>6} {'lambda':>6} {'estimate ± mcse':>15} {'R-hat':>6} {'conv':>4} "
        f"{'reference ± se':>15} {'est-ref':>7} {'ref vs lambda':>13} {'CPU s':>6}"
    )
    for widths, rank, mult, nbeta in CASES:
        lam = learning_coefficient_dln(widths, rank)
        model, data = deep_linear_network(widths, rank, n=10_000, seed=0)
        start = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = estimate_llc(model, half_squared_error, data, step_size="auto", nbeta=nbeta)
        ref, ref_se, _ = reference_hmc(widths, rank, nbeta)
        cpu = time.process_time() - start
        case = f"{widths} r{rank}"
        print(
            f"{case:<16} {mult:>1} {nbeta:>6.0f} {lam:>6.3f} {res.mean:>7.3f} ± {res.mcse:<5.3f} {res.r_hat:>6.3f} "
            f"{'yes' if res.converged else 'no':>4} {ref:>7.3f} ± {ref_se:<5.3f} {res.mean - ref:>+7.3f} "
            f"{(ref - lam) / lam:>+13.1%} {cpu:>6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
