r"""The deep ReLU network of Allen-Zhu, Li & Song, opened up: states, signs, backward maps.

Every object of the proofs of Sections 7-14 is computed here exactly, for a
:class:`helpers.allen_zhu_li_song.DeepReLUNet` (input layer :math:`\mathbf A`, trained
:math:`\mathbf W_1..\mathbf W_L`, output layer :math:`\mathbf B`):

* :func:`paper_inputs` -- unit inputs whose last coordinate is :math:`1/\sqrt2` (Section 2,
  footnote 5) and which are :math:`\delta`-separated (Assumption 2.1).
* :func:`forward` -- pre-activations :math:`g_{i,\ell}`, states :math:`h_{i,\ell}` and the diagonal
  sign matrices :math:`\mathbf D_{i,\ell}` (Definition 2.2), at :math:`\vec{\mathbf W}` or at a
  perturbed point :math:`\vec{\mathbf W}+\vec{\mathbf W}'` (Definition 8.1).
* :func:`random_perturbation`, :func:`worst_case_perturbation`, :func:`sign_flips` -- the
  perturbations of spectral radius :math:`\omega` of Section 8 and the numbers of ReLU sign flips
  :math:`\|\mathbf D'_{i,\ell}\|_0` (Lemma 8.2b, Claim 8.3, Corollary 8.4).
* :func:`layer_product`, :func:`backward_matrix`, :func:`back_vectors` -- the intermediate
  products of Lemma 7.3 and the backward matrices :math:`\mathrm{Back}_{i,\ell}` of Definition 2.5.
* :func:`fake_gradient`, :func:`gradient_bounds` -- the gradient of Fact 2.6 with an arbitrary
  loss vector (Definition 9.1) and the quantities bounded by Lemma 9.3 and Theorem 3.
* :func:`relu_switch_diagonal`, :func:`telescoping` -- Proposition 11.3 and the exact expansion of
  :math:`h_{i,\ell}-\check h_{i,\ell}` of Claim 11.2.
* :func:`ntk_linearisation`, :func:`gradient_drift` -- the NTK model of Section 4.2 / 14 and the
  quantities of Theorem 5.
* :class:`ResidualNet`, :func:`residual_product` -- the residual network of Appendix C
  (Theorem 8) and the products of its property (C.1).
* the closed-form NTK Gram matrices of both networks (Fact 2.6), which
  :func:`helpers.gradients.ntk_gram` uses through their ``closed_form_ntk`` methods.

Conventions. The book writes :math:`d` for the input and :math:`c` for the output dimension (the
paper's :math:`\mathfrak d` and :math:`d`). Sign matrices follow the paper,
:math:`\mathbb 1_{g\ge 0}`, and are returned as 0/1 tensors of shape ``(n, m)`` (the diagonals).
A perturbation :math:`\vec{\mathbf W}'` is a list of ``L`` tensors of shape ``(m, m)``. Nothing
here is trained; everything runs without autograd except :func:`ntk_linearisation`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .. import data
from .._validate import check_dtype, check_generator, check_int, check_real, check_tensor
from ._network import DeepReLUNet

__all__ = [
    "ForwardState",
    "GradientBounds",
    "Telescoping",
    "NTKComparison",
    "paper_inputs",
    "forward",
    "random_perturbation",
    "worst_case_perturbation",
    "sign_flips",
    "layer_product",
    "backward_matrix",
    "back_vectors",
    "fake_gradient",
    "gradient_bounds",
    "relu_switch_diagonal",
    "telescoping",
    "ntk_linearisation",
    "gradient_drift",
    "ResidualNet",
    "residual_product",
    "circular_patches",
    "ConvNet",
]


# --------------------------------------------------------------------------- records

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
    if isinstance(perturbation, torch.Tensor) or not isinstance(perturbation, Sequence):
        raise TypeError(f"{name} must be a list of {net.L} tensors of shape ({net.m}, {net.m}),"
                        f" got {type(perturbation).__name__}")
    if len(perturbation) != net.L:
        raise ValueError(f"{name} must have L={net.L} matrices, got {len(perturbation)}")
    out = []
    for k, W in enumerate(perturbation):
        W = check_tensor(W, f"{name}[{k}]", shape=(net.m, net.m), floating=True)
        if W.dtype != net.A.dtype:
            raise TypeError(f"{name}[{k}] must have dtype {net.A.dtype}, got {W.dtype}")
        out.append(W)
    return out


def _check_state(state: object, net: DeepReLUNet | None = None,
                 name: str = "state") -> ForwardState:
    if not isinstance(state, ForwardState):
        raise TypeError(f"{name} must be a ForwardState (from allen_zhu_li_song.forward), got "
                        f"{type(state).__name__}")
    if net is not None and (len(state.h) != net.L + 1 or state.h[0].shape[1] != net.m):
        raise ValueError(f"{name} does not come from this network (L={net.L}, m={net.m})")
    return state


def _weights(net: DeepReLUNet, perturbation) -> list[torch.Tensor]:
    base = [W.detach() for W in net.Ws]
    if perturbation is None:
        return base
    pert = _check_perturbation(perturbation, net)
    return [W + P for W, P in zip(base, pert)]


# --------------------------------------------------------------------------- data

def paper_inputs(n: int, d: int, delta: float, *, generator: torch.Generator,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Unit inputs :math:`x_i = (z_i/\sqrt2, 1/\sqrt2)` with :math:`\|x_i - x_j\|\ge\delta`.

    Section 2 normalises :math:`\|x_i\| = 1` with last coordinate :math:`1/\sqrt2` (a random bias,
    footnote 5). Since :math:`\|x_i-x_j\| = \|z_i-z_j\|/\sqrt2`, the :math:`z_i` are drawn by
    :func:`helpers.data.delta_separated` in :math:`\mathbb R^{d-1}` with separation
    :math:`\sqrt2\,\delta`; so Assumption 2.1 holds with the given :math:`\delta\le\sqrt2`.

    Parameters
    ----------
    n : int
        Number of inputs (>= 2).
    d : int
        Input dimension including the bias coordinate (>= 3).
    delta : float
        Separation, in (0, sqrt(2)].
    generator : torch.Generator
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor, shape (n, d)

    References
    ----------
    Allen-Zhu, Li & Song, Section 2 (footnote 5) and Assumption 2.1.

    Examples
    --------
    >>> from helpers.rng import make_generator
    >>> from helpers.data import separation
    >>> X = paper_inputs(6, 5, 0.3, generator=make_generator(0))
    >>> round(float(X.norm(dim=1).max()), 6), round(float(X[0, -1]) ** 2, 6), separation(X) >= 0.3
    (1.0, 0.5, True)
    """
    n = check_int(n, "n", minimum=2)
    d = check_int(d, "d", minimum=3)
    delta = check_real(delta, "delta", minimum=0.0, strict_min=True, maximum=math.sqrt(2.0))
    check_generator(generator)
    Z = data.delta_separated(n, d - 1, min(2.0, math.sqrt(2.0) * delta), generator=generator,
                             dtype=dtype)
    bias = torch.full((n, 1), 1.0, dtype=Z.dtype, device=Z.device)
    return torch.cat([Z, bias], dim=1) / math.sqrt(2.0)


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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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


