"""Communication: the only place that touches MPI.

``get_comm()`` returns an :class:`MPIComm` when mpi4py is importable (under ``mpirun`` or
``srun``, or a singleton MPI process), else a :class:`SerialComm` with the same interface.
Every rank calls every collective in the same order, even with nothing to send.
"""
from .serial import SerialComm


def get_comm(serial=False):
    """The communicator for this process: MPIComm over COMM_WORLD, or SerialComm."""
    if serial:
        return SerialComm()
    try:
        from .mpi import MPIComm
    except ImportError:
        return SerialComm()
    return MPIComm()


__all__ = ["get_comm", "SerialComm"]
