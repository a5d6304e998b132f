r"""The NTK model of Section 4.2 and Theorem 5: linearisation, gradient drift, the closed-form
kernel of Fact 2.6, and one step of the kernel model.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._validate import check_int, check_module, check_tensor
from ._backward import back_vectors
from ._forward import _check_net, _check_perturbation, _check_X, forward
from ._network import DeepReLUNet

__all__ = ["NTKComparison", "KernelStep", "ntk_linearisation", "gradient_drift", "kernel_step"]


@dataclass(frozen=True)
class NTKComparison:
    """Network output against its first-order (NTK) model, Theorem 5b.

    Attributes
    ----------
    output : torch.Tensor
        :math:`y(\\vec{\\mathbf W}^{(0)}+\\vec{\\mathbf W}'; x_i)`, shape (n, c).
    initial : torch.Tensor
        :math:`y(\\vec{\\mathbf W}^{(0)}; x_i)`, shape (n, c).
    ntk : torch.Tensor
        :math:`y^{\\rm ntk}(\\vec{\\mathbf W}'; x_i) = \\langle\\nabla y(\\vec{\\mathbf W}^{(0)};
        x_i), \\vec{\\mathbf W}'\\rangle`, shape (n, c).
    """

    output: torch.Tensor
    initial: torch.Tensor
    ntk: torch.Tensor

    @property
    def remainder(self) -> torch.Tensor:
        """:math:`y(W^{(0)}+W') - y(W^{(0)}) - y^{\\rm ntk}(W')`, shape (n, c)."""
        return self.output - self.initial - self.ntk


def _functional_output(net: DeepReLUNet, X: torch.Tensor, Ws) -> torch.Tensor:
    h = torch.relu(X @ net.A.T)
    for W in Ws:
        h = torch.relu(h @ W.T)
    return h @ net.B.T


def ntk_linearisation(net: DeepReLUNet, X: torch.Tensor,
                      perturbation: Sequence[torch.Tensor]) -> NTKComparison:
    r"""Output at :math:`\vec{\mathbf W}^{(0)}+\vec{\mathbf W}'` against its NTK model (Theorem 5b).

    :math:`y^{\rm ntk}(\vec{\mathbf W}';x)=\langle\nabla y(\vec{\mathbf W}^{(0)};x),
    \vec{\mathbf W}'\rangle` is the directional derivative, computed exactly with
    ``torch.func.jvp`` (one forward-mode pass, no Jacobian formed). Theorem 5b bounds the
    remainder by :math:`O(L^3\omega^{4/3}\sqrt{m\log m}/\sqrt c)` for
    :math:`\|\vec{\mathbf W}'\|_2\le\omega`.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
        Its current weights play :math:`\vec{\mathbf W}^{(0)}`.
    X : torch.Tensor, shape (n, d)
    perturbation : list of L tensors (m, m)

    Returns
    -------
    NTKComparison

    References
    ----------
    Allen-Zhu, Li & Song, Section 4.2 and Theorem 5 (restated in Section 14).

    Examples
    --------
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs, random_perturbation
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 64, 2, 1, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> P = random_perturbation(net, 1e-3, generator=gen)
    >>> r = ntk_linearisation(net, X, P)
    >>> float(r.remainder.abs().max()) < 1e-3 * float(r.ntk.abs().max())
    True
    """
    net = _check_net(net)
    X = _check_X(X, net)
    pert = _check_perturbation(perturbation, net)
    W0 = tuple(W.detach() for W in net.Ws)
    with torch.no_grad():
        initial, ntk = torch.func.jvp(lambda *Ws: _functional_output(net, X, Ws), W0,
                                      tuple(pert))
        output = _functional_output(net, X, [W + P for W, P in zip(W0, pert)])
    return NTKComparison(output, initial, ntk)


def _closed_form_ntk(net: DeepReLUNet, X: torch.Tensor, *, output: int = 0, per_layer: bool = False,
                     perturbation: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
    r"""The NTK Gram matrix :math:`K_j(x_i,x_{i'})=\langle\nabla y_j(\vec{\mathbf W};x_i),
    \nabla y_j(\vec{\mathbf W};x_{i'})\rangle` of one output coordinate, in closed form.

    Reached through :func:`helpers.gradients.ntk_gram` (``DeepReLUNet.closed_form_ntk``).

    By Fact 2.6 with :math:`v=e_j`,
    :math:`\nabla_{\mathbf W_\ell}y_j(x_i)=a_{i,\ell}h_{i,\ell-1}^\top`
    with :math:`a_{i,\ell}=\mathbf D_{i,\ell}\mathrm{Back}_{i,\ell+1}^\top e_j`, so
    :math:`K_j=\sum_\ell(a_\ell a_\ell^\top)\odot(h_{\ell-1}h_{\ell-1}^\top)`: no Jacobian is
    formed (:math:`O(nLm^2)` work).

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    X : torch.Tensor, shape (n, d)
    output : int, default 0
        Output coordinate :math:`j`.
    per_layer : bool, default False
        Return the ``L`` terms :math:`(a_\ell a_\ell^\top)\odot(h_{\ell-1}h_{\ell-1}^\top)`
        separately.
    perturbation : list of L tensors (m, m), optional
        Evaluate at :math:`\vec{\mathbf W}+\vec{\mathbf W}'` (the "dynamic NTK" of Section 4.2).

    Returns
    -------
    torch.Tensor
        Shape (n, n), or (L, n, n) with ``per_layer``.

    References
    ----------
    Allen-Zhu, Li & Song, Section 4.2 and Section 14 (:math:`K^{\rm ntk}_j`), Fact 2.6.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs, random_perturbation
    >>> from helpers.gradients import ntk_gram
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 16, 2, 1, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> K = ntk_gram(net, X)                  # dispatches to this closed form
    >>> net(X[:1]).sum().backward()
    >>> abs(float(K[0, 0]) - sum(float(W.grad.pow(2).sum()) for W in net.Ws)) < 1e-10
    True
    """
    net = _check_net(net)
    X = _check_X(X, net)
    output = check_int(output, "output", minimum=0, maximum=net.d_out - 1)
    if not isinstance(per_layer, bool):
        raise TypeError(f"per_layer must be a bool, got {type(per_layer).__name__}")
    state = forward(net, X, perturbation=perturbation)
    V = torch.zeros(X.shape[0], net.d_out, dtype=X.dtype, device=X.device)
    V[:, output] = 1.0
    backs = back_vectors(net, state, V)
    terms = []
    for ell in range(1, net.depth + 1):
        a = state.D[ell] * backs[ell]
        terms.append((a @ a.T) * (state.h[ell - 1] @ state.h[ell - 1].T))
    if per_layer:
        return torch.stack(terms)
    K = torch.zeros(X.shape[0], X.shape[0], dtype=X.dtype, device=X.device)
    for term in terms:                    # summed in layer order, as before (same bits)
        K += term
    return K


def gradient_drift(net: DeepReLUNet, X: torch.Tensor,
                   perturbation: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""Relative change of the output gradient, Theorem 5a:
    :math:`\|\nabla y_j(\vec{\mathbf W}^{(0)}+\vec{\mathbf W}';x_i)-
    \nabla y_j(\vec{\mathbf W}^{(0)};x_i)\|_F/\|\nabla y_j(\vec{\mathbf W}^{(0)};x_i)\|_F`.

    Uses the rank-one form :math:`\nabla_{\mathbf W_\ell}y_j(x)=\mathbf D_\ell
    \mathrm{Back}_{\ell+1}^\top e_j\,h_{\ell-1}^\top` (Fact 2.6 with :math:`v=e_j`) and
    :math:`\|ab^\top-a'b'^\top\|_F^2=\|a\|^2\|b\|^2+\|a'\|^2\|b'\|^2-2\langle a,a'\rangle
    \langle b,b'\rangle`.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    X : torch.Tensor, shape (n, d)
    perturbation : list of L tensors (m, m)

    Returns
    -------
    torch.Tensor, shape (n, c)

    References
    ----------
    Allen-Zhu, Li & Song, Theorem 5a (bound :math:`O(\sqrt{\log m}\,\omega^{1/3}L^3)`).

    Examples
    --------
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs, random_perturbation
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 64, 2, 1, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> zero = [0 * W.detach() for W in net.Ws]
    >>> float(gradient_drift(net, X, zero).abs().max())
    0.0
    """
    net = _check_net(net)
    X = _check_X(X, net)
    pert = _check_perturbation(perturbation, net)
    s0 = forward(net, X)
    s1 = forward(net, X, perturbation=pert)
    n, c = X.shape[0], net.d_out
    num = torch.zeros(n, c, dtype=X.dtype, device=X.device)
    den = torch.zeros(n, c, dtype=X.dtype, device=X.device)
    eye = torch.eye(c, dtype=X.dtype, device=X.device)
    for j in range(c):
        V = eye[j].expand(n, c)
        b0, b1 = back_vectors(net, s0, V), back_vectors(net, s1, V)
        for ell in range(1, net.depth + 1):
            a0, a1 = s0.D[ell] * b0[ell], s1.D[ell] * b1[ell]
            h0, h1 = s0.h[ell - 1], s1.h[ell - 1]
            n0 = a0.pow(2).sum(1) * h0.pow(2).sum(1)
            n1 = a1.pow(2).sum(1) * h1.pow(2).sum(1)
            cross = (a0 * a1).sum(1) * (h0 * h1).sum(1)
            num[:, j] += n0 + n1 - 2 * cross
            den[:, j] += n0
    return num.clamp_min(0).sqrt() / den.sqrt()


