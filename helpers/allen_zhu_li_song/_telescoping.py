r"""The exact ReLU telescoping of Section 11: Proposition 11.3 and Claim 11.2."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._validate import check_tensor
from ._forward import _check_net, _check_perturbation, _check_X, forward
from ._network import DeepReLUNet

__all__ = ["Telescoping", "relu_switch_diagonal", "telescoping"]


@dataclass(frozen=True)
class Telescoping:
    """Both sides of Claim 11.2 at every layer.

    Attributes
    ----------
    direct : list of torch.Tensor
        ``direct[l-1]`` is :math:`h_{i,\\ell} - \\check h_{i,\\ell}` computed by two forward passes,
        shape (n, m), l = 1..L.
    telescoped : list of torch.Tensor
        The right-hand side of (11.1), summed term by term, same shapes.
    terms : torch.Tensor
        Shape (L, n, m): the L summands of (11.1) at the last layer (term ``a-1`` comes from
        :math:`\\mathbf W'_a`).
    D_switch : list of torch.Tensor
        ``D_switch[l-1]`` is the diagonal of :math:`\\mathbf D''_{i,\\ell}` (Proposition 11.3),
        shape (n, m), entries in [-1, 1], non-zero only where a sign flipped.
    """

    direct: list
    telescoped: list
    terms: torch.Tensor
    D_switch: list


def relu_switch_diagonal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""The diagonal :math:`\mathbf D''` of Proposition 11.3:
    :math:`\phi(a)-\phi(b)=(\mathbf D+\mathbf D'')(a-b)` with
    :math:`\mathbf D=\mathrm{diag}(\mathbb 1_{a\ge0})`.

    :math:`\mathbf D''_{kk}=0` where :math:`a_k,b_k` have the same sign pattern;
    :math:`b_k/(a_k-b_k)\in[-1,0]` where :math:`a_k\ge0>b_k`; :math:`b_k/(b_k-a_k)\in[0,1]` where
    :math:`a_k<0\le b_k`.

    Parameters
    ----------
    a, b : torch.Tensor
        Same shape (any), floating.

    Returns
    -------
    torch.Tensor
        Same shape: the diagonals of :math:`\mathbf D''`.

    References
    ----------
    Allen-Zhu, Li & Song, Proposition 11.3.

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([1.0, -1.0, 2.0, -3.0]); b = torch.tensor([3.0, -2.0, -2.0, 1.0])
    >>> Dpp = relu_switch_diagonal(a, b)
    >>> Dpp
    tensor([ 0.0000,  0.0000, -0.5000,  0.2500])
    >>> bool(torch.allclose(torch.relu(a) - torch.relu(b), ((a >= 0).float() + Dpp) * (a - b)))
    True
    """
    a = check_tensor(a, "a", floating=True)
    b = check_tensor(b, "b", floating=True)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    pa, pb = a >= 0, b >= 0
    diff = torch.where(pa != pb, a - b, torch.ones_like(a))
    out = torch.zeros_like(a)
    out = torch.where(pa & ~pb, b / diff, out)          # a >= 0 > b: b/(a-b)
    out = torch.where(~pa & pb, -b / diff, out)         # a < 0 <= b: b/(b-a)
    return out


def telescoping(net: DeepReLUNet, X: torch.Tensor, perturbation: Sequence[torch.Tensor], *,
                base: Sequence[torch.Tensor] | None = None) -> Telescoping:
    r"""Both sides of Claim 11.2:
    :math:`h_{i,\ell}-\check h_{i,\ell}=\sum_{a=1}^{\ell}(\check{\mathbf D}_{i,\ell}+
    \mathbf D''_{i,\ell})\check{\mathbf W}_\ell\cdots\check{\mathbf W}_{a+1}(\check{\mathbf D}_{i,a}
    +\mathbf D''_{i,a})\mathbf W'_ah_{i,a-1}`.

    :math:`\check{\ }` quantities are computed at :math:`\check{\vec{\mathbf W}}=\vec{\mathbf W}+
    \text{base}` (the network's weights if ``base`` is None), the others at
    :math:`\check{\vec{\mathbf W}}+\vec{\mathbf W}'`; :math:`\mathbf D''` comes from
    :func:`relu_switch_diagonal` applied to :math:`(\check g_{i,\ell}, g_{i,\ell})`. Each of the
    :math:`\ell` terms is propagated separately, so the sum is a genuine check of the identity.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    X : torch.Tensor, shape (n, d)
    perturbation : list of L tensors (m, m)
        :math:`\vec{\mathbf W}'`.
    base : list of L tensors (m, m), optional
        Offset of :math:`\check{\vec{\mathbf W}}` from the network's weights.

    Returns
    -------
    Telescoping

    References
    ----------
    Allen-Zhu, Li & Song, Definition 11.1, Claim 11.2 (11.1), Proposition 11.3.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs, random_perturbation
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 32, 3, 1, generator=gen)
    >>> X = paper_inputs(4, 4, 0.2, generator=gen)
    >>> t = telescoping(net, X, random_perturbation(net, 0.3, generator=gen))
    >>> max(float((u - v).abs().max()) for u, v in zip(t.direct, t.telescoped)) < 1e-12
    True
    """
    net = _check_net(net)
    X = _check_X(X, net)
    pert = _check_perturbation(perturbation, net)
    check_state = forward(net, X, perturbation=base)
    Wc = check_state.weights
    new = forward(net, X, perturbation=[W + P - W0.detach() for W, P, W0 in
                                        zip(Wc, pert, net.Ws)])
    n = X.shape[0]
    direct, telescoped, switches = [], [], []
    terms = torch.zeros(0, n, net.width, dtype=X.dtype, device=X.device)
    with torch.no_grad():
        for ell in range(1, net.depth + 1):
            Dpp = relu_switch_diagonal(check_state.g[ell], new.g[ell])
            M = check_state.D[ell] + Dpp
            propagated = M[None] * (terms @ Wc[ell - 1].T)
            fresh = M * (new.h[ell - 1] @ pert[ell - 1].T)
            terms = torch.cat([propagated, fresh[None]], dim=0)
            direct.append(new.h[ell] - check_state.h[ell])
            telescoped.append(terms.sum(dim=0))
            switches.append(Dpp)
    return Telescoping(direct, telescoped, terms, switches)
