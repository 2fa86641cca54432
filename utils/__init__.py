"""Shared, tested code for *Phase Transitions in Deep Learning*.

Every notebook imports from this one package. Modules are small and have one job each:

- :mod:`utils.runtime`    seeding, device choice, thread settings (all chapters)
- :mod:`utils.plotting`   the course's figure style and small plot helpers (all chapters)
- :mod:`utils.controls`   figures with sliders that work without a kernel (chapters 1-5, 8)
- :mod:`utils.progress`   progress bars that show in Jupyter and stay out of the built book
- :mod:`utils.training`   the training loop of chapters 1, 5 and 7, and parameter counts
- :mod:`utils.addition`   multi-digit addition data in two tokenisations (chapter 1)
- :mod:`utils.number_bpe` byte-pair encoding of numbers: merges learned from a corpus (chapter 1)
- :mod:`utils.token_models` token MLPs, one or a batch trained at once, and their loss (chapter 1)
- :mod:`utils.metrics`    exact match, per-token accuracy, token edit distance (chapter 1)
- :mod:`utils.branching`  Galton-Watson branching processes, exact and simulated (chapters 2, 11)
- :mod:`utils.ising`      2D Ising samplers (Metropolis, Wolff) and observables (chapters 3-4)
- :mod:`utils.ising_exact` Onsager, Yang and Kaufman's exact results, T_C, surface tension, nucleation barrier (chapters 3-4)
- :mod:`utils.ising_field` the Ising model in a field: hysteresis, metastable lifetimes, exact 4x4 (chapter 3)
- :mod:`utils.fss`        finite-size scaling: crossings, fits with chi^2 and p-values, histogram reweighting (chapter 3)
- :mod:`utils.mcmc`       Markov-chain statistics: binned errors, autocorrelation, R-hat, ESS, MCSE (chapters 3, 9)
- :mod:`utils.stats`      error bars: bootstrap, jackknife, mean +- standard error over seeds (all chapters)
- :mod:`utils.rg`         renormalization-group maps and fixed points (chapters 2, 4)
- :mod:`utils.voting`     exact plurality votes over independent samples (chapter 2)
- :mod:`utils.signal`     mean-field signal propagation, numpy only (chapter 5)
- :mod:`utils.random_networks` random deep networks in torch: measured kernel flows and gradients, batched MLPs (chapter 5)
- :mod:`utils.modular`    modular-arithmetic data, ``(a op b) mod p`` split into train and test (chapter 6)
- :mod:`utils.grokking`   ModularMLP: many modular-arithmetic networks trained at once; steps A and B, phases (chapter 6)
- :mod:`utils.fourier`    Fourier analysis over Z_p: progress measures, the analytic solution (chapter 6)
- :mod:`utils.icl_data`   prompts for in-context linear regression (chapter 7)
- :mod:`utils.attention`  attention, linear self-attention layers (one, or several stacked) and a small transformer (chapter 7)
- :mod:`utils.icl`        in-context regression baselines: ridge, least squares, one GD step, dMMSE, a kernel smoother (chapter 7)
- :mod:`utils.icl_transformer` small softmax transformers, several seeds trained at once on task pools (chapter 7)
- :mod:`utils.induction`  repeated sequences, an attention-only transformer, induction-head scores (chapter 7)
- :mod:`utils.bayes`      posteriors and free energies by quadrature in 1-2 dims (chapters 8, 11)
- :mod:`utils.bayes_exact` closed-form free energies, Laplace, the crossover n* (chapter 8)
- :mod:`utils.slt`        exact learning coefficients (chapters 8-11)
- :mod:`utils.deep_linear` deep linear networks at an exact factorisation of a teacher, and their loss (chapter 9)
- :mod:`utils.llc`        local learning coefficient estimation with SGLD and MALA, and its diagnostics (chapters 6, 9-11)
- :mod:`utils.tms`        toy model of superposition: exact high-sparsity loss, k-gons, inputs (chapter 10)
- :mod:`utils.tms_model`  the toy model of superposition as a torch module (chapter 10)
- :mod:`utils.curvature`  Hessian, Hutchinson trace and empirical Fisher trace (chapter 10)
- :mod:`utils.exercises`  checks that tell a student whether an exercise answer is right
- :mod:`utils.coursework` student copies, answer keys and the autograder (``make student``, ``make grade``)
- :mod:`utils.data`       kept for ``utils.data.modular_arithmetic`` only (it moved to :mod:`utils.modular`)

Private helpers (leading underscore, not part of the public names; no module imports another
module's underscored names):

- :mod:`utils._validate`      argument checks shared by every public function; errors name the argument
- :mod:`utils._splitmix`      the splitmix64 random stream of the compiled Ising kernels
- :mod:`utils._ising_kernels` the numba-compiled scalar Metropolis (any field) and Wolff kernels
- :mod:`utils._ising_multispin` multispin-coded Metropolis (64 spins per word, any even L) behind :mod:`utils.ising`
- :mod:`utils._activations`   activations by name and Gaussian expectations for :mod:`utils.signal`
- :mod:`utils._llc_batched`, :mod:`utils._llc_sampling` the chain engine and samplers behind :mod:`utils.llc`

Conventions: counts are ``num_*`` (``num_samples``, ``num_burnin``, ``num_layers``...); parallel
copies of a network, trained or random, are ``num_models``; MCMC chains are ``num_chains``;
independent runs of a stochastic process are ``num_runs``; ``n`` is the sample size of
singular learning theory's formulas. Seeds are integers in ``[0, 2**32 - 1]``, results are
frozen dataclasses, and a vectorised function returns a Python ``float`` for scalar input.
Each public module lists its public names in ``__all__``, which is what the API page documents.
Theory modules (numpy only: ``signal``, ``number_bpe``, ``bayes``, ``bayes_exact``, ``slt``, ``tms``, ``rg``,
``branching``, ``voting``, ``ising*``, ``mcmc``, ``stats``, ``fss``, ``icl``, ``fourier``) never import
torch.

Submodules are imported on use (``import utils.training``), so importing :mod:`utils`
alone is cheap and does not load torch.
"""

__version__ = "0.1.0"
