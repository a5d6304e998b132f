"""(Stochastic) gradient descent on a finite sum, with recorded metrics.

All four papers analyse plain (S)GD on ``F(w) = (1/n) Σ_i ℓ(f(x_i; w), y_i)`` with a constant
step size (Sankararaman et al., eq. (1) and Theorem 3.1; Li & Liang, Section 3; Oymak &
Soltanolkotabi, eq. (1.2) and Theorem 2.6; Allen-Zhu, Li & Song, Theorems 1 and 2). This module
implements exactly that update, ``w ← w − η_t ∇_w (1/b) Σ_{i∈B_t} ℓ_i(w)``, on the trainable
parameters of a model (parameters with ``requires_grad=False`` are the papers' fixed layers).
Minibatches are drawn without replacement within an epoch and reshuffled each epoch, from an
explicit generator. The device is taken from the model's parameters.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ._validate import (
    check_generator,
    check_int,
    check_module,
    check_real,
    check_same_length,
    check_tensor,
)
from .losses import LossFn

__all__ = ["History", "train", "step_decay", "multistep"]



@dataclass
class History:
    """Metrics recorded during :func:`train`, one dict per recorded step.

    Every record has ``step`` (number of updates done), ``loss`` (mean loss over the whole
    training set at that point), ``lr`` (step size used by the next update) and one entry per
    user metric.
    """

    records: list[dict[str, float]] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame (one row per recorded step)."""
        return pd.DataFrame.from_records(self.records)

    def column(self, name: str) -> np.ndarray:
        """All recorded values of ``name`` as a float array."""
        if not self.records or name not in self.records[0]:
            known = sorted(self.records[0]) if self.records else []
            raise KeyError(f"name must be one of the recorded metrics {known}, got {name!r}")
        return np.array([r[name] for r in self.records], dtype=float)

    def final(self, name: str = "loss") -> float:
        """The last recorded value of ``name``."""
        return float(self.column(name)[-1])


