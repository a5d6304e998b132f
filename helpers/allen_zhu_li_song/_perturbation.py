r"""Perturbations of spectral radius :math:`\omega` and the ReLU signs they flip (Section 8).

A perturbation :math:`\vec{\mathbf W}'` is a list of ``L`` tensors of shape ``(m, m)``; the
forward pass at :math:`\vec{\mathbf W}+\vec{\mathbf W}'` is
:func:`helpers.allen_zhu_li_song.forward` with ``perturbation=``. A *typical* perturbation
(:func:`random_perturbation`) flips about :math:`m\omega` signs per layer, the greedy adversary
(:func:`worst_case_perturbation`) about :math:`m\omega^{2/3}`; :func:`max_sign_flips` is the
exact maximum over all pre-activation perturbations of Claim 8.3's form and
:func:`flip_count_bound` the bound that Claim 8.3's proof gives for it.
"""

from __future__ import annotations

import math

import torch

from .._validate import check_generator, check_int, check_real, check_tensor
from ._forward import ForwardState, _check_net, _check_state, _check_X
from ._network import DeepReLUNet

__all__ = ["random_perturbation", "worst_case_perturbation", "sign_flips", "max_sign_flips",
           "flip_count_bound"]


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
    G = torch.randn(net.depth, net.width, net.width, generator=generator, dtype=net.A.dtype,
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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
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
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
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


def max_sign_flips(g: torch.Tensor, delta_2: float, delta_inf: float = 0.0) -> torch.Tensor:
    r"""The exact maximum, over all :math:`g'=g'_1+g'_2` with :math:`\|g'_1\|\le\delta_2` and
    :math:`\|g'_2\|_\infty\le\delta_\infty`, of the number of signs of :math:`g` that
    :math:`g+g'` flips (the quantity :math:`\|\mathbf D'\|_0` bounded by Claim 8.3).

    Flipping coordinate :math:`j` needs :math:`|g'_j|>|g_j|`, hence
    :math:`|(g'_1)_j|>|g_j|-\delta_\infty`; the :math:`\ell_\infty` part is best spent as
    :math:`-\delta_\infty\operatorname{sgn}g_j` on every attacked coordinate, so flipping a set
    :math:`S` costs :math:`\sum_{j\in S}(|g_j|-\delta_\infty)_+^2` of the :math:`\ell_2` budget
    (a supremum: the crossing itself needs an arbitrarily small overshoot). With unit values and
    additive costs the greedy choice of the cheapest coordinates is optimal, so the maximum is the
    number of zero-cost coordinates plus the largest :math:`k` whose :math:`k` smallest positive
    costs sum to at most :math:`\delta_2^2`. This is the true worst case, not a lower bound: an
    upper bound such as Claim 8.3's can be checked against it.

    Parameters
    ----------
    g : torch.Tensor, shape (..., m)
        Pre-activations :math:`g=\mathbf W^{(0)}h^{(0)}` (any batch shape).
    delta_2 : float
        :math:`\ell_2` budget :math:`\delta_2\ge0`.
    delta_inf : float, default 0
        :math:`\ell_\infty` budget :math:`\delta_\infty\ge0`.

    Returns
    -------
    torch.Tensor, shape (...), int64

    References
    ----------
    Allen-Zhu, Li & Song, Claim 8.3 (and its proof: the sets :math:`S_1, S_2`), (8.2).

    Examples
    --------
    >>> import torch
    >>> g = torch.tensor([0.1, -0.2, 0.3, -2.0], dtype=torch.float64)
    >>> int(max_sign_flips(g, 0.25)), int(max_sign_flips(g, 0.4))   # 0.1^2 + 0.2^2 <= 0.25^2
    (2, 3)
    >>> int(max_sign_flips(g, 0.0, delta_inf=0.25))                 # |g_j| < 0.25: free flips
    2
    """
    g = check_tensor(g, "g", floating=True)
    if g.dim() < 1 or g.shape[-1] < 1:
        raise ValueError(f"g must have at least one coordinate on its last axis, got shape "
                         f"{tuple(g.shape)}")
    delta_2 = check_real(delta_2, "delta_2", minimum=0.0)
    delta_inf = check_real(delta_inf, "delta_inf", minimum=0.0)
    cost = (g.abs() - delta_inf).clamp_min(0.0).pow(2)
    free = (cost == 0).sum(-1)
    sorted_cost, _ = torch.sort(torch.where(cost == 0, torch.inf, cost), dim=-1)
    bought = (torch.cumsum(sorted_cost, -1) <= delta_2**2).sum(-1)
    return free + bought


def flip_count_bound(m: int, delta_2: float, delta_inf: float = 0.0) -> float:
    r"""Claim 8.3's bound on :math:`\|\mathbf D'\|_0` with the constants of its proof.

    For :math:`g^{(0)}\sim\mathcal N(0,\frac2m\mathbf I)` and a threshold :math:`\xi\ge
    2\delta_\infty`, the proof counts the small coordinates :math:`S_1=\{j:|g^{(0)}_j|\le\xi\}`,
    :math:`\mathbb E|S_1|\le m\cdot2\xi\sqrt{m/(4\pi)}=\xi m^{3/2}/\sqrt\pi`, and the large flipped
    ones, :math:`|S_2|\le4\delta_2^2/\xi^2`; this function returns
    :math:`\min_{\xi\ge2\delta_\infty}\big(\xi m^{3/2}/\sqrt\pi+4\delta_2^2/\xi^2\big)`, which for
    :math:`\delta_\infty=0` is :math:`3\pi^{-1/3}\,m\,\delta_2^{2/3}\approx2.048\,m\delta_2^{2/3}`
    (the balance :math:`\xi\propto\delta_2^{2/3}/\sqrt m` of the proof). The exact worst case
    (:func:`max_sign_flips`) is about :math:`(3/\pi)^{1/3}m\delta_2^{2/3}`, so the bound is
    :math:`3^{2/3}\approx2.08` times larger: the proof loses only a constant.

    Parameters
    ----------
    m : int
        Width (>= 1).
    delta_2, delta_inf : float
        The budgets of Claim 8.3 (>= 0).

    Returns
    -------
    float

    References
    ----------
    Allen-Zhu, Li & Song, Claim 8.3 and its proof.

    Examples
    --------
    >>> import math
    >>> round(flip_count_bound(1000, 0.01) / (1000 * 0.01 ** (2 / 3)), 4)
    2.0484
    >>> round(3 / math.pi ** (1 / 3), 4)
    2.0484
    """
    m = check_int(m, "m", minimum=1)
    delta_2 = check_real(delta_2, "delta_2", minimum=0.0)
    delta_inf = check_real(delta_inf, "delta_inf", minimum=0.0)
    a, b = m**1.5 / math.sqrt(math.pi), 4.0 * delta_2**2
    if b == 0.0:
        return 2.0 * delta_inf * a
    xi = max((2.0 * b / a) ** (1.0 / 3.0), 2.0 * delta_inf)
    return a * xi + b / xi**2
