r"""One SGD step and the population loss: Li & Liang's Lemma B.4, measured step by step.

Lemma B.4 says that a step :math:`\mathbf W^{(t+1)} = \mathbf W^{(t)} - \eta\tilde\nabla_t`
(:math:`\tilde\nabla_t` the minibatch gradient) decreases the *population* loss by about its
first-order prediction :math:`\eta\langle\tilde\nabla_t,\nabla F(\mathbf W^{(t)})\rangle`, up to
the kinks that a few neurons cross (Lemma B.6). :func:`descent_steps` runs SGD with the book's
trainer and returns, at every step, the actual decrease of a pool loss (the pool standing for
the population) and that first-order prediction, computed exactly as
:math:`\langle\mathbf W^{(t)}-\mathbf W^{(t+1)},\nabla F_{\rm pool}(\mathbf W^{(t)})\rangle`.
:func:`descent_inequality` measures Lemma B.6, the descent inequality behind it, on one input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

from .. import losses
from .._validate import check_generator, check_int, check_real, check_tensor
from ..models import TwoLayerNet
from ..train import train
from ._coupling import _check_labels, loss_gradient, relu_network

__all__ = ["descent_steps", "descent_inequality"]


def descent_steps(net: TwoLayerNet, X: torch.Tensor, y: torch.Tensor, X_pool: torch.Tensor,
                  y_pool: torch.Tensor, *, lr: float, steps: int, batch_size: int,
                  generator: torch.Generator) -> pd.DataFrame:
    r"""Actual and first-order decrease of the population loss along SGD (Lemma B.4).

    Trains ``net`` in place with :func:`helpers.train.train` (cross-entropy, ``steps``
    minibatches of ``batch_size`` drawn without replacement from ``X``: with
    ``len(X) >= steps * batch_size`` every step sees fresh examples, online SGD) and records,
    for every step :math:`t`,

    * ``actual`` :math:`= F(\mathbf W^{(t)}) - F(\mathbf W^{(t+1)})`, :math:`F` the mean
      cross-entropy on the pool;
    * ``first_order`` :math:`= \langle\mathbf W^{(t)}-\mathbf W^{(t+1)},
      \nabla F(\mathbf W^{(t)})\rangle = \eta\langle\tilde\nabla_t,\nabla F\rangle`, with the
      pool gradient of eq. (1) (:func:`loss_gradient`).

    Parameters
    ----------
    net : helpers.models.TwoLayerNet
        ``variant="li-liang"``; trained in place.
    X, y : torch.Tensor, shapes (N, d) and (N,)
        The training stream.
    X_pool, y_pool : torch.Tensor, shapes (n, d) and (n,)
        The pool standing for the population.
    lr : float
        Step size :math:`\eta`.
    steps, batch_size : int
    generator : torch.Generator
        Draws the minibatches.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step``, ``actual``, ``first_order``.

    References
    ----------
    Li & Liang (2018), Lemma B.4 and its proof (steps 4-5), Lemma B.6.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import descent_steps, mixture
    >>> from helpers.models import TwoLayerNet
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> pool = mixture(300, 10, 2, 1, generator=g, normalize=True)
    >>> stream = mixture(40, 10, 2, 1, generator=g, normalize=True, centers=pool.centers)
    >>> net = TwoLayerNet(10, 200, generator=g, variant="li-liang", d_out=2)
    >>> steps = descent_steps(net, stream.X, stream.y, pool.X, pool.y, lr=1 / 200, steps=5,
    ...                       batch_size=8, generator=g)
    >>> steps.columns.tolist(), bool(((steps.actual / steps.first_order - 1).abs() < 0.1).all())
    (['step', 'actual', 'first_order'], True)
    """
    if not isinstance(net, TwoLayerNet) or net.variant != "li-liang":
        raise TypeError("net must be a TwoLayerNet with variant='li-liang', got "
                        f"{type(net).__name__}")
    X = check_tensor(X, "X", ndim=2, floating=True)
    X_pool = check_tensor(X_pool, "X_pool", ndim=2, floating=True)
    if X_pool.shape[1] != X.shape[1]:
        raise ValueError(f"X_pool must have {X.shape[1]} columns like X, got shape "
                         f"{tuple(X_pool.shape)}")
    y = _check_labels(y, X.shape[0], net.d_out)
    y_pool = _check_labels(y_pool, X_pool.shape[0], net.d_out)
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    steps = check_int(steps, "steps", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=X.shape[0])
    a = net.output_weights
    snapshots: list[tuple[torch.Tensor, float, torch.Tensor]] = []

    @torch.no_grad()
    def snapshot(model: TwoLayerNet) -> float:
        W = model.hidden_weights.detach().clone()
        loss = float(losses.cross_entropy(model(X_pool), y_pool).mean())
        snapshots.append((W, loss, loss_gradient(W, a, X_pool, y_pool)))
        return loss

    train(net, losses.cross_entropy, X, y, lr=lr, steps=steps, batch_size=batch_size,
          generator=generator, metrics={"pool_loss": snapshot})
    rows = []
    for t, ((W_t, F_t, grad_t), (W_next, F_next, _)) in enumerate(zip(snapshots,
                                                                      snapshots[1:])):
        rows.append({"step": t, "actual": F_t - F_next,
                     "first_order": float(((W_t - W_next) * grad_t).sum())})
    return pd.DataFrame(rows)


def descent_inequality(W: torch.Tensor, a: torch.Tensor, x: torch.Tensor, y: torch.Tensor, *,
                       sizes: Sequence[float], draws: int,
                       generator: torch.Generator) -> pd.DataFrame:
    r"""Lemma B.6 on one input: the change of the loss under random perturbations of size ``p``.

    With :math:`g_i(\mathbf w_i)=a_{\cdot,i}\relu(\langle\mathbf w_i,\mathbf x\rangle)` and
    :math:`g` the cross-entropy of the label, :math:`f(\mathbf W)=g(\sum_ig_i(\mathbf w_i))`.
    The non-smooth pieces are the :math:`r` neurons with :math:`|\langle\mathbf w_i,\mathbf
    x\rangle|<p` (only they can cross their kink), :math:`L=\max(\max_i\|a_{\cdot,i}\|,
    \sqrt2, 1)` bounds the Lipschitz and smoothness constants, and for ``draws`` perturbations
    :math:`\boldsymbol\delta_i` with :math:`\|\boldsymbol\delta_i\|=p` (uniform directions)
    it compares the change :math:`f(\mathbf W+\boldsymbol\delta)-f(\mathbf W)` with the
    lemma's right-hand side :math:`\sum_{i\le m-r}\langle\partial f/\partial\mathbf w_i,
    \boldsymbol\delta_i\rangle+L^3m^2p^2+L^2rp`.

    Parameters
    ----------
    W : torch.Tensor, shape (m, d)
    a : torch.Tensor, shape (k, m)
    x : torch.Tensor, shape (1, d)
    y : torch.Tensor, shape (1,)
    sizes : sequence of float
        Perturbation sizes :math:`p>0`.
    draws : int
        Random perturbations per size.
    generator : torch.Generator

    Returns
    -------
    pandas.DataFrame
        One row per ``p``: ``non-smooth r``, ``max (lhs - rhs)`` (at most 0 if the lemma
        holds), ``max |lhs - first order|``, ``L^2 r p`` and ``L^3 m^2 p^2``.

    References
    ----------
    Li & Liang (2018), Lemma B.6 (with the second-order term of the proof).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import descent_inequality
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> W = torch.randn(20, 4, generator=g, dtype=torch.float64) / 20 ** 0.5
    >>> a = torch.randn(3, 20, generator=g, dtype=torch.float64)
    >>> x = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    >>> out = descent_inequality(W, a, x, torch.tensor([0]), sizes=[0.01], draws=100, generator=g)
    >>> bool((out["max (lhs - rhs)"] <= 0).all())
    True
    """
    W = check_tensor(W, "W", ndim=2, floating=True)
    m, d = W.shape
    a = check_tensor(a, "a", shape=(None, m), floating=True)
    x = check_tensor(x, "x", shape=(1, d), floating=True)
    y = _check_labels(y, 1, a.shape[0])
    sizes = [check_real(p, "sizes entry", minimum=0.0, strict_min=True) for p in sizes]
    draws = check_int(draws, "draws", minimum=1)
    check_generator(generator)
    L = max(a.norm(dim=0).max().item(), math.sqrt(2), 1.0)
    grad = loss_gradient(W, a, x, y)
    base = torch.nn.functional.cross_entropy(relu_network(W, a, x), y)
    rows = []
    for p in sizes:
        near = ((x @ W.T).abs() < p)[0]
        r = int(near.sum())
        D = torch.randn(draws, m, d, generator=generator, dtype=W.dtype, device=W.device)
        D = p * D / D.norm(dim=2, keepdim=True)
        out = torch.relu(torch.einsum("d,nmd->nm", x[0], W[None] + D)) @ a.T
        change = torch.nn.functional.cross_entropy(out, y.expand(draws), reduction="none") - base
        first = torch.einsum("md,nmd->n", grad * (~near)[:, None], D)
        quadratic, kinks = L ** 3 * m ** 2 * p ** 2, L ** 2 * r * p
        rows.append({"p": p, "non-smooth r": r,
                     "max (lhs - rhs)": (change - first - quadratic - kinks).max().item(),
                     "max |lhs - first order|": (change - first).abs().max().item(),
                     "L^2 r p": kinks, "L^3 m^2 p^2": quadratic})
    return pd.DataFrame(rows)