# --------------------------------------------------------------------------- perturbations

def random_perturbation(net: DeepReLUNet, omega: float, *,
                        generator: torch.Generator) -> list[torch.Tensor]:
    r"""Gaussian :math:`\vec{\mathbf W}'` rescaled to spectral norm :math:`\omega` in every layer.

    Each :math:`\mathbf W'_\ell` is an i.i.d. Gaussian matrix divided by its spectral norm and
    multiplied by :math:`\omega`, so :math:`\|\vec{\mathbf W}'\|_2=\max_\ell\|\mathbf W'_\ell\|_2
    =\omega` (the norm of Section 2). Entries are then about :math:`\omega/(2\sqrt m)`, so for a
    fixed unit :math:`h` the coordinates of :math:`\mathbf W'h` are about
    :math:`\mathcal N(0,\omega^2/(4m))`: a *typical* perturbation, to contrast with
    :func:`worst_case_perturbation`.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    omega : float
        Radius (>= 0).
    generator : torch.Generator

    Returns
    -------
    list of L torch.Tensor, each (m, m)

    References
    ----------
    Allen-Zhu, Li & Song, Section 8 (perturbations with :math:`\|\vec{\mathbf W}'\|_2\le\omega`).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
    >>> from helpers.rng import make_generator
    >>> net = DeepReLUNet(4, 16, 2, 1, generator=make_generator(0))
    >>> P = random_perturbation(net, 0.1, generator=make_generator(1))
    >>> [round(float(torch.linalg.matrix_norm(W, ord=2)), 6) for W in P]
    [0.1, 0.1]
    """
    net = _check_net(net)
    omega = check_real(omega, "omega", minimum=0.0)
    check_generator(generator, device=net.A.device)
    G = torch.randn(net.L, net.m, net.m, generator=generator, dtype=net.A.dtype,
                    device=net.A.device)
    norms = torch.linalg.matrix_norm(G, ord=2)
    return list((G * (omega / norms)[:, None, None]).unbind(0))


