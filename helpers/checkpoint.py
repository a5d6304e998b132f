"""Checkpoints for long runs: atomic, verified, resumable to the same bits, never mixed up.

Full-scale training cells (``BOOK_SCALE=full``) can run for hours on a GPU; an interrupted run
must lose at most one epoch and resume to exactly the result an uninterrupted run gives.

* :func:`save_checkpoint` writes a header (magic + SHA-256 of the payload) and the
  ``torch.save`` payload to a temporary file in the same folder, flushes it to disk, then
  renames it over the target (``os.replace`` is atomic on POSIX and Windows), so a crash or a
  kill at any moment leaves either the previous checkpoint or the new one, never a mixture. A
  failed write removes its temporary file; a killed process cannot, so a ``<name>.*.tmp`` file
  may remain next to the checkpoint after a crash (it is never read, and safe to delete).
* :func:`load_checkpoint` verifies the header and checksum **before** deserialising, and
  deserialises with ``weights_only=True`` (tensors, numbers, strings, lists and dicts only), so
  a corrupted, truncated or foreign file is reported, never silently used.
* :func:`helpers.train.train` with ``epochs=`` and ``checkpoint=path`` saves the model, the
  minibatch generator's state and the history after every epoch, together with a
  *fingerprint* of everything that determines the run, and resumes from the file when it
  exists; it refuses to resume from a checkpoint whose fingerprint differs from the call's,
  and names what differs (the fingerprint is described below).

**Which run a checkpoint belongs to.** A training checkpoint stores a fingerprint of everything
that determines the run: ``lr``; ``epochs`` and ``batch_size``; the schedule's multipliers
at every global step ``t = 0 .. epochs * (n // batch_size)`` (run-length coded, so a
changed milestone is found even though the schedule is a function); ``eval_batch_size``
(chunked evaluation rounds differently, and batch norm in training mode normalises per
chunk; values ``>= n`` count as ``None``); the device type; SHA-256 digests of the bytes,
dtype and shape of ``X`` and ``y``; the model's architecture (each module's class and public
attributes, such as widths, strides, the activation and the training mode, and each
parameter's and buffer's name, shape and dtype); a digest of the model's weights and
buffers and of the generator's state at the start of the run; the loss function's
qualified name and the metrics' names. A call whose fingerprint differs raises
:class:`CheckpointError` naming each difference, instead of silently continuing someone
else's run. On resume, the weights (and generator state) passed in must be either the
run's start -- a fresh process rebuilds the model with the same seed, as the notebooks do
-- or the checkpoint's last state (the same objects, continuing in the same process);
they are then overwritten by the checkpoint. Comparing them, although they do not enter
the resumed computation, is what detects a changed initialisation seed. Not covered:
the *code* of the loss, the metrics, the schedule and the model's ``forward`` (only their
names, values and configuration are fingerprinted); after changing code, delete the
checkpoints. Cost per call: one SHA-256 pass over ``X``, ``y`` and the weights (through a
CPU copy for GPU tensors; 1.4 s for the 586 MiB of CIFAR-10 in float32 on one CPU core,
measured) and one evaluation of the schedule per global step.

Format: version 2 (``MAGIC``). Version-1 files (written before run fingerprints existed) are
refused with a message saying so: without a fingerprint a resume cannot be checked, and the
runs they hold are at most one interrupted session long, so they are deleted and rerun.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

MAGIC = b"NNBOOK-CHECKPOINT-v2\n"
_MAGIC_STEM = b"NNBOOK-CHECKPOINT-v"
_DIGEST_LEN = 64  # hex characters of a SHA-256


class CheckpointError(ValueError):
    """A checkpoint file is corrupted, truncated, of an old format, not a checkpoint of this book,
    or (for :func:`helpers.train.train` with ``checkpoint=``) a checkpoint of a different run.

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
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); best effort where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    if raw.startswith(_MAGIC_STEM) and not raw.startswith(MAGIC):
        version = raw[len(_MAGIC_STEM):].split(b"\n", 1)[0].decode("ascii", "replace")[:10]
        raise CheckpointError(
            f"{path} is a checkpoint of format v{version}; this version of helpers.checkpoint"
            f" reads format {MAGIC.decode().strip()[-2:]} only (v1 files carry no run"
            " fingerprint, so a resume from them cannot be checked): delete it to restart the run"
        )
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


