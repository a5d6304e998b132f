r"""The residual network of Appendix C (Theorem 8): the network, the products of its property
(C.1), and its closed-form NTK Gram matrix.
"""

from __future__ import annotations

import torch

from .._validate import check_dtype, check_generator, check_int, check_real, check_tensor
from ._network import DeepReLUNet

__all__ = ["ResidualNet", "residual_product"]


class ResidualNet(torch.nn.Module):
    r"""The residual network of Appendix C: :math:`h_0=\phi(\mathbf Ax)`,
    :math:`h_\ell=\phi(h_{\ell-1}+\tau\mathbf W_\ell h_{\ell-1})` for :math:`\ell<L`,
    :math:`h_L=\phi(\mathbf W_Lh_{L-1})`, output :math:`\mathbf Bh_L`.

    Initialisation as Definition 2.3 (entries of :math:`\mathbf A,\mathbf W_\ell` from
    :math:`\mathcal N(0,\frac2m)`, of :math:`\mathbf B` from :math:`\mathcal N(0,\frac1c)`); only
    :math:`\mathbf W_1,\dots,\mathbf W_L` are trained. The weights are drawn in the same order as
    :class:`helpers.allen_zhu_li_song.DeepReLUNet`, so the two networks built from generators in the
    same state have identical :math:`\mathbf A,\vec{\mathbf W},\mathbf B`: they differ only by the
    residual links.

    Parameters
    ----------
    d_in : int
        Input dimension.
    width : int
        Width :math:`m`.
    depth : int
        Number :math:`L` of trained layers (``L - 1`` residual layers and the dense
        :math:`\mathbf W_L`).
    d_out : int
        Output dimension :math:`c`.
    tau : float
        Residual scale :math:`\tau\ge0`; the paper takes :math:`\tau=1/\Omega(L\log m)`.
    generator : torch.Generator
        Draws ``A``, then ``W_1..W_L``, then ``B``.
    dtype : torch.dtype, default torch.float64

    Attributes
    ----------
    d_in, width, depth, d_out : int
        The constructor's sizes.
    tau : float
    A : torch.Tensor, shape (m, d_in)
        Frozen (buffer).
    Ws : torch.nn.ParameterList
        ``Ws[l - 1]`` is :math:`\mathbf W_l`, shape (m, m), trained.
    B : torch.Tensor, shape (d_out, m)
        Frozen (buffer).

    References
    ----------
    Allen-Zhu, Li & Song, Appendix C ("A simple residual model"), Theorem 8.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import paper_inputs
    >>> from helpers.rng import make_generator
    >>> net = ResidualNet(4, 32, 3, 1, tau=0.0, generator=make_generator(0))
    >>> X = paper_inputs(2, 4, 0.2, generator=make_generator(1))
    >>> hs = net.hidden_states(X)
    >>> len(hs), bool(torch.equal(hs[2], hs[0]))        # tau = 0: residual layers are identities
    (4, True)
    """

    def __init__(self, d_in: int, width: int, depth: int, d_out: int, *, tau: float,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        d_in = check_int(d_in, "d_in", minimum=1)
        width = check_int(width, "width", minimum=1)
        depth = check_int(depth, "depth", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        tau = check_real(tau, "tau", minimum=0.0)
        check_generator(generator)
        check_dtype(dtype)
        self.d_in, self.width, self.depth, self.d_out, self.tau = d_in, width, depth, d_out, tau
        template = DeepReLUNet(d_in, width, depth, d_out, generator=generator, dtype=dtype)
        self.register_buffer("A", template.A.clone())
        self.Ws = torch.nn.ParameterList(torch.nn.Parameter(W.detach().clone())
                                         for W in template.Ws)
        self.register_buffer("B", template.B.clone())

    def hidden_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[h_0, ..., h_L]``, each of shape ``(n, m)``, for ``x`` of shape
        ``(n, d_in)``."""
        x = _check_resnet_X(x, self, "x")
        h = torch.relu(x @ self.A.T)
        states = [h]
        for W in self.Ws[:-1]:
            h = torch.relu(h + self.tau * (h @ W.T))
            states.append(h)
        states.append(torch.relu(h @ self.Ws[-1].T))
        return states

    def closed_form_ntk(self, X: torch.Tensor, *, output: int = 0, per_layer: bool = False,
                        perturbation=None) -> torch.Tensor:
        """The NTK Gram matrix of output ``output`` in closed form (used by
        :func:`helpers.gradients.ntk_gram`)."""
        return _residual_closed_form_ntk(self, X, output=output, per_layer=per_layer,
                                         perturbation=perturbation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, d_in)`` to :math:`\\mathbf Bh_L`, shape ``(n, d_out)``."""
        return self.hidden_states(x)[-1] @ self.B.T


def _check_resnet(net: object) -> ResidualNet:
    if not isinstance(net, ResidualNet):
        raise TypeError(
            f"net must be a helpers.allen_zhu_li_song.ResidualNet, got {type(net).__name__}")
    return net


def _check_resnet_X(X: object, net: ResidualNet, name: str = "X") -> torch.Tensor:
    X = check_tensor(X, name, ndim=2, floating=True, finite=False)
    if X.shape[1] != net.d_in:
        raise ValueError(f"{name} must have shape (n, {net.d_in}), got {tuple(X.shape)}")
    if X.dtype != net.A.dtype:
        raise TypeError(f"{name} must have the network's dtype {net.A.dtype}, got {X.dtype}")
    return X


def residual_product(net: ResidualNet, X: torch.Tensor, a: int, b: int) -> torch.Tensor:
    r"""The products of (C.1), :math:`(\mathbf I+\tau\mathbf W_a)\mathbf D_{i,a-1}
    (\mathbf I+\tau\mathbf W_{a-1})\cdots\mathbf D_{i,b}(\mathbf I+\tau\mathbf W_b)`, per input.

    This is the Jacobian :math:`\partial g_{i,a}/\partial h_{i,b-1}` of the residual
    pre-activation :math:`g_a=h_{a-1}+\tau\mathbf W_ah_{a-1}` with respect to an earlier state.
    Appendix C's property (C.1) is that its spectral norm is at most :math:`1.01` for every
    :math:`L-1\ge a\ge b\ge1` when :math:`\tau=1/\Omega(L\log m)`.

    Parameters
    ----------
    net : ResidualNet
    X : torch.Tensor, shape (n, d_in)
    a, b : int
        :math:`1\le b\le a\le L-1` (the residual layers).

    Returns
    -------
    torch.Tensor, shape (n, m, m)

    References
    ----------
    Allen-Zhu, Li & Song, Appendix C.1, (C.1) (the paper writes the factors with the lower layer
    on the left and the sign matrices indexed :math:`a+1,\dots,b`; this is the same product
    written in the order of the forward pass).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = ResidualNet(4, 64, 4, 1, tau=0.05, generator=gen)
    >>> X = paper_inputs(2, 4, 0.2, generator=gen)
    >>> P = residual_product(net, X, 3, 1)
    >>> P.shape
    torch.Size([2, 64, 64])
    >>> bool(torch.linalg.matrix_norm(P, ord=2).max() < 1.5)
    True
    """
    net = _check_resnet(net)
    X = _check_resnet_X(X, net)
    if net.depth < 2:
        raise ValueError(f"net has no residual layers (depth={net.depth}); residual_product "
                         "needs depth >= 2")
    a = check_int(a, "a", minimum=1, maximum=net.depth - 1)
    b = check_int(b, "b", minimum=1, maximum=a)
    with torch.no_grad():
        hs = net.hidden_states(X)
        eye = torch.eye(net.width, dtype=X.dtype, device=X.device)
        Ws = [W.detach() for W in net.Ws]
        P = (eye + net.tau * Ws[b - 1]).expand(X.shape[0], -1, -1)
        for ell in range(b + 1, a + 1):
            D = (hs[ell - 1] > 0).to(X.dtype)      # D_{ell-1}: 1{g_{ell-1} >= 0} acts as h > 0
            P = (eye + net.tau * Ws[ell - 1]) @ (D[:, :, None] * P)
    return P.clone()


def _residual_closed_form_ntk(net: ResidualNet, X: torch.Tensor, *, output: int = 0,
                              per_layer: bool = False, perturbation=None) -> torch.Tensor:
    r"""The NTK Gram matrix of the residual network in closed form, optionally layer by layer.

    Reached through :func:`helpers.gradients.ntk_gram` (``ResidualNet.closed_form_ntk``).

    With :math:`a_{i,L}=\mathbf D_{i,L}\mathbf B^\top e_j`,
    :math:`a_{i,L-1}=\mathbf D_{i,L-1}\mathbf W_L^\top a_{i,L}` and
    :math:`a_{i,\ell-1}=\mathbf D_{i,\ell-1}(\mathbf I+\tau\mathbf W_\ell)^\top a_{i,\ell}`, the
    gradients are :math:`\nabla_{\mathbf W_L}y_j(x_i)=a_{i,L}h_{i,L-1}^\top` and
    :math:`\nabla_{\mathbf W_\ell}y_j(x_i)=\tau\,a_{i,\ell}h_{i,\ell-1}^\top` (:math:`\ell<L`), so
    :math:`K=\sum_\ell c_\ell^2(a_\ell a_\ell^\top)\odot(h_{\ell-1}h_{\ell-1}^\top)` with
    :math:`c_\ell=\tau` for :math:`\ell<L` and :math:`c_L=1`.

    Parameters
    ----------
    net : ResidualNet
    X : torch.Tensor, shape (n, d_in)
    output : int, default 0
        Output coordinate :math:`j`.
    per_layer : bool, default False
        Return the ``L`` terms of the sum separately.

    Returns
    -------
    torch.Tensor
        Shape (n, n), or (L, n, n) with ``[l - 1]`` the contribution of :math:`\mathbf W_l`.

    References
    ----------
    Allen-Zhu, Li & Song, Appendix C (replace :math:`\mathbf W_\ell` by
    :math:`\mathbf I+\tau\mathbf W_\ell` in Fact 2.6), Section 4.2 (NTK).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = ResidualNet(4, 16, 3, 1, tau=0.3, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> from helpers.gradients import ntk_gram
    >>> K = ntk_gram(net, X)                  # dispatches to this closed form
    >>> net(X[:1]).sum().backward()
    >>> abs(float(K[0, 0]) - sum(float(W.grad.pow(2).sum()) for W in net.Ws)) < 1e-10
    True
    """
    net = _check_resnet(net)
    X = _check_resnet_X(X, net)
    output = check_int(output, "output", minimum=0, maximum=net.d_out - 1)
    if perturbation is not None:
        raise ValueError("perturbation is not supported for the residual network's closed form")
    if not isinstance(per_layer, bool):
        raise TypeError(f"per_layer must be a bool, got {type(per_layer).__name__}")
    with torch.no_grad():
        hs = net.hidden_states(X)
        Ws = [W.detach() for W in net.Ws]
        a = (hs[net.depth] > 0).to(X.dtype) * net.B[output]                      # a_L, (n, m)
        terms = [None] * net.depth
        for ell in range(net.depth, 0, -1):
            c = 1.0 if ell == net.depth else net.tau
            terms[ell - 1] = c**2 * (a @ a.T) * (hs[ell - 1] @ hs[ell - 1].T)
            if ell > 1:
                back = a @ Ws[ell - 1]                                        # W_l^T a_l
                if ell < net.depth:
                    back = a + net.tau * back                                 # (I + tau W_l)^T a
                a = (hs[ell - 1] > 0).to(X.dtype) * back
        K = torch.stack(terms)
    return K if per_layer else K.sum(0)
