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


def check_launch(comm, environ=None):
    """Raise SpecError if SLURM started this step's tasks as separate one-process MPI jobs
    (``srun`` whose MPI plugin does not match the MPI library: each rank would run the whole
    model alone and race the others for the output file)."""
    import os

    env = os.environ if environ is None else environ
    try:
        n_tasks = int(env.get("SLURM_STEP_NUM_TASKS", "1"))
    except ValueError:
        return
    if comm.size == 1 and n_tasks > 1 and getattr(comm, "mpi_comm", None) is not None:
        from ..spec import SpecError
        raise SpecError("srun", f"{n_tasks} tasks",
                        "each task started as its own 1-rank MPI job: the srun MPI plugin does not "
                        "match MPICH; use 'srun --mpi=pmi2' (or export SLURM_MPI_TYPE=pmi2), "
                        "or mpirun inside the allocation")


__all__ = ["check_launch", "get_comm", "SerialComm"]
