"""Where a submission's kernel runs: a bubblewrap sandbox on Linux, or (only when asked) no sandbox.

The sandbox (:class:`Bubblewrap`) gives each kernel

- a fresh working folder of its own, the only place it can write (``/home/student``), holding
  a private copy of its notebook;
- read-only views of the system (``/usr``), the Python installation, the virtual environment
  and the course package (the grading copy of :mod:`~utils.coursework.withheld`), and nothing
  else: not the repository, the answer key, other submissions or the instructor's home;
- no network (a new, empty network namespace), its own PID namespace (it sees no other
  process, so no other command line), its own IPC and UTS namespaces, a new session;
- an environment of a dozen variables set here, nothing from the instructor's shell;
- resource limits set by :mod:`~utils.coursework.launcher` (memory, CPU time, processes, file
  size) and, as root, another user id than root's;
- an end: killing bubblewrap kills everything in the PID namespace.

:class:`Unsandboxed` runs the same kernel without any of the isolation (``UNSAFE=1``); it keeps
the stripped environment, the limits and the fresh folder, and :data:`UNPROTECTED` says what is lost.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: The working folder's path inside the sandbox.
SANDBOX_HOME = "/home/student"
#: First user id the kernels get when the grader runs as root (one per parallel job).
BASE_UID = int(os.environ.get("PTDL_GRADE_UID", "61000"))

#: What grading without a sandbox does not protect (printed with ``UNSAFE=1``).
UNPROTECTED = (
    "files: a submission can read everything your account can read (the answer key, other "
    "submissions, your files) and change whatever your account may change (other submissions "
    "before they are graded, the course package when it is yours to write);",
    "network: a submission can reach the internet and your local network;",
    "processes: a submission sees every process's command line and can leave processes running "
    "after grading (they are killed only if they stay in the kernel's process group);",
    "user: a submission runs as your user (as root, if you grade as root);",
    "withheld functions: the course functions an answer must not call are hidden from its "
    "imports only; the original code can still be read from disk and run.",
)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel (see :mod:`~utils.coursework.launcher`); ``disk`` bounds its folder."""

    memory: int = 4 * 2**30
    cpu: int = 1200
    processes: int = 128
    file_size: int = 256 * 2**20
    disk: int = 2**30


@dataclass(frozen=True)
class KernelCommand:
    """How to start one kernel: ``argv`` with environment ``env``; ``home`` is the working folder as
    the kernel sees it (its connection file and sockets live in ``home/.kernel``)."""

    argv: list[str]
    env: dict[str, str]
    home: str


