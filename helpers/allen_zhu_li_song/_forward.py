r"""The forward pass opened up: pre-activations, states and sign patterns (Definitions 2.2, 8.1).

Also the argument checks shared by the analysis modules of this package (a network, its inputs,
a perturbation :math:`\vec{\mathbf W}'` as a list of ``L`` tensors of shape ``(m, m)``, a
forward state). Sign matrices follow the paper, :math:`\mathbb 1_{g\ge 0}`, and are stored as
0/1 tensors of shape ``(n, m)`` (the diagonals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._validate import check_tensor
from ._network import DeepReLUNet

__all__ = ["ForwardState", "forward"]


@dataclass(frozen=True)
class ForwardState:
    """Forward pass of Section 2 for ``n`` inputs.

    Attributes
    ----------
    g : list of torch.Tensor
        ``g[l]`` is :math:`g_{i,\\ell}` for all i, shape (n, m), l = 0..L (``g[0] = A x``).
    h : list of torch.Tensor
        ``h[l]`` is :math:`h_{i,\\ell} = \\phi(g_{i,\\ell})`, shape (n, m).
    D : list of torch.Tensor
        ``D[l]`` is the diagonal of :math:`\\mathbf D_{i,\\ell}`, i.e. :math:`\\mathbb 1_{g\\ge0}`,
        shape (n, m), dtype of ``g``.
    output : torch.Tensor
        :math:`\\mathbf B h_{i,L}`, shape (n, c).
    weights : list of torch.Tensor
        The hidden matrices used, :math:`\\mathbf W_1..\\mathbf W_L` (perturbation included).
    """

    g: list
    h: list
    D: list
    output: torch.Tensor
    weights: list


# --------------------------------------------------------------------------- validation

def _check_net(net: object) -> DeepReLUNet:
    if not isinstance(net, DeepReLUNet):
        raise TypeError(
            f"net must be a helpers.allen_zhu_li_song.DeepReLUNet, got {type(net).__name__}")
    return net


def _check_X(X: object, net: DeepReLUNet, name: str = "X") -> torch.Tensor:
    X = check_tensor(X, name, ndim=2, floating=True)
    if X.shape[1] != net.d_in:
        raise ValueError(f"{name} must have shape (n, {net.d_in}), got {tuple(X.shape)}")
    if X.dtype != net.A.dtype:
        raise TypeError(f"{name} must have the network's dtype {net.A.dtype}, got {X.dtype}")
    return X


def _check_perturbation(perturbation: object, net: DeepReLUNet,
                        name: str = "perturbation") -> list[torch.Tensor]:
    m, L = net.width, net.depth
    if isinstance(perturbation, torch.Tensor) or not isinstance(perturbation, Sequence):
        raise TypeError(f"{name} must be a list of {L} tensors of shape ({m}, {m}),"
                        f" got {type(perturbation).__name__}")
    if len(perturbation) != L:
        raise ValueError(f"{name} must have L={L} matrices, got {len(perturbation)}")
    out = []
    for k, W in enumerate(perturbation):
        W = check_tensor(W, f"{name}[{k}]", shape=(m, m), floating=True)
        if W.dtype != net.A.dtype:
            raise TypeError(f"{name}[{k}] must have dtype {net.A.dtype}, got {W.dtype}")
        out.append(W)
    return out


def _check_state(state: object, net: DeepReLUNet | None = None,
                 name: str = "state") -> ForwardState:
    if not isinstance(state, ForwardState):
        raise TypeError(f"{name} must be a ForwardState (from allen_zhu_li_song.forward), got "
                        f"{type(state).__name__}")
    if net is not None and (len(state.h) != net.depth + 1 or state.h[0].shape[1] != net.width):
        raise ValueError(f"{name} does not come from this network (L={net.depth}, "
                         f"m={net.width})")
    return state


def _weights(net: DeepReLUNet, perturbation) -> list[torch.Tensor]:
    base = [W.detach() for W in net.Ws]
    if perturbation is None:
        return base
    pert = _check_perturbation(perturbation, net)
    return [W + P for W, P in zip(base, pert)]


# --------------------------------------------------------------------------- forward

def forward(net: DeepReLUNet, X: torch.Tensor, *,
            perturbation: Sequence[torch.Tensor] | None = None) -> ForwardState:
    r"""Forward pass with pre-activations and sign patterns (Section 2, Definitions 2.2, 8.1).

    :math:`g_{i,0}=\mathbf Ax_i`, :math:`g_{i,\ell}=(\mathbf W_\ell+\mathbf W'_\ell)h_{i,\ell-1}`,
    :math:`h_{i,\ell}=\phi(g_{i,\ell})`, :math:`(\mathbf D_{i,\ell})_{kk}=\mathbb 1_{(g_{i,\ell})_k
    \ge 0}`, output :math:`\mathbf Bh_{i,L}`. Computed without autograd.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    X : torch.Tensor, shape (n, d)
    perturbation : list of L tensors (m, m), optional
        :math:`\vec{\mathbf W}'`; the pass uses :math:`\vec{\mathbf W}+\vec{\mathbf W}'`.

    Returns
    -------
    ForwardState

    References
    ----------
    Allen-Zhu, Li & Song, Section 2, Definition 2.2 and Definition 8.1.

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 32, 3, 2, generator=gen)
    >>> X = paper_inputs(5, 4, 0.2, generator=gen)
    >>> s = forward(net, X)
    >>> len(s.h), tuple(s.D[1].shape), bool(torch.allclose(s.output, net(X)))
    (4, (5, 32), True)
    >>> bool(torch.equal(s.h[2], s.D[2] * s.g[2]))     # h = D g
    True
    """
    net = _check_net(net)
    X = _check_X(X, net)
    Ws = _weights(net, perturbation)
    with torch.no_grad():
        g = X @ net.A.T
        gs, hs, Ds = [g], [torch.relu(g)], [(g >= 0).to(g.dtype)]
        for W in Ws:
            g = hs[-1] @ W.T
            gs.append(g)
            hs.append(torch.relu(g))
            Ds.append((g >= 0).to(g.dtype))
        out = hs[-1] @ net.B.T
    return ForwardState(gs, hs, Ds, out, Ws)
