r"""Mean-field theory of networks of leaky integrate-and-fire neurons.

Serial, numpy/scipy only; imports nothing from the simulator engine, the
communication layer or MPI.  Units: ms, mV, pA, pF, spikes/s (frequencies in Hz).
Potentials are relative to the resting potential E_L.

Input statistics (diffusion approximation, population i, sources j)::

    mu_i      = 1e-3 tau_m (sum_j K_ij J_ij nu_j + K_ext,i J_ext,i nu_ext) + tau_m I_e,i / C_m
    sigma_i^2 = 1e-3 tau_m (sum_j K_ij J_ij^2 nu_j + K_ext,i J_ext,i^2 nu_ext)

J in mV: the PSP jump for delta synapses, ``w tau_s / C_m`` for exponential
current synapses of amplitude w (pA).

Stationary rate (Siegert), y_th = (V_th - mu)/sigma, y_r = (V_reset - mu)/sigma::

    1/nu = t_ref + tau_m sqrt(pi) Int_{y_r}^{y_th} exp(u^2)(1 + erf(u)) du
         = t_ref + tau_m sqrt(pi) Int_{y_r}^{y_th} erfcx(-u) du

evaluated with scaled functions (erfcx, Dawson) so that it stays finite for
any input.  Exponential synapses (Fourcaud & Brunel 2002): both bounds are
shifted by ``sqrt(tau_s/tau_m) |zeta(1/2)| / sqrt(2)``.

Self-consistency nu = Phi(mu(nu), sigma(nu)), solved by the pseudo-time
dynamics ``tau dnu/dt = -nu + Phi`` (Hahne et al. 2017, eq. 30) or a root
finder; ``fixed_points`` reports every distinct solution with its stability.

Linear response ('shift' transfer function, Schuecker et al. 2015)::

    H_i(w) = sqrt(2)/sigma_i nu_i/(1 + i w tau_m) * [Psi'(z,x_th) - Psi'(z,x_r)]
             / [Psi(z,x_th) - Psi(z,x_r)] / (1 + i w tau_s)
    z = -1/2 + i w tau_m,  x = sqrt(2) * shifted reduced bound,
    Psi(z,x) = e^{x^2/4} U(z,-x),  Psi'(z,x) = (1/2 + z) Psi(z+1,x)

    D_ij(w)  = E[exp(-i w d_ij)]   (fixed, gaussian or truncated-gaussian delays)
    W_ij(w)  = 1e-3 tau_m J_ij K_ij H_i(w) D_ij(w)             (effective connectivity)
    P_i(w)   = [(1 - W)^-1 diag(nu/N) (1 - W)^-H]_ii             (rate power spectra)

Further tools of NNMT (Layer et al. 2022), each in its module: eigenmodes of W and their
sensitivity measure (``sensitivity``, Bos et al. 2016), static coupling, spectral bound,
low-pass rate-model fit and the Lambert-W characteristic equation of a network with one
constant delay (``stability``), ISI CVs, pairwise covariances and the external rates for a
chosen working point (``statistics``), spectra as a binned spike analysis measures them
(``spectra``).

Array-level functions (underscored, in the submodules) take plain arrays;
the public functions below take the dicts of
``distsim.networks.microcircuit_params.derive()`` /
``distsim.networks.brunel_params.derive()``.
"""

from .inputs import input_statistics, network_arrays, psc_to_mV
from .linear import delay_kernel, effective_connectivity, power_spectra, transfer_function
from .rates import firing_rates, fixed_points, working_point
from .sensitivity import eigenvalue_trajectories, sensitivity_measure
from .siegert import ALPHA, colored_noise_shift, siegert
from .spectra import binned_power_spectra, closest_to_instability, one_sided_power_spectra
from .stability import (fit_transfer_function, lambertw_eigenvalues, linear_stability, spectral_bound,
                        static_effective_connectivity)
from .statistics import cvs, external_rates_for_fixed_input, pairwise_covariances

__all__ = [
    "ALPHA",
    "binned_power_spectra",
    "closest_to_instability",
    "colored_noise_shift",
    "cvs",
    "delay_kernel",
    "effective_connectivity",
    "eigenvalue_trajectories",
    "external_rates_for_fixed_input",
    "firing_rates",
    "fit_transfer_function",
    "fixed_points",
    "input_statistics",
    "lambertw_eigenvalues",
    "linear_stability",
    "network_arrays",
    "one_sided_power_spectra",
    "pairwise_covariances",
    "power_spectra",
    "psc_to_mV",
    "sensitivity_measure",
    "siegert",
    "spectral_bound",
    "static_effective_connectivity",
    "transfer_function",
    "working_point",
]
