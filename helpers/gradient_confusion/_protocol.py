r"""The measurement protocol of Section 7: tune the step size, train, measure minibatch confusion.

Sankararaman et al. measure gradient confusion in every experiment of Section 7 and Appendix A
the same way ([L] Section 7 and Appendix E, [I] Section 7): SGD with a constant (or step-decayed)
step size tuned on a logarithmic grid by the lowest final training loss, then, at the end of
training (and at the end of every epoch at full scale), the gradients of independently drawn
minibatches and their pairwise cosine similarities,

.. math:: \mathbf g_k = \nabla_{\mathbf w}\frac1B\sum_{i\in S_k}\ell_i(\mathbf w), \qquad
   \cos_{kl} = \frac{\langle\mathbf g_k,\mathbf g_l\rangle}{\|\mathbf g_k\|\|\mathbf g_l\|},
   \quad k<l,

summarised by their minimum (the worst-case normalised confusion of [I] Section 8 is its
negative part) and their mean. :func:`confusion_protocol` is that protocol, once, for every
figure page of Part I: the training goes through :func:`helpers.train.train` (epochs, a
schedule, a checkpoint per run so that a full-scale run resumes), the minibatches are drawn by
:func:`minibatch_gradients` (in the model's current mode: batch norm uses the statistics of
each minibatch, as in an SGD step), and :func:`minibatch_confusion` reduces them.

**A guard against chaotic step sizes** (optional). Near the largest stable step size, SGD on a
deep network amplifies rounding differences by many orders of magnitude; the final loss of
such a run is a property of the CPU's rounding, and choosing the step size by it makes the
figure a lottery. With ``chaos_nudge=1e-12`` the best step size is rerun with every initial
weight multiplied by :math:`1+10^{-12}`; if a final loss moves by more than ``chaos_tol``, the
step size is treated like a diverged one and the next best is tried.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._validate import (
    check_generator,
    check_int,
    check_module,
    check_real,
    check_same_length,
    check_tensor,
)
from ..gradients import _cosines
from ..losses import LossFn
from ..rng import make_generator
from ..train import train
from ._confusion import minibatch_gradients, pairwise_summary

__all__ = ["MinibatchConfusion", "ProtocolResult", "minibatch_confusion", "confusion_protocol"]


@dataclass(frozen=True)
class MinibatchConfusion:
    """Pairwise cosines of minibatch gradients (see :func:`minibatch_confusion`).

    Attributes
    ----------
    min_cosine, mean_cosine : float
        Minimum and mean of the :math:`K(K-1)/2` pairwise cosines.
    cosines : numpy.ndarray, shape (K(K-1)/2,)
        The cosines :math:`\\cos_{kl}`, :math:`k < l`, row by row.
    """

    min_cosine: float
    mean_cosine: float
    cosines: np.ndarray

    @property
    def cosine_std(self) -> float:
        """Standard deviation of the pairwise cosines (their spread around the mean)."""
        return float(np.std(self.cosines))


def minibatch_confusion(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor, *,
                        batch_size: int, num_batches: int,
                        generator: torch.Generator) -> MinibatchConfusion:
    r"""Minimum and mean pairwise cosine of ``num_batches`` minibatch gradients.

    The gradients are those of :func:`minibatch_gradients` (independent minibatches of
    ``batch_size`` distinct examples, the model in its current mode); their Gram matrix is
    formed in float64 and reduced by :func:`pairwise_summary`.

    Parameters
    ----------
    model, loss_fn, X, y
        As in :func:`minibatch_gradients`.
    batch_size : int
        :math:`B`.
    num_batches : int
        :math:`K \ge 2` minibatches, :math:`K(K-1)/2` cosines.
    generator : torch.Generator
        Draws the minibatches.

    Returns
    -------
    MinibatchConfusion

    References
    ----------
    Sankararaman et al., [L] Section 7 ("we sample 100 mini-batches each of size 128 [...] and
    then calculate pairwise cosine similarities"); [I] Section 8 (normalised confusion).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import minibatch_confusion
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(4, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> X, y = torch.eye(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    >>> c = minibatch_confusion(model, squared_loss, X, y, batch_size=4, num_batches=3,
    ...                         generator=torch.Generator().manual_seed(0))
    >>> round(c.min_cosine, 12), round(c.mean_cosine, 12), c.cosines.shape   # B = n: all equal
    (1.0, 1.0, (3,))
    """
    num_batches = check_int(num_batches, "num_batches", minimum=2)
    G = minibatch_gradients(model, loss_fn, X, y, batch_size=batch_size,
                            num_batches=num_batches, generator=generator).double()
    gram = G @ G.T
    s = pairwise_summary(gram)
    upper = torch.triu_indices(num_batches, num_batches, 1)
    cos = _cosines(0.5 * (gram + gram.T), 0.0)[upper[0], upper[1]]
    return MinibatchConfusion(s.min_cosine, s.mean_cosine, cos.cpu().numpy())


@dataclass
class ProtocolResult:
    """What :func:`confusion_protocol` ran and measured.

    Attributes
    ----------
    lr : float or None
        The step size kept (``None``: no training, ``epochs=0``; or every step size of the
        grid diverged or was chaotic).
    runs : pandas.DataFrame
        One row per run at the kept step size: ``run``, ``lr``, ``final loss``, ``min cosine``,
        ``mean cosine``, ``cosine std`` (at the end), ``min cosine init``, ``mean cosine init``
        (with ``measure_init``) and the columns returned by ``evaluate``.
    curves : pandas.DataFrame
        The training history of the kept runs: ``run``, ``epoch``, ``step``, ``loss``,
        ``lr`` (and ``min cosine`` with ``per_epoch_batches``).
    grid : pandas.DataFrame
        Every training run of the grid (the tuning runs): ``lr``, ``run``, ``final loss``
        (``inf`` if it diverged) and, for the step sizes tested by the chaos guard,
        ``nudged loss``.
    cosines : list of numpy.ndarray
        The pairwise cosines at the end, one array per kept run.
    models : list of torch.nn.Module
        The trained models of the kept runs.
    """

    lr: float | None
    runs: pd.DataFrame
    curves: pd.DataFrame
    grid: pd.DataFrame
    cosines: list = field(default_factory=list)
    models: list = field(default_factory=list)


def _first_batch(generator: torch.Generator, n: int, batch_size: int) -> torch.Tensor:
    """The indices of the first minibatch :func:`helpers.train.train` will draw from
    ``generator``, computed on a copy (the generator is not advanced)."""
    clone = torch.Generator(device=generator.device)
    clone.set_state(generator.get_state())
    return torch.randperm(n, generator=clone, device=generator.device)[:batch_size]


def _mean_loss(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
               chunk: int | None) -> float:
    chunk = X.shape[0] if chunk is None else chunk
    with torch.no_grad():
        losses = torch.cat([loss_fn(model(xb), yb) for xb, yb in zip(X.split(chunk),
                                                                      y.split(chunk))])
    return float(losses.mean())


def _diverged(err: Exception) -> bool:
    """A training error that means "the step size diverged" (a non-finite loss or output)."""
    return isinstance(err, FloatingPointError) or (
        isinstance(err, ValueError) and ("finite" in str(err) or "NaN" in str(err)))


class _Runner:
    """One configuration of the protocol: builds, trains and measures its runs."""

    def __init__(self, make_model, loss_fn, X, y, *, runs, epochs, batch_size, num_batches,
                 generator, schedule, per_epoch_batches, first_batch_init, checkpoint_dir,
                 eval_batch_size):
        self.make_model, self.loss_fn, self.X, self.y = make_model, loss_fn, X, y
        self.epochs, self.batch_size, self.num_batches = epochs, batch_size, num_batches
        self.schedule, self.per_epoch_batches = schedule, per_epoch_batches
        self.first_batch_init, self.checkpoint_dir = first_batch_init, checkpoint_dir
        self.eval_batch_size = eval_batch_size
        # four independent streams per run: weights, minibatch order, measurement at
        # initialisation, measurement at the end (and after every epoch)
        seeds = torch.randint(0, 2**62, (runs, 4), generator=generator, device=generator.device)
        self.seeds = seeds.cpu().tolist()
        self.device = X.device

    def gen(self, run: int, stream: int) -> torch.Generator:
        return make_generator(self.seeds[run][stream], self.device)

    def build(self, run: int, nudge: float = 0.0) -> nn.Module:
        """The run's initial model (after the first-minibatch initialisation, if any)."""
        model = check_module(self.make_model(self.gen(run, 0)), "make_model(generator)")
        if self.first_batch_init is not None:
            idx = _first_batch(self.gen(run, 1), self.X.shape[0], self.batch_size)
            self.first_batch_init(model, self.X[idx])
        if nudge:
            with torch.no_grad():
                for p in model.parameters():
                    p.mul_(1.0 + nudge)
        return model

    def measure(self, model: nn.Module, run: int, stream: int, k: int) -> MinibatchConfusion:
        return minibatch_confusion(model, self.loss_fn, self.X, self.y,
                                   batch_size=self.batch_size, num_batches=k,
                                   generator=self.gen(run, stream))

    def train(self, lr: float, run: int, nudge: float = 0.0):
        """Train one run; return (final loss, or inf if it diverged; model; history)."""
        model = self.build(run, nudge)
        if self.epochs == 0:
            return _mean_loss(model, self.loss_fn, self.X, self.y, self.eval_batch_size), \
                model, None
        path = None
        if self.checkpoint_dir is not None:
            path = self.checkpoint_dir / f"lr{lr:g}_run{run}{'_nudged' if nudge else ''}.ckpt"
        metrics = None
        if self.per_epoch_batches:
            def min_cosine(m: nn.Module) -> float:     # the same minibatches after every epoch
                return self.measure(m, run, 3, self.per_epoch_batches).min_cosine
            metrics = {"min cosine": min_cosine}
        try:
            hist = train(model, self.loss_fn, self.X, self.y, lr=lr, epochs=self.epochs,
                         batch_size=self.batch_size, generator=self.gen(run, 1),
                         schedule=self.schedule, checkpoint=path, metrics=metrics,
                         eval_batch_size=self.eval_batch_size)
        except (FloatingPointError, ValueError) as err:
            if not _diverged(err):
                raise
            return math.inf, model, None
        final = hist.final("loss")
        return (final if math.isfinite(final) else math.inf), model, hist


def _check_lrs(lrs: object, epochs: int) -> tuple[float, ...]:
    if isinstance(lrs, str | bytes) or not isinstance(lrs, Sequence):
        raise TypeError(f"lrs must be a sequence of step sizes, got {type(lrs).__name__}")
    out = tuple(check_real(lr, f"lrs[{i}]", minimum=0.0, strict_min=True)
                for i, lr in enumerate(lrs))
    if epochs > 0 and not out:
        raise ValueError("lrs must hold at least one step size when epochs > 0, got ()")
    if len(set(out)) != len(out):
        raise ValueError(f"lrs must not repeat a step size, got {list(out)}")
    return out


def _check_callable(fn: object, name: str, signature: str) -> None:
    if fn is not None and not callable(fn):
        raise TypeError(f"{name} must be callable {signature}, got {type(fn).__name__}")


def confusion_protocol(make_model: Callable[[torch.Generator], nn.Module], loss_fn: LossFn,
                       X: torch.Tensor, y: torch.Tensor, *, lrs: Sequence[float], runs: int,
                       epochs: int, batch_size: int, num_batches: int,
                       generator: torch.Generator,
                       schedule: Callable[[int], float] | None = None,
                       measure_init: bool = False, per_epoch_batches: int = 0,
                       first_batch_init: Callable[[nn.Module, torch.Tensor], object] | None = None,
                       evaluate: Callable[[nn.Module], Mapping[str, float]] | None = None,
                       chaos_nudge: float | None = None, chaos_tol: float = 1e-8,
                       tune_runs: int | None = None,
                       checkpoint_dir: str | os.PathLike | None = None,
                       eval_batch_size: int | None = None) -> ProtocolResult:
    r"""The protocol of Section 7: the best step size of a grid, then minibatch gradient cosines.

    For every step size :math:`\eta` of ``lrs`` and every run :math:`r`, a fresh model
    ``make_model(generator_r)`` is trained with :func:`helpers.train.train` for ``epochs``
    epochs of minibatches of ``batch_size`` (minibatch order from a generator of the run, the
    step size multiplied by ``schedule``). All step sizes of a run start from the same weights
    and the same minibatch order. The kept step size is the one with the lowest mean final
    training loss over the runs (a run whose loss becomes non-finite counts as :math:`+\infty`;
    with ``chaos_nudge``, a step size whose final losses move by more than ``chaos_tol`` when
    the initial weights are multiplied by :math:`1+` ``chaos_nudge`` is skipped like a
    diverged one). For each run at the kept step size, :func:`minibatch_confusion` measures
    ``num_batches`` minibatch gradients of the trained model (and of the initial one with
    ``measure_init``).

    Parameters
    ----------
    make_model : callable
        ``generator -> torch.nn.Module``: a fresh model whose random weights come from the
        generator, on the device of ``X``.
    loss_fn : callable
        Per-example loss ``(outputs, targets) -> (n,)``.
    X : torch.Tensor, shape (n, ...)
        Training inputs (floating, the model's dtype).
    y : torch.Tensor, shape (n,) or (n, c)
        Targets.
    lrs : sequence of float
        The grid of (initial) step sizes, each ``> 0``; may be empty when ``epochs == 0``.
    runs : int
        Independent runs (seeds) per step size, ``>= 1``.
    epochs : int
        Epochs of ``n // batch_size`` SGD steps; ``0``: no training, measure the initial
        models (``lr`` is then ``None`` and ``final loss`` the initial training loss).
    batch_size : int
        :math:`B`, for SGD and for the measurement.
    num_batches : int
        :math:`K \ge 2` minibatches measured at the end.
    generator : torch.Generator
        Draws the seeds of the runs (weights, minibatch order, measurements), once: the same
        generator state gives the same runs.
    schedule : callable, optional
        ``step -> multiplier`` of the step size (e.g. :func:`helpers.train.multistep`).
    measure_init : bool, default False
        Also measure the initial models (columns ``min cosine init``, ``mean cosine init``).
    per_epoch_batches : int, default 0
        If ``>= 2``, record the minimum cosine of this many minibatch gradients after every
        epoch (the same minibatch indices every epoch, so that a resumed run records the same
        values); the curve's column ``min cosine``.
    first_batch_init : callable, optional
        ``(model, X_first) -> None``, applied to each fresh model with the first minibatch
        that SGD will draw, e.g. :func:`data_dependent_init_`.
    evaluate : callable, optional
        ``model -> {name: float}``, evaluated on each trained model of the kept step size
        (e.g. a test accuracy); its entries become columns of ``runs``.
    chaos_nudge : float, optional
        Relative nudge of the initial weights of the chaos guard (e.g. ``1e-12``).
    chaos_tol : float, default 1e-8
        Largest allowed change of a final loss under the nudge.
    tune_runs : int, optional
        Select the step size on the first ``tune_runs`` runs only (the grid and the chaos guard
        run on them), then train the other runs at the kept step size alone: the protocol of
        [L], which tunes on one run, at ``tune_runs=1``. Default: all runs.
    checkpoint_dir : str or PathLike, optional
        A folder for this configuration (one per network): each run is checkpointed after every
        epoch in ``lr<lr>_run<r>[_nudged].ckpt`` and resumes from there (an interrupted
        full-scale job loses at most one epoch; a finished run is reloaded instead of
        retrained). ``None``: no files, and the trained models of the grid are kept in memory.
    eval_batch_size : int, optional
        Evaluate the training loss in chunks of this many examples (memory).

    Returns
    -------
    ProtocolResult

    References
    ----------
    Sankararaman et al., [L] Section 7 and Appendix E (grid
    :math:`\{10, 1, \dots, 10^{-4}\}`, lowest final training loss, 100 minibatches of 128 at
    the end of every epoch), Appendix A (MNIST MLPs, grid :math:`\{1, \dots, 10^{-6}\}`);
    [I] Section 7.

    Examples
    --------
    >>> import torch
    >>> from helpers import gradient_confusion, losses, models, rng
    >>> X = torch.randn(24, 3, generator=rng.make_generator(0), dtype=torch.float64)
    >>> y = torch.arange(24) % 2
    >>> def net(generator):
    ...     return models.MLP(3, 8, 1, 2, generator=generator, activation="tanh")
    >>> out = gradient_confusion.confusion_protocol(
    ...     net, losses.cross_entropy, X, y, lrs=(10.0, 0.1), runs=2, epochs=3, batch_size=6,
    ...     num_batches=4, generator=rng.make_generator(1), measure_init=True)
    >>> out.lr, len(out.runs), out.cosines[0].shape, sorted(set(out.curves["epoch"]))
    (0.1, 2, (6,), [1, 2, 3])
    >>> bool((out.runs["final loss"] < out.runs["final loss init"]).all())
    True
    """
    if not callable(make_model):
        raise TypeError("make_model must be callable (generator -> torch.nn.Module), got "
                        f"{type(make_model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a per-example loss, got {type(loss_fn).__name__}")
    X = check_tensor(X, "X", floating=True)
    y = check_tensor(y, "y", finite=False)
    check_same_length(X, y, "X", "y")
    n = X.shape[0]
    runs = check_int(runs, "runs", minimum=1)
    epochs = check_int(epochs, "epochs", minimum=0)
    lrs = _check_lrs(lrs, epochs)
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    num_batches = check_int(num_batches, "num_batches", minimum=2)
    generator = check_generator(generator, device=X.device)
    per_epoch_batches = check_int(per_epoch_batches, "per_epoch_batches", minimum=0)
    if per_epoch_batches == 1:
        raise ValueError("per_epoch_batches must be 0 (off) or >= 2 (one cosine needs two "
                         "minibatches), got 1")
    _check_callable(schedule, "schedule", "(step -> multiplier)")
    _check_callable(first_batch_init, "first_batch_init", "(model, X_first) -> None")
    _check_callable(evaluate, "evaluate", "(model -> {name: float})")
    if not isinstance(measure_init, bool):
        raise TypeError(f"measure_init must be a bool, got {measure_init!r}")
    if chaos_nudge is not None:
        chaos_nudge = check_real(chaos_nudge, "chaos_nudge", minimum=0.0, strict_min=True,
                                 maximum=1e-3)
    chaos_tol = check_real(chaos_tol, "chaos_tol", minimum=0.0, strict_min=True)
    if eval_batch_size is not None:
        eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
    tune = runs if tune_runs is None else check_int(tune_runs, "tune_runs", minimum=1,
                                                     maximum=runs)
    folder = None
    if checkpoint_dir is not None:
        if not isinstance(checkpoint_dir, str | os.PathLike):
            raise TypeError("checkpoint_dir must be a folder path (str or PathLike), got "
                            f"{type(checkpoint_dir).__name__}")
        folder = Path(checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)

    runner = _Runner(make_model, loss_fn, X, y, runs=runs, epochs=epochs, batch_size=batch_size,
                     num_batches=num_batches, generator=generator, schedule=schedule,
                     per_epoch_batches=per_epoch_batches, first_batch_init=first_batch_init,
                     checkpoint_dir=folder, eval_batch_size=eval_batch_size)
    grid, kept, chosen = [], {}, None
    if epochs == 0:
        trained = [runner.train(0.0, r) for r in range(runs)]
    else:
        finals = {}
        for lr in lrs:
            for r in range(tune):
                final, model, hist = runner.train(lr, r)
                finals[lr, r] = final
                grid.append({"lr": lr, "run": r, "final loss": final})
                if folder is None:
                    kept[lr, r] = (final, model, hist)       # no files: keep them in memory

        def mean_loss(lr: float) -> float:
            return float(np.mean([finals[lr, r] for r in range(tune)]))

        for lr in sorted(lrs, key=mean_loss):               # stable: ties keep grid order
            if not math.isfinite(mean_loss(lr)):
                break                                       # the rest diverged too
            if chaos_nudge is not None:
                nudged = [runner.train(lr, r, chaos_nudge)[0] for r in range(tune)]
                for row in grid:
                    if row["lr"] == lr:
                        row["nudged loss"] = nudged[row["run"]]
                if not max(abs(finals[lr, r] - nudged[r]) for r in range(tune)) < chaos_tol:
                    continue                                # chaotic: as if it had diverged
            chosen = lr
            break
        if chosen is None:
            nan = {"min cosine": np.nan, "mean cosine": np.nan, "cosine std": np.nan}
            rows = [{"run": r, "lr": np.nan, "final loss": math.inf, **nan} for r in range(runs)]
            return ProtocolResult(None, pd.DataFrame(rows), pd.DataFrame(), pd.DataFrame(grid))
        trained = [kept[chosen, r] if (chosen, r) in kept else runner.train(chosen, r)
                   for r in range(runs)]      # with files: resumes (reloads) the tuning runs

    rows, curves, cosines, models_ = [], [], [], []
    for r, (final, model, hist) in enumerate(trained):
        end = runner.measure(model, r, 3, num_batches)
        row = {"run": r, "lr": np.nan if chosen is None else chosen, "final loss": final,
               "min cosine": end.min_cosine, "mean cosine": end.mean_cosine,
               "cosine std": end.cosine_std}
        if measure_init:
            start = runner.build(r)
            init = runner.measure(start, r, 2, num_batches)
            row.update({"final loss init": _mean_loss(start, loss_fn, X, y, eval_batch_size),
                        "min cosine init": init.min_cosine,
                        "mean cosine init": init.mean_cosine})
        if evaluate is not None:
            values = evaluate(model)
            if not isinstance(values, Mapping):
                raise TypeError("evaluate must return a mapping {name: float}, got "
                                f"{type(values).__name__}")
            row.update({k: float(v) for k, v in values.items()})
        rows.append(row)
        if hist is not None:
            curves.append(hist.frame().assign(run=r))
        cosines.append(end.cosines)
        models_.append(model)
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    return ProtocolResult(chosen, pd.DataFrame(rows), curve, pd.DataFrame(grid), cosines,
                          models_)
