"""One submission's kernel, seen from the grader: start it in its sandbox, run code with a time limit,
interrupt it, and end it with everything it started.

The grader talks to the kernel over ZeroMQ sockets in the submission's folder (IPC transport:
the sandbox has no network), with jupyter_client's message protocol. Every message from the
kernel is untrusted: it is only looked at when it answers the request the grader sent, large
messages are refused by the socket, and only so much printed output is kept.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Largest message accepted from a kernel, in bytes.
MAX_MESSAGE = 96 * 2**20
#: Printed output kept per execution, in characters.
MAX_STDOUT = 4000
#: Seconds an interrupted kernel has to come back before it is ended.
INTERRUPT_GRACE = 10.0


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _wait_for_no_process(uid: int, timeout: float = 20.0) -> None:
    """Wait until no process of ``uid`` is left (a killed sandbox's processes take a moment to go)."""
    deadline = time.monotonic() + timeout
    while _processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.05)


@dataclass
class Outcome:
    """What one execution did: ``status`` is ``ok``, ``error``, ``timeout`` or ``dead``."""

    status: str
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = field(default_factory=list)
    replies: list[Any] = field(default_factory=list)
    stdout: str = ""
    seconds: float = 0.0


class Kernel:
    """A kernel started with ``command`` (a :class:`~utils.coursework.sandbox.KernelCommand`) whose
    working folder is ``home`` on this side; ``mime`` is the type of the replies to collect."""

    def __init__(
        self,
        command: Any,
        home: Path,
        *,
        mime: str,
        owner: tuple[int, int] | None = None,
        grace: float = INTERRUPT_GRACE,
    ) -> None:
        self.command, self.home, self.mime, self.owner, self.grace = command, Path(home), mime, owner, grace
        self.process: subprocess.Popen | None = None
        self.client: Any = None
        self.broken = False  # True once the kernel stopped answering or died: start another
        self._tail: list[str] = []

    # -- life cycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> None:
        """Launch the kernel and wait until it answers (raise RuntimeError if it does not)."""
        import zmq
        from jupyter_client import BlockingKernelClient

        self.broken = False
        if self.owner is not None:
            _wait_for_no_process(self.owner[0])
        folder = self.home / ".kernel"
        folder.mkdir(mode=0o700, exist_ok=True)
        for stale in folder.iterdir():
            stale.unlink()
        if self.owner is not None:
            os.chown(folder, *self.owner)
        key = secrets.token_hex(32)
        ports = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
        info = {"transport": "ipc", "key": key, "signature_scheme": "hmac-sha256", "kernel_name": "", **ports}
        inside = dict(info, ip=f"{self.command.home}/.kernel/ipc")
        (folder / "connection.json").write_text(json.dumps(inside))
        if self.owner is not None:
            os.chown(folder / "connection.json", *self.owner)
        self.process = subprocess.Popen(
            self.command.argv,
            env=self.command.env,
            cwd=str(self.home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, args=(self.process.stdout,), daemon=True).start()
        client = BlockingKernelClient()
        client.load_connection_info(dict(info, ip=str(folder / "ipc")))
        client.start_channels()
        for channel in (client.iopub_channel, client.shell_channel, client.control_channel):
            channel.socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        self.client = client
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            client.kernel_info()
            try:
                reply = client.get_shell_msg(timeout=1.0)
            except queue.Empty:
                continue
            if isinstance(reply, dict) and reply.get("msg_type") == "kernel_info_reply":
                self._flush_iopub()
                return
        tail = "".join(self._tail)[-2000:]
        self.close()
        raise RuntimeError(f"the kernel did not start: {tail.strip() or 'no output'}")

    def _drain(self, stream: Any) -> None:
        """Keep the last few kilobytes of what the sandbox prints (its errors, if it fails to start)."""
        try:
            for line in iter(stream.readline, b""):
                self._tail.append(line.decode(errors="replace")[:500])
                del self._tail[:-20]
        except (OSError, ValueError):  # closed when the kernel ends
            pass

    def _flush_iopub(self) -> None:
        while True:
            try:
                self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                return

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and not self.broken

    def close(self) -> None:
        """End the kernel and everything it started (idempotent)."""
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:  # the sockets may already be gone
                pass
            self.client = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # bwrap, or the unsandboxed kernel's group
            except ProcessLookupError:
                pass
            self.process.wait()
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None
        if self.owner is not None:  # the sandbox's user: wait until the kernel has no process left
            _wait_for_no_process(self.owner[0])
        self.broken = True

    # -- running code ----------------------------------------------------------------------------

    def run(self, code: str, timeout: float) -> Outcome:
        """Execute ``code`` for at most ``timeout`` seconds; interrupt it at the limit."""
        start = time.monotonic()
        if not self.alive():
            return Outcome("dead")
        msg_id = self.client.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        outcome = self._collect(msg_id, start + max(timeout, 0.1))
        if outcome is None:  # the time limit: interrupt, and give the kernel a moment to come back
            outcome = Outcome("timeout")
            self._interrupt()
            after = self._collect(msg_id, time.monotonic() + self.grace)
            if after is None or after.status == "dead":
                self.broken = True
            outcome.replies = after.replies if after else []
        outcome.seconds = time.monotonic() - start
        return outcome

    def _interrupt(self) -> None:
        try:
            self.client.control_channel.send(self.client.session.msg("interrupt_request", {}))
        except Exception:
            self.broken = True

    def _collect(self, msg_id: str, deadline: float) -> Outcome | None:
        """The outcome of request ``msg_id`` once the kernel is idle again; None at ``deadline``."""
        outcome = Outcome("ok")
        stdout: list[str] = []
        kept = 0
        replied_at: float | None = None
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            if self.process is None or self.process.poll() is not None:
                self.broken = True
                return Outcome("dead", replies=outcome.replies)
            if replied_at is None:
                try:
                    reply = self.client.get_shell_msg(timeout=0)
                    if isinstance(reply, dict) and reply.get("parent_header", {}).get("msg_id") == msg_id:
                        replied_at = now
                except queue.Empty:
                    pass
                except Exception:  # an unreadable message
                    pass
            elif now - replied_at > 2.0:  # the reply came but no "idle": it was lost, stop waiting
                break
            try:
                msg = self.client.get_iopub_msg(timeout=min(0.2, deadline - now))
            except queue.Empty:
                continue
            except Exception:  # a message that does not even parse: ignore it
                continue
            if not (isinstance(msg, dict) and isinstance(msg.get("parent_header"), dict)):
                continue
            if msg["parent_header"].get("msg_id") != msg_id or not isinstance(msg.get("content"), dict):
                continue
            kind, content = msg.get("msg_type"), msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "stream" and kept < MAX_STDOUT:
                text = str(content.get("text", ""))
                stdout.append(text[: MAX_STDOUT - kept])
                kept += len(text)
            elif kind == "error":
                outcome.status = "error"
                outcome.ename = str(content.get("ename", ""))[:200]
                outcome.evalue = str(content.get("evalue", ""))[:2000]
                trace = content.get("traceback", [])
                outcome.traceback = [str(t)[:2000] for t in (trace if isinstance(trace, list) else [])[:50]]
            elif kind in ("display_data", "execute_result"):
                data = content.get("data", {})
                if isinstance(data, dict) and self.mime in data:
                    outcome.replies = [data[self.mime]]  # only the last one counts: keep one
        outcome.stdout = "".join(stdout)
        if outcome.status == "error" and outcome.ename == "KeyboardInterrupt":
            outcome.status = "timeout"
        return outcome
