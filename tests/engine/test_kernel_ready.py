"""The runbook kernel: ready once it has answered, nothing stale left on IOPub, history kept in memory."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from homeops.runner.kernel import EarlyKernel, kernel_manager_class

READY_TIMEOUT = 60  # seconds for a kernel to boot on a busy machine
MESSAGE_TIMEOUT = 30


async def _first_run(runtime: Path) -> tuple[list[dict], dict]:
    """Start a kernel, wait until ready, run one cell: every IOPub message after ready, and the reply."""
    manager = kernel_manager_class(dict(os.environ), runtime)(kernel_name="python3")
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=READY_TIMEOUT)
        request = client.execute("print(get_ipython().history_manager.hist_file)")
        messages = []
        while True:
            message = await client.get_iopub_msg(timeout=MESSAGE_TIMEOUT)
            messages.append(message)
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
        reply = await client._async_recv_reply(request, timeout=MESSAGE_TIMEOUT)
        return messages, {"request": request, "reply": reply}
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def test_a_ready_kernel_left_no_stale_message_and_keeps_history_in_memory(tmp_path):
    messages, answer = asyncio.run(_first_run(tmp_path))
    # wait_for_ready read IOPub up to the end of its own request: what follows belongs to the cell.
    assert {m["parent_header"].get("msg_id") for m in messages} == {answer["request"]}
    assert (messages[0]["msg_type"], messages[0]["content"].get("execution_state")) == ("status", "busy")
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert printed == ":memory:\n", "a runbook's cells must not land in the user's IPython history database"
    assert answer["reply"]["content"]["status"] == "ok"


def test_a_stopped_kernel_is_gone_and_its_manager_released(tmp_path):
    kernel = EarlyKernel(dict(os.environ), tmp_path)
    process = kernel.manager().provisioner.process
    kernel.stop()
    assert process.poll() is not None, "the kernel process still runs after stop()"
    assert kernel.manager() is None
    kernel.stop()  # a second stop (a finally after an error) finds nothing to do
