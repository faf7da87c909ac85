"""How the streaming redactor's time grows with the length of one unbroken line.

A runbook may print a very long line without a line break: minified JSON of every pod, one object
at a time (`print(json.dumps(pod), end=",")`), each write handed to `LineRedactor.write`. Joining
and splitting all that was held at every write made the time grow with the square of the line
(4 MiB in 20,000 writes: 12 x the time of 1 MiB, 24 s of CPU against 2 s).

For lines of 1 MiB and 4 MiB (the same object repeated, one of them carrying a token), prints the
median CPU time to stream each one object a write, `redact()` of the same text at once (the
baseline, measured in the same run), and two ratios: the 4 MiB line against the 1 MiB one (4 when
linear, 16 when quadratic) and streaming against redacting at once (near 1: the stream adds little).

Then the same for a private key of 900 and 3,600 lines (58 and 230 KiB, under the 256 KiB hold
limit), written a line at a time: held until its END line, each line read once (rejoining and
rescanning everything held at every line took seconds for the larger one).

    .venv/bin/python bench/stream_hold.py [--repeat N]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time

from homeops.redaction import LineRedactor, redact

SIZES = (1 << 20, 4 << 20)
KEY_LINES = (900, 3_600)
LINEAR_AT_MOST = 6.0  # 4 when linear, 16 when quadratic; the rest is noise of a shared machine
STREAM_OVER_WHOLE_AT_MOST = 2.0
TOKEN = "Zq8wPr3vLx5tNy2KLm4pQ9rS"


def unbroken_line(size: int) -> list[str]:
    """About `size` characters of minified JSON in the writes that print it: no line break, a credential inside."""
    item = json.dumps({"name": "worker-1", "uid": "0d2c5a4e-7b1f-4c3a-9e8d-2f6b1a0c9d7e", "phase": "Running",
                       "image": "ghcr.io/siderolabs/installer:v1.11.1", "message": "containers with unready status"},
                      separators=(",", ":"))
    count = size // (len(item) + 1)
    writes = [item + ","] * count
    writes[count // 2] = item.replace('"phase"', f'"token":"{TOKEN}","phase"') + ","
    return writes


def streamed(writes: list[str]) -> list[str]:
    lines: list[str] = []
    stream = LineRedactor(lines.append)
    for piece in writes:
        stream.write(piece)
    stream.write("\n")
    stream.flush()
    return lines


def private_key(lines: int) -> list[str]:
    """A PEM private key of `lines` body lines, as the writes of a program printing it line by line."""
    body = [f"{base64.b64encode(index.to_bytes(48, 'big')).decode()}\n" for index in range(lines)]
    return ["-----BEGIN PRIVATE KEY-----\n", *body, "-----END PRIVATE KEY-----\n", "after the key\n"]


def held_key(lines: int, repeat: int) -> float:
    writes = private_key(lines)
    printed = streamed(writes)
    if printed[:2] != ["[REDACTED private-key]", "after the key"]:
        raise SystemExit(f"the key of {lines:,} lines was not held and redacted whole: {printed[:2]}")
    return median_seconds(lambda: streamed(writes), repeat)


def median_seconds(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (default 3)")
    args = parser.parse_args()

    redact("".join(unbroken_line(64 << 10)))  # warm up: detect-secrets is loaded on the first redaction
    results = {}
    for size in SIZES:
        writes = unbroken_line(size)
        text = "".join(writes)
        lines = streamed(writes)
        # A benchmark of the wrong outcome would measure the wrong thing: the token must be gone.
        if TOKEN in "".join(lines) or "[REDACTED credential]" not in lines[0]:
            raise SystemExit(f"the {size:,}-character line was not redacted")
        whole = median_seconds(lambda: redact(text), args.repeat)
        stream = median_seconds(lambda: streamed(writes), args.repeat)
        results[size] = whole, stream

    small, large = SIZES
    print(f"LineRedactor over one unbroken line, one JSON object a write, CPU median of {args.repeat} runs")
    print(f"{'MiB':>5} {'redact() ms':>12} {'streamed ms':>12} {'streamed / redact()':>20} {'x 1 MiB':>8}")
    for size in SIZES:
        whole, stream = results[size]
        print(f"{size >> 20:>5} {whole * 1000:>12.1f} {stream * 1000:>12.1f} {stream / whole:>20.2f} "
              f"{stream / results[small][1]:>8.1f}")
    growth = results[large][1] / results[small][1]
    overhead = results[large][1] / results[large][0]
    linear = growth <= LINEAR_AT_MOST
    cheap = overhead <= STREAM_OVER_WHOLE_AT_MOST
    print(f"{large >> 20} MiB streams in {growth:.1f} x the time of {small >> 20} MiB ({large // small} x the text): "
          f"{'linear' if linear else 'NOT LINEAR'} (at most {LINEAR_AT_MOST:g} allowed)")
    print(f"streaming {large >> 20} MiB costs {overhead:.2f} x redacting it at once "
          f"(at most {STREAM_OVER_WHOLE_AT_MOST:g} allowed)")

    held = {lines: held_key(lines, args.repeat) for lines in KEY_LINES}
    few, many = KEY_LINES
    print(f"\na private key held until its END line, written a line at a time, CPU median of {args.repeat} runs")
    print(f"{'lines':>7} {'ms':>9} {'x ' + format(few, ','):>9}")
    for lines in KEY_LINES:
        print(f"{lines:>7,} {held[lines] * 1000:>9.1f} {held[lines] / held[few]:>9.1f}")
    key_growth = held[many] / held[few]
    key_linear = key_growth <= LINEAR_AT_MOST
    print(f"{many:,} lines take {key_growth:.1f} x the time of {few:,} ({many // few} x the lines): "
          f"{'linear' if key_linear else 'NOT LINEAR'} (at most {LINEAR_AT_MOST:g} allowed)")
    return 0 if linear and cheap and key_linear else 1


if __name__ == "__main__":
    raise SystemExit(main())
