r"""Constant-step SGD under gradient confusion: the bounds of Sankararaman et al. and a simulator.

Sankararaman et al. bound constant-step SGD on :math:`F(\mathbf w) = \frac1n\sum_i f_i(\mathbf w)`
in terms of the gradient confusion bound :math:`\zeta` (their :math:`\eta`, Definition 2.1):

* Theorem 3.1 (both versions; (A1) smoothness :math:`L_f`, (A2) PL constant :math:`\mu`):
  :math:`\mathbb E[F(\mathbf w_k)-F^*] \le \rho^k (F(\mathbf w_0)-F^*) + \eta\zeta/(1-\rho)`,
  :math:`\rho = 1 - 2\mu\eta/n + \mu L_f\eta^2`, for step size :math:`\eta < 2/(nL_f)`;
* Theorem B.1 (long version; strengthened confusion at all pairs of points): the same with
  :math:`\rho = 1 - 2\mu\eta/n + \mu L_f\eta^2/n` and :math:`\eta < 2/L_f`;
* Theorem 3.2 ((A1) only): :math:`\min_{k\le T}\mathbb E\|\nabla F(\mathbf w_k)\|^2 \le
  \frac{2n}{2\eta - nL_f\eta^2}\frac{F(\mathbf w_1)-F^*}{T} + \frac{2n\zeta}{2-nL_f\eta}`
  (long version); the ICML version prints the first term without the factor :math:`1/\eta`.

The simulator :func:`glm_sgd` runs many independent single-sample SGD chains (sampling with
replacement, as in eq. (2) of the paper) on a generalised linear least-squares problem
:math:`f_i(\mathbf w) = \frac12(s(\mathbf x_i^\top\mathbf w) - y_i)^2`, :math:`s` the identity or
:math:`\tanh`, vectorised over the chains, and records exactly the quantities the theorems are
about: :math:`F`, :math:`\|\nabla F\|^2` and the pairwise gradient inner products
:math:`h_{ij} = \chi_i\chi_j\langle\mathbf x_i,\mathbf x_j\rangle`,
:math:`\chi_i = (s(u_i)-y_i)s'(u_i)`, at every recorded iterate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_choice, check_generator, check_int, check_real, check_tensor

__all__ = ["SGDRuns", "pl_rate", "pl_bound", "stationary_bound", "glm_sgd"]


def _check_problem(lr: object, n: object, smoothness: object, strengthened: object
                   ) -> tuple[float, int, float]:
    if not isinstance(strengthened, bool):
        raise TypeError(f"strengthened must be a bool, got {strengthened!r}")
    n = check_int(n, "n", minimum=1)
    smoothness = check_real(smoothness, "smoothness", minimum=0.0, strict_min=True)
    limit = 2.0 / smoothness if strengthened else 2.0 / (n * smoothness)
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    if lr >= limit:
        which = "2/L_f (Theorem B.1)" if strengthened else "2/(n L_f) (Theorems 3.1, 3.2)"
        raise ValueError(f"lr must be < {which} = {limit:.6g}, got {lr}")
    return lr, n, smoothness


def pl_rate(lr: float, *, n: int, mu: float, smoothness: float,
            strengthened: bool = False) -> float:
    r"""Contraction factor :math:`\rho` of Theorem 3.1 (or Theorem B.1) of Sankararaman et al.

    :math:`\rho = 1 - \frac{2\mu}{n}\big(\eta - \frac{nL_f\eta^2}{2}\big) = 1 - \frac{2\mu\eta}{n}
    + \mu L_f\eta^2` (Theorem 3.1, :math:`\eta < 2/(nL_f)`), or with ``strengthened=True``
    :math:`\rho = 1 - \frac{2\mu\eta}{n} + \frac{\mu L_f\eta^2}{n}`
    (Theorem B.1, :math:`\eta<2/L_f`).

    Parameters
    ----------
    lr : float
        Step size :math:`\eta` (the paper's :math:`\alpha`), positive and below the limit.
    n : int
        Number of component functions.
    mu : float
        PL constant of every :math:`f_i` (assumption (A2)), :math:`\mu > 0`.
    smoothness : float
        Smoothness constant :math:`L_f` of every :math:`f_i` (assumption (A1)), positive.
    strengthened : bool, default False
        Use Theorem B.1 (confusion bounded for gradients at *different* points).

    Returns
    -------
    float
        :math:`\rho`; it lies in :math:`[0, 1)` whenever :math:`\mu \le L_f`.

    References
    ----------
    Sankararaman et al., Theorem 3.1 (both versions) and Theorem B.1 (long version, App. B).

    Examples
    --------
    >>> from helpers.gradient_confusion import pl_rate
    >>> round(pl_rate(0.05, n=20, mu=1.0, smoothness=1.0), 6)    # 1 - 2(0.05)/20 + 0.05**2
    0.9975
    >>> round(pl_rate(1.0, n=20, mu=1.0, smoothness=1.0, strengthened=True), 4)   # 1 - 1/20
    0.95
    """
    lr, n, smoothness = _check_problem(lr, n, smoothness, strengthened)
    mu = check_real(mu, "mu", minimum=0.0, strict_min=True)
    if mu > smoothness:
        raise ValueError(f"mu must be <= smoothness (PL and smoothness force mu <= L_f), got"
                         f" mu={mu} > smoothness={smoothness}")
    quad = mu * smoothness * lr**2 / (n if strengthened else 1)
    return 1.0 - 2.0 * mu * lr / n + quad


def pl_bound(steps: int, initial_gap: float, *, lr: float, zeta, n: int, mu: float,
             smoothness: float, strengthened: bool = False) -> np.ndarray:
    r"""Right-hand side of Theorem 3.1 (or B.1) for :math:`k = 0, \dots, \text{steps}`.

    With a constant confusion bound :math:`\zeta` (a float) this is the theorem as printed,
    :math:`b_k = \rho^k\,\Delta_0 + \eta\zeta/(1-\rho)`. With a sequence
    :math:`(\zeta_0,\dots,\zeta_{K-1})` of confusion bounds at the successive iterates it is the
    unrolled recursion of the proof, :math:`b_0 = \Delta_0`, :math:`b_{k+1} = \rho b_k +
    \eta\zeta_k`, which is never larger than the printed form with
    :math:`\zeta = \max_k \zeta_k`.

    Parameters
    ----------
    steps : int
        Last iteration index :math:`K \ge 0`.
    initial_gap : float
        :math:`\Delta_0 = F(\mathbf w_0) - F^* \ge 0`.
    lr, n, mu, smoothness, strengthened
        As in :func:`pl_rate`.
    zeta : float or array_like of shape (steps,)
        Confusion bound (constant), or one bound per iterate :math:`\mathbf w_0,\dots,
        \mathbf w_{K-1}`.

    Returns
    -------
    numpy.ndarray, shape (steps + 1,)

    References
    ----------
    Sankararaman et al., Theorem 3.1 and its proof (App. C.1 of the long version);
    Theorem B.1 (App. B).

    Examples
    --------
    >>> from helpers.gradient_confusion import pl_bound
    >>> b = pl_bound(2, 1.0, lr=0.05, zeta=0.0, n=20, mu=1.0, smoothness=1.0)
    >>> [round(float(v), 6) for v in b]                          # rho**k with rho = 0.9975
    [1.0, 0.9975, 0.995006]
    >>> b0 = pl_bound(0, 0.0, lr=0.05, zeta=0.1, n=20, mu=1.0, smoothness=1.0)
    >>> round(float(b0[0]), 6)                                   # floor lr*zeta/(1-rho)
    2.0
    """
    steps = check_int(steps, "steps", minimum=0)
    gap = check_real(initial_gap, "initial_gap", minimum=0.0)
    rho = pl_rate(lr, n=n, mu=mu, smoothness=smoothness, strengthened=strengthened)
    if isinstance(zeta, (int, float, np.floating, np.integer)) and not isinstance(zeta, bool):
        z = check_real(zeta, "zeta", minimum=0.0)
        return rho ** np.arange(steps + 1) * gap + lr * z / (1.0 - rho)
    z = np.asarray(zeta, dtype=float)
    if z.shape != (steps,):
        raise ValueError(f"zeta must be a float or an array of shape ({steps},), got shape"
                         f" {z.shape}")
    if not np.all(np.isfinite(z)) or np.any(z < 0):
        raise ValueError("zeta must contain finite, non-negative confusion bounds")
    out = np.empty(steps + 1)
    out[0] = gap
    for k in range(steps):
        out[k + 1] = rho * out[k] + lr * z[k]
    return out


def stationary_bound(T: int, initial_gap: float, *, lr: float, zeta: float, n: int,
                     smoothness: float, version: str = "long") -> float:
    r"""Right-hand side of Theorem 3.2 of Sankararaman et al., as printed in either version.

    ``version="long"``: :math:`\frac{\rho(F(\mathbf w_1)-F^*)}{T} + \eta\rho\zeta` with
    :math:`\rho = \frac{2n}{2\eta - nL_f\eta^2}` (what the proof in App. C.1 gives).
    ``version="icml"``: :math:`\frac{\rho(F(\mathbf w_1)-F^*)}{T} + \rho\zeta` with
    :math:`\rho = \frac{2n}{2 - nL_f\eta}` (the same noise term, a first term smaller by the
    factor :math:`\eta`; not a valid bound, see the book's errata).

    Parameters
    ----------
    T : int
        Number of iterations, :math:`T \ge 1`.
    initial_gap : float
        :math:`F(\mathbf w_1) - F^* \ge 0`.
    lr, zeta : float
        Step size :math:`\eta < 2/(nL_f)` and confusion bound :math:`\zeta \ge 0`.
    n : int
    smoothness : float
    version : {"long", "icml"}

    Returns
    -------
    float
        Bound on :math:`\min_{k=1..T}\mathbb E\|\nabla F(\mathbf w_k)\|^2`.

    References
    ----------
    Sankararaman et al., Theorem 3.2 (long version, Section 3 and App. C.1; ICML version,
    Section 3).

    Examples
    --------
    >>> from helpers.gradient_confusion import stationary_bound
    >>> round(stationary_bound(100, 1.0, lr=0.01, zeta=0.0, n=10, smoothness=1.0), 4)
    10.5263
    >>> round(stationary_bound(100, 1.0, lr=0.01, zeta=0.0, n=10, smoothness=1.0,
    ...                        version="icml"), 4)                           # lr times smaller
    0.1053
    """
    version = check_choice(version, "version", ("long", "icml"))
    T = check_int(T, "T", minimum=1)
    gap = check_real(initial_gap, "initial_gap", minimum=0.0)
    zeta = check_real(zeta, "zeta", minimum=0.0)
    lr, n, smoothness = _check_problem(lr, n, smoothness, False)
    noise = 2.0 * n * zeta / (2.0 - n * smoothness * lr)
    if version == "long":
        rho = 2.0 * n / (2.0 * lr - n * smoothness * lr**2)
    else:
        rho = 2.0 * n / (2.0 - n * smoothness * lr)
    return rho * gap / T + noise


@dataclass(frozen=True)
class SGDRuns:
    r"""Recorded trajectories of :func:`glm_sgd`, one row per chain, one column per record.

    Attributes
    ----------
    steps : numpy.ndarray, shape (T,)
        Iteration index :math:`k` of each record (0 = initial point).
    loss : torch.Tensor, shape (runs, T)
        :math:`F(\mathbf w_k)`.
    grad_sq : torch.Tensor, shape (runs, T)
        :math:`\|\nabla F(\mathbf w_k)\|^2`.
    min_inner, mean_inner : torch.Tensor, shape (runs, T)
        Minimum and mean over :math:`i \ne j` of :math:`h_{ij}(\mathbf w_k)`.
    min_cosine, mean_cosine : torch.Tensor, shape (runs, T)
        The same for the cosines (pairs with a zero gradient count as cosine 0).
    final_weights : torch.Tensor, shape (runs, d)
    """

    steps: np.ndarray
    loss: torch.Tensor
    grad_sq: torch.Tensor
    min_inner: torch.Tensor
    mean_inner: torch.Tensor
    min_cosine: torch.Tensor
    mean_cosine: torch.Tensor
    final_weights: torch.Tensor

    @property
    def confusion(self) -> torch.Tensor:
        r""":math:`\zeta(\mathbf w_k) = \max(0, -\min_{i\ne j} h_{ij}(\mathbf w_k))`, (runs, T)."""
        return torch.clamp(-self.min_inner, min=0.0) + 0.0   # no -0.0


def _link(u: torch.Tensor, link: str) -> tuple[torch.Tensor, torch.Tensor]:
    if link == "identity":
        return u, torch.ones_like(u)
    t = torch.tanh(u)
    return t, 1.0 - t * t


def glm_sgd(X: torch.Tensor, y: torch.Tensor, w0: torch.Tensor, *, lr: float, steps: int,
            runs: int, generator: torch.Generator, link: str = "identity",
            record_every: int = 1, cosines: bool = True, confusion: bool = True) -> SGDRuns:
    r"""Independent single-sample SGD chains on :math:`f_i(\mathbf w)=\frac12(s(\mathbf x_i^\top
    \mathbf w)-y_i)^2`, with the gradient confusion recorded along the path.

    Each chain performs :math:`\mathbf w_{k+1} = \mathbf w_k - \eta\nabla f_{i_k}(\mathbf w_k)`
    with :math:`i_k` uniform on :math:`[n]`, drawn with replacement and independently across
    chains (eq. (2) of Sankararaman et al.). All chains start at ``w0``. At every
    ``record_every``-th iterate (and at :math:`k=0` and the last one) the function evaluates
    :math:`F`, :math:`\|\nabla F\|^2` and the Gram matrix :math:`h_{ij} = \chi_i\chi_j
    \langle\mathbf x_i,\mathbf x_j\rangle`, :math:`\chi_i = (s(u_i)-y_i)\,s'(u_i)`,
    :math:`u_i = \mathbf x_i^\top\mathbf w`, exactly (no per-example autograd needed).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs, floating; ``n >= 2``.
    y : torch.Tensor, shape (n,)
        Targets, same dtype and device as ``X``.
    w0 : torch.Tensor, shape (d,)
        Common starting point.
    lr : float
        Constant step size, positive.
    steps : int
        Number of SGD steps :math:`K \ge 1`.
    runs : int
        Number of independent chains (vectorised).
    generator : torch.Generator
        Source of the sampled indices (same device as ``X``).
    link : {"identity", "tanh"}
        :math:`s`: least squares, or the non-convex :math:`\tanh` regression used for
        Theorem 3.2.
    record_every : int, default 1
    cosines : bool, default True
        Record the cosine statistics; ``False`` fills them with NaN and saves about half of the
        recording cost (useful when recording every step).
    confusion : bool, default True
        Record the Gram statistics (``grad_sq``, ``min_inner``, ``mean_inner``); ``False``
        records only the loss (the rest is NaN) and makes each record O(runs * n) instead of
        O(runs * n^2): for experiments that only need :math:`\E F(\mathbf w_k)`.

    Returns
    -------
    SGDRuns

    References
    ----------
    Sankararaman et al., eq. (2) (SGD), Definition 2.1 (confusion), Theorems 3.1, 3.2, B.1 and
    Figure 1 (linear regression with SGD of minibatch size 1).

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> from helpers.gradient_confusion import glm_sgd
    >>> X = torch.eye(3, dtype=torch.float64)                    # orthonormal data: h_ij = 0
    >>> y = torch.ones(3, dtype=torch.float64)
    >>> out = glm_sgd(X, y, torch.zeros(3, dtype=torch.float64), lr=0.5, steps=4, runs=2,
    ...               generator=make_generator(0))
    >>> out.loss.shape, float(out.confusion.max()), round(float(out.loss[0, 0]), 3)
    (torch.Size([2, 5]), 0.0, 0.5)
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 rows (pairs i != j), got shape {tuple(X.shape)}")
    y = check_tensor(y, "y", shape=(n,), floating=True)
    w0 = check_tensor(w0, "w0", shape=(d,), floating=True)
    for name, t in (("y", y), ("w0", w0)):
        if t.dtype != X.dtype or t.device != X.device:
            raise ValueError(f"{name} must have the dtype and device of X ({X.dtype}, {X.device}),"
                             f" got {t.dtype}, {t.device}")
    lr = check_real(lr, "lr", minimum=0.0, strict_min=True)
    steps = check_int(steps, "steps", minimum=1)
    runs = check_int(runs, "runs", minimum=1)
    generator = check_generator(generator, device=X.device)
    link = check_choice(link, "link", ("identity", "tanh"))
    record_every = check_int(record_every, "record_every", minimum=1)
    if not isinstance(cosines, bool):
        raise TypeError(f"cosines must be a bool, got {cosines!r}")
    if not isinstance(confusion, bool):
        raise TypeError(f"confusion must be a bool, got {confusion!r}")
    cosines = cosines and confusion

    K = X @ X.T
    sq = K.diagonal().clamp(min=0.0)
    inf_diag = torch.diag(torch.full((n,), float("inf"), dtype=X.dtype, device=X.device))
    pairs = n * (n - 1)
    idx = torch.randint(n, (steps, runs), generator=generator, device=X.device)
    W = w0.expand(runs, d).clone()
    rec = {key: [] for key in ("loss", "grad_sq", "min_inner", "mean_inner", "min_cosine",
                               "mean_cosine")}
    kept = []

    def record(k: int) -> None:
        s, ds = _link(W @ X.T, link)                       # (runs, n)
        resid = s - y
        rec["loss"].append(0.5 * (resid * resid).mean(1))
        kept.append(k)
        if not confusion:
            for key in ("grad_sq", "min_inner", "mean_inner", "min_cosine", "mean_cosine"):
                rec[key].append(torch.full_like(rec["loss"][-1], float("nan")))
            return
        chi = resid * ds
        gram = chi[:, :, None] * chi[:, None, :] * K        # (runs, n, n)
        total = gram.sum((1, 2))
        rec["grad_sq"].append(total / n**2)
        rec["min_inner"].append((gram + inf_diag).amin((1, 2)))
        rec["mean_inner"].append((total - (chi * chi * sq).sum(1)) / pairs)
        if cosines:
            norms = chi.abs() * sq.sqrt()                    # gradient norms, (runs, n)
            denom = norms[:, :, None] * norms[:, None, :]
            cos = gram / torch.where(denom > 0, denom, 1.0)  # zero gradient -> cosine 0
            rec["min_cosine"].append((cos + inf_diag).amin((1, 2)))
            rec["mean_cosine"].append((cos.sum((1, 2)) - cos.diagonal(dim1=1, dim2=2).sum(1))
                                      / pairs)
        else:
            rec["min_cosine"].append(torch.full_like(total, float("nan")))
            rec["mean_cosine"].append(torch.full_like(total, float("nan")))

    record(0)
    for k in range(steps):
        xk = X[idx[k]]                                       # (runs, d)
        s, ds = _link((W * xk).sum(1), link)
        W -= lr * ((s - y[idx[k]]) * ds)[:, None] * xk
        if (k + 1) % record_every == 0 or k + 1 == steps:
            record(k + 1)
    if not bool(torch.isfinite(W).all()):
        raise FloatingPointError("SGD diverged (non-finite weights): reduce lr")
    stacked = {key: torch.stack(val, 1) for key, val in rec.items()}
    return SGDRuns(steps=np.asarray(kept), final_weights=W, **stacked)
