r"""One SGD step and the population loss: Li & Liang's Lemma B.4, measured step by step.

Lemma B.4 says that a step :math:`\mathbf W^{(t+1)} = \mathbf W^{(t)} - \eta\tilde\nabla_t`
(:math:`\tilde\nabla_t` the minibatch gradient) decreases the *population* loss by about its
first-order prediction :math:`\eta\langle\tilde\nabla_t,\nabla F(\mathbf W^{(t)})\rangle`, up to
the kinks that a few neurons cross (Lemma B.6). :func:`descent_steps` runs SGD with the book's
trainer and returns, at every step, the actual decrease of a pool loss (the pool standing for
the population) and that first-order prediction, computed exactly as
:math:`\langle\mathbf W^{(t)}-\mathbf W^{(t+1)},\nabla F_{\rm pool}(\mathbf W^{(t)})\rangle`.
"""

from __future__ import annotations

import pandas as pd
import torch

from .. import losses
from .._validate import check_int, check_real, check_tensor
from ..models import TwoLayerNet
from ..train import train
from ._coupling import _check_labels, loss_gradient

__all__ = ["descent_steps"]


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
