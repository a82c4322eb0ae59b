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


def write_warm_marker(cache_dir):
    """Mark ``cache_dir`` as filled by ``distsim warm``: the marker file lists every cache file
    with its SHA-256 (JSON), so that a copy of exactly what warm compiled can be told apart
    from entries that later processes added to the same directory. Returns the marker path."""
    import hashlib
    import json
    files = {}
    for d, _, names in _os.walk(cache_dir):
        for name in sorted(names):
            if name == WARM_MARKER:
                continue
            path = _os.path.join(d, name)
            with open(path, "rb") as f:
                files[_os.path.relpath(path, cache_dir)] = hashlib.sha256(f.read()).hexdigest()
    marker = _os.path.join(cache_dir, WARM_MARKER)
    with open(marker + ".tmp", "w") as f:
        json.dump({"source_hash": source_hash(), "files": files}, f)
    _os.replace(marker + ".tmp", marker)
    return marker


def snapshot_warm_cache(shared):
    """Keep what ``distsim warm`` produced as ``<shared>.warm``: hard links to the shared
    cache's files (instant). Later processes publish kernels into the shared cache by renaming
    new files over old ones, so the snapshot's files stay exactly as warm wrote them; the
    warm-coverage test checks an MPI run against this snapshot. Returns its path."""
    import shutil
    snap = shared.rstrip("/") + ".warm"
    shutil.rmtree(snap, ignore_errors=True)
    _link_shared_into(shared, snap)
    return snap


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


_JOB = {}  # this process's job cache: "shared", "mine", "linked" (relative path -> inode at the
# link, the same in both directories; after a publish, the inode of the published index there)


def _shared_lock(shared, exclusive):
    """An open lock file for the shared cache ``shared``, flock'ed shared or exclusive (the
    caller closes it to release). Readers copy the cache under a shared lock and
    :func:`publish_compiled` writes under an exclusive one, so no process ever sees an index
    of one writer paired with another writer's machine code."""
    import fcntl
    _os.makedirs(_os.path.dirname(shared), exist_ok=True)
    f = open(shared + ".lock", "a")
    fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    return f


def _link_shared_into(shared, mine):
    """Fill ``mine`` with hard links to every file of ``shared`` (instant, no copy: numba
    replaces a cache file by renaming a new one over it, so it never writes into a linked
    file); returns {relative path: inode}."""
    linked = {}
    if not _os.path.isdir(shared):
        _os.makedirs(mine, exist_ok=True)
        return linked
    lock = _shared_lock(shared, exclusive=False)
    try:
        for d, _, names in _os.walk(shared):
            rel_d = _os.path.relpath(d, shared)
            _os.makedirs(_os.path.join(mine, rel_d), exist_ok=True)
            for name in names:
                if ".tmp." in name:
                    continue
                src, rel = _os.path.join(d, name), _os.path.normpath(_os.path.join(rel_d, name))
                _link_or_copy(src, _os.path.join(mine, rel))
                linked[rel] = _os.stat(_os.path.join(mine, rel)).st_ino
    finally:
        lock.close()
    return linked


