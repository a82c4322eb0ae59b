"""Pure numba kernels: arrays and scalars in, arrays out; no MPI, no I/O, no objects."""
