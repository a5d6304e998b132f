"""Checkpoints for long runs: atomic, verified, resumable to the same bits.

Full-scale training cells (``BOOK_SCALE=full``) can run for hours on a GPU; an interrupted run
must lose at most one epoch and resume to exactly the result an uninterrupted run gives.

* :func:`save_checkpoint` writes a header (magic + SHA-256 of the payload) and the
  ``torch.save`` payload to a temporary file in the same folder, then renames it over the
  target (``os.replace`` is atomic), so a crash never leaves a half-written checkpoint.
* :func:`load_checkpoint` verifies the header and checksum **before** deserialising, and
  deserialises with ``weights_only=True`` (tensors, numbers, strings, lists and dicts only), so
  a corrupted, truncated or foreign file is reported, never silently used.
* :func:`train_resumable` runs SGD epoch by epoch with :func:`helpers.train.train` (one
  evaluation of the training loss per epoch; a step-size schedule on the global step count),
  saving the model, the minibatch generator's state and the history after every epoch.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from ._validate import check_generator, check_int, check_module, check_tensor
from .train import History, train

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "train_resumable"]

MAGIC = b"NNBOOK-CHECKPOINT-v1\n"
_DIGEST_LEN = 64  # hex characters of a SHA-256


class CheckpointError(ValueError):
    """A checkpoint file is corrupted, truncated or not a checkpoint of this book.

    Examples
    --------
    >>> from helpers.checkpoint import CheckpointError
    >>> issubclass(CheckpointError, ValueError)
    True
    """


def _as_path(path: object, name: str = "path") -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def save_checkpoint(path: str | os.PathLike, state: Mapping[str, object]) -> Path:
    """Atomically write ``state`` (tensors, numbers, strings, lists, dicts) to ``path``.

    Parameters
    ----------
    path : str or PathLike
        Target file; its folder is created if needed.
    state : mapping
        What to save; must be loadable with ``torch.load(..., weights_only=True)``.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from helpers.checkpoint import load_checkpoint, save_checkpoint
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = save_checkpoint(folder / "run.ckpt", {"epoch": 3, "w": torch.ones(2)})
    >>> load_checkpoint(folder / "run.ckpt")["epoch"]
    3
    """
    path = _as_path(path)
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a mapping (e.g. a dict), got {type(state).__name__}")
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    payload = buffer.getvalue()
    try:  # refuse to write what could not be read back safely
        torch.load(io.BytesIO(payload), weights_only=True)
    except Exception as err:
        raise TypeError(
            "state must contain only tensors, numbers, strings, lists, tuples and dicts"
            f" (loadable with weights_only=True); saving it failed the check: {err}"
        ) from err
    digest = hashlib.sha256(payload).hexdigest().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(MAGIC + digest + b"\n" + payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu"
                    ) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`, verifying it first.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is not a checkpoint of this book, is truncated, or fails its checksum.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from helpers.checkpoint import CheckpointError, load_checkpoint
    >>> bad = Path(tempfile.mkdtemp()) / "bad.ckpt"
    >>> _ = bad.write_bytes(b"not a checkpoint")
    >>> try:
    ...     load_checkpoint(bad)
    ... except CheckpointError as err:
    ...     print("refused")
    refused
    """
    path = _as_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    raw = path.read_bytes()
    head = len(MAGIC) + _DIGEST_LEN + 1
    if not raw.startswith(MAGIC) or len(raw) < head:
        raise CheckpointError(f"{path} is not a checkpoint written by helpers.checkpoint")
    digest, payload = raw[len(MAGIC):head - 1].decode("ascii", "replace"), raw[head:]
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CheckpointError(
            f"{path} is corrupted or truncated (SHA-256 mismatch); delete it to restart the run"
        )
    try:
        return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as err:  # checksum fine but payload unreadable: still refuse
        raise CheckpointError(f"{path} could not be deserialised safely: {err}") from err


def _shift(schedule: Callable[[int], float], offset: int) -> Callable[[int], float]:
    """``t -> schedule(offset + t)``: one epoch's local step to the run's global step."""
    def shifted(t: int) -> float:
        mult = float(schedule(offset + t))
        if not math.isfinite(mult) or mult < 0:
            raise ValueError(f"schedule({offset + t}) must be a finite non-negative number,"
                             f" got {mult}")
        return mult
    return shifted