def publish_compiled():
    """Put what this process compiled into the shared cache, so that the next job (and its
    ranks) loads it instead of compiling again. Per kernel (a numba index file and its data
    files), under the shared cache's exclusive lock, and only if the shared index is still the
    one this process started from: when another job published the same kernel meanwhile,
    its version stays (this one is simply not kept). Returns the number of kernels published.
    Called at exit; ``distsim warm`` calls it before it marks the cache complete."""
    import shutil
    if not _JOB:
        return 0
    shared, mine, linked = _JOB["shared"], _JOB["mine"], _JOB["linked"]
    changed = []
    for d, _, names in _os.walk(mine):
        for name in names:
            if ".tmp." in name:
                continue
            rel = _os.path.normpath(_os.path.relpath(_os.path.join(d, name), mine))
            try:
                if linked.get(rel) != _os.stat(_os.path.join(mine, rel)).st_ino:
                    changed.append(rel)
            except OSError:
                pass
    indexes = [r for r in changed if r.endswith(".nbi")]
    if not indexes:
        return 0
    done = 0
    lock = _shared_lock(shared, exclusive=True)
    try:
        for idx in indexes:
            target = _os.path.join(shared, idx)
            try:
                now = _os.stat(target).st_ino
            except OSError:
                now = None
            if now != (linked.get(idx)):
                continue  # another process published this kernel since we started
            stem = idx[:-len(".nbi")] + "."
            for rel in [r for r in changed if r.startswith(stem) and r.endswith(".nbc")] + [idx]:
                dest = _os.path.join(shared, rel)  # data files first, the index last
                _os.makedirs(_os.path.dirname(dest), exist_ok=True)
                tmp = f"{dest}.tmp.{_os.getpid()}"
                shutil.copy2(_os.path.join(mine, rel), tmp)
                _os.replace(tmp, dest)
                # link the published file back: both directories hold one inode again
                back = _os.path.join(mine, rel) + f".tmp.{_os.getpid()}"
                _link_or_copy(dest, back)
                _os.replace(back, _os.path.join(mine, rel))
                linked[rel] = _os.stat(dest).st_ino
            done += 1
    finally:
        lock.close()
    return done


def _link_or_copy(src, dst):
    """Hard-link ``src`` as ``dst`` (a copy when they are on different file systems)."""
    try:
        _os.link(src, dst)
    except OSError:
        import shutil
        shutil.copy2(src, dst)


def _publish_then_remove(mine):
    try:
        publish_compiled()
    except Exception as e:  # a cache that cannot be updated only costs compile time later
        import sys
        print(f"distsim: could not publish compiled kernels to the shared cache ({e})", file=sys.stderr)
    import shutil
    shutil.rmtree(mine, ignore_errors=True)


def _numba_cache_setup():
    """Choose the numba cache directory before numba is imported.

    Processes compiling into one cache directory at once corrupt it (seen here: wrong numbers,
    or "can't unbox array"). So every process (a serial run, each rank of each MPI job) gets
    its own directory (:func:`job_cache_dir`), filled with hard links to the shared cache
    ``~/.cache/distsim/numba/shared-<hash>`` (named by :func:`source_hash`, so edited or
    upgraded sources never meet stale code; ``distsim warm`` fills it during set-up). What the
    process compiles lands in its own directory; at exit :func:`publish_compiled` moves it into
    the shared cache under a file lock, so a network whose step loop warm did not compile is
    compiled once, not by every rank of every run. The directory is removed at exit. A
    ``NUMBA_CACHE_DIR`` set by the user is kept; one inherited from a distsim parent process
    is replaced.
    """
    owner = _os.environ.get("DISTSIM_NUMBA_CACHE_OWNER")
    if "NUMBA_CACHE_DIR" in _os.environ and owner in (None, str(_os.getpid())):
        _set_numba_cache_dir(_os.environ["NUMBA_CACHE_DIR"])
        return  # set by the user (or already by this process)
    # a value inherited from a distsim parent (e.g. pytest starting mpirun) is not ours
    _os.environ["DISTSIM_NUMBA_CACHE_OWNER"] = str(_os.getpid())
    base = cache_base()
    shared = shared_cache_dir(base)
    rank, _ = _mpi_rank_size()
    import atexit
    import shutil
    _remove_stale_job_dirs(_os.path.join(base, "jobs"))
    mine = job_cache_dir(base, rank if rank is not None else "0")
    shutil.rmtree(mine, ignore_errors=True)  # a dead process's leftover with our pid
    try:
        linked = _link_shared_into(shared, mine)
    except OSError as e:  # a cold cache only costs compile time, but say so
        import sys
        print(f"distsim: rank {rank}: could not link the numba cache {shared} into {mine} ({e}); "
              "kernels will be compiled", file=sys.stderr, flush=True)
        _os.makedirs(mine, exist_ok=True)
        linked = {}
    _JOB.update(shared=shared, mine=mine, linked=linked)
    atexit.register(_publish_then_remove, mine)
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
