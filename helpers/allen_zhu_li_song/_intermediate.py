r"""Intermediate products under sparse sign changes and small weight changes (Lemma 8.6), against
a greedy adversary."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .._validate import check_int, check_real, check_tensor

__all__ = ["operator_norm", "adversarial_product_norm"]

Operator = Callable[[torch.Tensor], torch.Tensor]


def operator_norm(apply: Operator, apply_t: Operator, m: int, *, iters: int = 15,
                  dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu"
                  ) -> tuple[float, torch.Tensor]:
    r"""Spectral norm of a matrix given by its action, by power iteration on :math:`M^\top M`.

    Starts from the unit vector :math:`\mathbf 1/\sqrt m` (deterministic) and returns
    :math:`\|M\mathbf v\|` with the last iterate :math:`\mathbf v`; after ``iters`` steps it is a
    lower bound that converges to :math:`\|M\|_2` (geometrically, with the ratio of the top two
    squared singular values).

    Parameters
    ----------
    apply, apply_t : callable
        :math:`v\mapsto Mv` and :math:`u\mapsto M^\top u`.
    m : int
        Input dimension of :math:`M`.
    iters : int, default 15
    dtype, device
        Of the start vector.

    Returns
    -------
    (norm, v) : tuple of float and torch.Tensor
        The estimate and the top right singular vector estimate (unit).

    References
    ----------
    Allen-Zhu, Li & Song, Lemmas 7.3a and 8.6 (spectral norms of intermediate products).

    Examples
    --------
    >>> import torch
    >>> M = torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64))
    >>> round(operator_norm(lambda v: M @ v, lambda u: M.T @ u, 2, iters=30)[0], 6)
    3.0
    """
    if not callable(apply) or not callable(apply_t):
        raise TypeError("apply and apply_t must be callables v -> M v and u -> M^T u")
    m = check_int(m, "m", minimum=1)
    iters = check_int(iters, "iters", minimum=1)
    v = torch.ones(m, dtype=dtype, device=device) / math.sqrt(m)
    for _ in range(iters):
        v = apply_t(apply(v))
        v = v / v.norm()
    return float(apply(v).norm()), v


def adversarial_product_norm(Ws: Sequence[torch.Tensor], D0: Sequence[torch.Tensor], *, s: int,
                             omega: float, rounds: int = 2, iters: int = 15
                             ) -> tuple[float, float]:
    r"""Norms of :math:`\mathbf W_L M_{L-1}\mathbf W_{L-1}\cdots M_1\mathbf W_1` without and with a
    greedy adversarial perturbation of Lemma 8.6's kind.

    Unperturbed, :math:`M_\ell=\mathbf D^{(0)}_\ell`. The adversary perturbs every factor to
    :math:`\mathbf W_\ell+\mathbf W'_\ell` with :math:`\|\mathbf W'_\ell\|_2=\omega` and every
    mask to :math:`\mathbf D^{(0)}_\ell+\mathbf D''_\ell` with an :math:`s`-sparse
    :math:`\mathbf D''_\ell\in\{0,3\}`, greedily: take the top right singular vector :math:`v` of
    the current product, propagate it, and at layer :math:`\ell` set
    :math:`\mathbf W'_\ell=\omega\hat u_\ell\hat v_\ell^\top` (which pushes the incoming vector
    :math:`v_\ell` further along its image :math:`u_\ell=\mathbf W_\ell v_\ell`) and
    :math:`\mathbf D''=+3` on the :math:`s` coordinates where the propagated vector is largest;
    repeat ``rounds`` times. Norms by :func:`operator_norm` (no product is formed).

    Parameters
    ----------
    Ws : sequence of L torch.Tensor, each (m, m)
        :math:`\mathbf W_1,\dots,\mathbf W_L`.
    D0 : sequence of L - 1 torch.Tensor, each (m,)
        Diagonals of :math:`\mathbf D^{(0)}_1,\dots,\mathbf D^{(0)}_{L-1}`.
    s : int
        Sparsity of each :math:`\mathbf D''` (1 <= s <= m).
    omega : float
        Spectral radius of each :math:`\mathbf W'_\ell` (>= 0).
    rounds : int, default 2
        Greedy rounds.
    iters : int, default 15
        Power iterations per norm.

    Returns
    -------
    (unperturbed, perturbed) : tuple of float

    References
    ----------
    Allen-Zhu, Li & Song, Lemma 8.6 (for every :math:`s`-sparse :math:`\mathbf D''\in[-3,3]` and
    every :math:`\|\vec{\mathbf W}'\|_2\le\omega`, the product is :math:`\mathcal O(\sqrt L)`).

    Examples
    --------
    >>> import torch
    >>> from helpers.allen_zhu_li_song import DeepReLUNet, forward, paper_inputs
    >>> from helpers.rng import make_generator
    >>> gen = make_generator(0)
    >>> net = DeepReLUNet(5, 256, 3, 1, generator=gen)
    >>> state = forward(net, paper_inputs(2, 5, 0.3, generator=gen)[:1])
    >>> base, pert = adversarial_product_norm([W.detach() for W in net.Ws],
    ...                                       [state.D[l][0] for l in (1, 2)], s=1, omega=0.2)
    >>> pert > base > 1
    True
    """
    if isinstance(Ws, torch.Tensor) or not isinstance(Ws, Sequence) or not Ws:
        raise TypeError(f"Ws must be a non-empty list of matrices, got {type(Ws).__name__}")
    Ws = [check_tensor(W, f"Ws[{k}]", ndim=2, floating=True) for k, W in enumerate(Ws)]
    L, m = len(Ws), Ws[0].shape[0]
    for k, W in enumerate(Ws):
        if W.shape != (m, m):
            raise ValueError(f"Ws[{k}] must have shape ({m}, {m}), got {tuple(W.shape)}")
    if isinstance(D0, torch.Tensor) or not isinstance(D0, Sequence) or len(D0) != L - 1:
        raise ValueError(f"D0 must be a list of L - 1 = {L - 1} diagonals")
    D0 = [check_tensor(D, f"D0[{k}]", shape=(m,), floating=True) for k, D in enumerate(D0)]
    s = check_int(s, "s", minimum=1, maximum=m)
    omega = check_real(omega, "omega", minimum=0.0)
    rounds = check_int(rounds, "rounds", minimum=1)
    dtype, device = Ws[0].dtype, Ws[0].device

    def operators(pert, masks):
        def apply(v):
            for ell in range(L):
                v = Ws[ell] @ v + (0 if pert is None else pert[ell][0] * (pert[ell][1] @ v))
                v = masks[ell] * v if ell < L - 1 else v
            return v

        def apply_t(u):
            for ell in reversed(range(L)):
                u = masks[ell] * u if ell < L - 1 else u
                u = Ws[ell].T @ u + (0 if pert is None else pert[ell][1] * (pert[ell][0] @ u))
            return u
        return apply, apply_t

    base, v = operator_norm(*operators(None, D0), m, iters=iters, dtype=dtype, device=device)
    for _ in range(rounds):
        pert, masks, u = [], [], v
        for ell in range(L):
            image = Ws[ell] @ u
            pert.append((omega * image / image.norm(), u / u.norm()))   # W' = w u^ v^T
            u = image + omega * u.norm() * image / image.norm()
            if ell < L - 1:
                mask = D0[ell].clone()
                mask[u.abs().topk(s).indices] += 3.0                    # D'' = +3
                masks.append(mask)
                u = mask * u
        perturbed, v = operator_norm(*operators(pert, masks), m, iters=iters, dtype=dtype,
                                     device=device)
    return base, perturbed