def worst_case_perturbation(net: DeepReLUNet, x: torch.Tensor, omega: float, *,
                            margin: float = 1e-6) -> list[torch.Tensor]:
    r"""A greedy adversarial rank-one :math:`\vec{\mathbf W}'` that flips as many ReLUs as it can.

    For one input :math:`x`, layer by layer (on the perturbed forward pass): with
    :math:`g=\mathbf W^{(0)}_\ell h_{\ell-1}` and :math:`\hat h = h_{\ell-1}/\|h_{\ell-1}\|`,
    sort the coordinates by :math:`|g_k|` and take the largest set :math:`S` of smallest ones with
    :math:`(1+\text{margin})^2\sum_{k\in S}g_k^2\le\omega^2\|h_{\ell-1}\|^2`; set
    :math:`\mathbf W'_\ell=\omega\,u\hat h^\top` with :math:`u_k\propto-g_k` on :math:`S`
    (unit :math:`u`), so :math:`\mathbf W'_\ell h_{\ell-1}` pushes every :math:`g_k`,
    :math:`k\in S`, just across zero. Then :math:`\|\mathbf W'_\ell\|_2=\omega` and, since
    :math:`g_k\sim\mathcal N(0,2\|h\|^2/m)` has density :math:`\sqrt{m/(4\pi)}/\|h\|` at 0,
    the number of first-layer flips is about :math:`(3/\pi)^{1/3}\,m\,\omega^{2/3}`: this
    perturbation attains the :math:`m\omega^{2/3}` order of Lemma 8.2b / Claim 8.3
    (with :math:`\delta_2=\omega`, :math:`\delta_\infty=0`), which a random perturbation
    (about :math:`m\omega` flips) does not.

    Parameters
    ----------
    net : helpers.allen_zhu_li_song.DeepReLUNet
    x : torch.Tensor, shape (d,) or (1, d)
        The input attacked.
    omega : float
        Radius (>= 0).
    margin : float, default 1e-6
        Relative overshoot across zero (> 0).

    Returns
    -------
    list of L torch.Tensor, each (m, m), each of spectral norm :math:`\omega` (0 if nothing can be
    flipped).

    References
    ----------
    Allen-Zhu, Li & Song, Lemma 8.2b, Claim 8.3 (proof: the sets :math:`S_1,S_2`) and
    Corollary 8.4.

    Examples
    --------
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 400, 2, 1, generator=gen)
    >>> x = paper_inputs(2, 4, 0.2, generator=gen)[:1]
    >>> P = worst_case_perturbation(net, x, 0.05)
    >>> flips = sign_flips(forward(net, x), forward(net, x, perturbation=P))
    >>> int(flips[0, 1]) > 30        # (3/pi)^(1/3) * 400 * 0.05^(2/3) = 53 expected
    True
    """
    net = _check_net(net)
    x = check_tensor(x, "x", ndim=(1, 2), floating=True)
    if x.dim() == 1:
        x = x[None, :]
    if x.shape[0] != 1:
        raise ValueError(f"x must be a single input of shape (d,) or (1, d), got {tuple(x.shape)}")
    x = _check_X(x, net, "x")
    omega = check_real(omega, "omega", minimum=0.0)
    margin = check_real(margin, "margin", minimum=0.0, strict_min=True)
    pert = []
    with torch.no_grad():
        h = torch.relu(x[0] @ net.A.T)
        for W in net.Ws:
            W = W.detach()
            g = W @ h
            hn = h.norm()
            P = torch.zeros_like(W)
            if omega > 0 and hn > 0:
                order = torch.argsort(g.abs())
                cum = torch.cumsum(g[order] ** 2, 0) * (1 + margin) ** 2
                k = int((cum <= (omega * hn) ** 2).sum())
                if k > 0:
                    u = torch.zeros_like(g)
                    idx = order[:k]
                    u[idx] = -g[idx]
                    u = u / u.norm()
                    P = omega * torch.outer(u, h / hn)
            pert.append(P)
            h = torch.relu((W + P) @ h)
    return pert