@dataclass(frozen=True)
class KernelStep:
    r"""One step of the kernel model from :math:`\vec{\mathbf W}^{(0)}` (:func:`kernel_step`).

    Attributes
    ----------
    kappa : float
        Condition number :math:`\kappa(K_0)=\lambda_{\max}/\lambda_{\min}` (sets the GD rate).
    rho : float
        :math:`\|y^*-y(\vec{\mathbf W}^{(0)}+\Delta^*)\|/\|r_0\|`: the network's residual after
        the kernel model's minimum-norm step (0 for a linear model).
    kernel_change : float
        :math:`\|K(\vec{\mathbf W}^{(0)}+\Delta^*)-K_0\|_F/\|K_0\|_F`.
    """

    kappa: float
    rho: float
    kernel_change: float

    def to_dict(self) -> dict[str, float]:
        """``{"kappa", "rho", "kernel change"}``, the columns of a results table."""
        return {"kappa": self.kappa, "rho": self.rho, "kernel change": self.kernel_change}


def kernel_step(net: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor) -> KernelStep:
    r"""Move the network by the kernel model's minimum-norm interpolating step and measure how
    far the network is from its kernel model there.

    With :math:`J` the Jacobian of the (scalar) output at :math:`\vec{\mathbf W}^{(0)}`,
    :math:`K_0=JJ^\top` and :math:`r_0=y^*-y(\vec{\mathbf W}^{(0)})`, GD on the linearised model
    converges to :math:`\Delta^*=J^\top K_0^{-1}r_0=\nabla_{\vec{\mathbf W}}\sum_i\alpha_i
    y(\vec{\mathbf W}^{(0)};x_i)` with :math:`\alpha=K_0^{-1}r_0` (one backward pass). The network
    is in the kernel regime when its own residual at :math:`\vec{\mathbf W}^{(0)}+\Delta^*` is
    small: by Theorem 5b that residual is the linearisation remainder at the distance GD
    travels. The kernel comes from :func:`helpers.gradients.ntk_gram` (closed form for the
    networks of this package).

    Parameters
    ----------
    net : torch.nn.Module
        A network with one output (not modified; the step is applied to a copy).
    X : torch.Tensor, shape (n, d)
    Y : torch.Tensor, shape (n, 1)
        Targets :math:`y^*`.

    Returns
    -------
    KernelStep

    References
    ----------
    Allen-Zhu, Li & Song, Section 4.2 and Theorem 5b; Jacot et al. (2018).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(5, 256, 2, 1, generator=gen)
    >>> X = paper_inputs(4, 5, 0.3, generator=gen)
    >>> Y = torch.ones(4, 1, dtype=torch.float64)
    >>> step = kernel_step(net, X, Y)
    >>> step.rho < 0.5, step.kappa >= 1
    (True, True)
    """
    from ..gradients import ntk_gram

    net = check_module(net, "net")
    X = check_tensor(X, "X", floating=True)
    Y = check_tensor(Y, "Y", shape=(X.shape[0], 1), floating=True)
    params = [p for p in net.parameters() if p.requires_grad]
    K0 = ntk_gram(net, X, output=0)
    eig = torch.linalg.eigvalsh(K0)
    out = net(X)
    if out.shape != (X.shape[0], 1):
        raise ValueError(f"net must have one output, got outputs of shape {tuple(out.shape)}")
    out = out[:, 0]
    r0 = (Y[:, 0] - out).detach()
    alpha = torch.linalg.solve(K0, r0)
    step = torch.autograd.grad((alpha * out).sum(), params)
    moved = copy.deepcopy(net)
    with torch.no_grad():
        for W, s in zip([p for p in moved.parameters() if p.requires_grad], step):
            W.add_(s)
        rho = float((Y[:, 0] - moved(X)[:, 0]).norm() / r0.norm())
    dK = float((ntk_gram(moved, X, output=0) - K0).norm() / K0.norm())
    return KernelStep(float(eig[-1] / eig[0]), rho, dK)
