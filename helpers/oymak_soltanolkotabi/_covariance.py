r"""The neural-network covariance of Oymak & Soltanolkotabi, computed exactly.

For unit-norm inputs :math:`\mathbf x_1, \dots, \mathbf x_n` (rows of :math:`\mathbf X`) and
:math:`\mathbf w \sim \mathcal N(0, \mathbf I_d)`, the paper defines

* the **neural-network covariance** (Definition 6.1)
  :math:`\boldsymbol\Sigma(\mathbf X) = \mathbb E[(\phi'(\mathbf X\mathbf w)\phi'(\mathbf X
  \mathbf w)^\top) \odot (\mathbf X\mathbf X^\top)]` and :math:`\lambda(\mathbf X) =
  \lambda_{\min}(\boldsymbol\Sigma(\mathbf X))`: the expected Gram matrix of the Jacobian of the
  input layer, :math:`\mathbb E[\mathcal J(\mathbf W_0)\mathcal J(\mathbf W_0)^\top] =
  \|\mathbf v\|_2^2 \boldsymbol\Sigma(\mathbf X)` (eq. (A.1));
* the **output-feature covariance** (Definition 3.1)
  :math:`\widetilde{\boldsymbol\Sigma}(\mathbf X) = \mathbb E[\phi(\mathbf X\mathbf w)
  \phi(\mathbf X\mathbf w)^\top]` and :math:`\widetilde\lambda(\mathbf X)`: the random-features
  kernel of Section 3.

Both are entrywise functions of :math:`\rho_{ij} = \mathbf x_i^\top\mathbf x_j`, because
:math:`(\mathbf x_i^\top \mathbf w, \mathbf x_j^\top\mathbf w)` is a standard bivariate normal
pair with correlation :math:`\rho_{ij}`. Three exact routes are implemented:

``"closed"``
    ReLU (arc-cosine kernels, :math:`\theta = \arccos\rho`):
    :math:`\mathbb E[\mathbb 1\{u\ge 0\}\mathbb 1\{v \ge 0\}] = (\pi - \theta)/(2\pi)` and
    :math:`\mathbb E[\relu(u)\relu(v)] = (\sqrt{1-\rho^2} + (\pi-\theta)\rho)/(2\pi)`; the
    quadratic activation :math:`\phi(z) = z^2/2` (Lemma 6.4's reference case):
    :math:`\mathbb E[uv] = \rho`, :math:`\mathbb E[u^2v^2]/4 = (1 + 2\rho^2)/4`.
``"hermite"``
    Mehler's formula (Lemmas H.1 and H.2): :math:`\mathbb E[\psi(u)\psi(v)] = \sum_{r\ge0}
    \mu_r^2(\psi)\rho^r` with the Hermite coefficients :math:`\mu_r(\psi) = \mathbb E[\psi(g)
    h_r(g)]` of :func:`hermite_coefficients`, truncated at ``order``. Exact to machine
    precision for softplus at ``order=120``; for ReLU the step's coefficients decay only like
    :math:`\mu_r^2 \asymp r^{-3/2}`, so at :math:`|\rho| = 1` the truncation error is of order
    ``order ** -0.5`` (use ``"closed"``).
``"quadrature"``
    Two-dimensional Gauss--Hermite quadrature of :math:`\mathbb E[\psi(u)\psi(v)]` with
    :math:`v = \rho u + \sqrt{1-\rho^2}\, g'`; an independent check of the series.

Activations are named: ``"relu"``, ``"softplus"`` (:math:`\log(1+e^z)`, :math:`\phi' =`
sigmoid, the paper's smooth example) and ``"quadratic"`` (:math:`z^2/2`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import activations as _activations
from .._validate import check_choice, check_dtype, check_generator, check_int, check_tensor

__all__ = [
    "KERNEL_ACTIVATIONS",
    "ActivationConstants",
    "activation_constants",
    "hermite_coefficients",
    "nn_covariance",
    "output_covariance",
    "pattern_covariance",
    "min_eigenvalue",
    "jacobian_gram",
    "monte_carlo_nn_covariance",
    "monte_carlo_output_covariance",
    "khatri_rao",
    "hadamard_power_gram",
    "khatri_rao_sigma_min",
]

#: Activations with a closed-form (or Hermite-series) kernel here: the names of
#: :mod:`helpers.activations` that Oymak & Soltanolkotabi's examples use.
KERNEL_ACTIVATIONS = ("relu", "softplus", "quadratic")
_METHODS = ("auto", "closed", "hermite", "quadrature")


def _activation(name: object) -> _activations.Activation:
    """The registry entry of ``name``, restricted to :data:`KERNEL_ACTIVATIONS`."""
    return _activations.get(name, allowed=KERNEL_ACTIVATIONS)


# --------------------------------------------------------------------------- Hermite
def _orthonormal_hermite(x: np.ndarray, order: int) -> np.ndarray:
    """Rows h_0..h_order of the orthonormal probabilists' Hermite polynomials at x."""
    h = np.zeros((order + 1, x.size))
    h[0] = 1.0
    if order >= 1:
        h[1] = x
    for r in range(1, order):
        h[r + 1] = (x * h[r] - math.sqrt(r) * h[r - 1]) / math.sqrt(r + 1)
    return h