def sign_flips(before: ForwardState, after: ForwardState) -> torch.Tensor:
    r"""Number of ReLU sign changes :math:`\|\mathbf D_{i,\ell}-\mathbf D^{(0)}_{i,\ell}\|_0`.

    Parameters
    ----------
    before, after : ForwardState
        Two forward passes of the same inputs through the same architecture.

    Returns
    -------
    torch.Tensor, shape (n, L+1), int64
        Entry (i, l) counts the k with :math:`\mathbb 1_{(g_{i,\ell})_k\ge0}` different.

    References
    ----------
    Allen-Zhu, Li & Song, Definition 8.1 and Lemma 8.2b (:math:`\|\mathbf D'_{i,\ell}\|_0\le
    O(m\omega^{2/3}L)`).

    Examples
    --------
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(4, 64, 2, 1, generator=gen)
    >>> X = paper_inputs(3, 4, 0.2, generator=gen)
    >>> s = forward(net, X)
    >>> sign_flips(s, s).sum().item()
    0
    >>> P = random_perturbation(net, 0.5, generator=gen)
    >>> sign_flips(s, forward(net, X, perturbation=P))[:, 0]        # A is never perturbed
    tensor([0, 0, 0])
    """
    before = _check_state(before, name="before")
    after = _check_state(after, name="after")
    if len(before.D) != len(after.D) or before.D[0].shape != after.D[0].shape:
        raise ValueError("before and after must come from the same inputs and architecture, got "
                         f"{len(before.D)} and {len(after.D)} layers of shapes "
                         f"{tuple(before.D[0].shape)} and {tuple(after.D[0].shape)}")
    return torch.stack([(a != b).sum(dim=1) for a, b in zip(before.D, after.D)], dim=1)


# --------------------------------------------------------------------------- products

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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
    a = check_int(a, "a", minimum=1, maximum=net.L + 1)
    n = state.h[0].shape[0]
    M = net.B.expand(n, -1, -1)
    for ell in range(net.L, a - 1, -1):
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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
        for ell in range(net.L, 0, -1):
            u = (u * state.D[ell]) @ state.weights[ell - 1]
            out.append(u)
    return out[::-1]


# --------------------------------------------------------------------------- gradients

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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
    return [(state.D[ell] * backs[ell]).T @ state.h[ell - 1] for ell in range(1, net.L + 1)]


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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
                       * state.h[ell - 1].pow(2).sum(dim=1) for ell in range(1, net.L + 1)], dim=1)
    layer = torch.stack([((state.D[ell] * backs[ell]).T @ state.h[ell - 1]).pow(2).sum()
                         for ell in range(1, net.L + 1)])
    return GradientBounds(float(Fi.sum()), float(Fi.max()), float(layer.sum()), layer, per)