# --------------------------------------------------------------------------- run fingerprint


def _tensor_digest(t: torch.Tensor) -> str:
    """SHA-256 of a tensor's shape, dtype and bytes (device-independent)."""
    t = t.detach()
    h = hashlib.sha256(f"{tuple(t.shape)}|{t.dtype}|".encode())
    if t.numel():
        flat = t.contiguous().reshape(-1).cpu()
        h.update(flat.view(torch.uint8).numpy().data)
    return h.hexdigest()


def _state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 over a ``state_dict``: every key with the digest of its tensor, in order."""
    h = hashlib.sha256()
    for key, value in state.items():
        h.update(f"{key}={_tensor_digest(value)};".encode())
    return h.hexdigest()


def _callable_name(fn: object) -> str:
    """A name for a callable that is the same in every process (no memory addresses)."""
    if isinstance(fn, functools.partial):
        args = [_describe(a) for a in fn.args]
        args += [f"{k}={_describe(v)}" for k, v in sorted(fn.keywords.items())]
        return f"functools.partial({_callable_name(fn.func)}, {', '.join(args)})"
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(qualname, str):           # a callable object: its class
        kind = type(fn)
        return f"{kind.__module__}.{kind.__qualname__} instance"
    return f"{getattr(fn, '__module__', None) or '?'}.{qualname}"


def _describe(value: object, depth: int = 0) -> str:
    """Deterministic short text for a module attribute (configuration, not identity)."""
    if value is None or isinstance(value, bool | int | float | str | torch.dtype | torch.device):
        return repr(value)
    if isinstance(value, torch.Tensor | np.ndarray):
        t = torch.as_tensor(value)
        return f"tensor{tuple(t.shape)}:{t.dtype}:{_tensor_digest(t)[:16]}"
    if depth < 3 and isinstance(value, list | tuple):
        return "[" + ", ".join(_describe(v, depth + 1) for v in value) + "]"
    if depth < 3 and isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(_describe(v, depth + 1) for v in value)) + "}"
    if depth < 3 and isinstance(value, Mapping):
        items = sorted((str(k), _describe(v, depth + 1)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if callable(value):
        return _callable_name(value)
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _architecture(model: torch.nn.Module) -> list[str]:
    """One line per module (class and public attributes: widths, strides, activation, mode)
    and one per parameter or buffer (name, shape, dtype): what the model computes, not its
    values."""
    lines = []
    for name, module in model.named_modules():
        kind = type(module)
        attrs = ", ".join(f"{k}={_describe(v)}" for k, v in vars(module).items()
                          if not k.startswith("_"))
        lines.append(f"module {name or '(root)'}: {kind.__module__}.{kind.__qualname__}({attrs})")
    for key, value in model.state_dict().items():
        lines.append(f"tensor {key}: {tuple(value.shape)} {value.dtype}")
    return lines


def _multipliers(schedule: Callable[[int], float] | None, total: int) -> np.ndarray:
    """``schedule(t)`` for every global step ``t = 0..total`` (``total``: the step size
    recorded after the last update), validated; all ones without a schedule."""
    if schedule is None:
        return np.ones(total + 1)
    values = np.empty(total + 1)
    for t in range(total + 1):
        mult = float(schedule(t))
        if not math.isfinite(mult) or mult < 0:
            raise ValueError(f"schedule({t}) must be a finite non-negative number, got {mult}")
        values[t] = mult
    return values


def _run_lengths(values: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Run-length code of the multipliers: the steps where the value changes, and the values."""
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return torch.from_numpy(starts.astype(np.int64)), torch.from_numpy(values[starts].copy())


def _expand(starts: torch.Tensor, values: torch.Tensor, total: int) -> np.ndarray:
    bounds = np.r_[starts.numpy(), total + 1]
    return np.repeat(values.numpy(), np.diff(bounds))