def _he_at_zero(m: int) -> float:
    """He_m(0): 0 for odd m, (-1)^{m/2} (m-1)!! for even m."""
    if m % 2:
        return 0.0
    out = 1.0
    for j in range(1, m, 2):
        out *= -j
    return out


def hermite_coefficients(activation: str, order: int, *, derivative: bool = False,
                         nodes: int = 300, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Hermite coefficients :math:`\mu_r(\psi) = \mathbb E[\psi(g) h_r(g)]` for
    :math:`r = 0, \dots, \text{order}`.

    :math:`h_r = He_r/\sqrt{r!}` are the orthonormal probabilists' Hermite polynomials and
    :math:`\psi = \phi` or :math:`\psi = \phi'` (``derivative=True``). Then
    :math:`\mu_\phi = \mathbb E[g\phi'(g)] = \mu_1(\phi')`, :math:`\tilde\mu_\phi =
    \mathbb E\phi'(g) = \mu_0(\phi')` and :math:`\gamma_\phi = \tfrac1{\sqrt2}\mathbb E[\phi(g)
    (g^2-1)] = \mu_2(\phi)`.

    ReLU and the quadratic are exact: for ReLU, repeated Stein identities give
    :math:`\mu_r(\mathbb 1\{\cdot\ge0\}) = \varphi(0) He_{r-1}(0)/\sqrt{r!}` (:math:`r\ge1`) and
    :math:`\mu_r(\relu) = \varphi(0) He_{r-2}(0)/\sqrt{r!}` (:math:`r\ge2`), with
    :math:`\varphi(0) = 1/\sqrt{2\pi}`. Softplus uses Gauss--Hermite quadrature with ``nodes``
    nodes and the stable three-term recurrence for :math:`h_r`.

    Parameters
    ----------
    activation : {"relu", "softplus", "quadratic"}
    order : int
        Highest index ``r`` (>= 0).
    derivative : bool, default False
        Coefficients of :math:`\phi'` instead of :math:`\phi`.
    nodes : int, default 300
        Quadrature nodes (softplus only; >= order + 2).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    torch.Tensor, shape (order + 1,)

    References
    ----------
    Oymak & Soltanolkotabi, Theorem 2.1 (:math:`\mu_\phi`), Lemma 6.4 (:math:`\tilde\mu_\phi`),
    Section 3 (:math:`\gamma_\phi`), Appendix H (Hermite expansions, Lemmas H.1 and H.2).

    Examples
    --------
    >>> from helpers.oymak_soltanolkotabi import hermite_coefficients
    >>> [round(c, 4) for c in hermite_coefficients("relu", 3, derivative=True).tolist()]
    [0.5, 0.3989, 0.0, -0.1629]
    >>> [round(c, 4) for c in hermite_coefficients("softplus", 2).tolist()]
    [0.8061, 0.5, 0.1461]
    """
    activation = _activation(activation).name
    order = check_int(order, "order", minimum=0)
    nodes = check_int(nodes, "nodes", minimum=order + 2)
    check_dtype(dtype)
    mu = np.zeros(order + 1)
    phi0 = 1.0 / math.sqrt(2.0 * math.pi)
    if activation == "relu":
        # He_{m+1}(0) = -m He_{m-1}(0): step (derivative) c_1 = phi0, c_{r+2} = -r c_r /
        # sqrt((r+1)(r+2)); relu c_2 = phi0/sqrt(2), c_{r+2} = -(r-1) c_r / sqrt((r+1)(r+2)).
        if derivative:
            mu[0] = 0.5
            first, shift = 1, 0
        else:
            mu[0] = phi0
            if order >= 1:
                mu[1] = 0.5
            first, shift = 2, 1
        if order >= first:
            mu[first] = phi0 / math.sqrt(math.factorial(first))
        for r in range(first, order - 1, 2):
            mu[r + 2] = -(r - shift) * mu[r] / math.sqrt((r + 1) * (r + 2))
    elif activation == "quadratic":
        if derivative:                       # phi'(z) = z = h_1
            if order >= 1:
                mu[1] = 1.0
        else:                                # z^2/2 = (h_0 + sqrt(2) h_2)/2
            mu[0] = 0.5
            if order >= 2:
                mu[2] = math.sqrt(2.0) / 2.0
    else:
        x, w = np.polynomial.hermite_e.hermegauss(nodes)
        w = w / w.sum()
        t = torch.from_numpy(x)
        f = (torch.sigmoid(t) if derivative else torch.nn.functional.softplus(t)).numpy()
        mu = _orthonormal_hermite(x, order) @ (w * f)
    return torch.tensor(mu, dtype=dtype)


@dataclass(frozen=True)
class ActivationConstants:
    r"""The scalar constants of an activation used by Oymak & Soltanolkotabi.

    Attributes
    ----------
    mu : float
        :math:`\mu_\phi = \mathbb E[g\phi'(g)]` (Theorem 2.1).
    mu_tilde : float
        :math:`\tilde\mu_\phi = \mathbb E[\phi'(g)]` (Lemma 6.4).
    gamma : float
        :math:`\gamma_\phi = \mathbb E[\phi(g)(g^2-1)]/\sqrt2` (Section 3).
    dphi_second_moment : float
        :math:`\mathbb E[\phi'(g)^2]`, the diagonal of :math:`\boldsymbol\Sigma(\mathbf X)` and an
        upper bound on :math:`\lambda(\mathbf X)` (eq. (6.16)).
    phi_mean : float
        :math:`\mathbb E[\phi(g)]`.
    phi_variance : float
        :math:`\mathrm{Var}\,\phi(g)` (Lemma 6.12).
    B : float
        :math:`\sup|\phi'|` (and :math:`\sup|\phi''|` for smooth activations); ``inf`` for the
        quadratic.
    """

    mu: float
    mu_tilde: float
    gamma: float
    dphi_second_moment: float
    phi_mean: float
    phi_variance: float
    B: float


def activation_constants(activation: str) -> ActivationConstants:
    r"""Return :math:`\mu_\phi, \tilde\mu_\phi, \gamma_\phi, \mathbb E\phi'(g)^2, \mathbb E\phi,
    \mathrm{Var}\,\phi` and :math:`B` for a named activation.

    Exact for ReLU (:math:`\mu = 1/\sqrt{2\pi}`, :math:`\mathrm{Var}\,\phi = 1/2 - 1/(2\pi)`) and
    the quadratic; Gauss--Hermite quadrature (300 nodes) for softplus.

    Parameters
    ----------
    activation : {"relu", "softplus", "quadratic"}

    Returns
    -------
    ActivationConstants

    References
    ----------
    Oymak & Soltanolkotabi, Theorem 2.1, Lemma 6.4, Section 3, Lemma 6.12, Appendix E
    (:math:`\mu_\phi \approx 0.207` for softplus).

    Examples
    --------
    >>> from helpers.oymak_soltanolkotabi import activation_constants
    >>> c = activation_constants("softplus")
    >>> round(c.mu, 4), round(c.mu_tilde, 4), round(c.gamma, 4), c.B
    (0.2066, 0.5, 0.1461, 1.0)
    >>> round(activation_constants("relu").mu ** 2, 4)   # 1 / (2 pi)
    0.1592
    """
    activation = _activation(activation).name
    order = 120
    d = hermite_coefficients(activation, order, derivative=True)
    f = hermite_coefficients(activation, order)
    if activation == "softplus":
        x, w = np.polynomial.hermite_e.hermegauss(300)
        w = w / w.sum()
        s = 1.0 / (1.0 + np.exp(-x))
        sp = np.logaddexp(0.0, x)
        second = float(w @ s**2)
        mean = float(w @ sp)
        var = float(w @ sp**2) - mean**2
        B = 1.0
    elif activation == "relu":
        second, mean, var, B = 0.5, 1 / math.sqrt(2 * math.pi), 0.5 - 1 / (2 * math.pi), 1.0
    else:
        second, mean, var, B = 1.0, 0.5, 0.5, math.inf
    return ActivationConstants(mu=float(d[1]), mu_tilde=float(d[0]), gamma=float(f[2]),
                               dphi_second_moment=second, phi_mean=mean, phi_variance=var, B=B)


# --------------------------------------------------------------------------- kernels
def _check_X(X: object) -> torch.Tensor:
    X = check_tensor(X, "X", ndim=2, floating=True)
    norms = X.norm(dim=1)
    tol = 1e-6 if X.dtype == torch.float64 else 1e-3
    if not bool(torch.all((norms - 1).abs() <= tol)):
        worst = float((norms - 1).abs().max())
        raise ValueError("X must have unit-norm rows (the paper's normalisation ||x_i|| = 1);"
                         f" the largest deviation of a row norm from 1 is {worst:.3g}")
    return X


def _correlations(X: torch.Tensor) -> torch.Tensor:
    return (X @ X.T).clamp(-1.0, 1.0)


def _series(rho: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """sum_r mu_r^2 rho^r by Horner's rule."""
    mu2 = (mu**2).to(rho)
    out = torch.zeros_like(rho)
    for c in reversed(mu2.tolist()):
        out = out * rho + c
    return out


def _quadrature(rho: torch.Tensor, psi, nodes: int) -> torch.Tensor:
    """E[psi(u) psi(rho u + sqrt(1-rho^2) g)] by 2-D Gauss-Hermite quadrature, chunked."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    t = torch.from_numpy(x).to(rho)
    w = torch.from_numpy(w / w.sum()).to(rho)
    flat = rho.reshape(-1)
    out = torch.empty_like(flat)
    s = (1 - flat**2).clamp(min=0).sqrt()
    pu = psi(t)                                                 # (N,)
    chunk = max(1, 2_000_000 // (nodes * nodes))
    for a in range(0, flat.numel(), chunk):
        r, q = flat[a:a + chunk, None, None], s[a:a + chunk, None, None]
        v = r * t[None, :, None] + q * t[None, None, :]         # (c, N, N)
        inner = psi(v) @ w                                      # (c, N)
        out[a:a + chunk] = inner @ (w * pu)
    return out.reshape(rho.shape)


def _kernel(X, activation, method, order, nodes, derivative: bool) -> torch.Tensor:
    activation = _activation(activation).name
    method = check_choice(method, "method", _METHODS)
    order = check_int(order, "order", minimum=0)
    nodes = check_int(nodes, "nodes", minimum=2)
    X = _check_X(X)
    rho = _correlations(X)
    if method == "auto":
        method = "closed" if activation in ("relu", "quadratic") else "hermite"
    if method == "closed":
        if activation == "softplus":
            raise ValueError("method='closed' exists for activation 'relu' and 'quadratic' only;"
                             " use method='hermite' or 'quadrature' for 'softplus'")
        if activation == "relu":
            theta = torch.arccos(rho)
            if derivative:
                return (math.pi - theta) / (2 * math.pi)
            return ((1 - rho**2).clamp(min=0).sqrt() + (math.pi - theta) * rho) / (2 * math.pi)
        return rho.clone() if derivative else (1 + 2 * rho**2) / 4
    if method == "hermite":
        mu = hermite_coefficients(activation, order, derivative=derivative, nodes=max(
            300, order + 2))
        return _series(rho, mu)
    psi = (_activation(activation).derivative if derivative else _activation(activation).fn)
    return _quadrature(rho, psi, nodes)


def nn_covariance(X: torch.Tensor, activation: str, *, method: str = "auto", order: int = 120,
                  nodes: int = 64) -> torch.Tensor:
    r"""Neural-network covariance :math:`\boldsymbol\Sigma(\mathbf X) = \mathbb E[(\phi'(\mathbf X
    \mathbf w)\phi'(\mathbf X\mathbf w)^\top)\odot\mathbf X\mathbf X^\top]` (Definition 6.1).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    activation : {"relu", "softplus", "quadratic"}
    method : {"auto", "closed", "hermite", "quadrature"}, default "auto"
        See the module docstring; ``"auto"`` is closed form for ReLU and the quadratic and the
        Hermite series for softplus.
    order : int, default 120
        Truncation of the Hermite series (``method="hermite"``).
    nodes : int, default 64
        Gauss--Hermite nodes per dimension (``method="quadrature"``).

    Returns
    -------
    torch.Tensor, shape (n, n)
        Symmetric positive semi-definite, diagonal :math:`\mathbb E\phi'(g)^2`; dtype and device
        of ``X``.

    References
    ----------
    Oymak & Soltanolkotabi, Definition 6.1; eq. (A.1) :math:`\mathbb E[\mathcal J(\mathbf W_0)
    \mathcal J(\mathbf W_0)^\top] = \|\mathbf v\|_2^2\boldsymbol\Sigma(\mathbf X)`; Lemma H.1.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import nn_covariance
    >>> X = torch.eye(2, dtype=torch.float64)         # orthogonal inputs
    >>> nn_covariance(X, "relu")                      # diag = E[1{g>=0}] = 1/2
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]], dtype=torch.float64)
    """
    K = _kernel(X, activation, method, order, nodes, derivative=True)
    return K * (X @ X.T)


def output_covariance(X: torch.Tensor, activation: str, *, method: str = "auto",
                      order: int = 120, nodes: int = 64) -> torch.Tensor:
    r"""Output-feature covariance :math:`\widetilde{\boldsymbol\Sigma}(\mathbf X) =
    \mathbb E[\phi(\mathbf X\mathbf w)\phi(\mathbf X\mathbf w)^\top]` (Definition 3.1).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    activation : {"relu", "softplus", "quadratic"}
    method, order, nodes
        As in :func:`nn_covariance`.

    Returns
    -------
    torch.Tensor, shape (n, n)
        The random-features kernel; for ReLU the degree-1 arc-cosine kernel divided by 2.

    References
    ----------
    Oymak & Soltanolkotabi, Definition 3.1, Theorem 3.2, Lemma H.2.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import output_covariance
    >>> X = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    >>> output_covariance(X, "relu")         # E relu(g)^2 = 1/2, relu(g) relu(-g) = 0
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]], dtype=torch.float64)
    """
    return _kernel(X, activation, method, order, nodes, derivative=False)


def pattern_covariance(X: torch.Tensor) -> torch.Tensor:
    r"""Covariance of ReLU activation patterns :math:`\mathbb E[\mathcal I(\mathbf X\mathbf w)
    \mathcal I(\mathbf X\mathbf w)^\top]`, :math:`\mathcal I(z) = \mathbb 1\{z\ge0\}`.

    Entry :math:`(i, j)` is :math:`(\pi - \arccos\rho_{ij})/(2\pi)`. Theorem I.1 bounds its
    smallest eigenvalue below by :math:`\delta/(100 n^2)` for :math:`\delta`-separated data.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.

    Returns
    -------
    torch.Tensor, shape (n, n)

    References
    ----------
    Oymak & Soltanolkotabi, Theorem I.1 and Corollary I.2.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import pattern_covariance
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> pattern_covariance(X)          # orthogonal: (pi - pi/2) / (2 pi) = 1/4 off the diagonal
    tensor([[0.5000, 0.2500],
            [0.2500, 0.5000]], dtype=torch.float64)
    """
    return _kernel(X, "relu", "closed", 0, 2, derivative=True)


def min_eigenvalue(S: torch.Tensor) -> float:
    r"""Smallest eigenvalue of a symmetric matrix, e.g. :math:`\lambda(\mathbf X) =
    \lambda_{\min}(\boldsymbol\Sigma(\mathbf X))`.

    The matrix is symmetrised (:math:`(\mathbf S + \mathbf S^\top)/2`) before
    ``torch.linalg.eigvalsh``.

    Parameters
    ----------
    S : torch.Tensor, shape (n, n)

    Returns
    -------
    float

    References
    ----------
    Oymak & Soltanolkotabi, Definitions 3.1 and 6.1.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import min_eigenvalue
    >>> min_eigenvalue(torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64))
    1.0
    """
    S = check_tensor(S, "S", ndim=2, floating=True)
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"S must be square, got shape {tuple(S.shape)}")
    return float(torch.linalg.eigvalsh(0.5 * (S + S.T))[0])


# --------------------------------------------------------------------------- Jacobians
def jacobian_gram(X: torch.Tensor, W: torch.Tensor, v: torch.Tensor,
                  activation: str) -> torch.Tensor:
    r"""Gram matrix of the input-layer Jacobian, :math:`\mathcal J(\mathbf W)\mathcal J(\mathbf
    W)^\top = (\phi'(\mathbf X\mathbf W^\top)\,\mathrm{diag}(\mathbf v)^2\,\phi'(\mathbf W
    \mathbf X^\top)) \odot \mathbf X\mathbf X^\top`.

    Costs :math:`O(n^2 k + nkd)` and never forms the :math:`n\times kd` Jacobian.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs (any norms).
    W : torch.Tensor, shape (k, d)
        Input-layer weights.
    v : torch.Tensor, shape (k,)
        Output weights.
    activation : {"relu", "softplus", "quadratic"}

    Returns
    -------
    torch.Tensor, shape (n, n)

    References
    ----------
    Oymak & Soltanolkotabi, Section 6.1 (the Jacobian :math:`\mathcal J(\mathbf W)`, eq. (6.1))
    and Appendix A.1.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import jacobian_gram
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> W = torch.tensor([[1.0, 1.0], [-1.0, 1.0]], dtype=torch.float64)
    >>> v = torch.tensor([1.0, -1.0], dtype=torch.float64)
    >>> jacobian_gram(X, W, v, "relu")     # unit 1 active on x_1, x_2; unit 2 on x_2 only
    tensor([[1., 0.],
            [0., 2.]], dtype=torch.float64)
    """
    activation = _activation(activation).name
    X = check_tensor(X, "X", ndim=2, floating=True)
    W = check_tensor(W, "W", ndim=2, floating=True, shape=(None, X.shape[1]))
    v = check_tensor(v, "v", ndim=1, floating=True, shape=(W.shape[0],))
    D = _activation(activation).derivative(X @ W.T) * v                    # (n, k)
    return (D @ D.T) * (X @ X.T)


def monte_carlo_nn_covariance(X: torch.Tensor, activation: str, *, samples: int,
                              generator: torch.Generator) -> torch.Tensor:
    r"""Monte-Carlo estimate :math:`\frac1k\mathcal J(\mathbf W_0)\mathcal J(\mathbf W_0)^\top`
    of :math:`\boldsymbol\Sigma(\mathbf X)` with :math:`|v_\ell| = 1` and ``samples`` = k rows
    :math:`\mathbf w_\ell \sim \mathcal N(0,\mathbf I_d)`.

    Unbiased; every entry has standard deviation at most :math:`\sqrt{\mathrm{Var}/k}` with
    :math:`\mathrm{Var}\le \mathbb E\phi'(g)^4`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    activation : {"relu", "softplus", "quadratic"}
    samples : int
        Number k of Gaussian rows.
    generator : torch.Generator
        Source of the rows (on the device of ``X``).

    Returns
    -------
    torch.Tensor, shape (n, n)

    References
    ----------
    Oymak & Soltanolkotabi, Definition 6.1 ("if :math:`|v_\ell| = 1`, :math:`\boldsymbol\Sigma =
    \frac1k\mathbb E\mathcal J\mathcal J^\top`").

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> from helpers.oymak_soltanolkotabi import monte_carlo_nn_covariance, nn_covariance
    >>> X = torch.eye(3, dtype=torch.float64)
    >>> S = monte_carlo_nn_covariance(X, "relu", samples=20000, generator=make_generator(0))
    >>> bool((S - nn_covariance(X, "relu")).abs().max() < 0.02)
    True
    """
    X = _check_X(X)
    activation = _activation(activation).name
    samples = check_int(samples, "samples", minimum=1)
    check_generator(generator, device=X.device)
    W = torch.randn(samples, X.shape[1], generator=generator, dtype=X.dtype, device=X.device)
    v = torch.ones(samples, dtype=X.dtype, device=X.device)
    return jacobian_gram(X, W, v, activation) / samples


def monte_carlo_output_covariance(X: torch.Tensor, activation: str, *, samples: int,
                                  generator: torch.Generator) -> torch.Tensor:
    r"""Monte-Carlo estimate :math:`\frac1k\boldsymbol\Phi\boldsymbol\Phi^\top` of
    :math:`\widetilde{\boldsymbol\Sigma}(\mathbf X)`, :math:`\boldsymbol\Phi = \phi(\mathbf X
    \mathbf W^\top)` with k = ``samples`` Gaussian rows.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    activation : {"relu", "softplus", "quadratic"}
    samples : int
    generator : torch.Generator

    Returns
    -------
    torch.Tensor, shape (n, n)

    References
    ----------
    Oymak & Soltanolkotabi, Definition 3.1 and Theorem 3.2 (:math:`\mathbb E\boldsymbol\Phi
    \boldsymbol\Phi^\top = k\widetilde{\boldsymbol\Sigma}`).

    Examples
    --------
    >>> import torch
    >>> from helpers.rng import make_generator
    >>> from helpers.oymak_soltanolkotabi import monte_carlo_output_covariance
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> S = monte_carlo_output_covariance(X, "relu", samples=40000, generator=make_generator(1))
    >>> round(float(S[0, 0]), 1), round(float(S[0, 1]), 2)     # 1/2 and 1/(2 pi)
    (0.5, 0.16)
    """
    X = _check_X(X)
    activation = _activation(activation).name
    samples = check_int(samples, "samples", minimum=1)
    check_generator(generator, device=X.device)
    W = torch.randn(samples, X.shape[1], generator=generator, dtype=X.dtype, device=X.device)
    Phi = _activation(activation).fn(X @ W.T)
    return Phi @ Phi.T / samples


# --------------------------------------------------------------------------- Khatri-Rao
def khatri_rao(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    r"""Row-wise Khatri--Rao product :math:`\mathbf A * \mathbf B`, row :math:`i` equal to
    :math:`\mathbf a_i \otimes \mathbf b_i`.

    Satisfies :math:`(\mathbf A * \mathbf B)(\mathbf A * \mathbf B)^\top = (\mathbf A\mathbf
    A^\top)\odot(\mathbf B\mathbf B^\top)`.

    Parameters
    ----------
    A : torch.Tensor, shape (p, m)
    B : torch.Tensor, shape (p, q)

    Returns
    -------
    torch.Tensor, shape (p, m q)

    References
    ----------
    Oymak & Soltanolkotabi, Section 1.1 (notation; the printed definition concatenates the rows
    horizontally, they must be stacked) and Lemma 6.4.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import khatri_rao
    >>> A = torch.tensor([[1.0, 2.0]])
    >>> khatri_rao(A, A)
    tensor([[1., 2., 2., 4.]])
    """
    A = check_tensor(A, "A", ndim=2)
    B = check_tensor(B, "B", ndim=2)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A and B must have the same number of rows, got {A.shape[0]} and"
                         f" {B.shape[0]}")
    return (A[:, :, None] * B[:, None, :]).reshape(A.shape[0], -1)


def hadamard_power_gram(X: torch.Tensor, r: int) -> torch.Tensor:
    r"""The Gram matrix of the r-fold Khatri--Rao power, :math:`\mathbf X^{*r}(\mathbf X^{*r})^\top
    = (\mathbf X\mathbf X^\top)^{\odot r}` (with :math:`\mathbf A^{\odot 0} = \mathbf 1\mathbf
    1^\top`).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    r : int
        Power (>= 0).

    Returns
    -------
    torch.Tensor, shape (n, n)

    References
    ----------
    Oymak & Soltanolkotabi, Lemma 6.4 and Appendix H.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import hadamard_power_gram
    >>> X = torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)
    >>> hadamard_power_gram(X, 2)
    tensor([[1.0000, 0.3600],
            [0.3600, 1.0000]], dtype=torch.float64)
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    r = check_int(r, "r", minimum=0)
    return (X @ X.T) ** r


def khatri_rao_sigma_min(X: torch.Tensor, r: int = 2) -> float:
    r""":math:`\sigma_{\min}(\mathbf X^{*r}) = \sqrt{\lambda_{\min}((\mathbf X\mathbf
    X^\top)^{\odot r})}`, the smallest of the n singular values of the :math:`n\times d^r`
    matrix (zero when it is rank deficient).

    The rows :math:`\mathbf x_i^{\otimes r}` lie in the symmetric tensors, of dimension
    :math:`\binom{d+r-1}{r}`; so :math:`\sigma_{\min}(\mathbf X * \mathbf X) = 0` as soon as
    :math:`n > d(d+1)/2`, where Theorems 2.1 and 2.3 become vacuous. Negative round-off
    eigenvalues are clipped to 0.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    r : int, default 2

    Returns
    -------
    float

    References
    ----------
    Oymak & Soltanolkotabi, Theorems 2.1 and 2.3 (:math:`\kappa(\mathbf X)`), Lemma 6.4,
    Appendix H.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import khatri_rao_sigma_min
    >>> X = torch.eye(3, dtype=torch.float64)
    >>> khatri_rao_sigma_min(X, 2)
    1.0
    """
    G = hadamard_power_gram(X, r)
    lam = float(torch.linalg.eigvalsh(0.5 * (G + G.T))[0])
    return math.sqrt(max(lam, 0.0))