# --------------------------------------------------------------------------- telescoping

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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
    terms = torch.zeros(0, n, net.m, dtype=X.dtype, device=X.device)
    with torch.no_grad():
        for ell in range(1, net.L + 1):
            Dpp = relu_switch_diagonal(check_state.g[ell], new.g[ell])
            M = check_state.D[ell] + Dpp
            propagated = M[None] * (terms @ Wc[ell - 1].T)
            fresh = M * (new.h[ell - 1] @ pert[ell - 1].T)
            terms = torch.cat([propagated, fresh[None]], dim=0)
            direct.append(new.h[ell] - check_state.h[ell])
            telescoped.append(terms.sum(dim=0))
            switches.append(Dpp)
    return Telescoping(direct, telescoped, terms, switches)


# --------------------------------------------------------------------------- NTK

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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
    for ell in range(1, net.L + 1):
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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet
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
        for ell in range(1, net.L + 1):
            a0, a1 = s0.D[ell] * b0[ell], s1.D[ell] * b1[ell]
            h0, h1 = s0.h[ell - 1], s1.h[ell - 1]
            n0 = a0.pow(2).sum(1) * h0.pow(2).sum(1)
            n1 = a1.pow(2).sum(1) * h1.pow(2).sum(1)
            cross = (a0 * a1).sum(1) * (h0 * h1).sum(1)
            num[:, j] += n0 + n1 - 2 * cross
            den[:, j] += n0
    return num.clamp_min(0).sqrt() / den.sqrt()


