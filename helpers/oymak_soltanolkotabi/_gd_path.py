r"""The gradient-descent path of the two-layer network and what the proofs measure along it.

Oymak & Soltanolkotabi train only the input layer of :math:`f(\mathbf W) = \phi(\mathbf X
\mathbf W^\top)\mathbf v` by GD on :math:`\mathcal L(\mathbf W) = \tfrac12\|f(\mathbf W)-\mathbf
y\|^2` (eq. (2.1)), :math:`\mathbf W_{\tau+1} = \mathbf W_\tau-\eta\,\mathcal J(\mathbf W_\tau)^
\top\mathbf r_\tau`. Their conclusions are statements about this path: the residual
:math:`\|\mathbf r_\tau\|` (rate), the distance :math:`\|\mathbf W_\tau-\mathbf W_0\|_F` and
the path length :math:`\sum_\tau\|\mathbf W_{\tau+1}-\mathbf W_\tau\|_F` (Theorems 2.1, 2.3,
6.2, 6.3, 6.10 and 6.13), and their proofs need Jacobian constants on the set the path visits
(:math:`\alpha\le\sigma_{\min}(\mathcal J)`, :math:`\|\mathcal J\|\le\beta`, the Lipschitz
constant :math:`L`, Assumption 4, Lemmas G.2-G.4).

* :func:`gd_path` trains one network with the book's trainer (:func:`helpers.train.train`,
  :class:`helpers.models.TwoLayerNet` with the given :math:`\mathbf W_0` and :math:`\mathbf v`)
  and records residual, distance and path length at every step, with snapshots of
  :math:`\mathbf W`; :func:`path_constants` measures the Jacobian constants on the snapshots.
* :func:`relu_gd_diagnostics` trains a ReLU network the same way and evaluates, at every step,
  the identity (G.2), the inequalities (G.3) and (G.4) and Assumption 4 (Appendix G).
* :func:`gd_width_sweep` runs several widths on the same data in one batched program
  (:func:`gd_batched`) with the distance recorded every ``segment`` steps;
  :func:`linearised_rates` gives each width's linearised rate
  :math:`1-\eta\lambda_{\min}(\mathcal J_0\mathcal J_0^\top)`.

The loss of :func:`helpers.train.train` is the *mean* :math:`\frac1n\sum_i\ell_i`, so the
paper's step :math:`\eta` on the sum (2.1) is passed to it as ``lr = n * eta``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import losses, models, train
from .._validate import check_generator, check_int, check_real, check_tensor
from ..rng import make_generator
from ._covariance import _activation, jacobian_gram, min_eigenvalue
from ._pattern_jacobian import (
    pattern_singular_values,
    pattern_transpose,
    relu_average_pattern,
)
from ._phase_transition import gd_batched, oymak_output_weights

__all__ = [
    "GDPath",
    "gd_path",
    "PathConstants",
    "path_constants",
    "relu_gd_diagnostics",
    "WidthSweep",
    "gd_width_sweep",
    "linearised_rates",
]


def _problem(X: object, y: object, W0: object, v: object) -> tuple[torch.Tensor, ...]:
    X = check_tensor(X, "X", ndim=2, floating=True)
    y = check_tensor(y, "y", ndim=1, floating=True, shape=(X.shape[0],))
    W0 = check_tensor(W0, "W0", ndim=2, floating=True, shape=(None, X.shape[1]))
    v = check_tensor(v, "v", ndim=1, floating=True, shape=(W0.shape[0],))
    return X, y, W0, v


def _network(W0: torch.Tensor, v: torch.Tensor, activation: str) -> models.TwoLayerNet:
    """TwoLayerNet(variant="oymak") holding the given W0 (trained) and v (frozen)."""
    k, d = W0.shape
    net = models.TwoLayerNet(d, k, generator=make_generator(0, W0.device), variant="oymak",
                             activation=activation, dtype=W0.dtype)
    with torch.no_grad():
        net.hidden_weights.copy_(W0)
        net.output_weights.copy_(v[None, :])
    return net


def _residual(net: models.TwoLayerNet, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net(X).reshape(-1) - y


@dataclass(frozen=True)
class GDPath:
    r"""A GD path recorded by :func:`gd_path` (steps :math:`\tau = 0, \dots, T`).

    Attributes
    ----------
    residual : numpy.ndarray, shape (T + 1,)
        :math:`\|f(\mathbf W_\tau)-\mathbf y\|`.
    distance : numpy.ndarray, shape (T + 1,)
        :math:`\|\mathbf W_\tau-\mathbf W_0\|_F`.
    path_length : numpy.ndarray, shape (T + 1,)
        :math:`\sum_{s<\tau}\|\mathbf W_{s+1}-\mathbf W_s\|_F`.
    snapshot_steps : tuple of int
        Steps at which :math:`\mathbf W` was stored.
    snapshots : tuple of torch.Tensor
        :math:`\mathbf W_\tau` at those steps, shape (k, d) each.
    """

    residual: np.ndarray
    distance: np.ndarray
    path_length: np.ndarray
    snapshot_steps: tuple[int, ...]
    snapshots: tuple[torch.Tensor, ...]


def gd_path(X: torch.Tensor, y: torch.Tensor, W0: torch.Tensor, v: torch.Tensor, *,
            activation: str, lr: float, steps: int, snapshot_every: int) -> GDPath:
    r"""GD on the loss (2.1) from :math:`\mathbf W_0` with the output layer :math:`\mathbf v`
    fixed, recording residual, distance and path length at every step.

    Trained by :func:`helpers.train.train` on :class:`helpers.models.TwoLayerNet`
    (``variant="oymak"``) with ``lr = n * eta`` (the trainer's loss is the mean), so that the
    update is :math:`\mathbf W\leftarrow\mathbf W-\eta\,\mathrm{diag}(\mathbf v)\phi'(\mathbf W
    \mathbf X^\top)\mathrm{diag}(\mathbf r)\mathbf X`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
    W0 : torch.Tensor, shape (k, d)
        Initial input-layer weights (not modified).
    v : torch.Tensor, shape (k,)
        Fixed output weights (e.g. :func:`oymak_output_weights`).
    activation : {"relu", "softplus", "quadratic"}
    lr : float
        The paper's step size :math:`\eta` on the summed loss.
    steps : int
        Number of GD steps :math:`T`.
    snapshot_every : int
        Store :math:`\mathbf W_\tau` for :math:`\tau` a multiple of this (and never more).

    Returns
    -------
    GDPath

    References
    ----------
    Oymak & Soltanolkotabi, eq. (2.1); Theorems 2.1, 6.2 and 6.10 (rate, distance (6.10) and
    path length (6.11)).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import gd_path, oymak_output_weights
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> y = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> W0 = torch.eye(2, dtype=torch.float64)
    >>> v = oymak_output_weights(2, y_norm=float(y.norm()), n=2)
    >>> p = gd_path(X, y, W0, v, activation="quadratic", lr=0.5, steps=200, snapshot_every=100)
    >>> p.snapshot_steps, bool(p.residual[-1] < 1e-6 * p.residual[0])
    ((0, 100, 200), True)
    """
    X, y, W0, v = _problem(X, y, W0, v)
    activation = _activation(activation).name
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    steps = check_int(steps, "steps", minimum=0)
    snapshot_every = check_int(snapshot_every, "snapshot_every", minimum=1)
    net = _network(W0, v, activation)
    W = net.hidden_weights
    state = {"t": 0, "prev": W0.clone()}
    snaps_t, snaps_W = [], []

    def measure(model) -> dict[str, float]:
        t = state["t"]
        with torch.no_grad():
            row = {"distance": float((W - W0).norm()),
                   "step": float((W - state["prev"]).norm())}
            if t % snapshot_every == 0:
                snaps_t.append(t)
                snaps_W.append(W.detach().clone())
            state["prev"] = W.detach().clone()
        state["t"] = t + 1
        return row

    hist = train.train(net, losses.squared_loss, X, y, lr=lr * X.shape[0], steps=steps,
                       metrics={"path": measure})
    step = hist.column("path.step")
    # the trainer records the mean loss (1/n) sum_i r_i^2 / 2 over the training set
    residual = np.sqrt(2 * X.shape[0] * hist.column("loss"))
    return GDPath(residual=residual, distance=hist.column("path.distance"),
                  path_length=np.cumsum(step), snapshot_steps=tuple(snaps_t),
                  snapshots=tuple(snaps_W))


@dataclass(frozen=True)
class PathConstants:
    r"""Jacobian constants on the snapshots of a :class:`GDPath` (see :func:`path_constants`).

    Attributes
    ----------
    sigma_min, norm : numpy.ndarray, shape (S,)
        :math:`\sigma_{\min}(\mathcal J(\mathbf W_t))` and :math:`\|\mathcal J(\mathbf W_t)\|`.
    deviation : numpy.ndarray, shape (S,)
        :math:`\|\mathcal J(\mathbf W_t)-\mathcal J(\mathbf W_0)\|`.
    lipschitz : float
        :math:`\max_{s\ne t}\|\mathcal J(\mathbf W_s)-\mathcal J(\mathbf W_t)\|/\|\mathbf W_s-
        \mathbf W_t\|_F` over the snapshots.
    """

    sigma_min: np.ndarray
    norm: np.ndarray
    deviation: np.ndarray
    lipschitz: float

    @property
    def alpha(self) -> float:
        r""":math:`\min_t\sigma_{\min}(\mathcal J(\mathbf W_t))`: the largest :math:`\alpha` of
        (6.7) on the snapshots."""
        return float(self.sigma_min.min())

    @property
    def beta(self) -> float:
        r""":math:`\max_t\|\mathcal J(\mathbf W_t)\|`: the smallest :math:`\beta` of (6.7)."""
        return float(self.norm.max())


def path_constants(X: torch.Tensor, v: torch.Tensor, path: GDPath, activation: str
                   ) -> PathConstants:
    r"""The constants of Theorem 6.10's hypotheses (6.7)-(6.8), measured on a GD path.

    For every snapshot :math:`\mathbf W_t` of ``path``: :math:`\sigma_{\min}` and norm of
    :math:`\mathcal J(\mathbf W_t)` and :math:`\|\mathcal J(\mathbf W_t)-\mathcal J(\mathbf
    W_0)\|` (:func:`pattern_singular_values` with :math:`\mathbf P = \phi'(\mathbf X\mathbf
    W_t^\top)` or a difference of two); and the largest ratio
    :math:`\|\mathcal J(\mathbf W_s)-\mathcal J(\mathbf W_t)\|/\|\mathbf W_s-\mathbf W_t\|_F`
    over pairs of snapshots, a lower estimate of the Lipschitz constant :math:`L` of (6.8) on
    the visited set.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    v : torch.Tensor, shape (k,)
    path : GDPath
        With at least two snapshots, the first at step 0.
    activation : {"relu", "softplus", "quadratic"}

    Returns
    -------
    PathConstants

    References
    ----------
    Oymak & Soltanolkotabi, Theorem 6.10 (hypotheses (6.7), (6.8)), Lemmas 6.6 and 6.8.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import gd_path, path_constants
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> y = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> W0, v = torch.eye(2, dtype=torch.float64), torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> p = gd_path(X, y, W0, v, activation="quadratic", lr=0.2, steps=20, snapshot_every=10)
    >>> c = path_constants(X, v, p, "quadratic")
    >>> bool(c.lipschitz <= 1.0)       # Lemma 6.8 with M = 1, ||v||_inf = ||X|| = 1
    True
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    if not isinstance(path, GDPath):
        raise TypeError(f"path must be a GDPath (from gd_path), got {type(path).__name__}")
    if len(path.snapshots) < 2 or path.snapshot_steps[0] != 0:
        raise ValueError("path must hold at least two snapshots, the first at step 0, got steps"
                         f" {path.snapshot_steps}")
    v = check_tensor(v, "v", ndim=1, floating=True, shape=(path.snapshots[0].shape[0],))
    dphi = _activation(activation).derivative
    Ps = [dphi(X @ W.T) for W in path.snapshots]
    sv = np.array([pattern_singular_values(X, P, v) for P in Ps])
    dev = np.array([pattern_singular_values(X, P - Ps[0], v)[1] for P in Ps])
    lip = 0.0
    for a in range(len(Ps)):
        for b in range(a + 1, len(Ps)):
            gap = float((path.snapshots[a] - path.snapshots[b]).norm())
            if gap > 0:
                lip = max(lip, pattern_singular_values(X, Ps[a] - Ps[b], v)[1] / gap)
    return PathConstants(sigma_min=sv[:, 0], norm=sv[:, 1], deviation=dev, lipschitz=lip)


def relu_gd_diagnostics(X: torch.Tensor, y: torch.Tensor, W0: torch.Tensor, v: torch.Tensor, *,
                        lr: float, steps: int) -> pd.DataFrame:
    r"""GD on a ReLU network with the quantities of Appendix G evaluated at every step.

    Trained by :func:`helpers.train.train` (as :func:`gd_path`). For each step
    :math:`\tau = 0, \dots, T-1`, with :math:`\mathbf r = \mathbf r_\tau`, :math:`\mathcal J_\tau
    = \mathcal J(\mathbf W_\tau)`, :math:`\mathcal J_0 = \mathcal J(\mathbf W_0)` and the average
    Jacobian :math:`\mathcal J_{\tau+1,\tau} = \mathcal J(\mathbf W_{\tau+1},\mathbf W_\tau)`
    (:func:`relu_average_pattern`), one row with the columns

    ``t``, ``r`` (:math:`\|\mathbf r_\tau\|`), ``dist_F``, ``dist_2`` (Frobenius and spectral
    :math:`\|\mathbf W_\tau-\mathbf W_0\|`), ``G.2 error`` (:math:`\max|\mathbf r_{\tau+1}-
    \mathbf r_\tau-\mathcal J_{\tau+1,\tau}\mathrm{vect}(\mathbf W_{\tau+1}-\mathbf W_\tau)|`,
    zero up to rounding by (G.2)), ``G.2 printed-proof error`` (the same with
    :math:`\mathcal J(\mathbf W_\tau,\mathbf W_\tau) = \mathcal J_\tau`, as the printed proof of
    Lemma G.4 writes), ``G.3 lower`` (:math:`\mathbf r^\top\mathcal J_{\tau+1,\tau}\mathcal
    J_\tau^\top\mathbf r/(\frac12\|\mathcal J_0^\top\mathbf r\|^2)`, at least 1 by (G.3)),
    ``G.3 upper`` (:math:`\|\mathcal J_\tau^\top\mathbf r\|^2/(1.5\|\mathcal J_0^\top\mathbf
    r\|^2)`, at most 1), ``G.4 decrease`` (:math:`\|\mathbf r_\tau\|-\|\mathbf r_{\tau+1}\|`)
    and ``G.4 guaranteed`` (:math:`\frac\eta4\|\mathcal J_0^\top\mathbf r_\tau\|^2/\|\mathbf
    r_\tau\|`, at most the decrease by (G.4)),
    ``||J - J0||`` and ``||J_avg - J0||`` (the quantities of Assumption 4, for
    :math:`\mathcal J_\tau` and :math:`\mathcal J_{\tau+1,\tau}`) and ``||J||``.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
    W0 : torch.Tensor, shape (k, d)
    v : torch.Tensor, shape (k,)
    lr : float
        The paper's step :math:`\eta` on the summed loss.
    steps : int
        Number of steps :math:`T` (>= 1).

    Returns
    -------
    pandas.DataFrame
        One row per step, the columns above.

    References
    ----------
    Oymak & Soltanolkotabi, Appendix G: Definition G.2, Lemmas G.3 and G.4, Assumptions 2-4 and
    Theorem 6.13.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import oymak_output_weights, relu_gd_diagnostics
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> X = torch.nn.functional.normalize(torch.randn(3, 4, generator=g, dtype=torch.float64))
    >>> y = torch.randn(3, generator=g, dtype=torch.float64)
    >>> W0 = torch.randn(400, 4, generator=g, dtype=torch.float64)
    >>> v = oymak_output_weights(400, y_norm=float(y.norm()), n=3)
    >>> tab = relu_gd_diagnostics(X, y, W0, v, lr=0.05, steps=5)
    >>> len(tab), bool((tab["G.2 error"] < 1e-12).all())
    (5, True)
    """
    X, y, W0, v = _problem(X, y, W0, v)
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    steps = check_int(steps, "steps", minimum=1)
    dphi = _activation("relu").derivative
    P0 = dphi(X @ W0.T)
    net = _network(W0, v, "relu")
    W = net.hidden_weights
    state: dict = {}
    rows = []

    def measure(model) -> float:
        with torch.no_grad():
            W_now = W.detach().clone()
            r_now = _residual(model, X, y)
            if state:
                Wt, r, P = state["W"], state["r"], state["P"]
                g_t, g_0 = pattern_transpose(X, P, v, r), pattern_transpose(X, P0, v, r)
                A = relu_average_pattern(X, Wt, W_now)
                dZ = X @ (W_now - Wt).T
                j0r2 = float(g_0.norm()) ** 2
                rn = float(r.norm())
                rows.append({
                    "t": len(rows), "r": rn, "dist_F": float((Wt - W0).norm()),
                    "dist_2": float(torch.linalg.matrix_norm(Wt - W0, ord=2)),
                    "G.2 error": float((r_now - r - ((A * v) * dZ).sum(1)).abs().max()),
                    "G.2 printed-proof error": float((r_now - r - ((P * v) * dZ).sum(1))
                                                     .abs().max()),
                    "G.3 lower": float((pattern_transpose(X, A, v, r) * g_t).sum())
                    / (0.5 * j0r2),
                    "G.3 upper": float(g_t.norm()) ** 2 / (1.5 * j0r2),
                    "G.4 decrease": rn - float(r_now.norm()),
                    "G.4 guaranteed": lr / 4 * j0r2 / rn,
                    "||J - J0||": pattern_singular_values(X, P - P0, v)[1],
                    "||J_avg - J0||": pattern_singular_values(X, A - P0, v)[1],
                    "||J||": pattern_singular_values(X, P, v)[1]})
            state.update(W=W_now, r=r_now, P=dphi(X @ W_now.T))
        return 0.0

    train.train(net, losses.squared_loss, X, y, lr=lr * X.shape[0], steps=steps,
                metrics={"diagnostics": measure})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class WidthSweep:
    r"""GD on the same data for several widths (see :func:`gd_width_sweep`).

    Attributes
    ----------
    widths : tuple of int
    W0 : torch.Tensor, shape (B, K, d)
        Initial weights, padded with zero rows to the largest width K (for storage only).
    v : torch.Tensor, shape (B, K)
        Output weights (zero on padded rows).
    residual : torch.Tensor, shape (B, T + 1)
        :math:`\|f(\mathbf W_\tau)-\mathbf y\|` at every step.
    distance : torch.Tensor, shape (B, T // segment + 1)
        :math:`\|\mathbf W_\tau-\mathbf W_0\|_F` at :math:`\tau = 0, s, 2s, \dots`
        (:math:`s` = ``segment``).
    path_length : torch.Tensor, shape (B,)
        :math:`\sum_\tau\|\mathbf W_{\tau+1}-\mathbf W_\tau\|_F` over the whole run.
    segment : int
    """

    widths: tuple[int, ...]
    W0: torch.Tensor
    v: torch.Tensor
    residual: torch.Tensor
    distance: torch.Tensor
    path_length: torch.Tensor
    segment: int


def gd_width_sweep(X: torch.Tensor, y: torch.Tensor, widths: Sequence[int], *, activation: str,
                   lr: float, steps: int, segment: int, generator: torch.Generator
                   ) -> WidthSweep:
    r"""GD on the loss (2.1) for several widths :math:`k` on the same :math:`(\mathbf X,
    \mathbf y)`, from :math:`\mathbf W_0` with i.i.d. :math:`\mathcal N(0,1)` entries.

    Each width runs in :func:`gd_batched` (the batched engine, one network at a time: padding
    all widths to the largest would cost :math:`B\max k` instead of :math:`\sum k`); the run is
    cut into segments of ``segment`` steps to record the distance from the initialisation. The
    output layer of width :math:`k` is :func:`oymak_output_weights`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
    widths : sequence of int
        The widths :math:`k`.
    activation : {"relu", "softplus", "quadratic"}
    lr : float
        Step size :math:`\eta` on the summed loss.
    steps : int
        Number of GD steps, a multiple of ``segment``.
    segment : int
        Distances are recorded every ``segment`` steps.
    generator : torch.Generator
        Draws :math:`\mathbf W_0` for each width in turn (on the device of ``X``).

    Returns
    -------
    WidthSweep

    References
    ----------
    Oymak & Soltanolkotabi, Theorems 2.1 and 2.3 (rate, distance and path length, all
    independent of :math:`k` once :math:`\sqrt{kd}\gtrsim n`).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import gd_width_sweep
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> X = torch.nn.functional.normalize(torch.randn(4, 3, generator=g, dtype=torch.float64))
    >>> y = torch.randn(4, generator=g, dtype=torch.float64)
    >>> s = gd_width_sweep(X, y, [8, 32], activation="softplus", lr=0.2, steps=40, segment=20,
    ...                    generator=g)
    >>> tuple(s.residual.shape), tuple(s.distance.shape)
    ((2, 41), (2, 3))
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    y = check_tensor(y, "y", ndim=1, floating=True, shape=(X.shape[0],))
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"widths must be a non-empty sequence of positive integers, got {widths!r}")
    widths = tuple(check_int(k, f"widths[{i}]", minimum=1) for i, k in enumerate(widths))
    activation = _activation(activation).name
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    segment = check_int(segment, "segment", minimum=1)
    steps = check_int(steps, "steps", minimum=segment)
    if steps % segment:
        raise ValueError(f"steps must be a multiple of segment = {segment}, got {steps}")
    check_generator(generator, device=X.device)
    n, d = X.shape
    B, K = len(widths), max(widths)
    W0 = torch.zeros(B, K, d, dtype=X.dtype, device=X.device)
    v = torch.zeros(B, K, dtype=X.dtype, device=X.device)
    for b, k in enumerate(widths):
        W0[b, :k] = torch.randn(k, d, generator=generator, dtype=X.dtype, device=X.device)
        v[b, :k] = oymak_output_weights(k, y_norm=float(y.norm()), n=n, dtype=X.dtype,
                                        device=X.device)
    residual, distance, path_length = [], [], []
    for b, k in enumerate(widths):              # one unpadded program per width: cost sum of k
        W0b, vb = W0[b:b + 1, :k], v[b:b + 1, :k]
        W, hist, path = W0b, [], torch.zeros(1, dtype=X.dtype, device=X.device)
        dist = [torch.zeros(1, dtype=X.dtype, device=X.device)]
        for _ in range(steps // segment):
            res = gd_batched(X[None], y[None], W, vb, activation=activation, lr=lr,
                             steps=segment, record_every=1)
            hist.append(res.history[:, :-1])
            W, path = res.W, path + res.path_length
            dist.append((W - W0b).flatten(1).norm(dim=1))
        hist.append(res.history[:, -1:])
        residual.append(torch.cat(hist, 1))
        distance.append(torch.stack(dist, 1))
        path_length.append(path)
    return WidthSweep(widths=widths, W0=W0, v=v, residual=torch.cat(residual),
                      distance=torch.cat(distance), path_length=torch.cat(path_length),
                      segment=segment)


def linearised_rates(X: torch.Tensor, sweep: WidthSweep, activation: str, lr: float
                     ) -> list[float]:
    r"""Per-step contraction factor :math:`1-\eta\lambda_{\min}(\mathcal J_0\mathcal J_0^\top)`
    of the slowest mode of :math:`\mathbf r_{\tau+1}\approx(\mathbf I-\eta\mathcal J_0\mathcal
    J_0^\top)\mathbf r_\tau`, one per width of a :class:`WidthSweep`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    sweep : WidthSweep
    activation : {"relu", "softplus", "quadratic"}
    lr : float
        Step size :math:`\eta`.

    Returns
    -------
    list of float

    References
    ----------
    Oymak & Soltanolkotabi, Lemma 6.7 (:math:`\lambda_{\min}(\mathcal J_0\mathcal J_0^\top)
    \approx\|\mathbf v\|^2\lambda(\mathbf X)`) and the proof of Theorem 6.10.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import gd_width_sweep, linearised_rates
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> X = torch.nn.functional.normalize(torch.randn(4, 3, generator=g, dtype=torch.float64))
    >>> y = torch.randn(4, generator=g, dtype=torch.float64)
    >>> s = gd_width_sweep(X, y, [64], activation="softplus", lr=0.2, steps=10, segment=10,
    ...                    generator=g)
    >>> 0 < linearised_rates(X, s, "softplus", 0.2)[0] < 1
    True
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    if not isinstance(sweep, WidthSweep):
        raise TypeError(f"sweep must be a WidthSweep (from gd_width_sweep), got"
                        f" {type(sweep).__name__}")
    activation = _activation(activation).name
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    return [1 - min_eigenvalue(jacobian_gram(X, W0, v, activation)) * lr
            for W0, v in zip(sweep.W0, sweep.v)]
