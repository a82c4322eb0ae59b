"""distsim: a distributed spiking neural network simulator.

Neurons are placed round-robin on MPI ranks, updated by numba kernels (on one or more threads
per rank), and exchange spikes with Alltoallv every min-delay interval; results are
bit-identical for any number of ranks and threads.
"""
import os as _os

__version__ = "0.1.0"
__all__ = ["Network", "Population"]  # the in-process API (distsim.api), imported on first use


def __getattr__(name):
    """``distsim.Network`` and ``distsim.Population`` load ``distsim.api`` (and numba) only
    when used, so that ``import distsim`` stays cheap for the command line."""
    if name in __all__:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'distsim' has no attribute {name!r}")

_STALE_AFTER_S = 60.0  # a job directory whose process is gone is removed after this age


def _mpi_rank_size():
    """(rank, size) as strings from the launcher's environment, or (None, None) outside MPI."""
    for rv, sv in (("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                   ("PMIX_RANK", "PMIX_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rv in _os.environ:
            return _os.environ[rv], _os.environ.get(sv, "2")
    return None, None


def job_cache_dir(base, rank, host=None, pid=None):
    """This process's private numba cache directory under ``base``:
    ``<base>/jobs/<host>-<pid>-rank<R>``. The process id makes it unique among the running
    processes of a host, so two MPI jobs started at once never share (or delete) one."""
    import socket
    host = host or socket.gethostname().split(".")[0]
    pid = _os.getpid() if pid is None else pid
    return _os.path.join(base, "jobs", f"{host}-{pid}-rank{rank}")


def _remove_stale_job_dirs(jobs):
    """Remove this host's job cache directories whose process has ended (killed jobs leave
    them behind); only directories older than a minute, so a starting job is never touched."""
    import shutil
    import socket
    import time
    host = socket.gethostname().split(".")[0]
    try:
        names = _os.listdir(jobs)
    except OSError:
        return
    now = time.time()
    for name in names:
        head, _, tail = name.rpartition("-rank")
        h, _, pid = head.rpartition("-")
        if h != host or not pid.isdigit() or not tail.isdigit():
            continue
        try:
            _os.kill(int(pid), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except OSError:
            continue  # exists but not ours
        path = _os.path.join(jobs, name)
        try:
            if now - _os.stat(path).st_mtime > _STALE_AFTER_S:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def source_hash(root=None):
    """16 hex digits of SHA-256 over every ``.py`` file of the distsim package at ``root``
    (default: this one), by relative path and content. numba keys a cached kernel by its own
    file only, so an edit to a function it calls in another file (or an upgrade) would reuse
    stale machine code and give wrong numbers with exit 0; the warm cache therefore lives in a
    directory named by this hash (see :func:`shared_cache_dir`)."""
    import hashlib
    root = root or _os.path.dirname(_os.path.abspath(__file__))
    h = hashlib.sha256()
    for d, subdirs, files in _os.walk(root):
        subdirs[:] = sorted(x for x in subdirs if x != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = _os.path.join(d, name)
            h.update(_os.path.relpath(path, root).encode() + b"\0")
            with open(path, "rb") as f:
                h.update(f.read() + b"\0")
    return h.hexdigest()[:16]


def cache_base():
    """The numba cache root: ``$DISTSIM_CACHE_DIR`` or ``~/.cache/distsim/numba``."""
    return _os.environ.get("DISTSIM_CACHE_DIR",
                           _os.path.join(_os.path.expanduser("~"), ".cache", "distsim", "numba"))


def shared_cache_dir(base=None):
    """The warm (serial) numba cache of this distsim source: ``<base>/shared-<source_hash>``."""
    return _os.path.join(base or cache_base(), f"shared-{source_hash()}")


WARM_MARKER = ".distsim-warm"  # written by ``distsim warm`` into a complete shared cache


def cache_is_warm():
    """True when ``distsim warm`` has filled the shared cache of this source."""
    return _os.path.exists(_os.path.join(shared_cache_dir(), WARM_MARKER))


def _set_numba_cache_dir(path):
    """Point numba at ``path``: through the environment (read when numba is imported) and, if
    numba was imported before distsim, through its config (read when a kernel is defined)."""
    import sys
    _os.environ["NUMBA_CACHE_DIR"] = path
    if "numba" in sys.modules:
        from numba.core import config
        config.CACHE_DIR = path


def _numba_cache_setup():
    """Choose the numba cache directory before numba is imported.

    Ranks compiling into one shared cache at once corrupt it (seen here: wrong numbers, or
    "can't unbox array"). So a serial process uses ``~/.cache/distsim/numba/shared-<hash>``
    (named by :func:`source_hash`, so edited or upgraded sources never meet stale code;
    ``distsim warm`` fills it during set-up), and under MPI every rank of every job gets its own
    fresh directory (:func:`job_cache_dir`), seeded with a copy of the warm shared cache so
    that no rank compiles, and removed when the process exits. A ``NUMBA_CACHE_DIR`` set by
    the user is kept; one inherited from a distsim parent process is replaced.
    """
    owner = _os.environ.get("DISTSIM_NUMBA_CACHE_OWNER")
    if "NUMBA_CACHE_DIR" in _os.environ and owner in (None, str(_os.getpid())):
        _set_numba_cache_dir(_os.environ["NUMBA_CACHE_DIR"])
        return  # set by the user (or already by this process)
    # a value inherited from a distsim parent (e.g. pytest starting mpirun) is not ours
    _os.environ["DISTSIM_NUMBA_CACHE_OWNER"] = str(_os.getpid())
    base = cache_base()
    shared = shared_cache_dir(base)
    rank, size = _mpi_rank_size()
    if rank is None or size == "1":
        _set_numba_cache_dir(shared)
        return
    import atexit
    import shutil
    _remove_stale_job_dirs(_os.path.join(base, "jobs"))
    mine = job_cache_dir(base, rank)
    shutil.rmtree(mine, ignore_errors=True)  # a dead process's leftover with our pid
    # a fresh, complete copy: merging file by file pairs one writer's index with another
    # writer's code files, and numba then reloads a wrong entry on every call
    try:
        if _os.path.isdir(shared):
            shutil.copytree(shared, mine)
        else:
            _os.makedirs(mine, exist_ok=True)
    except OSError as e:  # a cold cache only costs compile time, but say so
        import sys
        print(f"distsim: rank {rank}: could not copy the numba cache {shared} to {mine} ({e}); "
              "kernels will be compiled", file=sys.stderr, flush=True)
    try:
        _os.utime(mine)  # copytree kept the shared cache's old time; this one is in use now
    except OSError:
        pass
    atexit.register(shutil.rmtree, mine, True)
    _set_numba_cache_dir(mine)


def reserve_numba_threads(n):
    """Let numba start at least ``n`` threads: numba fixes ``NUMBA_NUM_THREADS`` (default: the
    CPUs this process may use) when it is imported, so raise it before that. A value the user
    set, or numba already imported, is left alone (``Simulation`` then refuses a larger
    thread count, naming NUMBA_NUM_THREADS). Returns None."""
    import sys
    if "numba" in sys.modules or "NUMBA_NUM_THREADS" in _os.environ:
        return
    try:
        cpus = len(_os.sched_getaffinity(0))
    except AttributeError:
        cpus = _os.cpu_count() or 1
    if n > cpus:
        _os.environ["NUMBA_NUM_THREADS"] = str(int(n))


def _threading_layer_setup():
    """numba's threading layer defaults to ``workqueue`` (the user's NUMBA_THREADING_LAYER
    wins). Why: numba's default here is ``omp`` (GNU OpenMP), and a process that ran distsim
    on 2 omp threads and then NEST (which brings its own OpenMP runtime) crashed with a
    segmentation fault in ``nest.ResetKernel`` (the test suite, PyNN comparisons); and under
    load 2 omp threads were 2.5-6x slower than 1 thread while workqueue was not."""
    if "NUMBA_THREADING_LAYER" in _os.environ:
        return
    _os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
    import sys
    if "numba" in sys.modules:  # imported before distsim: numba reads its config at import
        from numba.core import config
        config.THREADING_LAYER = "workqueue"


_threading_layer_setup()


def _numba_threads_setup():
    """``DISTSIM_THREADS`` above the CPU count (oversubscription, e.g. in tests) needs numba
    to start that many threads."""
    try:
        n = int(_os.environ.get("DISTSIM_THREADS", ""))
    except ValueError:
        return  # Simulation reports the bad value
    reserve_numba_threads(n)


_numba_cache_setup()
_numba_threads_setup()
