r"""Semi-smoothness along the gradient (Theorem 4): the remainder of the first-order expansion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_real, check_tensor
from ._backward import fake_gradient
from ._forward import _check_net, _check_X, forward
from ._network import DeepReLUNet
from ._ntk import ntk_linearisation

__all__ = ["StepRemainder", "gradient_step_remainder"]


@dataclass(frozen=True)
class StepRemainder:
    r"""The first-order expansion of :math:`F` along :math:`-\eta\nabla F`, for several
    :math:`\eta` (:func:`gradient_step_remainder`).

    Attributes
    ----------
    lr : numpy.ndarray, shape (k,)
        The step sizes :math:`\eta`.
    loss : float
        :math:`F(\vec{\mathbf W})=\sum_i\frac12\|\mathbf Bh_{i,L}-y_i^*\|^2`.
    loss_after : numpy.ndarray, shape (k,)
        :math:`F(\vec{\mathbf W}-\eta\nabla F)`.
    grad_sq : float
        :math:`\|\nabla F\|_F^2`.
    gauss_newton : float
        :math:`\|J\nabla F\|^2`, :math:`J` the Jacobian of the outputs (so that
        :math:`\frac{\eta^2}2\|J\nabla F\|^2` is the linearised model's quadratic term).
    spectral : numpy.ndarray, shape (k,)
        :math:`\|\eta\nabla F\|_2=\max_\ell\|\eta\nabla_{\mathbf W_\ell}F\|_2`, the
        :math:`\|\vec{\mathbf W}'\|_2` of Theorem 4.
    """

    lr: np.ndarray
    loss: float
    loss_after: np.ndarray
    grad_sq: float
    gauss_newton: float
    spectral: np.ndarray

    @property
    def remainder(self) -> np.ndarray:
        r""":math:`R(\eta)=F(\vec{\mathbf W}-\eta\nabla F)-F(\vec{\mathbf W})
        +\eta\|\nabla F\|^2`."""
        return self.loss_after - self.loss + self.lr * self.grad_sq


def gradient_step_remainder(net: DeepReLUNet, X: torch.Tensor, Y: torch.Tensor,
                            lrs: Sequence[float]) -> StepRemainder:
    r"""Theorem 4's remainder :math:`R(\eta)=F(\vec{\mathbf W}+\vec{\mathbf W}')-F(\vec{\mathbf W})
    -\langle\nabla F,\vec{\mathbf W}'\rangle` along :math:`\vec{\mathbf W}'=-\eta\nabla F`.

    Theorem 4 bounds it by a first-order term :math:`\propto\omega^{1/3}\|\vec{\mathbf W}'\|_2`
    (the ReLU kinks) plus :math:`\mathcal O(nL^2m/c)\|\vec{\mathbf W}'\|_2^2`; for a smooth model
    it would be :math:`\approx\frac{\eta^2}2\nabla F^\top H\nabla F`, whose Gauss-Newton part
    :math:`\frac{\eta^2}2\|J\nabla F\|^2` is returned for comparison. The gradient is Fact 2.6
    (:func:`fake_gradient` with the loss vectors), :math:`J\nabla F` the exact directional
    derivative of the outputs (:func:`ntk_linearisation`), and the moved point is evaluated by
    :func:`forward` with ``perturbation=``; the network is not modified.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    X : torch.Tensor, shape (n, d)
    Y : torch.Tensor, shape (n, c)
    lrs : sequence of float
        Step sizes :math:`\eta>0`.

    Returns
    -------
    StepRemainder

    References
    ----------
    Allen-Zhu, Li & Song, Theorem 4 (restated in Section 11), (11.2)-(11.6).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(5, 128, 2, 1, generator=gen)
    >>> X = paper_inputs(4, 5, 0.3, generator=gen)
    >>> r = gradient_step_remainder(net, X, torch.ones(4, 1, dtype=torch.float64), [1e-4, 1e-3])
    >>> bool((r.remainder > 0).all())      # convex in the outputs: R >= 0 near a smooth point
    True
    """
    net = _check_net(net)
    X = _check_X(X, net)
    Y = check_tensor(Y, "Y", shape=(X.shape[0], net.d_out), floating=True)
    lrs = [check_real(lr, f"lrs[{k}]", minimum=0.0, strict_min=True)
           for k, lr in enumerate(lrs)]
    if not lrs:
        raise ValueError("lrs must hold at least one step size")
    state = forward(net, X)
    G = fake_gradient(net, state, state.output - Y)
    F0 = 0.5 * float((state.output - Y).pow(2).sum())
    g2 = sum(float(g.pow(2).sum()) for g in G)
    JG = ntk_linearisation(net, X, G).ntk
    after, spectral = [], []
    for eta in lrs:
        moved = forward(net, X, perturbation=[-eta * g for g in G]).output
        after.append(0.5 * float((moved - Y).pow(2).sum()))
        spectral.append(max(float(torch.linalg.matrix_norm(eta * g, ord=2)) for g in G))
    return StepRemainder(np.array(lrs), F0, np.array(after), g2, float(JG.pow(2).sum()),
                         np.array(spectral))
