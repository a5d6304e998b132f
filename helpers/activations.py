r"""The book's one registry of activation functions and their derivatives.

Every network of the book applies an entrywise activation :math:`\phi` and, where a paper's
formula needs it (Jacobians, pseudo-networks, kernels), its derivative :math:`\phi'`. Both come
from here, so that the models (:mod:`helpers.models`), the kernels of Oymak & Soltanolkotabi
(:mod:`helpers.oymak_soltanolkotabi`) and the batched engines agree on one definition.

The derivative of ReLU at :math:`0` is taken to be :math:`0`, i.e. :math:`\phi'(z) =
\mathbb 1\{z > 0\}`: the convention of PyTorch's autograd, so that a hand-written Jacobian and
autograd agree bit for bit. The papers use either convention (Oymak & Soltanolkotabi write
:math:`\mathbb 1\{z \ge 0\}` in Section 2.2); they differ only on the measure-zero set
:math:`z = 0`, which random Gaussian weights hit with probability zero.

Examples
--------
>>> import torch
>>> from helpers import activations
>>> relu = activations.get("relu")
>>> z = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64)
>>> relu.fn(z), relu.derivative(z)
(tensor([0., 0., 2.], dtype=torch.float64), tensor([0., 0., 1.], dtype=torch.float64))
>>> activations.NAMES
('relu', 'tanh', 'linear', 'softplus', 'sigmoid', 'gelu', 'quadratic')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ._validate import check_choice

__all__ = ["Activation", "NAMES", "get"]

Elementwise = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Activation:
    r"""An entrywise activation :math:`\phi` with its (generalised) derivative :math:`\phi'`.

    Attributes
    ----------
    name : str
        Registry name.
    fn : callable
        :math:`\phi`, applied entrywise to a tensor.
    derivative : callable
        :math:`\phi'`, applied entrywise (ReLU: :math:`\mathbb 1\{z>0\}`).
    """

    name: str
    fn: Elementwise
    derivative: Elementwise

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return self.fn(z)


def _identity(z: torch.Tensor) -> torch.Tensor:
    return z


def _ones(z: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(z)


def _quadratic(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * z * z


def _d_relu(z: torch.Tensor) -> torch.Tensor:
    return (z > 0).to(z.dtype)


def _d_tanh(z: torch.Tensor) -> torch.Tensor:
    return 1.0 - torch.tanh(z) ** 2


def _d_sigmoid(z: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(z)
    return s * (1.0 - s)


def _d_gelu(z: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return cdf + z * pdf


_REGISTRY: dict[str, Activation] = {a.name: a for a in (
    Activation("relu", torch.relu, _d_relu),
    Activation("tanh", torch.tanh, _d_tanh),
    Activation("linear", _identity, _ones),
    Activation("softplus", F.softplus, torch.sigmoid),
    Activation("sigmoid", torch.sigmoid, _d_sigmoid),
    Activation("gelu", F.gelu, _d_gelu),
    Activation("quadratic", _quadratic, _identity),   # phi(z) = z^2 / 2
)}

#: Names accepted by :func:`get` (and by every ``activation=`` argument of the helpers).
NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get(name: str, *, allowed: tuple[str, ...] | None = None) -> Activation:
    r"""Look up an activation by name.

    Parameters
    ----------
    name : str
        One of :data:`NAMES`: ``"relu"``, ``"tanh"``, ``"linear"`` (identity), ``"softplus"``,
        ``"sigmoid"``, ``"gelu"`` (exact, erf form) or ``"quadratic"`` (:math:`z^2/2`).
    allowed : tuple of str, optional
        A subset of :data:`NAMES` that the caller supports (e.g. the activations with a closed-form
        kernel); the error then lists only those.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        If ``name`` is not registered (or not in ``allowed``).

    Examples
    --------
    >>> import torch
    >>> from helpers.activations import get
    >>> q = get("quadratic")
    >>> q(torch.tensor([2.0])), q.derivative(torch.tensor([2.0]))
    (tensor([2.]), tensor([2.]))
    >>> get("relu", allowed=("relu", "softplus")).name
    'relu'
    """
    choices = NAMES if allowed is None else tuple(allowed)
    unknown = [a for a in choices if a not in _REGISTRY]
    if unknown:
        raise ValueError(f"allowed must be a subset of {list(NAMES)}, got unknown {unknown}")
    return _REGISTRY[check_choice(name, "activation", choices)]
