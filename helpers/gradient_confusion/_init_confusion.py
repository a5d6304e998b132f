r"""Gradient confusion of random networks on random data: the experiments of Sections 5.2 and 6
of Sankararaman et al. ([L] Theorem 5.3, Section 6; [I] Theorem 4.1, Strategy 4.1).

The networks are those of [L] eq. (5): a fully connected network with scalar output and the
activation applied to the output too, on data uniform on the unit sphere, with labels
:math:`y_i = \mathbf a^\top\mathbf x_i` for a unit vector :math:`\mathbf a` (a 1-Lipschitz label
function), squared loss. :func:`random_mlp` draws one network, optionally rescaling every weight
matrix to a given operator norm (the "small weights" of Assumption 5.1); :func:`init_confusion`
draws networks and datasets and summarises the gradient Gram matrix of each draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .._validate import check_dtype, check_generator, check_int, check_real, check_tensor
from ..data import sphere
from ..gradients import _cosines, gradient_gram
from ..losses import squared_loss
from ..models import MLP
from ._confusion import pairwise_summary

__all__ = ["random_mlp", "InitConfusion", "init_confusion"]


def random_mlp(d_in: int, width: int, depth: int, *, generator: torch.Generator,
               init: str = "lecun", norm: float | None = None, activation: str = "tanh",
               dtype: torch.dtype = torch.float64) -> MLP:
    r"""A random network of [L] eq. (5), each weight matrix optionally rescaled to operator norm
    ``norm``: :math:`\mathbf W_p \leftarrow \text{norm}\cdot\mathbf W_p/\|\mathbf W_p\|_2`.

    ``init="lecun"`` with ``norm=None`` is Strategy 4.1 of [I] with :math:`\kappa=1`
    (:math:`\mathcal N(0, 1/\text{fan-in})` entries); ``init="lecun", norm=1.0`` gives Gaussian
    matrices with operator norm exactly 1 but most singular values below 1 (the "spectral"
    family); ``init="orthogonal"`` gives orthogonal matrices (operator norm 1 already).

    Parameters
    ----------
    d_in, width, depth : int
        Input dimension, hidden width, number of hidden layers (``depth + 1`` matrices).
    generator : torch.Generator
        Source of the weights.
    init : str, default "lecun"
        A scheme of :func:`helpers.models.init_weight_`.
    norm : float, optional
        Operator norm of every weight matrix after rescaling (``> 0``); ``None``: no rescaling.
    activation : str, default "tanh"
        A name of :mod:`helpers.activations` (applied to the output too).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    helpers.models.MLP
        Scalar output, no biases, ``activate_output=True``.

    References
    ----------
    Sankararaman et al. [L] eq. (5) and Assumption 5.1 (:math:`\|\mathbf W_p\|\le1`); [I]
    Strategy 4.1.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import random_mlp
    >>> net = random_mlp(8, 16, 3, generator=torch.Generator().manual_seed(0), norm=0.9)
    >>> [round(float(torch.linalg.matrix_norm(w.weight.detach(), ord=2)), 12)
    ...  for w in net.linears]
    [0.9, 0.9, 0.9, 0.9]
    """
    net = MLP(d_in, width, depth, 1, generator=generator, activation=activation, init=init,
              activate_output=True, dtype=dtype)
    if norm is not None:
        norm = check_real(norm, "norm", minimum=0.0, strict_min=True)
        with torch.no_grad():
            for layer in net.linears:
                layer.weight *= norm / torch.linalg.matrix_norm(layer.weight, ord=2)
    return net


@dataclass(frozen=True)
class InitConfusion:
    """Gradient confusion of random networks (see :func:`init_confusion`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per draw: ``depth``, ``width``, ``min cosine``, ``mean cosine``,
        ``cosine std`` (of the :math:`n(n-1)` off-diagonal cosines), ``min inner``
        (:math:`\\min_{i\\ne j} h_{ij}`), ``confusion`` (:math:`\\max(0, -\\min h_{ij})`) and
        ``mean sq norm`` (:math:`\\frac1n\\sum_i\\|\\nabla f_i\\|^2`).
    example : numpy.ndarray, shape (n, n)
        The cosine matrix of the first draw.
    """

    table: pd.DataFrame
    example: np.ndarray


def init_confusion(depth: int, width: int, *, d_in: int, n: int, draws: int,
                   generator: torch.Generator, init: str = "lecun", norm: float | None = None,
                   activation: str = "tanh", label_direction: torch.Tensor | None = None,
                   dtype: torch.dtype = torch.float64) -> InitConfusion:
    r"""Pairwise statistics of the gradient Gram matrix of ``draws`` random networks, each on
    a fresh dataset: :math:`h_{ij} = \langle\nabla_{\mathbf W} f_i, \nabla_{\mathbf W} f_j
    \rangle`, :math:`f_i = \frac12(g_{\mathbf W}(\mathbf x_i) - \mathbf a^\top\mathbf x_i)^2`.

    Each draw takes, in this order from ``generator``: the network (:func:`random_mlp`), the
    ``n`` inputs uniform on :math:`\mathbb S^{d-1}` and, unless ``label_direction`` is given,
    the unit label direction :math:`\mathbf a`.

    Parameters
    ----------
    depth, width : int
        Hidden layers and width of :func:`random_mlp`.
    d_in : int
        Input dimension :math:`d`.
    n : int
        Examples per dataset, ``>= 2``.
    draws : int
        Independent (network, dataset) draws, ``>= 1``.
    generator : torch.Generator
    init, norm, activation, dtype
        As in :func:`random_mlp`.
    label_direction : torch.Tensor, shape (d_in,), optional
        A fixed :math:`\mathbf a` for every draw (default: a fresh one per draw).

    Returns
    -------
    InitConfusion

    References
    ----------
    Sankararaman et al. [L] Theorem 5.3 (fixed small weights, random data) and Section 6
    (random weights); [I] Theorem 4.1 (Strategy 4.1: wider is better, deeper is worse) and
    Section 8 (the normalised confusion, i.e. the cosines).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import init_confusion
    >>> out = init_confusion(2, 32, d_in=8, n=6, draws=3,
    ...                      generator=torch.Generator().manual_seed(0))
    >>> len(out.table), out.example.shape, bool((out.table["min cosine"] >= -1).all())
    (3, (6, 6), True)
    """
    depth = check_int(depth, "depth", minimum=1)
    width = check_int(width, "width", minimum=1)
    d_in = check_int(d_in, "d_in", minimum=1)
    n = check_int(n, "n", minimum=2)
    draws = check_int(draws, "draws", minimum=1)
    generator = check_generator(generator)
    dtype = check_dtype(dtype)
    if label_direction is not None:
        label_direction = check_tensor(label_direction, "label_direction", shape=(d_in,),
                                       floating=True)
    off = ~torch.eye(n, dtype=torch.bool, device=generator.device)
    rows, example = [], None
    for _ in range(draws):
        net = random_mlp(d_in, width, depth, generator=generator, init=init, norm=norm,
                         activation=activation, dtype=dtype)
        X = sphere(n, d_in, generator=generator, dtype=dtype)
        a = (sphere(1, d_in, generator=generator, dtype=dtype)[0] if label_direction is None
             else label_direction)
        G = gradient_gram(net, squared_loss, X, X @ a)
        s = pairwise_summary(G)
        cos = _cosines(G, 0.0)
        rows.append({"depth": depth, "width": width, "min cosine": s.min_cosine,
                     "mean cosine": s.mean_cosine, "cosine std": float(cos[off].std()),
                     "min inner": s.min_inner, "confusion": s.confusion,
                     "mean sq norm": s.mean_sq_norm})
        if example is None:
            example = cos.cpu().numpy()
    return InitConfusion(pd.DataFrame(rows), example)
