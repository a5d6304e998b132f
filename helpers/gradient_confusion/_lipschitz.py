r"""How fast the gradient inner products move with the weights: the Lipschitz step of the
covering-net arguments of Theorems 5.2 and 5.3 (part 2) of Sankararaman et al. [L].

The uniform versions of the concentration theorems cover a ball of weights with a finite net and
extend from the net to the ball through the Lipschitz constant of
:math:`h_{ij}(\mathbf W) = \langle\nabla_{\mathbf W}\ell_i, \nabla_{\mathbf W}\ell_j\rangle` in
the weights (Lemma C.1 for linear models; eqs. (18)-(20) of App. C.8 for networks). Here that
constant is the object measured, so the gradient of the Gram matrix with respect to the weights
is computed exactly, by double backpropagation: the per-example gradients
:math:`\mathbf g_i(\mathbf W)` are a differentiable function of the weights
(``torch.func.vmap(grad(...))``), :math:`h_{ij}` the entries of their Gram matrix, and
``torch.func.jacrev`` differentiates every :math:`h_{ij}` with respect to every weight at once.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, vmap

from .._validate import (
    check_generator,
    check_int,
    check_module,
    check_real,
    check_same_length,
    check_tensor,
    trainable_parameters,
)
from ..gradients import gradient_gram
from ..losses import LossFn

__all__ = ["inner_product_gradients", "inner_product_increments"]


def _check(model: object, loss_fn: object, X: object, y: object):
    model = check_module(model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a per-example loss, got {type(loss_fn).__name__}")
    X = check_tensor(X, "X", floating=True)
    y = check_tensor(y, "y")
    check_same_length(X, y, "X", "y")
    if X.shape[0] < 2:
        raise ValueError(f"X must hold at least 2 examples (one pair), got {X.shape[0]}")
    return model, X, y


def inner_product_gradients(model: nn.Module, loss_fn: LossFn, X: torch.Tensor,
                            y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The inner products :math:`h_{ij}` (:math:`i<j`) and the norms of their weight gradients
    :math:`\|\nabla_{\mathbf W} h_{ij}(\mathbf W)\|`, exactly, by double backpropagation.

    Parameters
    ----------
    model : torch.nn.Module
        Network whose trainable parameters are :math:`\mathbf W`; no batch norm with batch
        statistics (per-example gradients must be defined).
    loss_fn : callable
        Per-example loss ``(outputs, targets) -> (n,)``.
    X : torch.Tensor, shape (n, ...)
        Inputs, ``n >= 2``.
    y : torch.Tensor, shape (n,) or (n, c)
        Targets.

    Returns
    -------
    h : torch.Tensor, shape (n(n-1)/2,)
        :math:`h_{ij}`, pairs :math:`i<j` in the order of ``torch.triu_indices(n, n, 1)``.
    grad_norms : torch.Tensor, shape (n(n-1)/2,)
        :math:`\|\nabla_{\mathbf W} h_{ij}\|` (Euclidean norm over all trainable parameters).

    References
    ----------
    Sankararaman et al. [L], Lemma C.1 (:math:`h_{ij}` is :math:`2LM`-Lipschitz in the weights)
    and App. C.8, eqs. (18)-(20) (the bound :math:`8\chi_0^2(\beta+2)^2` on
    :math:`\|\nabla_{\mathbf W}h_{ij}\|` for networks).

    Examples
    --------
    A linear model with the squared loss: :math:`h_{12} = r_1 r_2\langle\mathbf x_1,
    \mathbf x_2\rangle` and :math:`\nabla_{\mathbf w}h_{12} = \langle\mathbf x_1,\mathbf x_2
    \rangle(r_2\mathbf x_1 + r_1\mathbf x_2)`.

    >>> import torch
    >>> from helpers.gradient_confusion import inner_product_gradients
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> X = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    >>> y = torch.tensor([1.0, 2.0], dtype=torch.float64)          # r = (-1, -2)
    >>> h, g = inner_product_gradients(model, squared_loss, X, y)
    >>> h.tolist(), round(g.item() ** 2, 10)                        # |(-2, 0) + (-1, -1)|^2
    ([2.0], 10.0)
    """
    model, X, y = _check(model, loss_fn, X, y)
    n = X.shape[0]
    weights = {k: v.detach() for k, v in trainable_parameters(model).items()}
    i, j = torch.triu_indices(n, n, 1, device=X.device)

    def loss_one(w, x, t):
        return loss_fn(functional_call(model, w, (x[None],)), t[None]).sum()

    def pair_products(w):
        g = vmap(grad(loss_one), in_dims=(None, 0, 0))(w, X, y)      # {name: (n, *shape)}
        flat = torch.cat([v.reshape(n, -1) for v in g.values()], dim=1)
        h = (flat @ flat.T)[i, j]
        return h, h.detach()

    dh, h = jacrev(pair_products, has_aux=True)(weights)              # {name: (pairs, *shape)}
    norms = torch.sqrt(sum(v.reshape(v.shape[0], -1).pow(2).sum(dim=1) for v in dh.values()))
    return h, norms.detach()


