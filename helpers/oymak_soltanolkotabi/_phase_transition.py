r"""Batched gradient descent for the phase transitions of Oymak & Soltanolkotabi (Figure 2).

Figure 2 of the paper trains thousands of one-hidden-layer networks :math:`\mathbf x\mapsto
\mathbf v^\top\phi(\mathbf W\mathbf x)` (input layer :math:`\mathbf W \in \mathbb R^{k\times d}`
trained, output layer :math:`\mathbf v` fixed at :math:`\pm\|\mathbf y\|/\sqrt{kn}`) with
full-batch gradient descent on :math:`\mathcal L(\mathbf W) = \tfrac12\sum_i(\mathbf v^\top
\phi(\mathbf W\mathbf x_i) - y_i)^2` (eq. (2.1)), one network per grid point :math:`(k, d)` and
trial, and records whether the relative error :math:`\|f(\mathbf W_\tau)-\mathbf y\|/\|\mathbf
y\|` falls below a tolerance within an iteration budget.

:func:`gd_batched` runs **all** networks of a panel as one tensor program: the data are padded
to the largest input dimension :math:`D` with zero columns and the weights to the largest width
:math:`K` with zero output weights, so padded coordinates receive exactly zero gradient and the
padded network computes the same function as the unpadded one; every step is three batched
matrix products. Each network stops (is frozen) as soon as it reaches the tolerance or
diverges. :func:`phase_panel` draws the data of a panel and runs either the batched program
or, for comparison, the per-network loop on the same draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import (
    check_choice,
    check_dtype,
    check_generator,
    check_int,
    check_real,
    check_tensor,
)
from ._covariance import _activation


def _values(name: str):
    """Z -> (phi(Z), phi'(Z)) sharing work: softplus = relu(z) - log(sigmoid(|z|)) reuses the
    sigmoid (one transcendental less than torch's softplus, same value to ~1e-16)."""
    if name == "softplus":
        def both(Z):
            s = torch.sigmoid(Z)
            return torch.clamp(Z, min=0) - torch.log(torch.maximum(s, 1 - s)), s
        return both
    if name == "relu":                 # the boolean mask multiplies as 0/1 without a cast
        return lambda Z: (torch.clamp(Z, min=0), Z > 0)    # ReLU' = 1{z > 0} (activations)
    act = _activation(name)
    phi, dphi = act.fn, act.derivative
    return lambda Z: (phi(Z), dphi(Z))


__all__ = [
    "oymak_output_weights",
    "GDResult",
    "GIVE_UP_WINDOW",
    "gd_batched",
    "sgd_batched",
    "PhasePanel",
    "phase_panel",
    "BoundaryFit",
    "fit_boundary",
]


def oymak_output_weights(k: int, *, y_norm: float, n: int, dtype: torch.dtype = torch.float64,
                         device: torch.device | str | None = None) -> torch.Tensor:
    r"""The fixed output layer of Oymak & Soltanolkotabi: half the entries
    :math:`+\|\mathbf y\|/\sqrt{kn}`, half :math:`-\|\mathbf y\|/\sqrt{kn}`.

    For odd ``k`` the last entry is 0 and :math:`\lfloor (k-1)/2\rfloor` entries take each sign
    (footnote 1). Hence :math:`\mathbf 1^\top\mathbf v = 0` and :math:`\|\mathbf v\|_\infty =
    \|\mathbf y\|/\sqrt{kn}`.

    Parameters
    ----------
    k : int
        Width (>= 1).
    y_norm : float
        :math:`\|\mathbf y\|_2` (> 0).
    n : int
        Number of training examples.
    dtype : torch.dtype, default torch.float64
    device : torch.device or str, optional

    Returns
    -------
    torch.Tensor, shape (k,)

    References
    ----------
    Oymak & Soltanolkotabi, Theorem 2.1 and footnote 1.

    Examples
    --------
    >>> from helpers.oymak_soltanolkotabi import oymak_output_weights
    >>> oymak_output_weights(3, y_norm=2.0, n=3)      # 2 / sqrt(9) = 0.6667
    tensor([ 0.6667, -0.6667,  0.0000], dtype=torch.float64)
    """
    k = check_int(k, "k", minimum=1)
    n = check_int(n, "n", minimum=1)
    y_norm = check_real(y_norm, "y_norm", minimum=0.0, strict_min=True)
    half = k // 2
    v = torch.zeros(k, dtype=dtype, device=device)
    v[:half] = 1.0
    v[half:2 * half] = -1.0
    return v * (y_norm / math.sqrt(k * n))


@dataclass(frozen=True)
class GDResult:
    r"""Outcome of :func:`gd_batched` for a batch of B networks.

    Attributes
    ----------
    W : torch.Tensor, shape (B, K, D)
        Final (or frozen) input-layer weights.
    relative_error : torch.Tensor, shape (B,)
        :math:`\|f(\mathbf W)-\mathbf y\|/\|\mathbf y\|` at the stopping time (``inf`` if the
        run diverged).
    iterations : torch.Tensor, shape (B,), int64
        Number of GD steps taken (the stopping time :math:`\tau`).
    success : torch.Tensor, shape (B,), bool
        ``relative_error < tol`` (all False when ``tol`` is None).
    diverged : torch.Tensor, shape (B,), bool
        The residual became non-finite or exceeded ``1e8`` times :math:`\|\mathbf y\|`.
    distance : torch.Tensor, shape (B,)
        :math:`\|\mathbf W_\tau - \mathbf W_0\|_F`.
    path_length : torch.Tensor, shape (B,)
        :math:`\sum_t \|\mathbf W_{t+1}-\mathbf W_t\|_F`.
    history : torch.Tensor or None, shape (B, T)
        Residual norms :math:`\|f(\mathbf W_t)-\mathbf y\|` at ``t = 0, record_every, ...``
        (frozen networks repeat their last value); None when ``record_every == 0``.
    given_up : torch.Tensor, shape (B,), bool
        Stopped by the ``give_up`` rule (a failure declared before the budget ran out).
    """

    W: torch.Tensor
    relative_error: torch.Tensor
    iterations: torch.Tensor
    success: torch.Tensor
    diverged: torch.Tensor
    distance: torch.Tensor
    path_length: torch.Tensor
    history: torch.Tensor | None
    given_up: torch.Tensor | None = None


#: The ``give_up`` rule looks at the error every this many steps, from twice this many on.
GIVE_UP_WINDOW = 1000


def gd_batched(X: torch.Tensor, y: torch.Tensor, W0: torch.Tensor, v: torch.Tensor, *,
               activation: str, lr: float | torch.Tensor, steps: int, tol: float | None = None,
               record_every: int = 0, check_every: int = 100,
               give_up: float | None = None) -> GDResult:
    r"""Full-batch GD on :math:`\mathcal L(\mathbf W) = \tfrac12\|\phi(\mathbf X\mathbf W^\top)
    \mathbf v - \mathbf y\|^2` for B independent networks at once.

    The update is :math:`\mathbf W \leftarrow \mathbf W - \eta\,\mathrm{diag}(\mathbf v)\phi'
    (\mathbf W\mathbf X^\top)\mathrm{diag}(\mathbf r)\mathbf X` with :math:`\mathbf r =
    f(\mathbf W) - \mathbf y` (Section 6.1). A network stops at the first :math:`\tau\le`
    ``steps`` with :math:`\|\mathbf r_\tau\| < \text{tol}\,\|\mathbf y\|`, or when it diverges.

    Parameters
    ----------
    X : torch.Tensor, shape (B, n, D)
        Inputs; pad unused input dimensions with zero columns.
    y : torch.Tensor, shape (B, n)
        Labels.
    W0 : torch.Tensor, shape (B, K, D)
        Initial weights (padded entries arbitrary: they never move nor matter when the
        corresponding ``v`` entries or ``X`` columns are zero; set them to 0 so that distances
        are those of the unpadded networks).
    v : torch.Tensor, shape (B, K)
        Fixed output weights; zero for padded hidden units.
    activation : {"relu", "softplus", "quadratic"}
    lr : float or torch.Tensor of shape (B,)
        Step size(s) :math:`\eta` (> 0).
    steps : int
        Iteration budget.
    tol : float, optional
        Relative-error tolerance for success and early stopping.
    record_every : int, default 0
        Record the residual norm every this many steps (0: no history).
    check_every : int, default 100
        Remove stopped networks from the working set (once fewer than 3/4 of it run), checked
        every this many steps.
    give_up : float, optional
        Declare a network failed, and stop it, once its error could not reach ``tol`` within
        the budget even at ``give_up`` times its current rate: at every multiple :math:`t\ge
        2w` of :math:`w` = ``GIVE_UP_WINDOW`` (1000) steps, with :math:`e_t` the relative
        error and :math:`\rho = \log(e_{t-w}/e_t)/w` its decay per step over the last window,
        stop when :math:`\log(e_t/\text{tol}) > \text{give\_up}\cdot\rho\,(\text{steps}-t)`.
        This is a heuristic (GD may accelerate), so only use it with a safety factor well above
        the largest ratio :math:`\log(e_t/\text{tol})/(\rho(\text{steps}-t))` seen on runs that
        succeed, and check it (:func:`phase_panel` ``audit``). Needs ``tol``.

    Returns
    -------
    GDResult

    References
    ----------
    Oymak & Soltanolkotabi, eq. (2.1), Theorem 2.1 (GD on the input layer), Section 4
    (Figure 2: 15,000 iterations or relative error below :math:`2.5\times10^{-3}`).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import gd_batched
    >>> X = torch.eye(2, dtype=torch.float64)[None]          # one network, n = d = 2
    >>> y = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    >>> W0 = torch.zeros(1, 2, 2, dtype=torch.float64)
    >>> v = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    >>> res = gd_batched(X, y, W0, v, activation="quadratic", lr=0.5, steps=10, tol=1e-3)
    >>> res.relative_error.item()                    # f = 0 at W = 0 and the gradient vanishes
    1.0
    >>> bool(res.success.item())
    False
    """
    activation = _activation(activation).name
    X = check_tensor(X, "X", ndim=3, floating=True)
    B, n, D = X.shape
    y = check_tensor(y, "y", floating=True, shape=(B, n))
    W0 = check_tensor(W0, "W0", floating=True, ndim=3)
    if W0.shape[0] != B or W0.shape[2] != D:
        raise ValueError(f"W0 must have shape ({B}, K, {D}) to match X, got {tuple(W0.shape)}")
    K = W0.shape[1]
    v = check_tensor(v, "v", floating=True, shape=(B, K))
    if isinstance(lr, torch.Tensor):
        lr = check_tensor(lr, "lr", floating=True, shape=(B,))
        if not bool((lr > 0).all()):
            raise ValueError("lr must be positive, got a non-positive entry")
        lr_t = lr.to(X)
    else:
        lr_t = torch.full((B,), check_real(lr, "lr", minimum=0.0, strict_min=True),
                          dtype=X.dtype, device=X.device)
    steps = check_int(steps, "steps", minimum=0)
    if tol is not None:
        tol = check_real(tol, "tol", minimum=0.0, strict_min=True)
    record_every = check_int(record_every, "record_every", minimum=0)
    check_every = check_int(check_every, "check_every", minimum=1)
    if give_up is not None:
        give_up = check_real(give_up, "give_up", minimum=0.0, strict_min=True)
        if tol is None:
            raise ValueError("give_up needs a tolerance tol to aim at, got tol=None")
    run = _Run(X, y, W0, v, lr_t, activation, tol, give_up=give_up, steps=steps)
    history = run.loop(steps, record_every, check_every)
    success = (run.err_out < tol) if tol is not None else torch.zeros(B, dtype=torch.bool,
                                                                       device=X.device)
    distance = (run.W_out - W0).flatten(1).norm(dim=1)
    return GDResult(W=run.W_out, relative_error=run.err_out, iterations=run.its_out,
                    success=success, diverged=run.div_out, distance=distance,
                    path_length=run.path_out, history=history, given_up=run.gave_out)


def _extent(mask: torch.Tensor) -> int:
    """1 + the last column of the (B, M) boolean ``mask`` that is True somewhere (at least 1)."""
    cols = mask.any(dim=0).nonzero()
    return int(cols[-1]) + 1 if cols.numel() else 1


class _Run:
    r"""The working state of :func:`gd_batched` (see its docstring for the mathematics).

    **The same GD, less work.** Hidden units whose output weight is zero in every network, and
    input columns that are zero in every network, never move and never change an output: the
    trailing ones are cut off before the loop (the others are padding of some networks and
    real units of others). A network that stops is recorded at once; every ``check_every``
    steps the stopped ones leave the working set once fewer than 3/4 of it are alive.

    **Softplus** (the activation of Figure 2(a, b)) costs one exponential, one logarithm and one
    reciprocal per pre-activation and step: with the inputs stored negated, one product gives
    :math:`\mathbf A = -\mathbf Z`, then :math:`\mathbf Q = 1 + e^{\mathbf A}`, :math:`\log
    \mathbf Q = \mathrm{softplus}(\mathbf Z) - \mathbf Z` (so :math:`f = \mathbf v^\top\log\mathbf
    Q + (\mathbf v^\top\mathbf W)\mathbf X^\top`: two matrix-vector products instead of a pass
    over :math:`\mathbf Z`) and :math:`\phi'(\mathbf Z) = \sigma(\mathbf Z) = 1/\mathbf Q`. The
    gradient :math:`\mathrm{diag}(\mathbf v)\,\sigma(\mathbf Z)\,\mathrm{diag}(\mathbf r)\,
    \mathbf X` scales by the residual whichever of the :math:`K\times n` and :math:`n\times D`
    operands is cheaper (a pass over the former vectorises better: it is chosen when
    :math:`K < 2D`), and the step :math:`-\eta\,\mathrm{diag}(\mathbf v)` scales the
    :math:`K\times D` product. Every operation
    writes into buffers allocated once per working set. :math:`e^{A}` overflows for :math:`A >
    709` in float64 (88 in float32); since :math:`|A_{li}|\le\|\mathbf w_l\|\|\mathbf x_i\|`, the
    largest row norm is checked every ``check_every`` steps and the run switches to the
    overflow-free form :math:`\mathrm{softplus}(z) = \max(z, 0) - \log\max(\sigma(z),
    1-\sigma(z))` once it exceeds half the limit.

    **Stopping** costs five small operations per step: :math:`e = \|\mathbf r\|/\|\mathbf y\|`,
    then ``clamp(e, lo, hi) != e`` with ``lo = tol`` and ``hi = 1e8`` for running networks
    (``-inf`` and ``inf`` once stopped) flags exactly the networks with :math:`e <` ``tol`` or
    :math:`e > 10^8` or non-finite, and one ``any`` decides whether to record.
    """

    def __init__(self, X, y, W0, v, lr, activation, tol, track_path=True, give_up=None,
                 steps=0):
        B, n, _ = X.shape
        self.n, self.track_path = n, track_path
        self.give_up, self.steps, self.tol = give_up, steps, tol
        self.K = _extent(v != 0)
        self.D = _extent((X != 0).any(dim=1))
        K, D = self.K, self.D
        self.values = _values(activation)
        self.softplus, self.relu = activation == "softplus", activation == "relu"
        self.y_norm = y.norm(dim=1)
        dev, dt = X.device, X.dtype
        # outputs, full batch
        self.W_out = W0.clone()
        self.err_out = torch.full((B,), math.inf, dtype=dt, device=dev)
        self.its_out = torch.zeros(B, dtype=torch.int64, device=dev)
        self.path_out = torch.zeros(B, dtype=dt, device=dev)
        self.div_out = torch.zeros(B, dtype=torch.bool, device=dev)
        self.gave_out = torch.zeros(B, dtype=torch.bool, device=dev)
        # working set
        self.idx = torch.arange(B, device=dev)
        self.W = W0[:, :K, :D].clone(memory_format=torch.contiguous_format)
        self.X = X[:, :, :D].contiguous()
        self.Xt = self.X.transpose(1, 2).contiguous()
        if self.softplus:
            self.Xt.neg_()                        # bmm(W, Xt) = -Z, exactly
        self.y = y[:, None, :].contiguous()
        self.yn = self.y_norm.clone()
        self.vrow = v[:, None, :K].contiguous()
        self.coef = (-(lr[:, None] * v[:, :K]))[:, :, None].contiguous()
        self.lo = torch.full((B,), -math.inf if tol is None else tol, dtype=dt, device=dev)
        self.hi = torch.full((B,), 1e8, dtype=dt, device=dev)
        self.path = torch.zeros(B, dtype=dt, device=dev)
        self.err = torch.full((B,), math.inf, dtype=dt, device=dev)
        self.e_prev = torch.full((B,), math.inf, dtype=dt, device=dev)
        self.xmax = float(X.norm(dim=2).max()) if X.numel() else 0.0
        self.limit = 0.5 * math.log(torch.finfo(dt).max)
        self.stable = False
        self._buffers()

    def _buffers(self) -> None:
        b, K, D, n = self.W.shape[0], self.K, self.D, self.n
        new = self.W.new_empty
        self.A, self.Q, self.C = new(b, K, n), new(b, K, n), new(b, K, n)
        self.f, self.vw = new(b, 1, n), new(b, 1, D)
        self.r, self.rcol, self.rrow = self.f.view(b, n), self.f.view(b, n, 1), self.f
        self.scale_q = K < 2 * D              # a pass over K x n costs about half one over n x D
        self.Xr, self.G = new(b, n, D), new(b, K, D)
        self.rn, self.clip = new(b), new(b)
        self.flag = torch.empty(b, dtype=torch.bool, device=self.W.device)

    def _compact(self) -> None:
        keep = self.running.nonzero().squeeze(1)
        for name in ("idx", "W", "X", "Xt", "y", "yn", "vrow", "coef", "lo", "hi", "path",
                     "err", "e_prev", "running"):
            setattr(self, name, getattr(self, name)[keep])
        self._buffers()

    def _gives_up(self, t: int, e: torch.Tensor) -> torch.Tensor:
        """The running networks that the give-up rule stops at step t (see gd_batched)."""
        w = GIVE_UP_WINDOW
        rate = torch.log(self.e_prev / e).clamp_(min=0) / w
        need = torch.log(e / self.tol)
        self.e_prev = e.clone()
        if t < 2 * w:
            return torch.zeros_like(self.running)
        return self.running & (need > self.give_up * rate * (self.steps - t))

    def _record(self, sel: torch.Tensor, t: int, bad: torch.Tensor) -> None:
        g = self.idx[sel]
        self.W_out[g, :self.K, :self.D] = self.W[sel]
        self.err_out[g] = self.err[sel]
        self.its_out[g] = t
        self.path_out[g] = self.path[sel]
        self.div_out[g] = bad[sel]

    def _forward(self) -> None:
        """Residuals r = f(W) - y into self.r (b, n); leaves phi'(Z) in self.Q (b, K, n)."""
        torch.bmm(self.W, self.Xt, out=self.A)
        if self.softplus and not self.stable:
            torch.exp(self.A, out=self.Q)
            self.Q.add_(1.0)
            torch.log(self.Q, out=self.C)                         # softplus(Z) - Z
            torch.bmm(self.vrow, self.C, out=self.f)
            torch.bmm(self.vrow, self.W, out=self.vw)
            self.f.baddbmm_(self.vw, self.Xt, alpha=-1.0)          # + v^T Z
            self.Q.reciprocal_()                                  # sigma(Z) = 1 / (1 + e^-Z)
        elif self.softplus:                                       # overflow-free form
            Z = self.A.neg_()
            torch.sigmoid(Z, out=self.Q)
            torch.maximum(self.Q, 1 - self.Q, out=self.C)
            self.C.log_()
            torch.sub(Z.clamp_(min=0), self.C, out=self.C)        # softplus(Z)
            torch.bmm(self.vrow, self.C, out=self.f)
        elif self.relu:                                           # ReLU' = 1{z > 0}
            torch.clamp(self.A, min=0, out=self.C)
            torch.gt(self.A, 0, out=self.Q)
            torch.bmm(self.vrow, self.C, out=self.f)
        else:
            P, dP = self.values(self.A)
            self.Q.copy_(dP)
            torch.bmm(self.vrow, P.to(self.A.dtype), out=self.f)
        self.f.sub_(self.y)

    def _step(self) -> None:
        if self.scale_q:                      # scale the smaller operand by the residual
            self.Q.mul_(self.rrow)
            torch.bmm(self.Q, self.X, out=self.G)
        else:
            torch.mul(self.X, self.rcol, out=self.Xr)
            torch.bmm(self.Q, self.Xr, out=self.G)
        if self.track_path:
            self.G.mul_(self.coef)                                # -lr diag(v) phi'(Z) (r*X)
            self.W.add_(self.G)
            self.path.add_(torch.linalg.vector_norm(self.G.flatten(1), dim=1))
        else:
            self.W.addcmul_(self.G, self.coef)

    def loop(self, steps: int, record_every: int, check_every: int) -> torch.Tensor | None:
        history = []
        alive = self.idx.numel()
        self.running = torch.ones(alive, dtype=torch.bool, device=self.W.device)
        for t in range(steps + 1):
            if t % check_every == 0:
                if t and alive < 0.75 * self.idx.numel():
                    self._compact()
                if self.softplus and not self.stable:
                    w = float(torch.linalg.vector_norm(self.W, dim=2).max())
                    self.stable = w * self.xmax > self.limit
            self._forward()
            torch.linalg.vector_norm(self.r, dim=1, out=self.rn)
            e = torch.div(self.rn, self.yn, out=self.rn)
            torch.clamp(e, self.lo, self.hi, out=self.clip)
            stop = torch.ne(self.clip, e, out=self.flag)          # e < tol, e > 1e8 or not finite
            gave = None
            if self.give_up is not None and t % GIVE_UP_WINDOW == 0 and t < self.steps:
                gave = self._gives_up(t, e) & ~stop
                stop |= gave
            if bool(stop.any()):
                if gave is not None:
                    self.gave_out[self.idx[gave]] = True
                bad = ~(e <= self.hi)
                self.err = torch.where(stop, e.masked_fill(bad, math.inf), self.err)
                self._record(stop, t, bad)
                self.running &= ~stop
                self.coef[stop] = 0.0            # frozen, and kept finite: never flagged again
                self.W[stop] = 0.0
                self.lo[stop] = -math.inf
                self.hi[stop] = math.inf
                alive = int(self.running.sum())
            if t == steps:
                self.err = torch.where(self.running, e, self.err)
            if record_every and t % record_every == 0:
                self.err_out[self.idx] = torch.where(self.running, e, self.err)
                history.append(self.err_out * self.y_norm)
            if t == steps or alive == 0:
                break
            self._step()
        if alive:
            self._record(self.running, steps, torch.zeros_like(self.running))
        if not history:
            return None
        frozen = self.err_out * self.y_norm                      # every network has stopped
        history += [frozen] * (steps // record_every + 1 - len(history))
        return torch.stack(history, dim=1)


def sgd_batched(X: torch.Tensor, y: torch.Tensor, W0: torch.Tensor, v: torch.Tensor, *,
                activation: str, lr: float, epochs: int, trials: int,
                generator: torch.Generator) -> torch.Tensor:
    r"""Single-sample SGD (eq. (2.9)) on one network, ``trials`` independent chains at once.

    Every chain starts from ``W0`` and at step :math:`\tau` draws its own index
    :math:`i_\tau` uniformly with replacement and updates
    :math:`\mathbf W \leftarrow \mathbf W - \eta\,(\mathbf v^\top\phi(\mathbf W\mathbf x_{i})
    - y_i)\,\mathrm{diag}(\mathbf v)\,\phi'(\mathbf W\mathbf x_i)\,\mathbf x_i^\top`, the
    gradient of :math:`\tfrac12(f(\mathbf x_i)-y_i)^2`; the chains are one batched program
    (no Python loop over chains). An *epoch* is :math:`n` steps, the cost of one GD step.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
    W0 : torch.Tensor, shape (k, d)
        Initial input-layer weights (trained).
    v : torch.Tensor, shape (k,)
        Fixed output weights.
    activation : {"relu", "softplus", "quadratic"}
    lr : float
        Step size :math:`\eta` (> 0).
    epochs : int
        Number of epochs (>= 1); ``epochs * n`` steps in all.
    trials : int
        Number of independent chains (>= 1).
    generator : torch.Generator
        Draws the ``(trials, epochs * n)`` indices.

    Returns
    -------
    torch.Tensor, shape (trials, epochs)
        :math:`\|f(\mathbf W_\tau)-\mathbf y\|` of each chain at the start of each epoch,
        :math:`\tau = 0, n, 2n, \dots`.

    References
    ----------
    Oymak & Soltanolkotabi, eq. (2.9) and Theorem 2.6 (SGD: :math:`n` SGD steps cost as much as
    one GD step and achieve about the same decrease).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import sgd_batched
    >>> from helpers.rng import make_generator
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> y = torch.tensor([1.0, 1.0], dtype=torch.float64)
    >>> W0 = torch.zeros(1, 2, dtype=torch.float64)
    >>> v = torch.ones(1, dtype=torch.float64)
    >>> r = sgd_batched(X, y, W0, v, activation="quadratic", lr=0.5, epochs=3, trials=2,
    ...                 generator=make_generator(0))
    >>> r.shape, round(float(r[0, 0]), 4)      # at W = 0 the quadratic net outputs 0
    (torch.Size([2, 3]), 1.4142)
    """
    activation = _activation(activation).name
    X = check_tensor(X, "X", ndim=2, floating=True)
    n, d = X.shape
    y = check_tensor(y, "y", floating=True, shape=(n,))
    W0 = check_tensor(W0, "W0", floating=True, ndim=2)
    if W0.shape[1] != d:
        raise ValueError(f"W0 must have shape (k, {d}) to match X, got {tuple(W0.shape)}")
    v = check_tensor(v, "v", floating=True, shape=(W0.shape[0],))
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    epochs = check_int(epochs, "epochs", minimum=1)
    trials = check_int(trials, "trials", minimum=1)
    generator = check_generator(generator)
    act = _activation(activation)
    phi, dphi = act.fn, act.derivative

    W = W0.expand(trials, -1, -1).clone()
    idx = torch.randint(0, n, (trials, epochs * n), generator=generator, device=X.device)
    out = []
    for tau in range(epochs * n):
        if tau % n == 0:
            out.append((phi(torch.einsum("bkd,nd->bnk", W, X)) @ v - y).norm(dim=1))
        x = X[idx[:, tau]]                                              # (trials, d)
        z = torch.einsum("bkd,bd->bk", W, x)
        r = phi(z) @ v - y[idx[:, tau]]                                 # (trials,)
        W = W - lr * (r[:, None, None] * (v * dphi(z))[:, :, None] * x[:, None, :])
    return torch.stack(out, 1)


#: Cost model of one step of :class:`_Run` on the CPU, in units of one elementwise pass over one
#: pre-activation (about 4 ns in float64 with AVX-512): a fixed cost per step of a working set
#: (about 15 small operations) and a matrix-product cost per pre-activation and input column.
_STEP_OVERHEAD = {"cpu": 12_000.0, "other": 1e6}
_FLOP_COST = 0.04


def _buckets(k_eff: np.ndarray, d: np.ndarray, n: int, device: torch.device) -> list[np.ndarray]:
    r"""Partition problems into batches that :func:`gd_batched` pads to a common size.

    Problems are sorted by (effective width, input dimension) and cut into contiguous groups
    minimising :math:`\sum_b [c_0 + N_b K_b n (1 + 0.04 D_b)]` (dynamic programming over the
    distinct sizes): :math:`c_0` is the fixed cost of one step of a batch, :math:`K_b, D_b` the
    largest width and dimension of group :math:`b` (padding costs the elementwise passes and the
    products of the padded network), :math:`N_b` its size. On a GPU the fixed cost dominates
    and one batch is usually best. Returns index arrays into the problems.
    """
    c0 = _STEP_OVERHEAD["cpu" if device.type == "cpu" else "other"]
    order = np.lexsort((d, k_eff))
    keys = np.stack([k_eff[order], d[order]], 1)
    sizes, starts = np.unique(keys, axis=0, return_index=True)      # distinct sizes, in order
    starts = np.append(starts, len(order))
    m = len(sizes)
    best = np.full(m + 1, np.inf)
    best[0], cut = 0.0, np.zeros(m + 1, dtype=int)
    for j in range(1, m + 1):                  # best[j]: sizes[:j] in groups, the last = i..j-1
        K = max(int(sizes[j - 1, 0]), 1)
        D = 0
        for i in range(j - 1, -1, -1):
            D = max(D, int(sizes[i, 1]))
            count = starts[j] - starts[i]
            cost = best[i] + c0 + count * K * n * (1 + _FLOP_COST * D)
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], m
    while j > 0:
        i = cut[j]
        groups.append(order[starts[i]:starts[j]])
        j = i
    return groups[::-1]


def _run_buckets(X, y, W0, v, kp, dp, activation, lr, steps, tol, give_up=None):
    """GD on every problem, batch by batch (:func:`_buckets`): (error, iterations, diverged,
    given up)."""
    P = X.shape[0]
    err = torch.empty(P, dtype=X.dtype, device=X.device)
    its = torch.empty(P, dtype=torch.int64, device=X.device)
    div = torch.empty(P, dtype=torch.bool, device=X.device)
    gave = torch.empty(P, dtype=torch.bool, device=X.device)
    k_eff = (kp // 2 * 2).cpu().numpy()
    for sel in _buckets(k_eff, dp.cpu().numpy(), X.shape[1], X.device):
        sel = torch.as_tensor(sel, device=X.device)
        lr_t = torch.full((sel.numel(),), lr, dtype=X.dtype, device=X.device)
        run = _Run(X[sel], y[sel], W0[sel], v[sel], lr_t, activation, tol, track_path=False,
                   give_up=give_up, steps=steps)
        run.loop(steps, 0, 100)
        err[sel], its[sel], div[sel], gave[sel] = (run.err_out, run.its_out, run.div_out,
                                                   run.gave_out)
    return err, its, div, gave


@dataclass(frozen=True)
class PhasePanel:
    r"""One panel of Figure 2: success of GD over a grid of widths k and input dimensions d.

    Attributes
    ----------
    ks, ds : tuple of int
        Grid values (columns: k, rows: d).
    n : int
        Number of training examples.
    trials : int
    steps : int
        Iteration budget.
    tol : float
        Success threshold on the relative error.
    activation : str
    lr : float
    relative_error : numpy.ndarray, shape (len(ds), len(ks), trials)
        Relative error at the stopping time.
    iterations : numpy.ndarray, shape (len(ds), len(ks), trials)
        Stopping times (``steps`` for runs that did not reach ``tol``).
    success : numpy.ndarray of bool, same shape
    diverged : numpy.ndarray of bool, same shape
    trained : numpy.ndarray of bool, same shape, optional
        Whether the run was trained at all (``phase_panel(skip_below=...)``); untrained runs
        count as failures. All True by default.
    given_up : numpy.ndarray of bool, same shape, optional
        Runs stopped as failures by the ``give_up`` rule. All False by default.
    audit : dict of numpy.ndarray, optional
        Runs re-trained to the full budget (only stopping on success) to check the shortcuts
        (``phase_panel(audit=...)``): ``"index"`` (flat index into the panel's arrays, C order
        (d, k, trial)), ``"kind"`` (``"skipped"`` or ``"given up"``), ``"error"`` (relative
        error at the end) and ``"success"``.
    """

    ks: tuple[int, ...]
    ds: tuple[int, ...]
    n: int
    trials: int
    steps: int
    tol: float
    activation: str
    lr: float
    relative_error: np.ndarray
    iterations: np.ndarray
    success: np.ndarray
    diverged: np.ndarray
    trained: np.ndarray | None = None
    given_up: np.ndarray | None = None
    audit: dict | None = None

    def __post_init__(self) -> None:
        if self.trained is None:
            object.__setattr__(self, "trained", np.ones(np.shape(self.success), dtype=bool))
        if self.given_up is None:
            object.__setattr__(self, "given_up", np.zeros(np.shape(self.success), dtype=bool))

    _ARRAYS = ("relative_error", "iterations", "success", "diverged", "trained", "given_up")

    def to_state(self) -> dict:
        """The panel as a state for :func:`helpers.checkpoint.save_checkpoint` (tensors, numbers,
        strings, lists), e.g. to resume a full-scale run panel by panel.

        Examples
        --------
        >>> import numpy as np
        >>> from helpers.oymak_soltanolkotabi import PhasePanel
        >>> z = np.zeros((1, 1, 2))
        >>> p = PhasePanel((2,), (3,), 4, 2, 10, 1e-3, "relu", 0.1, z, z.astype(int),
        ...                z.astype(bool), z.astype(bool))
        >>> PhasePanel.from_state(p.to_state()).ks
        (2,)
        """
        state = {"ks": list(self.ks), "ds": list(self.ds), "n": self.n, "trials": self.trials,
                 "steps": self.steps, "tol": self.tol, "activation": self.activation,
                 "lr": self.lr}
        state.update({k: torch.from_numpy(np.ascontiguousarray(getattr(self, k)))
                      for k in self._ARRAYS})
        if self.audit is not None:
            state["audit"] = {"index": torch.from_numpy(self.audit["index"].astype(np.int64)),
                              "kind": [str(x) for x in self.audit["kind"]],
                              "error": torch.from_numpy(np.asarray(self.audit["error"])),
                              "success": torch.from_numpy(np.asarray(self.audit["success"]))}
        return state

    @classmethod
    def from_state(cls, state: dict) -> PhasePanel:
        """Inverse of :meth:`to_state`."""
        if not isinstance(state, dict) or not {"ks", "ds", *cls._ARRAYS} <= set(state):
            raise ValueError("state must be a dict written by PhasePanel.to_state, got"
                             f" {type(state).__name__}")
        audit = state.get("audit")
        if audit is not None:
            audit = {"index": audit["index"].numpy(), "kind": np.array(audit["kind"]),
                     "error": audit["error"].numpy(), "success": audit["success"].numpy()}
        arrays = {k: state[k].numpy() for k in cls._ARRAYS}
        return cls(ks=tuple(int(k) for k in state["ks"]), ds=tuple(int(d) for d in state["ds"]),
                   n=int(state["n"]), trials=int(state["trials"]), steps=int(state["steps"]),
                   tol=float(state["tol"]), activation=str(state["activation"]),
                   lr=float(state["lr"]), audit=audit, **arrays)

    @property
    def probability(self) -> np.ndarray:
        """Empirical success probability, shape (len(ds), len(ks))."""
        return self.success.mean(axis=2)

    def probability_at(self, budget: int) -> np.ndarray:
        """Success probability had the budget been ``budget`` <= ``steps`` iterations.

        Exact, because a run stops at the first iterate below the tolerance: it succeeds
        within ``budget`` iff it succeeded with ``iterations <= budget``.
        """
        budget = check_int(budget, "budget", minimum=0, maximum=self.steps)
        return (self.success & (self.iterations <= budget)).mean(axis=2)


def _grid(values: object, name: str) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a non-empty sequence of positive integers, got"
                        f" {values!r}")
    return tuple(check_int(v, f"{name}[{i}]", minimum=1) for i, v in enumerate(values))


def phase_panel(n: int, ks: Sequence[int], ds: Sequence[int], *, trials: int, activation: str,
                lr: float, steps: int, generator: torch.Generator, tol: float = 2.5e-3,
                dtype: torch.dtype = torch.float64, method: str = "batched",
                skip_below: float = 0.0, give_up: float | None = None,
                audit: int = 0) -> PhasePanel:
    r"""Run one panel of Figure 2: GD from a random initialisation on n random labels, for every
    :math:`(k, d)` of the grid and ``trials`` independent draws.

    Each problem draws its own data :math:`\mathbf x_i` uniform on :math:`S^{d-1}`, labels
    :math:`y_i\sim\mathcal N(0,1)` and :math:`\mathbf W_0` with i.i.d. :math:`\mathcal N(0,1)`
    entries; :math:`\mathbf v` is :func:`oymak_output_weights`. All draws are made at once (at
    the largest sizes, then restricted), so ``method="batched"`` (one padded tensor program) and
    ``method="loop"`` (one unpadded network at a time) see identical problems.

    Parameters
    ----------
    n : int
        Training-set size.
    ks, ds : sequence of int
        Widths and input dimensions.
    trials : int
        Independent realisations per grid point.
    activation : {"relu", "softplus", "quadratic"}
    lr : float
        Constant step size (the paper: 0.15 for softplus, 0.1 for ReLU, on the sum loss).
    steps : int
        Iteration budget (the paper: 15,000).
    generator : torch.Generator
        Source of all draws; its device is the device of the computation.
    tol : float, default 2.5e-3
        Success threshold on :math:`\|f(\mathbf W_\tau)-\mathbf y\|/\|\mathbf y\|`.
    dtype : torch.dtype, default torch.float64
    method : {"batched", "loop"}, default "batched"
    skip_below : float, default 0
        Cells with :math:`kd <` ``skip_below`` :math:`\cdot n` are not trained: their outcome is
        recorded as a failure at iteration 0 with a NaN error, and ``PhasePanel.trained`` is
        False there. With ``skip_below = 1`` these are the networks with fewer parameters
        than data points, which cannot interpolate generic labels (their outputs form a
        manifold of dimension :math:`kd < n`); check this claim on a sample of such cells run
        to the full budget before relying on it. Their draws are made all the same, so the
        other cells see the same problems whatever ``skip_below`` is.
    give_up : float, optional
        Stop runs whose error cannot reach ``tol`` in the budget even at this many times its
        current rate (the rule of :func:`gd_batched`); they count as failures.
    audit : int, default 0
        Check the two shortcuts: re-train, to the full budget and stopping only on success,
        the ``audit`` skipped runs with the largest :math:`kd` and the ``audit`` given-up runs
        with the smallest error when given up (the ones most likely to have succeeded), and
        store their outcomes in ``PhasePanel.audit``. A shortcut changed an outcome iff an
        audited run succeeds.

    Returns
    -------
    PhasePanel

    References
    ----------
    Oymak & Soltanolkotabi, Section 4 and Figure 2.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.oymak_soltanolkotabi import phase_panel
    >>> p = phase_panel(6, [2, 8], [2, 4], trials=2, activation="softplus", lr=0.5,
    ...                 steps=1500, generator=make_generator(0))
    >>> p.probability.shape
    (2, 2)
    >>> p.probability.tolist()     # kd = 4 < n = 6 cannot fit; kd = 32 >> n = 6 does
    [[0.0, 0.0], [0.0, 1.0]]
    """
    n = check_int(n, "n", minimum=1)
    ks = _grid(ks, "ks")
    ds = _grid(ds, "ds")
    trials = check_int(trials, "trials", minimum=1)
    activation = _activation(activation).name
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    steps = check_int(steps, "steps", minimum=0)
    check_generator(generator)
    tol = check_real(tol, "tol", minimum=0.0, strict_min=True)
    method = check_choice(method, "method", ("batched", "loop"))
    skip_below = check_real(skip_below, "skip_below", minimum=0.0)
    if give_up is not None:
        give_up = check_real(give_up, "give_up", minimum=0.0, strict_min=True)
    audit = check_int(audit, "audit", minimum=0)
    check_dtype(dtype)
    device = generator.device
    K, D = max(ks), max(ds)
    kk = torch.tensor(ks, device=device)
    dd = torch.tensor(ds, device=device)
    # problem p = (i_d, i_k, trial) in C order
    kp = kk[None, :, None].expand(len(ds), len(ks), trials).reshape(-1)
    dp = dd[:, None, None].expand(len(ds), len(ks), trials).reshape(-1)
    P = kp.numel()
    G = torch.randn(P, n, D, generator=generator, dtype=dtype, device=device)
    y = torch.randn(P, n, generator=generator, dtype=dtype, device=device)
    Wf = torch.randn(P, K, D, generator=generator, dtype=dtype, device=device)
    cols = torch.arange(D, device=device)
    rows = torch.arange(K, device=device)
    colmask = (cols[None, :] < dp[:, None]).to(dtype)           # (P, D)
    rowmask = (rows[None, :] < kp[:, None]).to(dtype)           # (P, K)
    X = G * colmask[:, None, :]
    X = X / X.norm(dim=2, keepdim=True)
    W0 = Wf * rowmask[:, :, None] * colmask[:, None, :]
    half = (kp // 2)[:, None]
    sign = (rows[None, :] < half).to(dtype) - ((rows[None, :] >= half)
                                               & (rows[None, :] < 2 * half)).to(dtype)
    v = sign * (y.norm(dim=1, keepdim=True) / torch.sqrt((kp * n).to(dtype))[:, None])
    train = (kp * dp).to(torch.float64) >= skip_below * n
    err = torch.full((P,), math.nan, dtype=dtype, device=device)
    its = torch.zeros(P, dtype=torch.int64, device=device)
    div = torch.zeros(P, dtype=torch.bool, device=device)
    gave = torch.zeros(P, dtype=torch.bool, device=device)
    todo = train.nonzero().squeeze(1)
    if method == "batched":
        err[todo], its[todo], div[todo], gave[todo] = _run_buckets(
            X[todo], y[todo], W0[todo], v[todo], kp[todo], dp[todo], activation, lr, steps, tol,
            give_up)
    else:
        for p in todo.tolist():
            k, d = int(kp[p]), int(dp[p])
            r = gd_batched(X[p:p + 1, :, :d], y[p:p + 1], W0[p:p + 1, :k, :d], v[p:p + 1, :k],
                           activation=activation, lr=lr, steps=steps, tol=tol, give_up=give_up)
            err[p], its[p], div[p], gave[p] = (r.relative_error[0], r.iterations[0],
                                               r.diverged[0], r.given_up[0])
    suc = err < tol
    checked = None
    if audit:
        skipped = (~train).nonzero().squeeze(1)
        skipped = skipped[torch.argsort(-(kp * dp)[skipped], stable=True)[:audit]]
        given = gave.nonzero().squeeze(1)
        given = given[torch.argsort(err[given], stable=True)[:audit]]
        sel = torch.cat([skipped, given])
        a_err = torch.empty(0, dtype=dtype, device=device)
        if sel.numel():
            a_err, _, _, _ = _run_buckets(X[sel], y[sel], W0[sel], v[sel], kp[sel], dp[sel],
                                          activation, lr, steps, tol)
        checked = {"index": sel.cpu().numpy(),
                   "kind": np.array(["skipped"] * skipped.numel() + ["given up"] * given.numel()),
                   "error": a_err.cpu().numpy(), "success": (a_err < tol).cpu().numpy()}
    shape = (len(ds), len(ks), trials)
    return PhasePanel(ks=ks, ds=ds, n=n, trials=trials, steps=steps, tol=tol,
                      activation=activation, lr=lr,
                      relative_error=err.cpu().numpy().reshape(shape),
                      iterations=its.cpu().numpy().reshape(shape),
                      success=suc.cpu().numpy().reshape(shape),
                      diverged=div.cpu().numpy().reshape(shape),
                      trained=train.cpu().numpy().reshape(shape),
                      given_up=gave.cpu().numpy().reshape(shape), audit=checked)


@dataclass(frozen=True)
class BoundaryFit:
    r"""Logistic fit :math:`\Pr[\text{success}] = \sigma(s\,(\log(kd/n) - \log c))`.

    Attributes
    ----------
    ratio : float
        :math:`c`: the value of :math:`kd/n` where the fitted success probability is 1/2.
    slope : float
        :math:`s`: sharpness of the transition in :math:`\log(kd/n)`.
    count : int
        Number of runs used.
    log_ratio_se : float
        Standard error of :math:`\log c` from the inverse Fisher information of the fit (delta
        method); NaN when the classes are separable (no finite maximum-likelihood estimate).
    """

    ratio: float
    slope: float
    count: int
    log_ratio_se: float = math.nan

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        r"""The interval :math:`c\,e^{\pm z\,\mathrm{se}}` for the boundary ratio (1.96: 95%).

        Examples
        --------
        >>> from helpers.oymak_soltanolkotabi import BoundaryFit
        >>> [round(x, 3) for x in BoundaryFit(1.5, 10.0, 100, 0.02).interval()]
        [1.442, 1.56]
        """
        z = check_real(z, "z", minimum=0.0)
        return (self.ratio * math.exp(-z * self.log_ratio_se),
                self.ratio * math.exp(z * self.log_ratio_se))


def fit_boundary(panel: PhasePanel, *, budget: int | None = None, min_d: int = 1,
                 max_d: int | None = None) -> BoundaryFit:
    r"""Locate the phase boundary of a panel in units of :math:`kd/n` by logistic regression.

    Every run of the panel with :math:`d \ge` ``min_d`` is one Bernoulli observation at
    :math:`x = \log(kd/n)` (runs that were not trained, ``PhasePanel.trained``, count as the
    failures they are); the two-parameter logistic model is fitted by Newton's method (a small
    ridge :math:`10^{-6}` keeps it defined when the classes are separable). The returned
    ratio is the 50% point, to compare with the paper's line :math:`kd = n`, with the standard
    error of its logarithm (``BoundaryFit.interval``). The model assumes that success depends
    on :math:`kd/n` alone; effects it leaves out (small :math:`d`, odd :math:`k`) are not in
    the standard error.

    Parameters
    ----------
    panel : PhasePanel
    budget : int, optional
        Use the success indicator at this budget (default: the panel's budget).
    min_d : int, default 1
        Ignore rows with smaller input dimension.
    max_d : int, optional
        Ignore rows with larger input dimension (with ``min_d``: fit disjoint bands of rows
        separately, e.g. :math:`n > d(d+1)/2` against :math:`n \le d(d+1)/2`).

    Returns
    -------
    BoundaryFit

    References
    ----------
    Oymak & Soltanolkotabi, Section 4 ("the success region is tightly surrounded by the
    :math:`n = kd` curve").

    Examples
    --------
    >>> import numpy as np
    >>> from helpers.oymak_soltanolkotabi import PhasePanel, fit_boundary
    >>> ks, ds = (1, 2, 4, 8), (1, 2, 4, 8)
    >>> kd = np.outer(ds, ks)[:, :, None]
    >>> ok = np.repeat(kd > 9, 2, axis=2)          # succeeds iff kd > 9, n = 8
    >>> p = PhasePanel(ks, ds, 8, 2, 100, 1e-3, "relu", 0.1, np.zeros(ok.shape),
    ...                np.zeros(ok.shape, int), ok, np.zeros(ok.shape, bool))
    >>> fit = fit_boundary(p)
    >>> 1.0 < fit.ratio < 2.0                       # between kd = 8 (fail) and kd = 16 (success)
    True
    """
    if not isinstance(panel, PhasePanel):
        raise TypeError(f"panel must be a PhasePanel, got {type(panel).__name__}")
    min_d = check_int(min_d, "min_d", minimum=1)
    if max_d is not None:
        max_d = check_int(max_d, "max_d", minimum=min_d)
    if budget is None:
        ok = panel.success
    else:
        budget = check_int(budget, "budget", minimum=0, maximum=panel.steps)
        ok = panel.success & (panel.iterations <= budget)
    kd = np.outer(panel.ds, panel.ks)[:, :, None] * np.ones((1, 1, panel.trials))
    rows = np.asarray(panel.ds) >= min_d
    if max_d is not None:
        rows &= np.asarray(panel.ds) <= max_d
    if not rows.any():
        raise ValueError(f"min_d = {min_d}, max_d = {max_d} leave no row of the panel"
                         f" (ds = {panel.ds})")
    x = np.log(kd[rows].ravel() / panel.n)
    t = ok[rows].ravel().astype(float)
    if t.min() == t.max():
        raise ValueError("the panel needs both successes and failures to locate a boundary, got"
                         f" {'only successes' if t.min() == 1 else 'only failures'}")
    A = np.stack([np.ones_like(x), x], axis=1)
    beta = np.zeros(2)
    for _ in range(100):
        p = 0.5 * (1 + np.tanh(0.5 * (A @ beta)))            # the logistic, without overflow
        g = A.T @ (t - p) - 1e-6 * beta
        H = (A * (p * (1 - p))[:, None]).T @ A + 1e-6 * np.eye(2)
        delta = np.linalg.solve(H, g)
        beta += delta
        if np.abs(delta).max() < 1e-10:
            break
    slope = float(beta[1])
    if slope <= 0:
        raise ValueError("the success probability does not increase with kd on this panel;"
                         " no boundary to locate")
    grad = np.array([-1.0 / slope, beta[0] / slope**2])        # d log c / d beta
    separable = bool(((A @ beta > 0) == (t > 0.5)).all())
    se = math.nan if separable else float(np.sqrt(grad @ np.linalg.solve(H, grad)))
    return BoundaryFit(ratio=float(np.exp(-beta[0] / slope)), slope=slope, count=int(t.size),
                       log_ratio_se=se)