# --------------------------------------------------------------------------- Appendix C (ResNet)

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
    m : int
        Width.
    L : int
        Number of trained layers (``L - 1`` residual layers and the dense :math:`\mathbf W_L`).
    d_out : int
        Output dimension :math:`c`.
    tau : float
        Residual scale :math:`\tau\ge0`; the paper takes :math:`\tau=1/\Omega(L\log m)`.
    generator : torch.Generator
        Draws ``A``, then ``W_1..W_L``, then ``B``.
    dtype : torch.dtype, default torch.float64

    Attributes
    ----------
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
    >>> from helpers.rng import make_generator
    >>> net = ResidualNet(4, 32, 3, 1, tau=0.0, generator=make_generator(0))
    >>> X = paper_inputs(2, 4, 0.2, generator=make_generator(1))
    >>> hs = net.hidden_states(X)
    >>> len(hs), bool(torch.equal(hs[2], hs[0]))        # tau = 0: residual layers are identities
    (4, True)
    """

    def __init__(self, d_in: int, m: int, L: int, d_out: int, *, tau: float,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        d_in = check_int(d_in, "d_in", minimum=1)
        m = check_int(m, "m", minimum=1)
        L = check_int(L, "L", minimum=1)
        d_out = check_int(d_out, "d_out", minimum=1)
        tau = check_real(tau, "tau", minimum=0.0)
        check_generator(generator)
        check_dtype(dtype)
        self.d_in, self.m, self.L, self.d_out, self.tau = d_in, m, L, d_out, tau
        template = DeepReLUNet(d_in, m, L, d_out, generator=generator, dtype=dtype)
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
    if net.L < 2:
        raise ValueError(f"net has no residual layers (L={net.L}); residual_product needs L >= 2")
    a = check_int(a, "a", minimum=1, maximum=net.L - 1)
    b = check_int(b, "b", minimum=1, maximum=a)
    with torch.no_grad():
        hs = net.hidden_states(X)
        eye = torch.eye(net.m, dtype=X.dtype, device=X.device)
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
        a = (hs[net.L] > 0).to(X.dtype) * net.B[output]                      # a_L, (n, m)
        terms = [None] * net.L
        for ell in range(net.L, 0, -1):
            c = 1.0 if ell == net.L else net.tau
            terms[ell - 1] = c**2 * (a @ a.T) * (hs[ell - 1] @ hs[ell - 1].T)
            if ell > 1:
                back = a @ Ws[ell - 1]                                        # W_l^T a_l
                if ell < net.L:
                    back = a + net.tau * back                                 # (I + tau W_l)^T a
                a = (hs[ell - 1] > 0).to(X.dtype) * back
        K = torch.stack(terms)
    return K if per_layer else K.sum(0)


# --------------------------------------------------------------------------- Appendix B (CNN)

def circular_patches(positions: int, q: int) -> torch.Tensor:
    r"""Circular patches :math:`\mathcal Q_j=\{j-\lfloor q/2\rfloor,\dots,j+\lfloor q/2\rfloor\}
    \bmod \mathfrak d` of Appendix B: every position lies in exactly ``q`` patches.

    Parameters
    ----------
    positions : int
        Number of positions :math:`\mathfrak d` (>= 1).
    q : int
        Patch size (1 <= q <= positions).

    Returns
    -------
    torch.Tensor, shape (positions, q), dtype int64
        Row ``j`` lists the positions of patch :math:`\mathcal Q_j`; as a bipartite graph
        (patches, positions) it is ``q``-regular, which is Assumption B.1.

    References
    ----------
    Allen-Zhu, Li & Song, Appendix B (Assumption B.1), Theorem 7.

    Examples
    --------
    >>> circular_patches(5, 3)[0].tolist()
    [4, 0, 1]
    >>> torch.bincount(circular_patches(5, 3).flatten()).tolist()   # Assumption B.1
    [3, 3, 3, 3, 3]
    """
    positions = check_int(positions, "positions", minimum=1)
    q = check_int(q, "q", minimum=1)
    if q > positions:
        raise ValueError(f"q must be <= positions = {positions}, got {q}")
    return (torch.arange(positions)[:, None] + torch.arange(q)[None, :] - q // 2) % positions


class ConvNet(torch.nn.Module):
    r"""The convolutional network of Appendix B (Theorem 7).

    Input :math:`x\in\mathbb R^{\mathfrak d}` (one scalar per position); with patches
    :math:`\mathcal Q_j` from :func:`circular_patches`,
    :math:`h_{0,j}=\phi(\mathbf A_j x_{\mathcal Q_j})\in\mathbb R^m`,
    :math:`h_{\ell,j}=\phi(\mathbf W_{\ell,j}[h_{\ell-1,k}]_{k\in\mathcal Q_j}
    +\tau\mathbf b_{\ell,j})`
    for :math:`\ell=1,\dots,L-1` (position-dependent weights
    :math:`\mathbf W_{\ell,j}\in\mathbb R^{m\times qm}`), then a dense
    :math:`h_L=\phi(\mathbf W_Lh_{L-1})\in\mathbb R^{\mathfrak dm}` and output
    :math:`\mathbf Bh_L`. Trained: the convolutions and :math:`\mathbf W_L`; frozen:
    :math:`\mathbf A`, :math:`\mathbf b` and :math:`\mathbf B`. Entries of
    :math:`\mathbf W_{\ell,j}`, :math:`\mathbf b_{\ell,j}` and :math:`\mathbf W_L` are
    :math:`\mathcal N(0,\frac2{qm})`; :math:`\mathbf A` defaults to the same variance (the value
    that keeps :math:`\|h_0\|\approx1`; the paper prints :math:`\frac2{\sqrt{qm}}`, see the
    erratum of the chapter), :math:`\mathbf B` has :math:`\mathcal N(0,\frac1c)` entries.

    Parameters
    ----------
    positions : int
        :math:`\mathfrak d`.
    q : int
        Patch size.
    m : int
        Channels per position.
    L : int
        Number of trained layers (``L - 1`` convolutions and the dense :math:`\mathbf W_L`), >= 1.
    c : int
        Output dimension.
    tau : float
        Bias scale :math:`\tau\ge0` (the paper: :math:`\tau=\frac{\delta^2}{10\mathfrak dL}`).
    generator : torch.Generator
        Draws, in order, ``A``, the convolutions, ``b``, ``W_L`` and ``B`` (on its device).
    dtype : torch.dtype, default torch.float64
    a_var : float, optional
        Variance of the entries of ``A`` (default :math:`\frac2{qm}`).

    Attributes
    ----------
    Q : torch.Tensor, shape (positions, q)
        Patches (buffer).
    A : torch.Tensor, shape (positions, m, q)
    convs : torch.nn.ParameterList
        ``convs[l - 1]`` of shape (positions, m, q * m).
    b : torch.Tensor, shape (L - 1, positions, m)
    WL : torch.nn.Parameter, shape (positions * m, positions * m)
    B : torch.Tensor, shape (c, positions * m)

    References
    ----------
    Allen-Zhu, Li & Song, Appendix B (the convolutional network, Assumption B.1), Theorem 7.

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> net = ConvNet(6, 3, 8, 3, 1, 0.01, generator=make_generator(0))
    >>> X = paper_inputs(4, 6, 0.3, generator=make_generator(1))
    >>> net(X).shape, [tuple(h.shape) for h in net.hidden_states(X)]
    (torch.Size([4, 1]), [(4, 6, 8), (4, 6, 8), (4, 6, 8), (4, 48)])
    """

    def __init__(self, positions: int, q: int, m: int, L: int, c: int, tau: float, *,
                 generator: torch.Generator, dtype: torch.dtype = torch.float64,
                 a_var: float | None = None) -> None:
        super().__init__()
        Q = circular_patches(positions, q)
        m = check_int(m, "m", minimum=1)
        L = check_int(L, "L", minimum=1)
        c = check_int(c, "c", minimum=1)
        tau = check_real(tau, "tau", minimum=0.0)
        check_generator(generator)
        check_dtype(dtype)
        if a_var is not None:
            a_var = check_real(a_var, "a_var", minimum=0.0, strict_min=True)
        device = generator.device
        self.positions, self.q, self.m, self.L, self.c, self.tau = positions, q, m, L, c, tau
        self.register_buffer("Q", Q.to(device))
        sd = math.sqrt(2 / (q * m))
        a_sd = math.sqrt(a_var) if a_var is not None else sd

        def gauss(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=generator, dtype=dtype, device=device)

        self.register_buffer("A", gauss(positions, m, q) * a_sd)
        self.convs = torch.nn.ParameterList(
            torch.nn.Parameter(gauss(positions, m, q * m) * sd) for _ in range(L - 1))
        self.register_buffer("b", gauss(L - 1, positions, m) * sd)
        self.WL = torch.nn.Parameter(gauss(positions * m, positions * m) * sd)
        self.register_buffer("B", gauss(c, positions * m) / math.sqrt(c))

    def hidden_states(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``[h_0, ..., h_{L-1}]`` of shape ``(n, positions, m)``, then ``h_L`` of shape
        ``(n, positions * m)``, for ``x`` of shape ``(n, positions)``."""
        x = check_tensor(x, "x", ndim=2, floating=True, finite=False)
        if x.shape[1] != self.positions:
            raise ValueError(f"x must have shape (n, {self.positions}), got {tuple(x.shape)}")
        h = torch.relu(torch.einsum("jmq,njq->njm", self.A, x[:, self.Q]))
        states = [h]
        for W, b in zip(self.convs, self.b, strict=True):
            h = torch.relu(torch.einsum("jmk,njk->njm", W, h[:, self.Q].flatten(2))
                           + self.tau * b)
            states.append(h)
        states.append(torch.relu(h.flatten(1) @ self.WL.T))
        return states

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(n, positions)`` to :math:`\\mathbf Bh_L`, shape ``(n, c)``."""
        return self.hidden_states(x)[-1] @ self.B.T
