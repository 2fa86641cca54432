"""Shared, tested code for *Phase Transitions in Deep Learning*.

Every notebook imports from this one package. Modules are small and have one job each:

- :mod:`utils.runtime`    seeding, device choice, thread settings (all chapters)
- :mod:`utils.plotting`   the course's figure style and small plot helpers (all chapters)
- :mod:`utils.progress`   progress bars that show in Jupyter and stay out of the built book
- :mod:`utils.training`   the one training loop every chapter that trains uses
- :mod:`utils.data`       synthetic data sets (chapter 1: multi-digit addition; chapter 6: modular arithmetic)
- :mod:`utils.metrics`    exact match, per-token accuracy, token edit distance (chapter 1)
- :mod:`utils.models`     small torch models: TokenMLP (chapter 1), random deep networks (chapter 5),
                          deep linear networks (chapters 9-11), the toy model of superposition (chapter 10)
- :mod:`utils.branching`  Galton-Watson branching processes, exact and simulated (chapter 2)
- :mod:`utils.ising`      2D Ising samplers (Metropolis, Wolff) and observables (chapters 3-4)
- :mod:`utils.ising_exact` Onsager, Yang and Kaufman's exact results, T_C, surface tension, nucleation barrier (chapters 3-4)
- :mod:`utils.ising_field` the Ising model in a field: hysteresis, metastable lifetimes, exact 4x4 (chapter 3)
- :mod:`utils.fss`        finite-size scaling: crossings, fits with chi^2 and p-values, histogram reweighting (chapter 3)
- :mod:`utils.mcmc`       Markov-chain statistics: binned errors, autocorrelation, R-hat, ESS, MCSE (chapters 3, 9)
- :mod:`utils.rg`         renormalization-group maps and fixed points (chapter 4)
- :mod:`utils.signal`     mean-field signal propagation, numpy only (chapter 5)
- :mod:`utils.grokking`   ModularMLP: many modular-arithmetic networks trained at once; steps A and B, phases (chapter 6)
- :mod:`utils.fourier`    Fourier analysis over Z_p: progress measures, the analytic solution (chapter 6)
- :mod:`utils.attention`  attention, a linear self-attention layer and a small transformer (chapter 7)
- :mod:`utils.icl`        in-context regression baselines: ridge, least squares, one GD step, dMMSE (chapter 7)
- :mod:`utils.bayes`      posteriors and free energies by quadrature in 1-2 dims (chapter 8)
- :mod:`utils.bayes_exact` closed-form free energies, Laplace, the crossover n* (chapter 8)
- :mod:`utils.slt`        exact learning coefficients (chapters 8-10)
- :mod:`utils.llc`        local learning coefficient estimation with SGLD and MALA, and its diagnostics (chapter 9)
- :mod:`utils.tms`        toy model of superposition: exact high-sparsity loss, k-gons (chapter 10)
- :mod:`utils.curvature`  Hessian, Hutchinson trace and empirical Fisher trace (chapter 10)
- :mod:`utils.exercises`  checks that tell a student whether an exercise answer is right
- :mod:`utils.coursework` student copies, answer keys and the autograder (``make student``, ``make grade``)

Private helpers (leading underscore, not part of the public names):

- :mod:`utils._validate`      argument checks shared by every public function; errors name the argument
- :mod:`utils._ising_kernels` the numba-compiled Metropolis and Wolff kernels behind :mod:`utils.ising`
- :mod:`utils._ising_multispin` multispin-coded Metropolis (64 spins per word, any even L) behind :mod:`utils.ising`
- :mod:`utils._activations`   activations by name and Gaussian expectations for :mod:`utils.signal`

Conventions: counts are ``num_*`` (except ``utils.ising.sample``'s ``n_samples``, kept by the
course plan), seeds are integers in ``[0, 2**32 - 1]``, results are frozen dataclasses, and a
vectorised function returns a Python ``float`` for scalar input.

Submodules are imported on use (``import utils.training``), so importing :mod:`utils`
alone is cheap and does not load torch.
"""

__version__ = "0.1.0"