def _fingerprint(model, loss_fn, X, y, *, lr, epochs, batch_size, multipliers, metrics,
                 eval_batch_size, generator) -> dict:
    r"""Everything that determines the run, as comparable values and SHA-256 digests."""
    n = X.shape[0]
    starts, values = _run_lengths(multipliers)
    return {
        "lr": float(lr),
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "global_steps": len(multipliers) - 1,
        "schedule_starts": starts,
        "schedule_values": values,
        # chunks >= n evaluate in one pass: the same run
        "eval_batch_size": (None if eval_batch_size is None or eval_batch_size >= n
                            else int(eval_batch_size)),
        "device": X.device.type,
        "X": f"{tuple(X.shape)} {X.dtype} sha256:{_tensor_digest(X)}",
        "y": f"{tuple(y.shape)} {y.dtype} sha256:{_tensor_digest(y)}",
        "architecture": _architecture(model),
        "initial_weights": _state_digest(model.state_dict()),
        "initial_generator": _tensor_digest(generator.get_state()),
        "loss_fn": _callable_name(loss_fn),
        "metrics": sorted(metrics or {}),
    }


def _first_difference(a: list, b: list) -> str:
    for k, (u, v) in enumerate(zip(a, b)):
        if u != v:
            return f"entry {k}: {u!r} in the checkpoint, {v!r} in this call"
    return f"{len(a)} entries in the checkpoint, {len(b)} in this call"


def _differences(saved: Mapping, current: Mapping, state: Mapping,
                 model: torch.nn.Module, generator: torch.Generator) -> list[str]:
    """What differs between the stored fingerprint and this call, in words."""
    out = []
    for key in ("lr", "epochs", "batch_size", "eval_batch_size", "device", "loss_fn",
                "metrics", "X", "y"):
        if saved.get(key) != current[key]:
            out.append(f"{key} ({saved.get(key)!r} in the checkpoint, {current[key]!r} in this"
                       " call)")
    if "schedule_starts" not in saved or not (
            torch.equal(saved["schedule_starts"], current["schedule_starts"])
            and torch.equal(saved["schedule_values"], current["schedule_values"])):
        mine = _expand(current["schedule_starts"], current["schedule_values"],
                       current["global_steps"])
        theirs = (_expand(saved["schedule_starts"], saved["schedule_values"],
                          saved["global_steps"]) if "global_steps" in saved else np.array([]))
        m = min(len(mine), len(theirs))
        diff = np.flatnonzero(mine[:m] != theirs[:m])
        where = (f"first at global step {int(diff[0])}: {theirs[diff[0]]:g} in the checkpoint,"
                 f" {mine[diff[0]]:g} in this call" if diff.size else
                 f"{len(theirs)} steps in the checkpoint, {len(mine)} in this call")
        out.append(f"schedule (lr multiplier, {where})")
    if saved.get("architecture") != current["architecture"]:
        out.append("model architecture (" + _first_difference(saved.get("architecture", []),
                                                              current["architecture"]) + ")")
    else:
        # the model passed in must be the run's start (a fresh process rebuilding it with the
        # same seed) or the checkpoint's last state (the same object, continuing)
        if current["initial_weights"] not in (saved.get("initial_weights"),
                                              _state_digest(state["model"])):
            out.append("model weights (neither the run's initial weights nor the checkpoint's:"
                       " was the model initialised with another seed or changed?)")
    if current["initial_generator"] not in (saved.get("initial_generator"),
                                            _tensor_digest(state["generator"])):
        out.append("generator state (neither the run's initial state nor the checkpoint's:"
                   " another seed, or draws made before this call?)")
    return out


def _resume(path: Path, fingerprint: dict, model: torch.nn.Module,
            generator: torch.Generator, history) -> tuple[dict, int]:
    """Load the checkpoint of a run, refuse it if its fingerprint differs from ``fingerprint``
    (naming each difference), and restore the model, the generator and the history.

    Returns the run's own fingerprint (its start: initial weights and generator) and the
    number of finished epochs. Used by :func:`helpers.train.train` with ``checkpoint=``.
    """
    state = load_checkpoint(path, map_location=next(iter(model.parameters())).device)
    if not isinstance(state.get("run"), Mapping):
        raise CheckpointError(f"{path} is not a training checkpoint (no run fingerprint); use"
                              " another checkpoint path or delete the file")
    differences = _differences(state["run"], fingerprint, state, model, generator)
    if differences:
        raise CheckpointError(
            f"{path} belongs to a run that differs from this call in: " + "; ".join(differences)
            + ". Use another checkpoint path for this run, or delete the file to restart.")
    model.load_state_dict(state["model"])
    generator.set_state(state["generator"].cpu() if generator.device.type == "cpu"
                        else state["generator"])
    history.records.extend(dict(r) for r in state["history"])
    return state["run"], int(state["epoch"])
