"""Container health check: GET a process's /ready; exit 0 on HTTP 200, 1 otherwise (one line why).

    python /opt/ibfutures/healthcheck.py http://127.0.0.1:9101/ready
    HEALTHCHECK_URL=http://127.0.0.1:8765/ready python /opt/ibfutures/healthcheck.py
    python /opt/ibfutures/healthcheck.py        # http://127.0.0.1:<ops_http_port>/ready from the config

Standard library only (the slim image has no curl). The URL is the first argument, else
HEALTHCHECK_URL, else built from the configuration's `ops_http_host`/`ops_http_port`; with no
port configured there is nothing to ask, which counts as healthy (a one-off script container).
When IBFUTURES_MARKET_DATA_SERVICE_TOKEN is set it is sent as a bearer token, so a check of
the market-data service passes its authentication. The wait is bounded by HEALTHCHECK_TIMEOUT
seconds (default 4, below compose's `timeout`).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TOKEN_ENV = "IBFUTURES_MARKET_DATA_SERVICE_TOKEN"


def url_from_config() -> str | None:
    from sysdata.config.configdata import load_config

    config = load_config()
    if config.ops_http_port is None:
        return None
    host = "127.0.0.1" if config.ops_http_host in ("0.0.0.0", "::") else config.ops_http_host
    return f"http://{host}:{config.ops_http_port}/ready"


def check(url: str, token: str | None = None, timeout: float = 4.0) -> tuple[bool, str]:
    """(healthy, one-line description) of one GET of `url`."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(500).decode("utf-8", "replace")
            return response.status == 200, f"{url}: {response.status} {body}"
    except urllib.error.HTTPError as exc:
        body = exc.read(500).decode("utf-8", "replace")
        return False, f"{url}: {exc.code} {body}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url}: {reason}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("HEALTHCHECK_URL") or url_from_config()
    if url is None:
        print("no ops_http_port configured: nothing to check")
        return 0
    healthy, line = check(url, os.environ.get(TOKEN_ENV) or None, float(os.environ.get("HEALTHCHECK_TIMEOUT", "4")))
    print(line)
    return 0 if healthy else 1


if __name__ == "__main__":
    raise SystemExit(main())
