"""`mkdocs serve` showing an edit of cluster.yaml (or of any watched file) within a second.

MkDocs' dev server looks for changes by polling every watched path every half second, then waits
0.1 s for the writes to stop before it rebuilds: on average a quarter of a second, at worst half
of one, passes before a rebuild even starts. Polling every 0.1 s instead costs about a millisecond
of CPU a round for this project's watched paths (docs/, homeops/, runbooks/, macros/, records/).
`mkdocs serve` has no option for it, so `poll_often` wraps the server class it creates, the way
`homeops.site.preview` wraps its build function (both from `on_startup`, before the server exists).

A rebuild after an edit of cluster.yaml renders the configuration tree again (the render cache is
keyed by cluster.yaml), the only part of a build that imports makejinja: `import_render` imports
it when the server starts rather than in the first rebuild someone waits for.
"""

from __future__ import annotations

import functools
import sys

POLLING_SECONDS = 0.1


def poll_often() -> None:
    """Under `mkdocs serve` (its module is loaded), the server it starts polls every POLLING_SECONDS.
    Idempotent; a server class that takes no polling interval is left as it is."""
    serve = sys.modules.get("mkdocs.commands.serve")
    server_class = getattr(serve, "LiveReloadServer", None)
    if server_class is None or isinstance(server_class, functools.partial):
        return
    serve.LiveReloadServer = functools.partial(server_class, polling_interval=POLLING_SECONDS)


def import_render() -> None:
    import makejinja.app  # noqa: F401
    import makejinja.config  # noqa: F401

    import homeops.rendering.render  # noqa: F401
