"""The toy model of superposition as a torch module, to train and to estimate LLCs on (chapter 10).

Its exact high-sparsity loss, the k-gon critical points and the inputs it is trained on are
numpy-only, in :mod:`utils.tms`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._validate import check_array, check_tensor

__all__ = ["ToyModelOfSuperposition"]


class ToyModelOfSuperposition(nn.Module):
    """Elhage et al.'s toy model ``f(x) = ReLU(W^T W x + b)``, ``W`` of shape ``(m, c)``, ``b`` of shape ``(c,)`` (chapter 10).

    Built from given ``W`` and ``b`` (arrays or tensors, copied as float64 parameters). Its
    exact loss in the high-sparsity limit is ``utils.tms.loss(model.W, model.b)``.
    """

    def __init__(self, W: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> None:
        super().__init__()
        W = torch.as_tensor(check_array("W", W))
        b = torch.as_tensor(check_array("b", b))
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"W must have shape (m, c) and b shape (c,), got {tuple(W.shape)} and {tuple(b.shape)}")
        self.W = nn.Parameter(W.clone())
        self.b = nn.Parameter(b.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``ReLU(W^T W x + b)`` for each row of ``x`` (``[n, c]``)."""
        check_tensor("x", x, kind="float")
        if x.shape[-1:] != self.b.shape:
            raise ValueError(f"x must have shape [n, {self.b.shape[0]}] (one row per input), got {tuple(x.shape)}")
        return torch.relu(x @ self.W.T @ self.W + self.b)
