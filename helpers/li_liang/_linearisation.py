r"""The pseudo-network as a model: Li & Liang's coupling is the NTK linearisation.

The pseudo-network of Li & Liang (Section 5.1),
:math:`g_i(\mathbf x;\mathbf W) = \sum_r a_{i,r}\langle\mathbf w_r,\mathbf x\rangle
\mathbb 1[\langle\mathbf w_r^{(0)},\mathbf x\rangle\ge0]`, is the first-order Taylor expansion
of the network :math:`f` at :math:`\mathbf W^{(0)}` (positive homogeneity of ReLU), and its
tangent kernel is :math:`K^{(i)}(\mathbf x,\mathbf x') = \sum_r a_{i,r}^2\,
\mathbb 1_r(\mathbf x)\mathbb 1_r(\mathbf x')\langle\mathbf x,\mathbf x'\rangle`.

* :class:`LiLiangNet` -- :class:`helpers.models.TwoLayerNet` with ``variant="li-liang"`` (the
  same initialisation and forward) plus the closed form of its NTK, which
  :func:`helpers.gradients.ntk_gram` uses (the book's one entry point for NTK Gram matrices).
* :class:`PseudoNetwork` -- the pseudo-network of a given network as a trainable module, so that
  the linearised model is trained by :func:`helpers.train.train` like the network itself (lazy
  training).
"""

from __future__ import annotations

import torch
from torch import nn

from .._validate import check_int, check_tensor
from ..models import TwoLayerNet
from ._coupling import pseudo_network

__all__ = ["LiLiangNet", "PseudoNetwork"]


class LiLiangNet(TwoLayerNet):
    r"""Li & Liang's network with the closed form of its neural tangent kernel.

    :math:`f_i(\mathbf x) = \sum_{r=1}^m a_{i,r}\relu(\langle\mathbf w_r,\mathbf x\rangle)`,
    :math:`\mathbf w_r^{(0)}\sim\mathcal N(0,\mathbf I/m)`, :math:`a_{i,r}\sim\mathcal N(0,1)`
    frozen (assumption (A3)): exactly ``TwoLayerNet(d_in, width, variant="li-liang")``, whose
    forward it inherits. Only the hidden layer is trained, so for output :math:`i`

    .. math:: K^{(i)}(\mathbf x,\mathbf x') = \langle\nabla_{\mathbf W}f_i(\mathbf x),
       \nabla_{\mathbf W}f_i(\mathbf x')\rangle = \sum_r a_{i,r}^2\,
       \mathbb 1[\langle\mathbf w_r,\mathbf x\rangle>0]\,
       \mathbb 1[\langle\mathbf w_r,\mathbf x'\rangle>0]\,\langle\mathbf x,\mathbf x'\rangle,

    with PyTorch's ReLU derivative :math:`\mathbb 1[z>0]` (:mod:`helpers.activations`), so that
    the closed form and autograd agree.

    Parameters
    ----------
    d_in, width : int
        Input dimension :math:`d` and width :math:`m`.
    generator : torch.Generator
        Draws :math:`\mathbf W` then :math:`a`.
    d_out : int, default 1
        Number of classes :math:`k`.
    dtype : torch.dtype, default torch.float64

    References
    ----------
    Li & Liang (2018), Section 3 and (A3); Jacot, Gabriel & Hongler (2018), the NTK.

    Examples
    --------
    >>> import torch
    >>> from helpers import gradients
    >>> from helpers.li_liang import LiLiangNet
    >>> from helpers.rng import make_generator
    >>> net = LiLiangNet(3, 50, generator=make_generator(0), d_out=2)
    >>> X = torch.eye(3, dtype=torch.float64)
    >>> K = gradients.ntk_gram(net, X, output=1)          # the closed form
    >>> torch.allclose(K, gradients.ntk_gram(net, X, method="vmap")[:, :, 1, 1])
    True
    """

    def __init__(self, d_in: int, width: int, *, generator: torch.Generator, d_out: int = 1,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(d_in, width, generator=generator, variant="li-liang", d_out=d_out,
                         dtype=dtype)

    def closed_form_ntk(self, X: torch.Tensor, *, output: int = 0, per_layer: bool = False,
                        perturbation: object = None) -> torch.Tensor:
        """The tangent kernel of output ``output`` on ``X``, shape (n, n) (see the class)."""
        X = check_tensor(X, "X", ndim=2, floating=True)
        if X.shape[1] != self.d_in:
            raise ValueError(f"X must have {self.d_in} columns, got shape {tuple(X.shape)}")
        output = check_int(output, "output", minimum=0, maximum=self.d_out - 1)
        if per_layer or perturbation is not None:
            raise ValueError("per_layer and perturbation are not defined for Li & Liang's "
                             "network (one trained layer, kernel at the current weights)")
        W = self.hidden_weights.detach()
        on = self.activation_derivative(X @ W.T)                     # (n, m)
        a2 = self.output_weights[output] ** 2
        return ((on * a2) @ on.T) * (X @ X.T)


class PseudoNetwork(nn.Module):
    r"""The pseudo-network of a Li & Liang network, as a trainable module.

    :math:`g_i(\mathbf x;\mathbf W) = \sum_r a_{i,r}\langle\mathbf w_r,\mathbf x\rangle
    \mathbb 1[\langle\mathbf w_r^{(0)},\mathbf x\rangle\ge0]` (:func:`pseudo_network`), with
    :math:`\mathbf W^{(0)}` and :math:`a` copied from ``net`` and frozen, and :math:`\mathbf W`
    a trainable copy of ``net``'s current hidden weights. It is linear in :math:`\mathbf W` and
    equals :math:`f(\mathbf W^{(0)}) + J(\mathbf W^{(0)})(\mathbf W - \mathbf W^{(0)})`, the
    NTK linearisation; training it with :func:`helpers.train.train` is lazy training.

    Parameters
    ----------
    net : helpers.models.TwoLayerNet
        A network with ``variant="li-liang"``; its current hidden weights are the
        :math:`\mathbf W^{(0)}` of the pattern.

    Attributes
    ----------
    hidden_weights : torch.nn.Parameter, shape (m, d)
    initial_weights, output_weights : torch.Tensor
        Buffers: the frozen pattern's weights and the output layer.

    References
    ----------
    Li & Liang (2018), Section 5.1 (pseudo-network) and Appendix A.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import LiLiangNet, PseudoNetwork
    >>> from helpers.rng import make_generator
    >>> net = LiLiangNet(4, 20, generator=make_generator(1), d_out=3)
    >>> g = PseudoNetwork(net)
    >>> X = torch.randn(5, 4, generator=make_generator(2), dtype=torch.float64)
    >>> torch.equal(g(X), net(X)), [name for name, _ in g.named_parameters()]
    (True, ['hidden_weights'])
    """

    def __init__(self, net: TwoLayerNet) -> None:
        super().__init__()
        if not isinstance(net, TwoLayerNet) or net.variant != "li-liang":
            raise TypeError("net must be a TwoLayerNet with variant='li-liang' (or a "
                            f"LiLiangNet), got {type(net).__name__}")
        W0 = net.hidden_weights.detach().clone()
        self.hidden_weights = nn.Parameter(W0.clone())
        self.register_buffer("initial_weights", W0)
        self.register_buffer("output_weights", net.output_weights.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`g(\\mathbf x;\\mathbf W)`, shape (n, k)."""
        return pseudo_network(self.hidden_weights, self.initial_weights, self.output_weights, x)
