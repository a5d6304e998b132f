r"""Products of masked layers and the backward maps: Lemma 7.3, Definition 2.5, Fact 2.6.

Intermediate products :math:`\mathbf W_b\mathbf D_{i,b-1}\cdots\mathbf D_{i,a}\mathbf W_a`
(:func:`layer_product`, and :func:`masked_product` for any factors and diagonal masks, e.g. the
perturbed :math:`\mathbf D^{(0)}+\mathbf D''` of Lemma 8.6 or the residual factors
:math:`\mathbf I+\tau\mathbf W_\ell` of Appendix C), the backward matrices
:math:`\mathrm{Back}_{i,\ell}` (:func:`backward_matrix`) and vectors (:func:`back_vectors`), and
the gradient of Fact 2.6 with an arbitrary loss vector (:func:`fake_gradient`, Definition 9.1)
with the norms bounded by Lemma 9.3 and Theorem 3 (:func:`gradient_bounds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._validate import check_int, check_tensor
from ._forward import ForwardState, _check_net, _check_state, _check_X, forward
from ._network import DeepReLUNet

__all__ = ["GradientBounds", "masked_product", "layer_product", "backward_matrix",
           "back_vectors", "fake_gradient", "gradient_bounds"]


@dataclass(frozen=True)
class GradientBounds:
    """Quantities bounded in Lemma 9.3 and Theorem 3 (squared loss, sum over examples).

    Attributes
    ----------
    loss : float
        :math:`F = \\sum_i F_i`, :math:`F_i = \\frac12\\|\\mathbf Bh_{i,L} - y_i^*\\|^2`.
    max_example_loss : float
        :math:`\\max_i F_i`.
    grad_sq : float
        :math:`\\|\\nabla F\\|_F^2 = \\sum_\\ell \\|\\nabla_{\\mathbf W_\\ell} F\\|_F^2`.
    layer_grad_sq : torch.Tensor
        Shape (L,): :math:`\\|\\nabla_{\\mathbf W_\\ell} F\\|_F^2`.
    example_layer_grad_sq : torch.Tensor
        Shape (n, L): :math:`\\|\\nabla_{\\mathbf W_\\ell} F_i\\|_F^2`.
    """

    loss: float
    max_example_loss: float
    grad_sq: float
    layer_grad_sq: torch.Tensor
    example_layer_grad_sq: torch.Tensor

    @property
    def last_layer_grad_sq(self) -> float:
        """:math:`\\|\\nabla_{\\mathbf W_L} F\\|_F^2`, the quantity of the lower bound."""
        return float(self.layer_grad_sq[-1])


def masked_product(factors: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]
                   ) -> torch.Tensor:
    r"""The product :math:`F_k M_{k-1} F_{k-1}\cdots M_1F_1` of matrices :math:`F_j` with
    diagonal masks :math:`M_j` between them.

    With :math:`F_j=\mathbf W_j` and :math:`M_j=\mathbf D_{i,j}` this is Lemma 7.3's product
    (:func:`layer_product` computes it from a forward pass); with
    :math:`M_j=\mathbf D^{(0)}_{i,j}+\mathbf D''_{i,j}` it is Lemma 8.6's, and with
    :math:`F_j=\mathbf I+\tau\mathbf W_j` the residual product of Appendix C's (C.1).

    Parameters
    ----------
    factors : sequence of k torch.Tensor
        :math:`F_1,\dots,F_k`, each (m, m) (the first may be (m, p)).
    masks : sequence of k - 1 torch.Tensor
        The diagonals of :math:`M_1,\dots,M_{k-1}`, each of shape (m,).

    Returns
    -------
    torch.Tensor
        :math:`F_k M_{k-1}\cdots M_1F_1`.

    References
    ----------
    Allen-Zhu, Li & Song, Lemma 7.3, Lemma 8.6 and Appendix C (C.1).

    Examples
    --------
    >>> import torch
    >>> F = [torch.eye(2, dtype=torch.float64) * 2, torch.tensor([[0.0, 1.0], [1.0, 0.0]],
    ...      dtype=torch.float64)]
    >>> masked_product(F, [torch.tensor([1.0, 0.0], dtype=torch.float64)])
    tensor([[0., 0.],
            [2., 0.]], dtype=torch.float64)
    """
    if isinstance(factors, torch.Tensor) or not isinstance(factors, Sequence) or not factors:
        raise TypeError("factors must be a non-empty list of matrices, got "
                        f"{type(factors).__name__}")
    if isinstance(masks, torch.Tensor) or not isinstance(masks, Sequence):
        raise TypeError(f"masks must be a list of vectors, got {type(masks).__name__}")
    if len(masks) != len(factors) - 1:
        raise ValueError(f"masks must hold len(factors) - 1 = {len(factors) - 1} diagonals, got "
                         f"{len(masks)}")
    factors = [check_tensor(F, f"factors[{j}]", ndim=2, floating=True)
               for j, F in enumerate(factors)]
    for j, M in enumerate(masks):
        M = check_tensor(M, f"masks[{j}]", ndim=1, floating=True)
        if M.shape[0] != factors[j + 1].shape[1] or M.shape[0] != factors[j].shape[0]:
            raise ValueError(f"masks[{j}] must have length {factors[j].shape[0]} (between "
                             f"factors {j} and {j + 1}), got {M.shape[0]}")
    P = factors[0]
    for ell in range(1, len(factors)):
        P = factors[ell] @ (masks[ell - 1][:, None] * P)
    return P


def layer_product(state: ForwardState, a: int, b: int) -> torch.Tensor:
    r"""Intermediate products :math:`\mathbf W_b\mathbf D_{i,b-1}\mathbf W_{b-1}\cdots
    \mathbf D_{i,a}\mathbf W_a` for every input (Lemma 7.3).

    Parameters
    ----------
    state : ForwardState
        Supplies the weights and the sign patterns.
    a, b : int
        :math:`1\le a\le b\le L`.

    Returns
    -------
    torch.Tensor, shape (n, m, m)

    References
    ----------
    Allen-Zhu, Li & Song, Lemma 7.3 (spectral norm :math:`O(\sqrt L)` rather than :math:`2^{b-a}`).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 32, 3, 1, generator=gen)
    >>> X = paper_inputs(2, 4, 0.2, generator=gen)
    >>> s = forward(net, X)
    >>> P = layer_product(s, 2, 3)
    >>> bool(torch.allclose(torch.einsum("nij,nj->ni", P, s.h[1]), s.g[3]))  # g_3 = W3 D2 W2 h_1
    True
    """
    state = _check_state(state)
    L = len(state.weights)
    a = check_int(a, "a", minimum=1, maximum=L)
    b = check_int(b, "b", minimum=a, maximum=L)
    n = state.h[0].shape[0]
    P = state.weights[a - 1].expand(n, -1, -1)
    for ell in range(a + 1, b + 1):
        P = state.weights[ell - 1] @ (state.D[ell - 1][:, :, None] * P)
    return P.clone()


def backward_matrix(net: DeepReLUNet, state: ForwardState, a: int) -> torch.Tensor:
    r"""Backward matrices :math:`\mathrm{Back}_{i,a}=\mathbf B\mathbf D_{i,L}\mathbf W_L\cdots
    \mathbf D_{i,a}\mathbf W_a` (Definition 2.5); :math:`\mathrm{Back}_{i,L+1}=\mathbf B`.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
        Supplies :math:`\mathbf B`.
    state : ForwardState
    a : int
        :math:`1\le a\le L+1`.

    Returns
    -------
    torch.Tensor, shape (n, c, m)

    References
    ----------
    Allen-Zhu, Li & Song, Definition 2.5 and Lemma 7.4.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 32, 3, 2, generator=gen)
    >>> X = paper_inputs(2, 4, 0.2, generator=gen)
    >>> s = forward(net, X)
    >>> Bk = backward_matrix(net, s, 2)
    >>> bool(torch.allclose(torch.einsum("ncm,nm->nc", Bk, s.h[1]), s.output))  # B h_L = Back_2 h_1
    True
    """
    net = _check_net(net)
    state = _check_state(state, net)
    a = check_int(a, "a", minimum=1, maximum=net.depth + 1)
    n = state.h[0].shape[0]
    M = net.B.expand(n, -1, -1)
    for ell in range(net.depth, a - 1, -1):
        M = (M * state.D[ell][:, None, :]) @ state.weights[ell - 1]
    return M.clone()


def back_vectors(net: DeepReLUNet, state: ForwardState, V: torch.Tensor) -> list[torch.Tensor]:
    r"""Back-propagated vectors :math:`\mathrm{Back}_{i,\ell}^\top v_i` for :math:`\ell=1..L+1`.

    Computed by the recursion :math:`\mathrm{Back}_{i,L+1}^\top v=\mathbf B^\top v`,
    :math:`\mathrm{Back}_{i,\ell}^\top v=\mathbf W_\ell^\top\mathbf D_{i,\ell}
    \mathrm{Back}_{i,\ell+1}^\top v`, with :math:`O(Lnm^2)` work (no matrix products formed).

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    state : ForwardState
    V : torch.Tensor, shape (n, c)
        One vector :math:`v_i\in\mathbb R^c` per input (a loss vector, or a "fake" one).

    Returns
    -------
    list of L+1 torch.Tensor, each (n, m)
        Element ``l - 1`` is :math:`\mathrm{Back}_{i,\ell}^\top v_i`, l = 1..L+1.

    References
    ----------
    Allen-Zhu, Li & Song, Definition 2.5, Fact 2.6, Lemma 7.4b.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 32, 3, 2, generator=gen)
    >>> X = paper_inputs(2, 4, 0.2, generator=gen)
    >>> s = forward(net, X)
    >>> V = torch.ones(2, 2, dtype=torch.float64)
    >>> b = back_vectors(net, s, V)
    >>> bool(torch.allclose(b[1], torch.einsum("ncm,nc->nm", backward_matrix(net, s, 2), V)))
    True
    """
    net = _check_net(net)
    state = _check_state(state, net)
    n = state.h[0].shape[0]
    V = check_tensor(V, "V", shape=(n, net.d_out), floating=True)
    with torch.no_grad():
        u = V @ net.B
        out = [u]
        for ell in range(net.depth, 0, -1):
            u = (u * state.D[ell]) @ state.weights[ell - 1]
            out.append(u)
    return out[::-1]


def fake_gradient(net: DeepReLUNet, state: ForwardState, V: torch.Tensor) -> list[torch.Tensor]:
    r"""Gradient with an arbitrary loss vector, Definition 9.1:
    :math:`\hat\nabla^{\vec v}_{\mathbf W_\ell}F=\sum_i\mathbf D_{i,\ell}
    (\mathrm{Back}_{i,\ell+1}^\top v_i)h_{i,\ell-1}^\top`.

    With :math:`v_i=\mathrm{loss}_i=\mathbf Bh_{i,L}-y_i^*` this is the true gradient of the
    squared loss :math:`F=\sum_i\frac12\|\mathbf Bh_{i,L}-y_i^*\|^2` (Fact 2.6, Remark 9.2).

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    state : ForwardState
    V : torch.Tensor, shape (n, c)

    Returns
    -------
    list of L torch.Tensor, each (m, m)

    References
    ----------
    Allen-Zhu, Li & Song, Fact 2.6, Definition 9.1, Remark 9.2.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 16, 2, 1, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> Y = torch.zeros(3, 1, dtype=torch.float64)
    >>> (0.5 * (net(X) - Y).pow(2).sum()).backward()
    >>> G = fake_gradient(net, forward(net, X), forward(net, X).output - Y)
    >>> all(torch.allclose(g, W.grad) for g, W in zip(G, net.Ws))
    True
    """
    net = _check_net(net)
    state = _check_state(state, net)
    backs = back_vectors(net, state, V)
    return [(state.D[ell] * backs[ell]).T @ state.h[ell - 1] for ell in range(1, net.depth + 1)]


def gradient_bounds(net: DeepReLUNet, X: torch.Tensor, Y: torch.Tensor, *,
                    perturbation: Sequence[torch.Tensor] | None = None) -> GradientBounds:
    r"""Loss and gradient norms of Lemma 9.3 / Theorem 3 at :math:`\vec{\mathbf W}+
    \vec{\mathbf W}'`.

    Per example and layer the gradient :math:`\nabla_{\mathbf W_\ell}F_i=
    \mathbf D_{i,\ell}(\mathrm{Back}_{i,\ell+1}^\top\mathrm{loss}_i)h_{i,\ell-1}^\top` has rank one,
    so :math:`\|\nabla_{\mathbf W_\ell}F_i\|_F=\|\mathbf D_{i,\ell}\mathrm{Back}_{i,\ell+1}^\top
    \mathrm{loss}_i\|\,\|h_{i,\ell-1}\|`. Theorem 3 predicts, near initialisation,
    :math:`\|\nabla_{\mathbf W_\ell}F\|_F^2\le O(Fmn/c)` and
    :math:`\|\nabla_{\mathbf W_L}F\|_F^2\ge\Omega(\max_iF_i\,\delta m/(cn))`.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    X : torch.Tensor, shape (n, d)
    Y : torch.Tensor, shape (n, c)
        Targets :math:`y_i^*`.
    perturbation : list of L tensors (m, m), optional

    Returns
    -------
    GradientBounds

    References
    ----------
    Allen-Zhu, Li & Song, Fact 2.6, Lemma 9.3, Theorem 3 (restated in Section 10).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 16, 2, 1, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> Y = torch.zeros(3, 1, dtype=torch.float64)
    >>> gb = gradient_bounds(net, X, Y)
    >>> (0.5 * (net(X) - Y).pow(2).sum()).backward()
    >>> abs(gb.grad_sq - sum(float(W.grad.pow(2).sum()) for W in net.Ws)) < 1e-10
    True
    """
    net = _check_net(net)
    X = _check_X(X, net)
    Y = check_tensor(Y, "Y", shape=(X.shape[0], net.d_out), floating=True)
    state = forward(net, X, perturbation=perturbation)
    loss_vec = state.output - Y
    Fi = 0.5 * loss_vec.pow(2).sum(dim=1)
    backs = back_vectors(net, state, loss_vec)
    per = torch.stack([(state.D[ell] * backs[ell]).pow(2).sum(dim=1)
                       * state.h[ell - 1].pow(2).sum(dim=1) for ell in range(1, net.depth + 1)],
                      dim=1)
    layer = torch.stack([((state.D[ell] * backs[ell]).T @ state.h[ell - 1]).pow(2).sum()
                         for ell in range(1, net.depth + 1)])
    return GradientBounds(float(Fi.sum()), float(Fi.max()), float(layer.sum()), layer, per)
