"""Input validation shared by every public helper.

Each check raises ``TypeError`` or ``ValueError`` whose message names the argument, says what
was expected and what came, so that a reader who passes a wrong value learns how to fix it.
These functions are internal (leading underscore module); they are tested through the public
helpers that use them and directly in ``tests/test_validate.py``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "check_int",
    "check_real",
    "check_choice",
    "check_dtype",
    "check_generator",
    "check_rng",
    "check_tensor",
    "check_same_length",
    "check_module",
    "trainable_parameters",
    "check_deterministic_mode",
]


def _describe(value: object) -> str:
    """Short description of a value for error messages."""
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_int(value: object, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """Return ``value`` as ``int`` after checking it is an integer in ``[minimum, maximum]``.

    Booleans are rejected: ``True`` is not a width.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}, got {value}")
    return value


def check_real(value: object, name: str, *, minimum: float | None = None,
               maximum: float | None = None, strict_min: bool = False,
               strict_max: bool = False) -> float:
    """Return ``value`` as a finite ``float`` in the given (open or closed) interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
            value = value.item()
        elif isinstance(value, np.ndarray) and value.size == 1 and np.isrealobj(value):
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (strict_min and value == minimum)):
        op = ">" if strict_min else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (strict_max and value == maximum)):
        op = "<" if strict_max else "<="
        raise ValueError(f"{name} must be {op} {maximum}, got {value}")
    return value


def check_dtype(dtype: object, name: str = "dtype") -> torch.dtype:
    """Check that ``dtype`` is a floating ``torch.dtype`` (e.g. ``torch.float64``)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating torch.dtype such as torch.float64, got "
                        f"{_describe(dtype)}")
    return dtype


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of the strings in ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {_describe(value)}")
    return value


def check_generator(generator: object, name: str = "generator",
                    device: torch.device | str | None = None) -> torch.Generator:
    """Check that ``generator`` is a ``torch.Generator`` (on ``device`` if given).

    The book never draws from torch's global generator: every random helper takes one
    explicitly, made by :func:`helpers.rng.make_generator`.
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name} must be a torch.Generator (make one with helpers.rng.make_generator(seed)),"
            f" got {_describe(generator)}"
        )
    if device is not None and torch.device(generator.device).type != torch.device(device).type:
        raise ValueError(
            f"{name} lives on {generator.device} but the tensors live on {device}; make the"
            f" generator with helpers.rng.make_generator(seed, device={str(device)!r})"
        )
    return generator


def check_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """Check that ``rng`` is a ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (make one with helpers.rng.numpy_rng(seed)),"
            f" got {_describe(rng)}"
        )
    return rng


def check_tensor(x: object, name: str, *, ndim: int | Sequence[int] | None = None,
                 floating: bool = False, finite: bool = True, nonempty: bool = True,
                 shape: Sequence[int | None] | None = None) -> torch.Tensor:
    """Check a tensor argument and return it unchanged.

    Parameters
    ----------
    x : object
        The value to check; must be a ``torch.Tensor``.
    name : str
        Argument name used in error messages.
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    floating : bool
        Require a floating-point dtype.
    finite : bool
        Reject NaN and infinite entries (floating tensors only).
    nonempty : bool
        Reject tensors with no elements.
    shape : sequence of int or None, optional
        Required shape; ``None`` entries are free.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.dim() not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {tuple(x.shape)}")
    if shape is not None:
        if x.dim() != len(shape) or any(s is not None and s != t for s, t in zip(shape, x.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    if finite and x.is_floating_point() and x.numel() and not _all_finite(x):
        raise ValueError(f"{name} must contain only finite values, got NaN or Inf entries")
    return x


def _all_finite(x: torch.Tensor) -> bool:
    """Whether every entry of a floating tensor is finite.

    A NaN or infinite entry makes the sum NaN or infinite, so a finite sum proves every entry
    finite (one reduction, several times cheaper than ``isfinite(x).all()`` on a large input);
    only when the sum is not finite (a bad entry, or a sum that overflows) are the entries
    checked one by one.
    """
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def check_same_length(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Check that two tensors have the same first dimension (one row per example)."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of rows (one per example), got"
            f" {a.shape[0]} and {b.shape[0]}"
        )


def check_module(model: object, name: str = "model") -> torch.nn.Module:
    """Check that ``model`` is a ``torch.nn.Module`` with at least one parameter."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {_describe(model)}")
    if not any(True for _ in model.parameters()):
        raise ValueError(f"{name} has no parameters; there is nothing to differentiate")
    return model


def trainable_parameters(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``{name: parameter}`` of the parameters with ``requires_grad``; error if there are none."""
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters (every parameter has"
                         " requires_grad=False); there is nothing to differentiate")
    return params


def check_deterministic_mode(model: torch.nn.Module, *, batch_statistics: str | None,
                             dropout: str) -> None:
    """Reject modules that make a forward pass depend on the batch or on torch's global RNG.

    ``batch_statistics``: why batch norm with batch statistics (train mode, or no running
    statistics) is an error for the caller, or ``None`` to allow it; ``dropout``: why active
    dropout is. Both texts complete the sentence "model contains ... (<module>), ...".
    """
    for name, m in model.named_modules():
        where = name or "model"
        if (batch_statistics is not None and isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                and (m.training or m.running_mean is None)):
            raise ValueError(f"model contains batch norm ({where}) using batch statistics, so"
                             f" {batch_statistics}; call model.eval() (with running statistics)"
                             " first")
        if isinstance(m, torch.nn.modules.dropout._DropoutNd) and m.training and m.p > 0:
            raise ValueError(f"model contains active dropout ({where}); {dropout}; call"
                             " model.eval() first")
