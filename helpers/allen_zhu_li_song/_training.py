r"""(S)GD on the paper's objective with the kernel's step size (Theorems 1, 2, 7 and 8).

The paper minimises the **sum** :math:`F=\sum_iF_i`, :math:`F_i=\frac12\|y(x_i)-y_i^*\|^2`, by
:math:`\vec{\mathbf W}\leftarrow\vec{\mathbf W}-\eta\frac nb\sum_{i\in S_t}\nabla F_i` (GD for
:math:`b=n`). Every run of this part takes :math:`\eta=\frac bn\eta_{\rm GD}` with
:math:`\eta_{\rm GD}=1/\lambda_{\max}(K_0)`, :math:`K_0` the NTK Gram matrix at initialisation:
it scales like :math:`c/m` as Theorem 1's :math:`\eta=\Theta(c\delta/(\mathrm{poly}(n,L)m))`, with
the polynomial replaced by the measured curvature, and like :math:`b` as Theorem 2's. Each
sampled example then moves the weights by :math:`\eta_{\rm GD}\nabla F_i`. The loop is the
book's one trainer, :func:`helpers.train.train`, on the mean squared loss with step
:math:`b\,\eta_{\rm GD}`.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import losses, scaling, train
from .._validate import check_int, check_module, check_real, check_tensor
from ..rng import make_generator

__all__ = ["KernelRun", "kernel_gd", "batch_sweep"]


@dataclass(frozen=True)
class KernelRun:
    r"""A run of :func:`kernel_gd`.

    Attributes
    ----------
    steps : numpy.ndarray
        Recorded steps (updates done), starting at 0.
    loss : numpy.ndarray
        The paper's objective :math:`F=\sum_iF_i` at those steps.
    eigenvalues : torch.Tensor
        Spectrum of :math:`K_0`, ascending.
    lr : float
        The step size given to :func:`helpers.train.train` (mean loss): :math:`b/\lambda_{\max}`.
    min_norm : float
        :math:`\sqrt{r_0^\top K_0^{-1}r_0}`, the distance the kernel model travels to interpolate
        (:math:`r_0=y^*-y(\vec{\mathbf W}^{(0)})`).
    initial : tuple of torch.Tensor
        The trainable parameters at the start.
    movement : tuple of torch.Tensor
        Their change :math:`\vec{\mathbf W}^{(T)}-\vec{\mathbf W}^{(0)}`.
    history : helpers.train.History
        The trainer's records (with any extra metrics).
    """

    steps: np.ndarray
    loss: np.ndarray
    eigenvalues: torch.Tensor
    lr: float
    min_norm: float
    initial: tuple
    movement: tuple
    history: train.History

    @property
    def kappa(self) -> float:
        """Condition number :math:`\\lambda_{\\max}(K_0)/\\lambda_{\\min}(K_0)`."""
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def frobenius_movement(self) -> float:
        r""":math:`\|\vec{\mathbf W}^{(T)}-\vec{\mathbf W}^{(0)}\|_F` ((12.1))."""
        return math.sqrt(sum(float(d.pow(2).sum()) for d in self.movement))

    @property
    def spectral_movement(self) -> float:
        r""":math:`\max_\ell\|\mathbf W^{(T)}_\ell-\mathbf W^{(0)}_\ell\|_2` (matrices)."""
        return max(float(torch.linalg.matrix_norm(d, ord=2)) for d in self.movement
                   if d.dim() == 2)

    def steps_to(self, eps: float) -> float:
        """First recorded step with :math:`F\\le\\varepsilon F_0` (``inf`` if never)."""
        return scaling.first_crossing(self.loss, eps, steps=self.steps, relative=True)

    def rate(self) -> scaling.RateFit:
        """Linear-rate fit of :math:`\\log F` against the step (points with :math:`F>10^{-20}`)."""
        keep = self.loss > 1e-20
        return scaling.fit_linear_rate(self.steps[keep], self.loss[keep])


def kernel_gd(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, *, steps: int,
              batch_size: int | None = None, generator: torch.Generator | None = None,
              K0: torch.Tensor | None = None, record_every: int = 1,
              metrics: Mapping[str, Callable] | None = None,
              checkpoint: str | os.PathLike | None = None) -> KernelRun:
    r"""Train ``model`` in place by (S)GD on :math:`F=\sum_iF_i` with :math:`\eta=\frac bn
    \cdot\frac1{\lambda_{\max}(K_0)}` (see the module docstring) and record :math:`F`.

    Parameters
    ----------
    model : torch.nn.Module
        A network with one output.
    X : torch.Tensor, shape (n, ...)
    Y : torch.Tensor, shape (n, 1)
    steps : int
        Updates (>= 1).
    batch_size : int, optional
        Minibatch size :math:`b` (``None``: GD).
    generator : torch.Generator, optional
        Required for :math:`b<n` (minibatch order).
    K0 : torch.Tensor, shape (n, n), optional
        The NTK Gram matrix at the start (default :func:`helpers.gradients.ntk_gram`).
    record_every : int, default 1
        Record :math:`F` every this many steps (and at the last).
    metrics : mapping, optional
        Extra metrics for :func:`helpers.train.train` (in ``history``).
    checkpoint : path, optional
        For long SGD runs: train by epochs (``ceil(steps b / n)``, one record per epoch) and save
        and resume with :func:`helpers.train.train`'s checkpoints.

    Returns
    -------
    KernelRun

    References
    ----------
    Allen-Zhu, Li & Song, Theorem 1 (GD), Theorem 2 (SGD, :math:`\eta\propto b`), (12.1).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(5, 128, 2, 1, generator=gen)
    >>> X = paper_inputs(4, 5, 0.3, generator=gen)
    >>> run = kernel_gd(net, X, torch.ones(4, 1, dtype=torch.float64), steps=300)
    >>> run.steps_to(1e-6) < 300, round(run.frobenius_movement / run.min_norm, 1)
    (True, 1.1)
    """
    from ..gradients import ntk_gram

    model = check_module(model)
    X = check_tensor(X, "X", floating=True)
    n = X.shape[0]
    Y = check_tensor(Y, "Y", shape=(n, 1), floating=True)
    steps = check_int(steps, "steps", minimum=1)
    b = n if batch_size is None else check_int(batch_size, "batch_size", minimum=1, maximum=n)
    if K0 is None:
        K0 = ntk_gram(model, X, output=0)
    K0 = check_tensor(K0, "K0", shape=(n, n), floating=True)
    eig = torch.linalg.eigvalsh(K0)
    params = [p for p in model.parameters() if p.requires_grad]
    initial = tuple(p.detach().clone() for p in params)
    with torch.no_grad():
        out = model(X)
        r0 = (Y - out)[:, 0]
    min_norm = float((r0 @ torch.linalg.solve(K0, r0)).sqrt())
    lr = b / float(eig[-1])
    stochastic = b < n
    if checkpoint is not None and stochastic:
        F0 = float(losses.squared_loss(out, Y).sum())
        hist = train.train(model, losses.squared_loss, X, Y, lr=lr,
                           epochs=math.ceil(steps * b / n), batch_size=b, generator=generator,
                           checkpoint=checkpoint, metrics=metrics)
        t, F = np.r_[0, hist.column("step")], np.r_[F0, n * hist.column("loss")]
    else:
        hist = train.train(model, losses.squared_loss, X, Y, lr=lr, steps=steps,
                           batch_size=b if stochastic else None, record_every=record_every,
                           generator=generator if stochastic else None, metrics=metrics)
        t, F = hist.column("step"), n * hist.column("loss")
    movement = tuple(p.detach() - w for p, w in zip(params, initial))
    return KernelRun(t, F, eig, lr, min_norm, initial, movement, hist)


def batch_sweep(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, *,
                batches: Sequence[int], seeds: int, eps: float, seed: int, budget: float = 2.0,
                K0: torch.Tensor | None = None,
                checkpoint_dir: str | os.PathLike | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Theorem 2's experiment: GD, then SGD with :math:`\eta\propto b` for every minibatch size
    and minibatch order, from the same initialisation; steps to :math:`F\le\varepsilon F_0`.

    GD (:math:`b=n`) runs :math:`\lceil\text{budget}\cdot\kappa\ln\frac1\varepsilon\rceil` steps
    (on the linearised model :math:`\frac\kappa2\ln\frac1\varepsilon` suffice) and needs
    :math:`T_{\rm GD}`; SGD with :math:`b<n` contracts in expectation :math:`\frac nb` times slower
    per step, and runs :math:`\lceil\text{budget}\cdot\frac nbT_{\rm GD}\rceil` steps, with the
    minibatch order drawn from ``make_generator(seed + 100 b + k)``, :math:`k<` ``seeds``.

    Parameters
    ----------
    model : torch.nn.Module
        Not modified (every run trains a copy).
    X, Y : torch.Tensor
        Inputs (n, ...) and targets (n, 1).
    batches : sequence of int
        Minibatch sizes; those below :math:`n` are run with SGD (GD always runs).
    seeds : int
        Minibatch orders per SGD batch size (>= 1).
    eps : float
        Target :math:`F\le\varepsilon F_0`, in (0, 1).
    seed : int
        Base seed of the minibatch orders.
    budget : float, default 2
        Multiple of the predicted number of steps that each run may take (>= 1).
    K0 : torch.Tensor, optional
        NTK Gram matrix at the start (default :func:`helpers.gradients.ntk_gram`).
    checkpoint_dir : path, optional
        Checkpoint the SGD runs there (long runs; see :func:`kernel_gd`).

    Returns
    -------
    runs : pandas.DataFrame
        One row per run: ``b``, ``seed``, ``kappa``, ``budget``, ``steps to eps`` (``inf`` if not
        reached), ``rate r2`` (of the linear fit of :math:`\log F`).
    curves : pandas.DataFrame
        ``b``, ``seed``, ``step``, ``F / F0`` along every run.

    Raises
    ------
    ValueError
        If GD does not reach the target within its budget (no SGD budget can be set).

    References
    ----------
    Allen-Zhu, Li & Song, Theorem 2 (restated in Section 13), Theorems 7 and 8 with SGD.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(5, 128, 2, 1, generator=gen)
    >>> X = paper_inputs(4, 5, 0.3, generator=gen)
    >>> runs, _ = batch_sweep(net, X, torch.ones(4, 1, dtype=torch.float64), batches=[1, 2],
    ...                       seeds=1, eps=1e-4, seed=0)
    >>> runs["b"].tolist(), bool((runs["steps to eps"] <= runs["budget"]).all())
    ([4, 1, 2], True)
    """
    from ..gradients import ntk_gram

    model = check_module(model)
    X = check_tensor(X, "X", floating=True)
    n = X.shape[0]
    batches = [check_int(b, "batches[...]", minimum=1, maximum=n) for b in batches]
    seeds = check_int(seeds, "seeds", minimum=1)
    eps = check_real(eps, "eps", minimum=0.0, strict_min=True, maximum=1.0, strict_max=True)
    seed = check_int(seed, "seed", minimum=0)
    budget = check_real(budget, "budget", minimum=1.0)
    if K0 is None:
        K0 = ntk_gram(model, X, output=0)
    K0 = check_tensor(K0, "K0", shape=(n, n), floating=True)
    eig = torch.linalg.eigvalsh(K0)
    if not float(eig[0]) > 0:
        raise ValueError(f"K0 must be positive definite (the kernel model must interpolate), got "
                         f"smallest eigenvalue {float(eig[0]):.3g}")
    kappa = float(eig[-1] / eig[0])
    rows, curves, T_gd = [], [], None
    for b in (n, *[b for b in batches if b < n]):
        for k in range(1 if b == n else seeds):
            steps = (math.ceil(budget * kappa * math.log(1 / eps)) if b == n
                     else math.ceil(budget * T_gd * n / b))
            path = (None if checkpoint_dir is None or b == n
                    else os.path.join(checkpoint_dir, f"b{b}_s{k}.ckpt"))
            run = kernel_gd(copy.deepcopy(model), X, Y, steps=steps,
                            batch_size=None if b == n else b, K0=K0, checkpoint=path,
                            generator=None if b == n else make_generator(seed + 100 * b + k,
                                                                         X.device))
            T = run.steps_to(eps)
            if b == n:
                if not math.isfinite(T):
                    raise ValueError(f"GD did not reach F <= {eps:g} F_0 within {steps} steps "
                                     f"(kappa = {kappa:.3g}); raise budget")
                T_gd = T
            curves += [{"b": b, "seed": k, "step": s, "F / F0": v / run.loss[0]}
                       for s, v in zip(run.steps, run.loss)]
            rows.append({"b": b, "seed": k, "kappa": kappa, "budget": steps,
                         "steps to eps": T, "rate r2": run.rate().r2})
    return pd.DataFrame(rows), pd.DataFrame(curves)
