"""Start a grading kernel: set resource limits, give up root, then exec the kernel (runs inside the sandbox).

Run as a script with the standard library only (``python -I -S launcher.py ...``), before any
code of the submission exists in the process::

    launcher.py --uid U --gid G --memory BYTES --cpu SECONDS \\
        --processes N --file-size BYTES -- CMD...

Limits are set soft = hard, so the kernel cannot raise them again: address space (memory),
CPU seconds (the kernel gets SIGXCPU, then SIGKILL 5 s later), processes and threads of its
user, the size of any file it writes, and no core dumps. When started as root (the grader runs
as root, the sandbox has no user namespace) it switches to ``U:G`` with no supplementary groups;
in every case it sets no_new_privs, so no setuid program can give privileges back.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import sys

_PR_SET_NO_NEW_PRIVS = 38


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    resource.setrlimit(which, (soft, hard))


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("launcher: no command after --")
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="launcher.py")
    for flag in ("--uid", "--gid", "--memory", "--cpu", "--processes", "--file-size"):
        parser.add_argument(flag, type=int, required=True)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        sys.exit("launcher: empty command")
    _limit(resource.RLIMIT_AS, args.memory)
    _limit(resource.RLIMIT_CPU, args.cpu, args.cpu + 5)
    _limit(resource.RLIMIT_NPROC, args.processes)
    _limit(resource.RLIMIT_FSIZE, args.file_size)
    _limit(resource.RLIMIT_CORE, 0)
    if os.getuid() == 0 and args.uid != 0:
        os.setgroups([])
        os.setresgid(args.gid, args.gid, args.gid)
        os.setresuid(args.uid, args.uid, args.uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            sys.exit("launcher: could not give up root")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"launcher: prctl(PR_SET_NO_NEW_PRIVS) failed: {os.strerror(ctypes.get_errno())}")
    os.umask(0o077)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
