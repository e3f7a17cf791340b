"""The studio: `genart studio [RUNS_DIR]` serves a local web page over the runs in RUNS_DIR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genart.core.errors import ConfigError


def serve(runs_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, device: str = "auto",
          console: Any = None) -> None:
    """Serve the studio until interrupted. Binds 127.0.0.1 (this computer only) unless `host` says otherwise."""
    import uvicorn

    from genart.studio.app import create_app

    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} is out of range", "use 1 to 65535, e.g. 8765")
    app = create_app(runs_dir, device=device)
    if console is not None:
        console.print(f"genart studio: http://{host}:{port}/  (runs in {Path(runs_dir).resolve()}; Ctrl-C to stop)",
                      highlight=False, soft_wrap=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            console.print(f"warning: bound to {host}: other computers can reach the studio", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except OSError as e:
        raise ConfigError(f"cannot serve on {host}:{port} ({e.strerror or e})", "choose another --port") from None


__all__ = ["serve"]
