"""Linear stability of a spatially structured network (Senk et al. 2020; NNMT paper Fig. 9).

The spiking network is mapped to a rate model by fitting the LIF transfer function with a
low-pass filter ``h0 / (1 + i omega tau_rate)`` (the fit of :mod:`.stability`); its weights are
``W_rate[i, j] = h0_i tau_m J_ij K_ij`` (dimensionless). With a spatial profile of Fourier
transform ``ft_j(k)`` per source population and one delay ``d``, a perturbation
``exp(lambda t + i k x)`` grows when ``Re lambda > 0``, where ``lambda`` solves the
characteristic equation ``(1 + lambda tau) exp(lambda d) = c(k)`` with ``c(k)`` the
eigenvalue of largest modulus of ``W_rate * ft(k)``, in closed form through the branches B
of the Lambert W function::

    lambda_B(k) = -1/tau + W_B(c(k) d/tau exp(d/tau)) / d

Units: tau and d in s, lambda in 1/s, k in 1/(length unit of the widths).

The Lambert W solution and the fit are :mod:`.stability`'s; this module adds the spatial
part (boxcar transform, leading eigenvalue per wavenumber, most unstable mode).
"""
import numpy as np

from .stability import lambertw_eigenvalues


def boxcar_ft(k, width):
    """Fourier transform sin(k w)/(k w) (1 at k = 0) of a normalised boxcar of half width
    ``width`` at wavenumbers ``k`` (broadcast; k in 1/length, width in length)."""
    x = np.asarray(k, dtype=float) * np.asarray(width, dtype=float)
    return np.sinc(x / np.pi)


def leading_eigenvalue(M):
    """The eigenvalue of largest modulus of each matrix ``M[..., n, n]`` (complex)."""
    ev = np.linalg.eigvals(np.asarray(M))
    idx = np.argmax(np.abs(ev), axis=-1)
    return np.take_along_axis(ev, idx[..., None], axis=-1)[..., 0]


def ring_eigenvalues(W_rate, tau_s, delay_s, widths, k, branches=(-1, 0, 1)):
    """lambda (1/s, complex [len(branches), len(k)]) of a rate model with weights ``W_rate``
    (targets x sources), time constant ``tau_s`` and delay ``delay_s`` (s), boxcar half
    widths ``widths`` per source population, at wavenumbers ``k`` (1/length)."""
    k = np.atleast_1d(np.asarray(k, dtype=float))
    ft = boxcar_ft(k[:, None], np.asarray(widths, dtype=float)[None, :])  # [k, source]
    c = leading_eigenvalue(np.asarray(W_rate, dtype=float)[None, :, :] * ft[:, None, :])
    return 1e3 * lambertw_eigenvalues(c, delay_s * 1e3, tau_s * 1e3, branches)


def most_unstable(k, lam):
    """(k, lambda) of the eigenvalue with the largest real part in ``lam[branch, k]``."""
    b, i = np.unravel_index(np.argmax(lam.real), lam.shape)
    return float(np.asarray(k)[i]), complex(lam[b, i])


def ring_rate_model(mu, sigma, neuron, J_mV, K, freqs_Hz=np.arange(1.0, 200.0)):
    """Rate model of LIF populations at working point (mu, sigma) (mV, from E_L):
    (tau_rate s, W_rate [targets x sources], transfer function H [freqs, pops] in
    spikes/s per mV). ``neuron``: NEST iaf_psc_exp parameters of every population,
    ``J_mV`` [targets x sources] charge-equivalent weights, ``K`` in-degrees; the fit runs
    over ``freqs_Hz`` (default 1-199 Hz, NNMT's Senk2020 analysis frequencies)."""
    from .linear import _transfer_function_shift
    from .stability import _fit_transfer_function

    n = np.shape(K)[0]
    H = _transfer_function_shift(np.full(n, mu), np.full(n, sigma), neuron["tau_m"], neuron["tau_syn_ex"],
                                 neuron["t_ref"], neuron["V_th"] - neuron["E_L"],
                                 neuron["V_reset"] - neuron["E_L"], np.asarray(freqs_Hz, dtype=float))
    _, tau_ms, h0, _ = _fit_transfer_function(H, freqs_Hz)
    tau = tau_ms * 1e-3
    W = h0[:, None] * neuron["tau_m"] * 1e-3 * np.asarray(J_mV) * np.asarray(K)
    return tau, W, H
