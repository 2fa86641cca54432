"""The kernel side of grading: call one of the notebook's functions on plain data, send plain data back.

The grader runs ``harness.call(name, payload)`` in the submission's kernel: it decodes the
arguments (:mod:`~utils.coursework.wire`), calls the function the notebook defined under
``name``, and publishes the outcome as one display message of type :data:`MIME`. The grader
trusts none of it: it decodes the reply as untrusted data and judges it in its own process, so
a notebook that replaces this module, its functions or IPython's display only spoils its own
answers. Imports only the standard library, NumPy and IPython (torch when a tensor crosses).
"""

from __future__ import annotations

import base64
from typing import Any

from . import wire

#: The MIME type of the harness's replies.
MIME = "application/x-ptdl-call+json"


def _publish(reply: dict[str, Any]) -> None:
    from IPython import get_ipython

    get_ipython().display_pub.publish(data={MIME: reply}, metadata={})


def _namespace() -> dict[str, Any]:
    from IPython import get_ipython

    return get_ipython().user_ns


def describe(name: str) -> None:
    """Publish whether ``name`` is defined in the notebook and callable."""
    value = _namespace().get(name)
    _publish({"defined": value is not None, "callable": callable(value), "type": type(value).__name__})


def call(name: str, payload: str) -> None:
    """Call the notebook's ``name`` on the arguments in ``payload`` (base64 of a wire text); publish the outcome."""
    fn = _namespace().get(name)
    if not callable(fn):
        _publish({"status": "missing", "type": type(fn).__name__})
        return
    try:
        args, kwargs = wire.loads(base64.b64decode(payload).decode())
        value = fn(*args, **kwargs)
    except KeyboardInterrupt:  # the grader's interrupt at a time limit: let the kernel report it
        raise
    except BaseException as exc:  # the student's error, or a SystemExit: a verdict, not a crash
        _publish({"status": "raised", "type": type(exc).__name__[:80], "message": str(exc)[:2000]})
        return
    try:
        text = wire.dumps(value, result=True)
    except wire.WireError as exc:
        _publish({"status": "unsendable", "type": type(value).__name__[:80], "message": str(exc)})
        return
    _publish({"status": "ok", "value": text})
