"""Part III: moderate overparameterization of shallow networks (Oymak & Soltanolkotabi).

* the neural-network covariance and its eigenvalue -- :func:`nn_covariance` (Σ(X), eq. (2.2)),
  :func:`output_covariance` (Σ̃(X)), :func:`pattern_covariance`, :func:`min_eigenvalue`
  (λ(X)), :func:`jacobian_gram`, their Monte Carlo versions, the Hermite coefficients and the
  activation constants of Section 2 (:func:`hermite_coefficients`,
  :func:`activation_constants`), and the Khatri-Rao tools of Lemma 6.4
  (:func:`khatri_rao`, :func:`hadamard_power_gram`, :func:`khatri_rao_sigma_min`);
* the phase transitions of Figure 2 and the SGD of Theorem 2.6 -- :func:`phase_panel` (with
  its audited shortcuts for settled runs), :func:`fit_boundary` (the 50% contour in units of
  :math:`kd/n`, with its standard error), and the batched engines :func:`gd_batched`,
  :func:`sgd_batched` (with :func:`oymak_output_weights`);
* the Jacobian through activation patterns (Section 6.1, Lemma C.1, Definition G.2) --
  :func:`pattern_gram`, :func:`pattern_singular_values`, :func:`pattern_transpose`,
  :func:`relu_average_pattern`;
* the GD path and what the proofs measure along it (Theorems 2.1, 6.10, 6.13, Appendix G) --
  :func:`gd_path` (:class:`GDPath`), :func:`path_constants` (:class:`PathConstants`),
  :func:`relu_gd_diagnostics`, :func:`gd_width_sweep` (:class:`WidthSweep`),
  :func:`linearised_rates`;
* lower bounds on λ(X) (Lemma 6.4, Lemma H.1, Theorem I.1 / Corollary I.2) --
  :func:`lambda_lower_bounds` (:class:`LambdaBounds`), :func:`close_pair_eigenvalues`;
* ReLU activation flips (Lemmas C.1-C.3, 6.9) -- :func:`relu_perturbation_sweep`,
  :func:`c2_radius_flips`, :func:`order_statistics`;
* the Jacobian at initialisation (Lemmas 6.6, 6.7, 6.12, matrix Chernoff A.1) --
  :func:`initial_jacobian_draws`, :func:`relu_chernoff_ratios`, :func:`matrix_chernoff_bound`;
* success against parameters per example (Section 4) -- :func:`success_by_parameter_ratio`
  (:class:`RatioTable`), :func:`random_label_fits`.

Activations come from :mod:`helpers.activations`; those with a closed-form kernel here are
:data:`KERNEL_ACTIVATIONS`.

Implementation modules (private): ``_covariance``, ``_phase_transition``, ``_pattern_jacobian``,
``_gd_path``, ``_lambda_bounds``, ``_initial_jacobian``, ``_flips``, ``_parameter_ratio``.

Examples
--------
>>> import torch
>>> from helpers import oymak_soltanolkotabi
>>> X = torch.eye(3, dtype=torch.float64)                 # orthonormal inputs
>>> S = oymak_soltanolkotabi.nn_covariance(X, "relu")      # E[phi'(Xw) phi'(Xw)^T] * XX^T
>>> torch.allclose(S, torch.eye(3, dtype=torch.float64) / 2)
True
"""

from ._covariance import (
    KERNEL_ACTIVATIONS,
    ActivationConstants,
    activation_constants,
    hadamard_power_gram,
    hermite_coefficients,
    jacobian_gram,
    khatri_rao,
    khatri_rao_sigma_min,
    min_eigenvalue,
    monte_carlo_nn_covariance,
    monte_carlo_output_covariance,
    nn_covariance,
    output_covariance,
    pattern_covariance,
)
from ._flips import c2_radius_flips, order_statistics, relu_perturbation_sweep
from ._gd_path import (
    GDPath,
    PathConstants,
    WidthSweep,
    gd_path,
    gd_width_sweep,
    linearised_rates,
    path_constants,
    relu_gd_diagnostics,
)
from ._initial_jacobian import initial_jacobian_draws, matrix_chernoff_bound, relu_chernoff_ratios
from ._lambda_bounds import LambdaBounds, close_pair_eigenvalues, lambda_lower_bounds
from ._parameter_ratio import RatioTable, random_label_fits, success_by_parameter_ratio
from ._pattern_jacobian import (
    pattern_gram,
    pattern_singular_values,
    pattern_transpose,
    relu_average_pattern,
)
from ._phase_transition import (
    GIVE_UP_WINDOW,
    BoundaryFit,
    GDResult,
    PhasePanel,
    fit_boundary,
    gd_batched,
    oymak_output_weights,
    phase_panel,
    sgd_batched,
)

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
    "oymak_output_weights",
    "GDResult",
    "GIVE_UP_WINDOW",
    "gd_batched",
    "sgd_batched",
    "PhasePanel",
    "phase_panel",
    "BoundaryFit",
    "fit_boundary",
    "pattern_gram",
    "pattern_singular_values",
    "pattern_transpose",
    "relu_average_pattern",
    "GDPath",
    "gd_path",
    "PathConstants",
    "path_constants",
    "relu_gd_diagnostics",
    "WidthSweep",
    "gd_width_sweep",
    "linearised_rates",
    "LambdaBounds",
    "lambda_lower_bounds",
    "close_pair_eigenvalues",
    "relu_perturbation_sweep",
    "c2_radius_flips",
    "order_statistics",
    "initial_jacobian_draws",
    "relu_chernoff_ratios",
    "matrix_chernoff_bound",
    "RatioTable",
    "success_by_parameter_ratio",
    "random_label_fits",
]
