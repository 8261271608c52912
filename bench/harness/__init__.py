"""The parts of bench/run: the contenders (contenders.py), the eSputnik stand-in and the front
nginx (upstream.py), wrk, /proc readings and startup timing (measure.py), a FastCGI client for
load without nginx (fastcgi.py), the table and its targets (report.py) and the profiles
(profile.py).

Ports, the test CA, nginx configs, process handling and the HTTP client come from the integration
tests' Tests/integration/stack.py, and FastCGI records from its fcgi_raw.py, so that the tests
and the benchmarks start and talk to their servers the same way."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
sys.path.insert(0, str(ROOT / "Tests" / "integration"))

TOKEN = "bench-token-0123456789abcdef"
TOKEN_BODY = '{"token":"%s"}' % TOKEN
API_KEY = "bench-key-6c1f0e9a2d4b7358"
LATENCY_MS = 50
HIT_IDENTITIES = 50          # cache-hit runs: a fixed set, every request a hit after the first 50
EXCHANGE_IDENTITIES = 10000  # exchange runs: enough users that concurrent requests rarely coalesce