def _kernel_env(home: str) -> dict[str, str]:
    """The kernel's whole environment: paths, one thread, no progress bars, figures not drawn (Agg)."""
    return {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp" if home == SANDBOX_HOME else str(Path(home) / ".tmp"),
        "MPLBACKEND": "agg",
        "MPLCONFIGDIR": f"{home}/.tmp/matplotlib" if home != SANDBOX_HOME else "/tmp/matplotlib",
        "IPYTHONDIR": f"{home}/.tmp/ipython" if home != SANDBOX_HOME else "/tmp/ipython",
        "NUMBA_CACHE_DIR": f"{home}/.tmp/numba" if home != SANDBOX_HOME else "/tmp/numba",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
        "PTDL_NO_PROGRESS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _launcher(package: Path, uid: int, gid: int, limits: Limits, connection: str) -> list[str]:
    python = str(Path(sys.prefix) / "bin" / "python")
    return [
        python,
        "-I",
        "-S",
        str(package / "coursework" / "launcher.py"),
        *("--uid", str(uid), "--gid", str(gid), "--memory", str(limits.memory), "--cpu", str(limits.cpu)),
        *("--processes", str(limits.processes), "--file-size", str(limits.file_size)),
        "--",
        python,
        "-m",
        "ipykernel_launcher",
        "-f",
        connection,
        "--HistoryManager.enabled=False",
    ]


def package_dir() -> Path:
    """The folder of the installed course package ``utils`` (the one the grader imports)."""
    return Path(__file__).resolve().parents[1]


class Unsandboxed:
    """Run the kernel as a plain child process (``UNSAFE=1``): same limits, no isolation."""

    name = "none"

    def __init__(self, package: Path, limits: Limits) -> None:
        self.package, self.limits = package, limits

    def command(self, root: Path, slot: int) -> KernelCommand:
        """The command for a kernel whose folder is ``root/home`` (a child of the fresh folder ``root``)."""
        home = str(root / "home")
        uid, gid = os.getuid(), os.getgid()  # without a sandbox the kernel runs as the grader's user
        env = _kernel_env(home)
        env["PYTHONPATH"] = str(self.package.parent)  # the grading copy of the package comes first
        for d in (".tmp/matplotlib", ".tmp/ipython", ".tmp/numba"):
            (root / "home" / d).mkdir(parents=True, exist_ok=True)
        argv = _launcher(self.package, uid, gid, self.limits, f"{home}/.kernel/connection.json")
        return KernelCommand(argv, env, home)

    def owner(self, slot: int) -> tuple[int, int] | None:
        """The user and group that must own the working folder (None: leave it as it is)."""
        return None


def _system_binds() -> list[str]:
    """bwrap arguments for the read-only system: /usr, the /bin-like links or folders, a few /etc files."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/fonts"):
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


class Bubblewrap:
    """Run the kernel inside a bubblewrap sandbox (see the module's docstring)."""

    name = "bubblewrap"

    def __init__(self, bwrap: str, package: Path, limits: Limits, *, real_package: Path | None = None) -> None:
        self.bwrap, self.package, self.limits = bwrap, package, limits
        self.real_package = real_package or package_dir()

    def _binds(self) -> list[tuple[str, str]]:
        """(source, destination) of the read-only views beyond the system's."""
        binds: dict[str, str] = {}
        for prefix in {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix}:
            real = os.path.realpath(prefix)
            if not _under(real, ["/usr"]):
                binds[real] = real
                if os.path.realpath(prefix) != os.path.abspath(prefix):
                    binds[os.path.abspath(prefix)] = os.path.abspath(prefix)
        binds[str(self.package)] = str(self.real_package)  # the grading copy where `utils` is found
        return sorted(binds.items(), key=lambda kv: kv[1].count("/"))

    def command(self, root: Path, slot: int) -> KernelCommand:
        """The command for a kernel whose folder is ``root/home`` (a child of the fresh folder ``root``)."""
        root_user = os.getuid() == 0
        uid = gid = BASE_UID + slot if root_user else os.getuid()
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc" / "passwd").write_text(
            f"root:x:0:0:root:/root:/bin/sh\nstudent:x:{uid}:{gid}:student:{SANDBOX_HOME}:/bin/sh\n"
        )
        (root / "etc" / "group").write_text(f"root:x:0:\nstudent:x:{gid}:\n")
        for name in ("passwd", "group"):
            os.chmod(root / "etc" / name, 0o644)
        args = [self.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        args += ["--die-with-parent", "--new-session", "--hostname", "grading", "--clearenv"]
        if root_user:  # the launcher needs these two to switch to `uid`; it then has no capability left
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-user", "--cap-drop", "ALL"]
        args += _system_binds()
        bound = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
        made: set[str] = set()
        for source, dest in self._binds():
            for parent in list(Path(dest).parents)[::-1][1:]:
                p = str(parent)
                if p not in made and not _under(p, bound):
                    args += ["--perms", "0755", "--dir", p]
                    made.add(p)
            args += ["--ro-bind", source, dest]
            bound.append(dest)
        if _under(SANDBOX_HOME, bound):
            raise RuntimeError(f"{SANDBOX_HOME} lies under a folder bound into the sandbox: {bound}")
        args += ["--ro-bind", str(root / "etc" / "passwd"), "/etc/passwd"]
        args += ["--ro-bind", str(root / "etc" / "group"), "/etc/group"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "1777", "--size", str(256 * 2**20), "--tmpfs", "/tmp"]
        args += ["--perms", "1777", "--size", str(64 * 2**20), "--tmpfs", "/dev/shm"]
        if "/home" not in made:
            args += ["--perms", "0755", "--dir", "/home"]
        args += ["--bind", str(root / "home"), SANDBOX_HOME, "--chdir", SANDBOX_HOME]
        env = _kernel_env(SANDBOX_HOME)
        for key, value in env.items():
            args += ["--setenv", key, value]
        connection = f"{SANDBOX_HOME}/.kernel/connection.json"
        args += ["--", *_launcher(self.real_package, uid, gid, self.limits, connection)]
        return KernelCommand(args, {"PATH": "/usr/bin:/bin"}, SANDBOX_HOME)

    def owner(self, slot: int) -> tuple[int, int] | None:
        """The user and group that must own the working folder (None: leave it as it is)."""
        return (BASE_UID + slot,) * 2 if os.getuid() == 0 else None


@functools.cache
def bubblewrap_problem() -> str | None:
    """None if bubblewrap runs a sandbox like the grader's here, else what is wrong (and what to install)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)"
    args = [bwrap, "--unshare-pid", "--unshare-net", "--die-with-parent", "--new-session", "--clearenv"]
    args += ([] if os.getuid() == 0 else ["--unshare-user"]) + _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev", "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start a sandbox: {exc}"
    if done.returncode != 0:
        hint = ""
        if "ermission" in done.stderr or "Operation not permitted" in done.stderr:
            hint = (
                " (unprivileged user namespaces may be disabled: on Ubuntu 24.04 see "
                "kernel.apparmor_restrict_unprivileged_userns; in Docker, run the container with "
                "--security-opt seccomp=unconfined --security-opt apparmor=unconfined --cap-add SYS_ADMIN)"
            )
        return f"bubblewrap could not start a sandbox: {done.stderr.strip() or done.returncode}{hint}"
    return None


def make_sandbox(package: Path, limits: Limits, *, unsafe: bool = False) -> Bubblewrap | Unsandboxed:
    """A :class:`Bubblewrap` when it works here; :class:`Unsandboxed` only with ``unsafe=True``; else raise."""
    problem = bubblewrap_problem()
    if problem is None:
        return Bubblewrap(shutil.which("bwrap") or "bwrap", package, limits)
    if unsafe:
        return Unsandboxed(package, limits)
    raise SandboxUnavailable(problem)


class SandboxUnavailable(RuntimeError):
    """No sandbox can be started, and grading without one was not asked for."""
