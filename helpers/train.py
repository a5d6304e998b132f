"""The book's one trainer: (stochastic) gradient descent on a finite sum, with recorded metrics,
a step-size schedule, and checkpoints that resume to the same bits.

All four papers analyse plain (S)GD on ``F(w) = (1/n) Σ_i ℓ(f(x_i; w), y_i)`` with a constant
step size (Sankararaman et al., eq. (1) and Theorem 3.1; Li & Liang, Section 3; Oymak &
Soltanolkotabi, eq. (1.2) and Theorem 2.6; Allen-Zhu, Li & Song, Theorems 1 and 2). This module
implements exactly that update, ``w ← w − η_t ∇_w (1/b) Σ_{i∈B_t} ℓ_i(w)``, on the trainable
parameters of a model (parameters with ``requires_grad=False`` are the papers' fixed layers).
Minibatches are drawn without replacement within an epoch and reshuffled each epoch, from an
explicit generator. The device is taken from the model's parameters.

:func:`train` counts either ``steps`` (updates) or ``epochs`` (``n // batch_size`` updates
each, recorded once per epoch); with ``checkpoint=path`` (epochs only) it saves the model, the
generator and the history after every epoch, with a fingerprint of the run
(:mod:`helpers.checkpoint`), and a repeated call resumes from the last finished epoch. A family
of models trained side by side (widths, seeds, a grid of networks) is one model whose
per-example loss sums the members' losses: the gradient of the sum is every member's own
gradient, and ``lr_scale`` gives each parameter entry its own multiplier of the step size.

Two batched engines are not written with :func:`train`, because the loop itself is what they
study or what makes them fast: :func:`helpers.gradient_confusion.glm_sgd` (exact single-sample
SGD chains of Theorems 3.1-3.2 with the confusion recorded along the path) and
:func:`helpers.oymak_soltanolkotabi.gd_batched` (hand-derived gradients and per-network stopping
for the phase diagrams of Figure 2).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from . import checkpoint as _ckpt
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
        ``step -> multiplier``, to pass as ``schedule`` to :func:`train`.

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


def _check_lr_scale(lr_scale: object, model: torch.nn.Module,
                    params: dict[str, torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    if lr_scale is None:
        return {}
    if not isinstance(lr_scale, Mapping):
        raise TypeError("lr_scale must be a mapping from parameter names to tensors, got "
                        f"{type(lr_scale).__name__}")
    out = {}
    for name, scale in lr_scale.items():
        if name not in params:
            raise ValueError(f"lr_scale names {name!r}, which is not a trainable parameter of "
                             f"the model (they are {sorted(params)})")
        scale = check_tensor(scale, f"lr_scale[{name!r}]", floating=True)
        try:
            torch.broadcast_shapes(scale.shape, params[name].shape)
        except RuntimeError as err:
            raise ValueError(f"lr_scale[{name!r}] has shape {tuple(scale.shape)}, which does not"
                             f" broadcast to the parameter's {tuple(params[name].shape)}") from err
        if bool((scale < 0).any()):
            raise ValueError(f"lr_scale[{name!r}] must be non-negative")
        out[name] = scale
    return out


def train(model: torch.nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor, *,
          lr: float, steps: int | None = None, epochs: int | None = None,
          batch_size: int | None = None, generator: torch.Generator | None = None,
          schedule: Callable[[int], float] | None = None,
          lr_scale: Mapping[str, torch.Tensor] | None = None,
          record_every: int | None = None, record_steps: Sequence[int] | None = None,
          metrics: Mapping[str, Callable[[torch.nn.Module], float]] | None = None,
          progress: bool = False, record_initial: bool | None = None,
          eval_batch_size: int | None = None, checkpoint: str | os.PathLike | None = None,
          max_epochs_this_call: int | None = None) -> History:
    """Run (stochastic) gradient descent on the mean loss, in place, and record metrics.

    The update is ``w <- w - lr * schedule(t) * lr_scale * (1/b) sum_{i in B_t} grad l_i(w)``
    on the trainable parameters, with minibatches drawn without replacement within an epoch
    and reshuffled every epoch (the ``n mod b`` examples left at the end of an epoch are
    skipped).

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place; only parameters with ``requires_grad=True`` move.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> Tensor (n,)`` of per-example losses
        (:data:`helpers.losses.LossFn`). For a family of models, the sum of the members' losses.
    X : Tensor (n, ...)
        Inputs, on the model's device.
    y : Tensor (n, ...)
        Targets.
    lr : float
        Step size ``η > 0``.
    steps, epochs : int
        Exactly one: the number of updates, or of epochs of ``n // batch_size`` updates (at
        least one epoch's worth of examples is needed). ``steps=0`` only records the start.
    batch_size : int, optional
        Minibatch size ``b``; ``None`` (or ``n``) gives full-batch gradient descent.
    generator : torch.Generator, optional
        Required when ``batch_size < n``: draws the minibatch order.
    schedule : callable, optional
        ``t -> multiplier`` of the step size at the run's global update count ``t`` (e.g.
        :func:`multistep`).
    lr_scale : mapping of str to Tensor, optional
        Per-entry multipliers of the step size for named parameters (broadcast to the
        parameter's shape), e.g. Li & Liang's step ``c/m`` for each width of a family.
    record_every : int, optional
        Steps mode: record every this many steps (default 1; and always at the last step, and
        at step 0 unless ``record_initial=False``). Epochs mode records once per epoch.
    record_steps : sequence of int, optional
        Steps mode: record exactly at these steps instead (``0`` records the start).
    metrics : mapping of str to callable, optional
        Extra metrics ``model -> float`` recorded alongside the loss; a metric may return a
        mapping of floats instead, recorded as columns ``"name.key"`` (e.g. one per member of
        a family).
    progress : bool, default False
        A tqdm progress bar (over steps, or over epochs).
    record_initial : bool, optional
        Record the starting point (step 0): default True in steps mode, False in epochs mode.
    eval_batch_size : int, optional
        Evaluate the recorded full-training-set loss in chunks of this many examples (memory:
        a full-scale training set does not fit through one forward pass). ``None``: one pass.
        For a model whose per-example outputs do not depend on the rest of the batch the
        result is the same up to float rounding; a batch-norm layer in training mode
        normalises each chunk with that chunk's statistics.
    checkpoint : str or PathLike, optional
        Epochs mode: save the run after every epoch to this file (atomic, verified, with a
        fingerprint of everything that determines the run, see :mod:`helpers.checkpoint`),
        and resume from it when it exists: an interrupted run continues from its last
        finished epoch and ends with bit-for-bit the weights of an uninterrupted run. A
        checkpoint of a different run (another ``lr``, schedule, data, model, loss, ...) is
        refused with :class:`helpers.checkpoint.CheckpointError` naming what differs.
    max_epochs_this_call : int, optional
        Epochs mode: stop after this many new epochs (as an interruption would).

    Returns
    -------
    History
        Steps mode: records with ``step``, ``loss`` (mean over the whole training set),
        ``lr`` (step size of the next update) and the metrics. Epochs mode: one record per
        finished epoch, with ``epoch`` too, including epochs finished before a resume.

    Notes
    -----
    Recording does not change the model: the buffers (e.g. batch-norm running statistics,
    which a training-mode forward pass updates) are restored after the loss and the metrics
    are evaluated, so the weights and buffers after training do not depend on the cadence of
    the records. Each recorded loss is evaluated once.

    References
    ----------
    Sankararaman et al., eq. (1)–(2) (SGD on a finite sum); Oymak & Soltanolkotabi, eq. (1.2);
    Li & Liang, Section 3 (SGD, step ``c/m``); Allen-Zhu, Li & Song, Theorems 1 and 2.

    Examples
    --------
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from helpers.losses import squared_loss
    >>> from helpers.rng import make_generator
    >>> from helpers.train import train
    >>> model = torch.nn.Linear(3, 1, bias=False).double()
    >>> _ = torch.nn.init.zeros_(model.weight)
    >>> X = torch.eye(3, dtype=torch.float64)
    >>> y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    >>> history = train(model, squared_loss, X, y, lr=1.0, steps=200)
    >>> round(history.final("loss"), 8)
    0.0

    Epochs with a checkpoint: a second call with the same arguments resumes (here: finds the
    run finished).

    >>> path = Path(tempfile.mkdtemp()) / "run.ckpt"
    >>> X4, y4 = torch.eye(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    >>> def fresh():
    ...     return torch.nn.Linear(4, 1, bias=False).double()
    >>> torch.manual_seed(0) and None
    >>> m = fresh(); w0 = m.state_dict()
    >>> h = train(m, squared_loss, X4, y4, lr=0.5, epochs=3, batch_size=2,
    ...           generator=make_generator(0), checkpoint=path, schedule=multistep([4], 0.1))
    >>> [(r["epoch"], round(r["lr"], 3)) for r in h.records]     # /10 from global step 4
    [(1, 0.5), (2, 0.05), (3, 0.05)]
    >>> m2 = fresh(); m2.load_state_dict(w0)
    <All keys matched successfully>
    >>> h2 = train(m2, squared_loss, X4, y4, lr=0.5, epochs=3, batch_size=2,
    ...            generator=make_generator(0), checkpoint=path, schedule=multistep([4], 0.1))
    >>> torch.equal(m2.weight, m.weight), len(h2.records)
    (True, 3)
    """
    check_module(model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    check_tensor(X, "X", floating=True)
    check_tensor(y, "y")
    check_same_length(X, y, "X", "y")
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps (updates) and epochs, got "
                         f"steps={steps!r}, epochs={epochs!r}")
    n = X.shape[0]
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    b = n if batch_size is None else batch_size
    stochastic = b < n
    if stochastic:
        check_generator(generator, device=X.device)
    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be callable (step -> multiplier), got {schedule!r}")
    if eval_batch_size is not None:
        eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
    if record_initial is not None and not isinstance(record_initial, bool):
        raise TypeError(f"record_initial must be a bool, got {record_initial!r}")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be callable (model -> float), got {fn!r}")
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters (all have requires_grad=False)")
    scales = _check_lr_scale(lr_scale, model, params)
    if epochs is None:
        steps = check_int(steps, "steps", minimum=0)
        for name, value in (("checkpoint", checkpoint),
                            ("max_epochs_this_call", max_epochs_this_call)):
            if value is not None:
                raise ValueError(f"{name} needs epochs=..., not steps=...")
        if record_steps is not None and record_every is not None:
            raise ValueError("give record_every or record_steps, not both")
        marks = None
        if record_steps is not None:
            marks = sorted({check_int(s, "record_steps[...]", minimum=0, maximum=steps)
                            for s in record_steps})
        record_every = check_int(1 if record_every is None else record_every, "record_every",
                                 minimum=1)
        return _train_steps(model, loss_fn, X, y, lr=lr, steps=steps, b=b,
                            generator=generator, schedule=schedule, scales=scales,
                            record_every=record_every, marks=marks, metrics=metrics,
                            progress=progress,
                            record_initial=True if record_initial is None else record_initial,
                            eval_batch_size=eval_batch_size, params=params)
    epochs = check_int(epochs, "epochs", minimum=1)
    for name, value in (("record_every", record_every), ("record_steps", record_steps)):
        if value is not None:
            raise ValueError(f"{name} is for steps mode; epochs mode records once per epoch")
    if max_epochs_this_call is not None:
        max_epochs_this_call = check_int(max_epochs_this_call, "max_epochs_this_call",
                                         minimum=1)
    return _train_epochs(model, loss_fn, X, y, lr=lr, epochs=epochs, b=b, generator=generator,
                         schedule=schedule, scales=scales, metrics=metrics, progress=progress,
                         record_initial=bool(record_initial),
                         eval_batch_size=eval_batch_size, params=params,
                         checkpoint=checkpoint, max_epochs_this_call=max_epochs_this_call)


class _Stepper:
    """The SGD loop shared by both modes: minibatch order, updates and records."""

    def __init__(self, model, loss_fn, X, y, *, lr, b, generator, scales, metrics,
                 eval_batch_size, params, history):
        self.model, self.loss_fn, self.X, self.y = model, loss_fn, X, y
        self.lr, self.b, self.generator, self.scales = lr, b, generator, scales
        self.metrics, self.eval_batch_size, self.history = metrics, eval_batch_size, history
        self.names, self.params = list(params), list(params.values())
        self.n = X.shape[0]
        self.order = torch.arange(self.n, device=X.device)
        self.cursor = self.n      # forces a fresh permutation at the first stochastic step

    def new_epoch(self) -> None:
        self.cursor = self.n

    def record(self, step: int, lr: float, epoch: int | None = None) -> None:
        """Append ``{step, loss, lr, *metrics[, epoch]}`` (the loss over the training set)."""
        # a training-mode forward pass updates batch-norm running statistics: restore every
        # buffer afterwards, so that recording never changes the model
        model = self.model
        saved = [(buf, buf.detach().clone()) for buf in model.buffers()]
        try:
            with torch.no_grad():
                row = {"step": step,
                       "loss": float(_mean_loss(model, self.loss_fn, self.X, self.y,
                                                self.eval_batch_size)),
                       "lr": lr}
            for name, fn in self.metrics.items():
                value = fn(model)
                if isinstance(value, Mapping):        # several numbers: "name.key" columns
                    for key, v in value.items():
                        row[f"{name}.{key}"] = float(v)
                else:
                    row[name] = float(value)
        finally:
            with torch.no_grad():
                for buffer, value in saved:
                    buffer.copy_(value)
        if epoch is not None:
            row["epoch"] = epoch
        self.history.records.append(row)

    def step(self, global_step: int, eta: float) -> None:
        if self.b < self.n:
            if self.cursor + self.b > self.n:
                self.order = torch.randperm(self.n, generator=self.generator,
                                            device=self.X.device)
                self.cursor = 0
            idx = self.order[self.cursor:self.cursor + self.b]
            self.cursor += self.b
            xb, yb = self.X[idx], self.y[idx]
        else:
            xb, yb = self.X, self.y
        loss = _mean_loss(self.model, self.loss_fn, xb, yb)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"the training loss became {float(loss.detach())} at step {global_step}; the"
                f" step size lr={self.lr} is probably too large for this model")
        grads = torch.autograd.grad(loss, self.params)
        with torch.no_grad():
            for name, p, g in zip(self.names, self.params, grads):
                scale = self.scales.get(name)
                p.sub_(eta * g if scale is None else eta * scale * g)


def _rate(lr: float, schedule, t: int) -> float:
    mult = 1.0 if schedule is None else float(schedule(t))
    if not np.isfinite(mult) or mult < 0:
        raise ValueError(f"schedule({t}) must be a finite non-negative number, got {mult}")
    return lr * mult


def _train_steps(model, loss_fn, X, y, *, lr, steps, b, generator, schedule, scales,
                 record_every, marks, metrics, progress, record_initial, eval_batch_size,
                 params) -> History:
    history = History()
    run = _Stepper(model, loss_fn, X, y, lr=lr, b=b, generator=generator, scales=scales,
                   metrics=metrics, eval_batch_size=eval_batch_size, params=params,
                   history=history)

    def wanted(done: int) -> bool:
        if marks is not None:
            return done in marks
        return done % record_every == 0 or done == steps

    if (0 in marks) if marks is not None else record_initial:
        run.record(0, _rate(lr, schedule, 0))
    for step in tqdm(range(steps), disable=not progress, desc="training", leave=False):
        run.step(step, _rate(lr, schedule, step))
        done = step + 1
        if wanted(done):
            run.record(done, _rate(lr, schedule, done))
    return history


def _train_epochs(model, loss_fn, X, y, *, lr, epochs, b, generator, schedule, scales,
                  metrics, progress, record_initial, eval_batch_size, params, checkpoint,
                  max_epochs_this_call) -> History:
    n = X.shape[0]
    per_epoch = n // b
    multipliers = _ckpt._multipliers(schedule, epochs * per_epoch)
    history = History()
    start = 0
    path = None
    if checkpoint is not None:
        path = _ckpt._as_path(checkpoint, "checkpoint")
        if generator is None:
            generator = torch.Generator(device=X.device)   # full batch: never drawn from
        fingerprint = _ckpt._fingerprint(
            model, loss_fn, X, y, lr=lr, epochs=epochs, batch_size=b, multipliers=multipliers,
            metrics=metrics, eval_batch_size=eval_batch_size, generator=generator)
        if path.exists():
            fingerprint, start = _ckpt._resume(path, fingerprint, model, generator, history)
    run = _Stepper(model, loss_fn, X, y, lr=lr, b=b, generator=generator, scales=scales,
                   metrics=metrics, eval_batch_size=eval_batch_size, params=params,
                   history=history)
    if record_initial and start == 0:
        run.record(0, lr * float(multipliers[0]), epoch=0)
    stop = epochs if max_epochs_this_call is None else min(epochs, start + max_epochs_this_call)
    for epoch in tqdm(range(start, stop), initial=start, total=epochs, disable=not progress,
                      desc="epochs"):
        run.new_epoch()
        offset = epoch * per_epoch
        for k in range(per_epoch):
            run.step(offset + k, lr * float(multipliers[offset + k]))
        done = offset + per_epoch
        run.record(done, lr * float(multipliers[done]), epoch=epoch + 1)
        if path is not None:
            _ckpt.save_checkpoint(path, {"epoch": epoch + 1, "run": fingerprint,
                                         "model": model.state_dict(),
                                         "generator": generator.get_state(),
                                         "history": history.records})
    return history
