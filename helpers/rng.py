"""Seeded random generators: the only place where seeds become generators.

Every helper that draws random numbers takes a generator argument; none touches torch's or
NumPy's global state. A notebook makes its generators once, in its parameters cell, from the
``SEED`` printed there, so a rerun reproduces every number in the chapter.
"""

from __future__ import annotations

import numpy as np
import torch

from ._validate import check_generator, check_int

__all__ = ["make_generator", "numpy_rng", "spawn"]


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """Return a ``torch.Generator`` on ``device`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        Non-negative integer seed.
    device : torch.device or str, default "cpu"
        Device of the generator; it must match the device of the tensors it fills.

    Returns
    -------
    torch.Generator

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> a = torch.randn(3, generator=make_generator(0))
    >>> b = torch.randn(3, generator=make_generator(0))
    >>> bool(torch.equal(a, b))
    True
    """
    seed = check_int(seed, "seed", minimum=0)
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}"
                         ) from err
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def numpy_rng(seed: int) -> np.random.Generator:
    """Return a NumPy ``Generator`` (PCG64) seeded with ``seed``.

    Examples
    --------
    >>> from helpers.rng import numpy_rng
    >>> float(numpy_rng(1).standard_normal()) == float(numpy_rng(1).standard_normal())
    True
    """
    seed = check_int(seed, "seed", minimum=0)
    return np.random.default_rng(seed)


def spawn(generator: torch.Generator, count: int) -> list[torch.Generator]:
    """Derive ``count`` independent generators from ``generator`` (on the same device).

    Useful when one experiment needs separate streams (data, initialisation, minibatch order)
    so that changing one does not shift the others.

    Examples
    --------
    >>> from helpers.rng import make_generator, spawn
    >>> data_gen, init_gen = spawn(make_generator(0), 2)
    >>> data_gen.initial_seed() != init_gen.initial_seed()
    True
    """
    check_generator(generator)
    count = check_int(count, "count", minimum=1)
    seeds = torch.randint(0, 2**62, (count,), generator=generator, device=generator.device)
    return [make_generator(int(s), generator.device) for s in seeds.tolist()]
