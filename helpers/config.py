"""The scale knob: ``small`` (CPU, committed and tested) or ``full`` (paper scale, GPU if present).

Each notebook's parameters cell calls :func:`runtime` once. It reads the environment variable
``BOOK_SCALE`` (default ``small``) and returns a frozen :class:`Runtime` holding the scale, the
device and the dtype; the notebook then picks its sizes with :func:`select` from a dictionary of
frozen dataclass presets, one per scale. Device and dtype are decided here and nowhere else.

Run a chapter at paper scale with, for example::

    BOOK_SCALE=full jupyter nbconvert --to notebook --execute chapters/front/tools_ntk.ipynb
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import torch

from ._validate import check_choice, check_dtype

__all__ = ["SCALES", "ENV_VAR", "Runtime", "current_scale", "runtime", "select"]

SCALES = ("small", "full")
ENV_VAR = "BOOK_SCALE"

T = TypeVar("T")


@dataclass(frozen=True)
class Runtime:
    """Where and how a notebook computes.

    Attributes
    ----------
    scale : str
        ``"small"`` or ``"full"``.
    device : torch.device
        ``cpu`` at small scale; ``cuda`` at full scale when a GPU is visible, else ``cpu``.
    dtype : torch.dtype
        ``float64`` at small scale (theory checks need the precision); at full scale the
        ``full_dtype`` passed to :func:`runtime` (``float32`` by default, for speed on a GPU).
    """

    scale: str
    device: torch.device
    dtype: torch.dtype

    @property
    def is_full(self) -> bool:
        """True at paper scale."""
        return self.scale == "full"


def current_scale(environ: Mapping[str, str] | None = None) -> str:
    """Return the scale named by ``BOOK_SCALE`` in ``environ`` (default: ``os.environ``).

    Examples
    --------
    >>> from helpers.config import current_scale
    >>> current_scale({})
    'small'
    >>> current_scale({"BOOK_SCALE": "full"})
    'full'
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "small").strip().lower() or "small"
    return check_choice(value, f"the environment variable {ENV_VAR}", SCALES)


def runtime(scale: str | None = None, *, full_dtype: torch.dtype = torch.float32,
            environ: Mapping[str, str] | None = None) -> Runtime:
    """Decide scale, device and dtype for a notebook.

    Parameters
    ----------
    scale : {"small", "full"}, optional
        Overrides ``BOOK_SCALE``.
    full_dtype : torch.dtype, default torch.float32
        Dtype at full scale; pass ``torch.float64`` where a full-scale check needs it.
    environ : mapping, optional
        Environment to read instead of ``os.environ`` (for tests).

    Examples
    --------
    >>> from helpers.config import runtime
    >>> rt = runtime("small")
    >>> (rt.scale, str(rt.device), rt.dtype)
    ('small', 'cpu', torch.float64)
    """
    scale = current_scale(environ) if scale is None else check_choice(scale, "scale", SCALES)
    check_dtype(full_dtype, "full_dtype")
    if scale == "small":
        return Runtime("small", torch.device("cpu"), torch.float64)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return Runtime("full", device, full_dtype)


def select(presets: Mapping[str, T], scale: str | Runtime | None = None) -> T:
    """Pick the preset for the current scale from ``{"small": ..., "full": ...}``.

    Parameters
    ----------
    presets : mapping
        Must have exactly the keys ``"small"`` and ``"full"``; the values are usually frozen
        dataclasses with one field per size (``n``, ``d``, ``m``, ...).
    scale : str or Runtime, optional
        Defaults to :func:`current_scale`.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> from helpers.config import select
    >>> @dataclass(frozen=True)
    ... class Sizes:
    ...     n: int
    ...     d: int
    >>> select({"small": Sizes(100, 10), "full": Sizes(10_000, 1_000)}, "small")
    Sizes(n=100, d=10)
    """
    if not isinstance(presets, Mapping) or set(presets) != set(SCALES):
        got = sorted(presets) if isinstance(presets, Mapping) else type(presets).__name__
        raise ValueError(f"presets must be a mapping with keys {list(SCALES)}, got {got}")
    if isinstance(scale, Runtime):
        scale = scale.scale
    scale = current_scale() if scale is None else check_choice(scale, "scale", SCALES)
    return presets[scale]