def step_decay(every: int, factor: float) -> Callable[[int], float]:
    """Schedule multiplying the step size by ``factor`` every ``every`` steps.

    Returns a function ``step -> multiplier`` to pass as ``schedule`` to :func:`train`.

    Examples
    --------
    >>> from helpers.train import step_decay
    >>> schedule = step_decay(every=10, factor=0.5)
    >>> [schedule(s) for s in (0, 9, 10, 25)]
    [1.0, 1.0, 0.5, 0.25]
    """
    every = check_int(every, "every", minimum=1)
    factor = check_real(factor, "factor", minimum=0.0, strict_min=True)
    return lambda step: factor ** (step // every)


def multistep(milestones: Sequence[int], factor: float) -> Callable[[int], float]:
    """Schedule multiplying the step size by ``factor`` at each of the ``milestones`` (steps).

    ``step -> factor ** #{m in milestones : m <= step}``, the piecewise-constant decay of the
    papers' CIFAR-10 protocol (Sankararaman et al. [L] Section 7 and Appendix E: step size
    divided by 10 at epochs 80 and 160 of 200, i.e. ``milestones=(80 * s, 160 * s)`` with ``s``
    steps per epoch). With equally spaced milestones it equals :func:`step_decay`, bit for bit.

    Parameters
    ----------
    milestones : sequence of int
        Steps (numbers of updates done) from which the next factor applies; non-decreasing,
        each ``>= 1``.
    factor : float
        Multiplier ``> 0`` applied at each milestone (``0.1``: divide by 10).

    Returns
    -------
    callable
        ``step -> multiplier``, to pass as ``schedule`` to :func:`train` or
        :func:`helpers.checkpoint.train_resumable`.

    Examples
    --------
    >>> from helpers.train import multistep
    >>> schedule = multistep([30, 50], factor=0.1)
    >>> [schedule(s) for s in (0, 29, 30, 49, 50, 99)] == [1.0, 1.0, 0.1, 0.1, 0.1**2, 0.1**2]
    True
    """
    if isinstance(milestones, str | bytes) or not isinstance(milestones, Sequence):
        raise TypeError(
            f"milestones must be a sequence of ints (steps), got {type(milestones).__name__}")
    marks = [check_int(m, f"milestones[{i}]", minimum=1) for i, m in enumerate(milestones)]
    if any(b < a for a, b in zip(marks, marks[1:])):
        raise ValueError(f"milestones must be non-decreasing, got {list(milestones)}")
    factor = check_real(factor, "factor", minimum=0.0, strict_min=True)
    return lambda step: factor ** bisect.bisect_right(marks, step)


def _mean_loss(model: torch.nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
               chunk_size: int | None = None) -> torch.Tensor:
    """Mean of the per-example losses; with ``chunk_size``, the forward pass goes in chunks."""
    if chunk_size is None or chunk_size >= X.shape[0]:
        losses = loss_fn(model(X), y)
    else:
        losses = torch.cat([loss_fn(model(xb), yb)
                            for xb, yb in zip(X.split(chunk_size), y.split(chunk_size))])
    if losses.dim() != 1 or losses.shape[0] != X.shape[0]:
        raise ValueError(
            "loss_fn must return one loss per example (shape (n,)), got shape"
            f" {tuple(losses.shape)}; use the per-example losses in helpers.losses"
        )
    return losses.mean()


def train(model: torch.nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor, *,
          lr: float, steps: int, batch_size: int | None = None,
          generator: torch.Generator | None = None,
          schedule: Callable[[int], float] | None = None, record_every: int = 1,
          metrics: Mapping[str, Callable[[torch.nn.Module], float]] | None = None,
          progress: bool = False, record_initial: bool = True,
          eval_batch_size: int | None = None) -> History:
    """Run ``steps`` updates of (stochastic) gradient descent on the mean loss, in place.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place; only parameters with ``requires_grad=True`` move.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> Tensor (n,)`` of per-example losses
        (see :mod:`helpers.losses`).
    X : Tensor (n, ...)
        Inputs, on the model's device.
    y : Tensor (n, ...)
        Targets.
    lr : float
        Constant step size ``η > 0`` (multiplied by ``schedule(step)`` when given).
    steps : int
        Number of updates (``0`` only records the initial point).
    batch_size : int, optional
        Minibatch size ``b``; ``None`` (or ``n``) gives full-batch gradient descent.
    generator : torch.Generator, optional
        Required when ``batch_size < n``: draws the minibatch order.
    schedule : callable, optional
        ``step -> multiplier`` of the step size, e.g. :func:`step_decay`.
    record_every : int, default 1
        Record metrics every this many steps (and always at the last step, and at step 0
        unless ``record_initial=False``).
    metrics : mapping of str to callable, optional
        Extra metrics ``model -> float`` recorded alongside the loss.
    progress : bool, default False
        Show a tqdm progress bar (leave off in committed notebooks).
    record_initial : bool, default True
        Record the starting point (step 0). ``False`` skips that evaluation, e.g. when the
        caller already knows it (:func:`helpers.checkpoint.train_resumable`, epoch by epoch).
    eval_batch_size : int, optional
        Evaluate the recorded full-training-set loss in chunks of this many examples (memory:
        a full-scale training set does not fit through one forward pass). ``None``: one pass.
        For a model whose per-example outputs do not depend on the rest of the batch the
        result is the same up to float rounding; a batch-norm layer in training mode
        normalises each chunk with that chunk's statistics.

    Returns
    -------
    History

    Notes
    -----
    Recording does not change the model: the buffers (e.g. batch-norm running statistics,
    which a training-mode forward pass updates) are restored after the loss and the metrics
    are evaluated, so the weights and buffers after training do not depend on
    ``record_every``.

    References
    ----------
    Sankararaman et al., eq. (1)–(2) (SGD on a finite sum); Oymak & Soltanolkotabi, eq. (1.2).

    Examples
    --------
    >>> import torch
    >>> from helpers.losses import squared_loss
    >>> from helpers.train import train
    >>> model = torch.nn.Linear(3, 1, bias=False).double()
    >>> _ = torch.nn.init.zeros_(model.weight)
    >>> X = torch.eye(3, dtype=torch.float64)
    >>> y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> history = train(model, squared_loss, X, y, lr=1.0, steps=200)
    >>> round(history.final("loss"), 8)
    0.0
    """
    check_module(model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    check_tensor(X, "X", floating=True)
    check_tensor(y, "y")
    check_same_length(X, y, "X", "y")
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    steps = check_int(steps, "steps", minimum=0)
    record_every = check_int(record_every, "record_every", minimum=1)
    if not isinstance(record_initial, bool):
        raise TypeError(f"record_initial must be a bool, got {record_initial!r}")
    if eval_batch_size is not None:
        eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
    n = X.shape[0]
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    stochastic = batch_size is not None and batch_size < n
    if stochastic:
        check_generator(generator, device=X.device)
    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be callable (step -> multiplier), got {schedule!r}")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable (model -> float), got {fn!r}")

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (all have requires_grad=False)")

    def rate(step: int) -> float:
        mult = 1.0 if schedule is None else float(schedule(step))
        if not np.isfinite(mult) or mult < 0:
            raise ValueError(f"schedule({step}) must be a finite non-negative number, got {mult}")
        return lr * mult

    def record(step: int) -> None:
        # a training-mode forward pass updates batch-norm running statistics: restore every
        # buffer afterwards, so that recording never changes the model
        saved = [(b, b.detach().clone()) for b in model.buffers()]
        try:
            with torch.no_grad():
                row = {"step": step,
                       "loss": float(_mean_loss(model, loss_fn, X, y, eval_batch_size)),
                       "lr": rate(step)}
            for name, fn in metrics.items():
                row[name] = float(fn(model))
        finally:
            with torch.no_grad():
                for buffer, value in saved:
                    buffer.copy_(value)
        history.records.append(row)

    history = History()
    order = torch.arange(n, device=X.device)
    cursor = n  # forces a fresh permutation at the first stochastic step
    if record_initial:
        record(0)
    for step in tqdm(range(steps), disable=not progress, desc="training", leave=False):
        if stochastic:
            if cursor + batch_size > n:
                order = torch.randperm(n, generator=generator, device=X.device)
                cursor = 0
            idx = order[cursor:cursor + batch_size]
            cursor += batch_size
            xb, yb = X[idx], y[idx]
        else:
            xb, yb = X, y
        loss = _mean_loss(model, loss_fn, xb, yb)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {float(loss.detach())} at step {step}; the step size"
                f" lr={lr} is probably too large for this model"
            )
        grads = torch.autograd.grad(loss, params)
        eta = rate(step)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(eta * g)
        done = step + 1
        if done % record_every == 0 or done == steps:
            record(done)
    return history
