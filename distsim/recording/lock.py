"""One run per output file: an exclusive lock file ``OUT.h5.lock`` beside the output.

Rank 0 takes the lock at start-up, before any work, and holds it until the run ends. The
lock file holds JSON ``{"pid", "host", "run_id", "started"}``; it is created with
``O_CREAT | O_EXCL`` (atomic, also on NFS) and its holder keeps an ``flock`` on it, which the
kernel drops when the holder dies however it dies. A lock whose holder ran on this host and
is no longer running is stale and is taken over (with a message saying so); any other
existing lock refuses the run with a SpecError that names the holder.
"""
import json
import os
import socket
import sys
import time

from ..spec import SpecError


def lock_path(output_path):
    """Path of the lock file that guards an output file."""
    return os.fspath(output_path) + ".lock"


def output_path_problem(path):
    """Why ``path`` cannot be an output file (a directory, a missing or read-only folder),
    or None. Checked on the file system of the calling process."""
    path = os.fspath(path)
    if path.endswith(os.sep) or os.path.isdir(path):
        return "is a directory; give a file name such as run.h5"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"folder {folder} is not writable"
    return None


def _proc_stat(pid):
    """(state letter, start time in clock ticks since boot) of a process from /proc, or None
    if there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{int(pid)}/stat") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid, start=None):
    """True if process ``pid`` of this host is running: not gone, not a zombie (killed and not
    yet reaped) and, if ``start`` (its start time, see _proc_stat) is given, not another
    process that got the same pid since."""
    if os.path.isdir("/proc/self"):
        st = _proc_stat(pid)
        if st is None or st[0] in "ZXx":
            return False
        return start is None or st[1] == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder_text(info):
    if not info:
        return "a run whose lock file is still being written or is unreadable"
    return (f"run {info.get('run_id') or '?'} (pid {info.get('pid')} on host {info.get('host')}, "
            f"started {info.get('started')})")


class OutputLock:
    """The lock of one output file, held by this process (rank 0) until :meth:`release`.

    Use :func:`acquire_output_lock`; ``took_over`` is the stale holder's info (dict) when a
    stale lock was taken over, else None.
    """

    def __init__(self, path, fd, took_over=None):
        self.path = path
        self.fd = fd
        self.took_over = took_over

    def _write(self, info):
        data = json.dumps(info, sort_keys=True).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)
        os.fsync(self.fd)

    def note_run_id(self, run_id):
        """Record the run id in the lock file (when it is known only after locking). Returns None."""
        if self.fd is not None:
            self._write(_my_info(run_id))

    def release(self):
        """Remove the lock file (if it is still ours) and drop the lock. Returns None; a second
        call does nothing."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            st = os.fstat(fd)
            cur = os.stat(self.path)
            if (cur.st_dev, cur.st_ino) == (st.st_dev, st.st_ino):
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)  # drops the flock


class _NoLock:
    """What ranks other than 0 hold: nothing."""

    took_over = None

    def note_run_id(self, run_id):
        """No-op (only rank 0 holds the lock)."""

    def release(self):
        """No-op (only rank 0 holds the lock)."""


def _my_info(run_id):
    st = _proc_stat(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(), "run_id": run_id,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pid_start": st[1] if st else None}


def _read_info(fd):
    try:
        st = os.fstat(fd)
        return json.loads(os.pread(fd, max(st.st_size, 1), 0).decode() or "null")
    except (OSError, ValueError):
        return None


def take_lock(output_path, run_id, field="-o"):
    """Take the lock of ``output_path`` in this process. Returns an :class:`OutputLock`;
    raises SpecError (field ``field``) naming the holder if another run holds it, or if the
    lock file cannot be created (read-only folder, ...)."""
    import fcntl

    problem = output_path_problem(output_path)
    if problem:
        raise SpecError(field, os.fspath(output_path), problem)
    path = lock_path(output_path)
    for _ in range(5):  # retried only when a holder removed its lock file while we looked
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        except FileExistsError:
            pass
        except OSError as e:
            raise SpecError(field, os.fspath(output_path),
                            f"cannot create the lock file {path}: {e.strerror}") from None
        else:
            try:  # waits only while another run peeks at the new file
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # no flock on this file system: the pid check below must do
                pass
            lock = OutputLock(path, fd)
            lock._write(_my_info(run_id))
            return lock
        # a lock file exists: its holder is alive as long as it holds the flock
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            info = _read_info(fd)
            os.close(fd)
            raise SpecError(field, os.fspath(output_path),
                            f"is in use by {_holder_text(info)}; lock file {path}. Wait for that "
                            "run to end, or remove the lock file if no run uses it") from None
        except OSError:  # no flock on this file system: the pid check below must do
            pass
        # nobody holds the flock: stale if its holder ran here and is gone
        info = _read_info(fd)
        same = False
        try:
            st, cur = os.fstat(fd), os.stat(path)
            same = (cur.st_dev, cur.st_ino) == (st.st_dev, st.st_ino)
        except FileNotFoundError:
            pass
        if not same:  # removed or replaced meanwhile: look again
            os.close(fd)
            continue
        stale = (isinstance(info, dict) and info.get("host") == socket.gethostname()
                 and isinstance(info.get("pid"), int)
                 and not _pid_alive(info["pid"], info.get("pid_start")))
        if not stale:
            os.close(fd)
            here = isinstance(info, dict) and info.get("host") == socket.gethostname()
            why = ("that process is still running" if here else
                   "a process on another host cannot be checked from here")
            raise SpecError(field, os.fspath(output_path),
                            f"is locked by {_holder_text(info)}; lock file {path}: {why}. "
                            "Remove the lock file if no run uses it")
        lock = OutputLock(path, fd, took_over=info)
        lock._write(_my_info(run_id))
        return lock
    raise SpecError(field, os.fspath(output_path), f"lock file {path} keeps changing; try again")


def acquire_output_lock(output_path, run_id, comm, field="-o"):
    """Take the lock of ``output_path`` on rank 0 and tell every rank the outcome (collective).
    Returns the lock (a no-op stand-in on other ranks); raises SpecError on every rank if it
    is held by another run. Taking over a stale lock prints a message on rank 0."""
    lock, problem = _NoLock(), None
    if comm.rank == 0:
        try:
            lock = take_lock(output_path, run_id, field)
        except SpecError as e:
            problem = (e.field, e.value, e.allowed)
    problem = comm.bcast(problem)
    if problem:
        raise SpecError(*problem)
    if lock.took_over is not None:
        print(f"distsim: took over the stale lock {lock_path(output_path)} of "
              f"{_holder_text(lock.took_over)}: that process is no longer running",
              file=sys.stderr, flush=True)
    return lock
