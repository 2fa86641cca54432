"""Losses and gradients of many parameter vectors ("chains") at once: the engine under :mod:`utils.llc`.

A :class:`ChainLoss` evaluates ``L(w_c) = loss_fn(model_{w_c}(x), y)`` for every row ``w_c`` of a
``[chains, d]`` tensor of flattened trainable parameters, on the full data or on one
minibatch per chain, and returns the ``[chains]`` losses with (optionally) their ``[chains, d]``
gradients. Three paths give the same numbers up to float rounding (tested):

* ``"fast"``: an ``nn.Sequential`` of ``nn.Linear`` layers and elementwise activations with 2-D
  inputs. Each layer's weights of all chains are views ``[chains, out, in]`` into the flat
  tensor and the forward is a batched matrix product in a features-first layout
  ``[chains, features, samples]`` (long rows, so it is several times faster than
  ``[chains, samples, features]`` for narrow layers); ``F.mse_loss`` and
  :func:`utils.deep_linear.half_squared_error` (or any loss that computes the same: recognised by its
  value and gradient at the data, not by its identity) are computed for all chains in one op. With one of
  these losses and Tanh, Sigmoid, ReLU or Identity activations the gradient is back-propagated
  by hand (``dL/dW = g a^T``, ``g <- W^T g``, times the activation's derivative written from its
  output), without autograd's graph, into workspace tensors kept between steps; losses without
  gradient (the full-batch losses behind R-hat) run in chunks of ``CHUNK`` samples with
  activations in place. Other activations or losses use autograd.
* ``"gram"``: the fast path's models without activations (linear networks) with full-batch
  ``F.mse_loss`` or ``half_squared_error``. The network is the affine map ``x -> A [x; 1]``, so
  ``sum_i ||A [x_i; 1] - y_i||^2 / n = tr(A S A^T) - 2 tr(A C^T) + s_yy`` needs only the moments
  ``S = mean [x;1][x;1]^T``, ``C = mean y [x;1]^T``, ``s_yy = mean ||y||^2``, computed once in
  float64: a step costs the same for any ``n``. Minibatches use the fast path.
* ``"vmap"``: ``torch.func.vmap`` of ``functional_call`` over chains, for any other model.
* ``"loop"``: one ``functional_call`` per chain (``vectorize=False``).

Frozen parameters and buffers are passed unchanged; tied weights are handled by
``functional_call(..., tie_weights=True)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from .deep_linear import half_squared_error

ELEMENTWISE = (
    torch.nn.Tanh,
    torch.nn.ReLU,
    torch.nn.GELU,
    torch.nn.Sigmoid,
    torch.nn.Identity,
    torch.nn.SiLU,
    torch.nn.LeakyReLU,
    torch.nn.ELU,
    torch.nn.Softplus,
)

#: Samples per chunk when the by-hand path evaluates the full data without gradient.
CHUNK = 2048
#: Activations whose derivative the by-hand backward writes, in place, over their output ``h``
#: (no longer needed by then; None: the derivative is 1).
DERIVATIVE: dict[type, Callable[[torch.Tensor], torch.Tensor] | None] = {
    torch.nn.Tanh: lambda h: h.square_().neg_().add_(1.0),  # 1 - h^2
    torch.nn.Sigmoid: lambda h: h.addcmul_(h, h, value=-1.0),  # h (1 - h)
    torch.nn.ReLU: lambda h: h.gt_(0.0),  # 1 where z > 0
    torch.nn.Identity: None,
}
#: Their in-place forms for the by-hand path. tanh is ``2 sigmoid(2z) - 1``: the same function up to
#: float rounding, and about twice as fast as torch's CPU tanh kernel (bench/README.md).
IN_PLACE: dict[type, Callable[[torch.Tensor], torch.Tensor]] = {
    torch.nn.Tanh: lambda z: torch.sigmoid_(z.mul_(2.0)).mul_(2.0).sub_(1.0),
    torch.nn.Sigmoid: torch.sigmoid_,
    torch.nn.ReLU: torch.relu_,
    torch.nn.Identity: lambda h: h,
}


def _sequential_layers(model: torch.nn.Module, names: list[str]) -> list[torch.nn.Module] | None:
    """The layers of an ``nn.Sequential`` of Linear and elementwise layers whose parameters are all trainable."""
    if type(model) is not torch.nn.Sequential:
        return None
    layers, expected = list(model.children()), []
    for i, layer in enumerate(layers):
        if type(layer) is torch.nn.Linear:
            expected += [f"{i}.weight"] + ([f"{i}.bias"] if layer.bias is not None else [])
        elif type(layer) not in ELEMENTWISE:
            return None
    n_params = len(list(model.parameters()))
    return layers if expected == names and len(expected) == n_params else None


def _recognise(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
) -> str | None:
    """``"mse"`` or ``"half_sse"`` if ``loss_fn`` computes ``F.mse_loss`` or :func:`half_squared_error`, else None.

    Recognised by what it computes, not by its identity: value and gradient (in the output) agree
    with the library's loss at the model's output on the data and at a random perturbation of it.
    """
    known = {F.mse_loss: "mse", half_squared_error: "half_sse"}
    if loss_fn in known:
        return known[loss_fn]
    with torch.no_grad():
        out = model(x)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(out.shape, generator=gen, dtype=out.dtype) * (1.0 + float(y.abs().mean()))
    rtol = 1e-9 if out.dtype == torch.float64 else 1e-4
    for name, reference in (("mse", F.mse_loss), ("half_sse", half_squared_error)):
        for probe in (out, out + noise):
            mine, ref = probe.clone().requires_grad_(True), probe.clone().requires_grad_(True)
            try:
                value = loss_fn(mine, y)
                if not isinstance(value, torch.Tensor) or value.shape != ():
                    return None
                (grad,) = torch.autograd.grad(value, mine)
            except Exception:
                return None
            expected = reference(ref, y)
            (expected_grad,) = torch.autograd.grad(expected, ref)
            scale = float(expected_grad.abs().max())
            if not (
                torch.allclose(value.detach(), expected.detach(), rtol=rtol, atol=0.0)
                and torch.allclose(grad, expected_grad, rtol=rtol, atol=rtol * scale)
            ):
                break
        else:
            return name
    return None


class ChainLoss:
    """``loss_fn(model_w(x), y)`` and its gradient for a ``[chains, d]`` batch of flat parameters ``w``."""

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        vectorize: bool | str = "auto",
    ) -> None:
        self.model, self.loss_fn, self.x, self.y = model, loss_fn, x, y
        named = dict(model.named_parameters())
        self.names = [k for k, p in named.items() if p.requires_grad]
        self.shapes = [named[k].shape for k in self.names]
        self.sizes = [named[k].numel() for k in self.names]
        self.w_star = torch.cat([named[k].detach().reshape(-1) for k in self.names]).clone()
        self.fixed: dict[str, torch.Tensor] = {k: v.detach() for k, v in named.items() if k not in self.names}
        self.fixed.update(dict(model.named_buffers()))
        self.tied = len(list(model.named_parameters(remove_duplicate=False))) != len(named)
        layers = None
        if vectorize == "auto" and not self.tied and not self.fixed and x.dim() == 2:
            layers = _sequential_layers(model, self.names)
        self.layers = layers
        self.path = "fast" if layers is not None else ("vmap" if vectorize else "loop")
        self.by_hand = False
        self.workspace: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {}
        if layers is not None:
            self.xT = x.T.contiguous()
            out = [m for m in layers if isinstance(m, torch.nn.Linear)][-1].out_features
            fusable = y.dim() == 2 and y.shape[1] == out and y.dtype == x.dtype
            self.fused = _recognise(loss_fn, model, x, y) if fusable else None
            self.yT = y.T.contiguous() if self.fused else None
            self.by_hand = self.fused is not None and all(
                type(m) is torch.nn.Linear or type(m) in DERIVATIVE for m in layers
            )
            if self.fused and all(isinstance(m, (torch.nn.Linear, torch.nn.Identity)) for m in layers):
                self.path = "gram"
                xa = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
                yd = y.double()
                self.s_xx, self.s_yx = xa.T @ xa / len(x), yd.T @ xa / len(x)
                self.s_yy = float(yd.square().sum(dim=1).mean())

    @property
    def d(self) -> int:
        return int(self.w_star.numel())

    def __call__(
        self, w: torch.Tensor, idx: torch.Tensor | None = None, *, grad: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Losses ``[k]`` (and gradients ``[k, d]`` if ``grad``) at ``w [k, d]``; ``idx [k, b]`` picks minibatches."""
        if self.path == "gram" and idx is None:
            with torch.no_grad():
                return self._gram_by_hand(w.detach(), grad)
        if self.layers is not None and (self.by_hand or not grad):
            with torch.no_grad():
                return self._by_hand(w.detach(), idx, grad)
        leaf = w.detach().requires_grad_(grad)
        with torch.set_grad_enabled(grad):
            if self.path == "gram" and idx is None:
                vals = self._gram(leaf)
            elif self.layers is not None:
                vals = self._fast(leaf, idx)
            else:
                vals = self._generic(leaf, idx)
            g = torch.autograd.grad(vals.sum(), leaf)[0] if grad else None
        return vals.detach(), g

    # -- the three paths ---------------------------------------------------------------------

    def _gram(self, w: torch.Tensor) -> torch.Tensor:
        """Loss of a linear network from the data's second moments: the end-to-end affine map ``A [k, out, in + 1]``."""
        k, w64, offset = w.shape[0], w.double(), 0
        a = None
        for layer in self.layers or []:
            if not isinstance(layer, torch.nn.Linear):
                continue
            o, i = layer.out_features, layer.in_features
            weight = w64[:, offset : offset + o * i].view(k, o, i)
            offset += o * i
            bias = w64.new_zeros(k, o, 1)
            if layer.bias is not None:
                bias = w64[:, offset : offset + o].unsqueeze(2)
                offset += o
            if a is None:  # [W | b] acting on [x; 1]
                a = torch.cat([weight, bias], dim=2)
            else:  # W [P | c] + [0 | b]
                a = torch.matmul(weight, a)
                a = torch.cat([a[:, :, :-1], a[:, :, -1:] + bias], dim=2)
        assert a is not None
        sse = (torch.matmul(a, self.s_xx) * a).sum(dim=(1, 2)) - 2 * (a * self.s_yx).sum(dim=(1, 2)) + self.s_yy
        return sse / a.shape[1] if self.fused == "mse" else 0.5 * sse

    def _gram_by_hand(self, w: torch.Tensor, grad: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`_gram` and its gradient by hand: ``d sse / dA = 2 (A S - C)``, then back through ``A_l = W_l A_(l-1) + [0 | b_l]``."""
        k, w64, offset = w.shape[0], w.double(), 0
        prefix: list[torch.Tensor] = []  # A_l [k, o_l, in + 1]
        weights: list[tuple[torch.Tensor, bool]] = []
        for layer in self.layers or []:
            if not isinstance(layer, torch.nn.Linear):
                continue
            o, i = layer.out_features, layer.in_features
            weight = w64[:, offset : offset + o * i].view(k, o, i)
            offset += o * i
            bias = None
            if layer.bias is not None:
                bias = w64[:, offset : offset + o].unsqueeze(2)
                offset += o
            if not prefix:
                a = torch.cat([weight, bias if bias is not None else w64.new_zeros(k, o, 1)], dim=2)
            else:
                a = torch.matmul(weight, prefix[-1])
                if bias is not None:
                    a[:, :, -1:] += bias
            prefix.append(a)
            weights.append((weight, bias is not None))
        a = prefix[-1]
        a_s = torch.matmul(a, self.s_xx)
        sse = (a_s * a).sum(dim=(1, 2)) - 2 * (a * self.s_yx).sum(dim=(1, 2)) + self.s_yy
        scale = 1.0 / a.shape[1] if self.fused == "mse" else 0.5
        if not grad:
            return scale * sse, None
        g = (2 * scale) * (a_s - self.s_yx)  # d loss / d A_L
        pieces: list[torch.Tensor] = []
        for j in range(len(weights) - 1, -1, -1):
            weight, has_bias = weights[j]
            if has_bias:
                pieces.append(g[:, :, -1])
            if j == 0:
                pieces.append(g[:, :, :-1].reshape(k, -1))
            else:
                pieces.append(torch.matmul(g, prefix[j - 1].transpose(1, 2)).reshape(k, -1))
                g = torch.matmul(weight.transpose(1, 2), g)
        return scale * sse, torch.cat(pieces[::-1], dim=1).to(w.dtype)

    def _buffer(self, key: int, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """A workspace tensor kept between calls: large activations are not reallocated at every step."""
        buf = self.workspace.get((key, shape))
        if buf is None or buf.dtype != dtype:
            buf = self.workspace[(key, shape)] = torch.empty(shape, dtype=dtype)
        return buf

    def _inputs(self, idx: torch.Tensor | None, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Inputs ``[in, n]`` (full data, broadcast over chains) or ``[k, in, b]``, and targets alike."""
        if idx is None:
            return self.xT, self.yT
        flat, b = idx.reshape(-1), idx.shape[1]
        xb = self.x.index_select(0, flat).view(k, b, -1).transpose(1, 2)
        yb = None if self.yT is None else self.y.index_select(0, flat).view(k, b, -1).transpose(1, 2)
        return xb, yb

    def _forward(
        self, w: torch.Tensor, h: torch.Tensor, by_hand: bool
    ) -> tuple[torch.Tensor, list[tuple[torch.nn.Module, torch.Tensor, int]]]:
        """Network output ``[k, out, samples]`` and, per layer, (layer, its input if Linear else its output, offset)."""
        k, offset, tape = w.shape[0], 0, []
        fresh = False  # h is a buffer of ours, free to overwrite
        for layer in self.layers or []:
            if type(layer) is torch.nn.Linear:
                o, i = layer.out_features, layer.in_features
                weight = w[:, offset : offset + o * i].view(k, o, i)
                tape.append((layer, h, offset))
                offset += o * i
                out = self._buffer(len(tape), (k, o, h.shape[-1]), w.dtype) if by_hand else None
                if layer.bias is not None:
                    bias = w[:, offset : offset + o].unsqueeze(2)
                    h = torch.baddbmm(bias, weight, h.expand(k, -1, -1), out=out)
                    offset += o
                else:
                    h = torch.matmul(weight, h, out=out)
                fresh = True
            else:
                h = IN_PLACE[type(layer)](h) if by_hand and fresh and type(layer) in IN_PLACE else layer(h)
                fresh = False  # the tape keeps h for the backward pass
                tape.append((layer, h, -1))
        return h, tape

    def _fast(self, w: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        """Losses by autograd (activations or losses whose derivative the by-hand path does not know)."""
        k = w.shape[0]
        x, yT = self._inputs(idx, k)
        h, _ = self._forward(w, x, by_hand=False)
        if self.fused:
            return self._fused_loss(h - yT)
        ys = [self.y if idx is None else self.y[idx[c]] for c in range(k)]
        return torch.stack([self.loss_fn(h[c].T, ys[c]) for c in range(k)])

    def _fused_loss(self, r: torch.Tensor) -> torch.Tensor:
        """``F.mse_loss`` or ``half_squared_error`` of residuals ``r [k, out, samples]``, per chain."""
        sq = r.square()
        return sq.mean(dim=(1, 2)) if self.fused == "mse" else 0.5 * sq.sum(dim=1).mean(dim=1)

    def _by_hand(
        self, w: torch.Tensor, idx: torch.Tensor | None, grad: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fast-path loss and (if ``grad``) its gradient by hand-written backpropagation, without autograd."""
        k = w.shape[0]
        if idx is None and not grad and self.fused:  # full data in chunks that stay in the cache
            n = self.xT.shape[1]
            total = torch.zeros(k, dtype=w.dtype)
            for s in range(0, n, CHUNK):
                h, _ = self._forward(w, self.xT[:, s : s + CHUNK], by_hand=True)
                total += self._fused_loss(h.sub_(self.yT[:, s : s + CHUNK])) * (h.shape[2] / n)
            return total, None
        x, yT = self._inputs(idx, k)
        h, tape = self._forward(w, x, by_hand=True)
        if not self.fused:
            ys = [self.y if idx is None else self.y[idx[c]] for c in range(k)]
            return torch.stack([self.loss_fn(h[c].T, ys[c]) for c in range(k)]), None
        r = h - yT
        loss = self._fused_loss(r)
        if not grad:
            return loss, None
        o, b = r.shape[1], r.shape[2]
        g = r.mul_(2.0 / (o * b) if self.fused == "mse" else 1.0 / b)  # dL/d(output)
        pieces: list[torch.Tensor] = []
        for j in range(len(tape) - 1, -1, -1):
            layer, a, offset = tape[j]
            if type(layer) is not torch.nn.Linear:
                derivative = DERIVATIVE[type(layer)]
                if derivative is not None:
                    g = g.mul_(derivative(a))
                continue
            if layer.bias is not None:
                pieces.append(g.sum(dim=2))
            pieces.append(torch.matmul(g, a.transpose(-1, -2)).reshape(k, -1))  # dL/dW = g a^T
            if j > 0:  # dL/d(input) = W^T g
                o, i = layer.out_features, layer.in_features
                weight_t = w[:, offset : offset + o * i].view(k, o, i).transpose(1, 2)
                g = torch.bmm(weight_t, g, out=self._buffer(-1 - j, (k, i, g.shape[2]), g.dtype))
        return loss, torch.cat(pieces[::-1], dim=1)

    def _params(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        out = dict(self.fixed)
        for k, piece, shape in zip(self.names, torch.split(flat, self.sizes, dim=-1), self.shapes, strict=True):
            out[k] = piece.reshape(*flat.shape[:-1], *shape)
        return out

    def _one(self, flat: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        out = functional_call(self.model, self._params(flat), (xb,), tie_weights=self.tied)
        return self.loss_fn(out, yb)

    def _generic(self, w: torch.Tensor, idx: torch.Tensor | None) -> torch.Tensor:
        k = w.shape[0]
        if idx is None:
            xs, ys, dims = self.x, self.y, (0, None, None)
        else:
            xs, ys, dims = self.x[idx], self.y[idx], (0, 0, 0)
        if self.path == "vmap" and k > 1:
            return vmap(self._one, in_dims=dims)(w, xs, ys)
        if idx is None:
            return torch.stack([self._one(w[c], xs, ys) for c in range(k)])
        return torch.stack([self._one(w[c], xs[c], ys[c]) for c in range(k)])