def train_resumable(model: torch.nn.Module, loss_fn: Callable, X: torch.Tensor, y: torch.Tensor,
                    *, lr: float, epochs: int, batch_size: int, generator: torch.Generator,
                    checkpoint_path: str | os.PathLike,
                    schedule: Callable[[int], float] | None = None,
                    metrics: Mapping[str, Callable[[torch.nn.Module], float]] | None = None,
                    max_epochs_this_call: int | None = None, progress: bool = False,
                    eval_batch_size: int | None = None) -> History:
    """SGD for ``epochs`` epochs with a checkpoint after each; resumes if one exists.

    Each epoch is ``n // batch_size`` steps of :func:`helpers.train.train` on a fresh
    permutation drawn from ``generator``, followed by one evaluation of the full-training-set
    loss and the metrics. After each epoch the model's ``state_dict`` (weights and buffers),
    the generator state and the per-epoch history are saved atomically, so rerunning the same
    call after an interruption continues from the last finished epoch and ends with
    bit-for-bit the same weights as an uninterrupted run. The step size of update ``t``
    (counted over the whole run, ``t = epoch * (n // batch_size) + step``) is
    ``lr * schedule(t)``, so a schedule also resumes exactly.

    Parameters
    ----------
    model, loss_fn, X, y, lr, batch_size, metrics, eval_batch_size
        As in :func:`helpers.train.train`.
    epochs : int
        Total number of epochs of the run (not of this call).
    generator : torch.Generator
        Minibatch generator; its state is restored on resume.
    checkpoint_path : str or PathLike
        Where the checkpoint lives.
    schedule : callable, optional
        ``t -> multiplier`` of the step size, evaluated at the run's global update count ``t``
        (e.g. :func:`helpers.train.multistep` with milestones in updates: the papers' "divide
        by 10 at epochs 80 and 160" is ``multistep([80 * s, 160 * s], 0.1)`` with
        ``s = n // batch_size``). It is not stored in the checkpoint: resume with the same one.
    max_epochs_this_call : int, optional
        Stop after this many new epochs (as an interruption would); for tests and for
        splitting a long run across sessions.
    progress : bool
        tqdm bar over epochs.

    Returns
    -------
    History
        One record per finished epoch (``epoch``, ``step``, ``loss``, ``lr`` and metrics),
        including epochs finished before a resume.

    Examples
    --------
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from helpers.checkpoint import train_resumable
    >>> from helpers.losses import squared_loss
    >>> from helpers.rng import make_generator
    >>> X = torch.eye(4, dtype=torch.float64); y = torch.ones(4, dtype=torch.float64)
    >>> model = torch.nn.Linear(4, 1, bias=False).double()
    >>> path = Path(tempfile.mkdtemp()) / "run.ckpt"
    >>> h = train_resumable(model, squared_loss, X, y, lr=0.5, epochs=3, batch_size=2,
    ...                     generator=make_generator(0), checkpoint_path=path)
    >>> len(h.records), path.exists()
    (3, True)
    >>> from helpers.train import multistep
    >>> model = torch.nn.Linear(4, 1, bias=False).double()
    >>> h = train_resumable(model, squared_loss, X, y, lr=0.5, epochs=3, batch_size=2,
    ...                     generator=make_generator(0), checkpoint_path=path.with_suffix(".b"),
    ...                     schedule=multistep([4], 0.1))   # 2 steps per epoch: /10 from epoch 3
    >>> [round(r["lr"], 3) for r in h.records]               # step size of the next update
    [0.5, 0.05, 0.05]
    """
    from tqdm.auto import tqdm

    check_module(model)
    check_tensor(X, "X", floating=True)
    epochs = check_int(epochs, "epochs", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=X.shape[0])
    check_generator(generator, device=X.device)
    path = _as_path(checkpoint_path, "checkpoint_path")
    if max_epochs_this_call is not None:
        max_epochs_this_call = check_int(max_epochs_this_call, "max_epochs_this_call", minimum=1)
    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be callable (step -> multiplier), got {schedule!r}")
    steps_per_epoch = X.shape[0] // batch_size

    history = History()
    start = 0
    if path.exists():
        state = load_checkpoint(path, map_location=X.device)
        if state.get("epochs") != epochs or state.get("batch_size") != batch_size:
            raise CheckpointError(
                f"{path} belongs to a run with epochs={state.get('epochs')}, batch_size="
                f"{state.get('batch_size')}; this call has epochs={epochs}, batch_size="
                f"{batch_size}. Use another checkpoint_path or delete the file."
            )
        model.load_state_dict(state["model"])
        generator.set_state(state["generator"].cpu() if generator.device.type == "cpu"
                            else state["generator"])
        history.records.extend(dict(r) for r in state["history"])
        start = int(state["epoch"])

    stop = epochs if max_epochs_this_call is None else min(epochs, start + max_epochs_this_call)
    for epoch in tqdm(range(start, stop), initial=start, total=epochs, disable=not progress,
                      desc="epochs"):
        shifted = None if schedule is None else _shift(schedule, epoch * steps_per_epoch)
        run = train(model, loss_fn, X, y, lr=lr, steps=steps_per_epoch, batch_size=batch_size,
                    generator=generator, schedule=shifted, record_every=steps_per_epoch,
                    record_initial=False, metrics=metrics, eval_batch_size=eval_batch_size)
        record = dict(run.records[-1])
        record["step"] = (epoch + 1) * steps_per_epoch
        record["epoch"] = epoch + 1
        history.records.append(record)
        save_checkpoint(path, {"epoch": epoch + 1, "epochs": epochs, "batch_size": batch_size,
                               "model": model.state_dict(),
                               "generator": generator.get_state(),
                               "history": history.records})
    return history