def inner_product_increments(model: nn.Module, loss_fn: LossFn, X: torch.Tensor,
                             y: torch.Tensor, *, radius: float, points: int,
                             generator: torch.Generator) -> torch.Tensor:
    r"""Measured Lipschitz ratios :math:`\max_{i<j}|h_{ij}(\mathbf W')-h_{ij}(\mathbf W)|/r` at
    ``points`` random :math:`\mathbf W'` on the sphere of radius :math:`r` around the weights.

    Each :math:`\mathbf W' = \mathbf W + r\,\mathbf U/\|\mathbf U\|` with :math:`\mathbf U`
    standard Gaussian over all trainable parameters (a uniform direction); the model's weights
    are restored afterwards.

    Parameters
    ----------
    model, loss_fn, X, y
        As in :func:`inner_product_gradients`.
    radius : float
        :math:`r > 0`.
    points : int
        Number of random points, ``>= 1``.
    generator : torch.Generator
        Draws the directions.

    Returns
    -------
    torch.Tensor, shape (points,)
        One ratio per point; each is at most the Lipschitz constant of :math:`\min_{i<j}
        h_{ij}` on the ball (the mean value theorem along the segment).

    References
    ----------
    Sankararaman et al. [L], proof of Theorem 5.2 (step 3: net points to the ball).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import inner_product_increments
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.eye(2, dtype=torch.float64)                  # orthogonal data: h_12 = 0
    >>> y = torch.ones(2, dtype=torch.float64)
    >>> inner_product_increments(model, squared_loss, X, y, radius=0.1, points=3,
    ...                          generator=torch.Generator().manual_seed(0)).tolist()
    [0.0, 0.0, 0.0]
    """
    model, X, y = _check(model, loss_fn, X, y)
    radius = check_real(radius, "radius", minimum=0.0, strict_min=True)
    points = check_int(points, "points", minimum=1)
    generator = check_generator(generator)
    n = X.shape[0]
    i, j = torch.triu_indices(n, n, 1, device=X.device)
    params = list(trainable_parameters(model).values())
    start = [p.detach().clone() for p in params]
    h0 = gradient_gram(model, loss_fn, X, y)[i, j]
    out = []
    try:
        for _ in range(points):
            U = [torch.randn(w.shape, generator=generator, dtype=w.dtype, device=w.device)
                 for w in start]
            scale = radius / torch.sqrt(sum((u ** 2).sum() for u in U))
            with torch.no_grad():
                for p, w, u in zip(params, start, U):
                    p.copy_(w + scale * u)
            h1 = gradient_gram(model, loss_fn, X, y)[i, j]
            out.append(float((h1 - h0).abs().max()) / radius)
    finally:
        with torch.no_grad():
            for p, w in zip(params, start):
                p.copy_(w)
    return torch.tensor(out, dtype=torch.float64)
