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

from collections.abc import Callable, Mapping
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

__all__ = ["History", "train", "step_decay"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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


def _mean_loss(model: torch.nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor
               ) -> torch.Tensor:
    losses = loss_fn(model(X), y)
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
          progress: bool = False) -> History:
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
        Record metrics every this many steps (and always at the first and last step).
    metrics : mapping of str to callable, optional
        Extra metrics ``model -> float`` recorded alongside the loss.
    progress : bool, default False
        Show a tqdm progress bar (leave off in committed notebooks).

    Returns
    -------
    History

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
        with torch.no_grad():
            row = {"step": step, "loss": float(_mean_loss(model, loss_fn, X, y)),
                   "lr": rate(step)}
        for name, fn in metrics.items():
            row[name] = float(fn(model))
        history.records.append(row)

    history = History()
    order = torch.arange(n, device=X.device)
    cursor = n  # forces a fresh permutation at the first stochastic step
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
                f"the training loss became {float(loss)} at step {step}; the step size lr={lr}"
                " is probably too large for this model"
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
