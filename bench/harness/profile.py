"""bench/run --profile: callgrind (fixed load over FastCGI, no nginx) and perf (wrk through nginx)
of app-inbox-fcgi with the cache off and on, and of the C responder for comparison.

The callgrind report lists the inclusive cost of each step of the request path (STEPS). A step
whose pattern matches no function of the profile fails the run, naming the step, unless it is
declared optional with the reason: a step that quietly vanished once hid the identity HMAC
behind a renamed type while libcrypto took a tenth of the time."""

import glob
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from stack import free_port, serving_pid, wait_for_port

from . import EXCHANGE_IDENTITIES, HIT_IDENTITIES, RESULTS
from .contenders import contender
from .fastcgi import fixed_load
from .measure import binary_fingerprint, wrk
from .upstream import Upstream, start_nginx

# The profiled cases: app-inbox-fcgi exchanging on every request (cache off), app-inbox-fcgi
# answering from its cache, and the C responder.
EXCHANGE, CACHE_HIT, C_RESPONDER = "app-exchange", "app-cache-hit", "c-responder"
APP = (EXCHANGE, CACHE_HIT)
EVERY = (EXCHANGE, CACHE_HIT, C_RESPONDER)


class ProfileError(Exception):
    pass


@dataclass(frozen=True)
class Step:
    label: str
    pattern: str               # re.search on demangled names (swift demangle --simplified)
    cases: tuple = APP         # the cases whose request path takes this step
    optional: str = None       # why the step may be missing from a profile; None: it may not

    def matches(self, names):
        return [fn for fn, readable in names.items() if re.search(self.pattern, readable)]


# Patterns name the types (IdentityKeyer, TokenCache, CurlMultiTransport, TokenExchange, ...) rather
# than their exact signatures where a signature is likely to change, and accept the old and the
# new home of code that moved.
STEPS = [
    Step("whole worker loop (everything the workers did)", r"^(specialized )?static FastCGIServer\.worker\("),
    # Exchanges, and the answers of requests parked on them, run on the curl event loop's thread.
    Step("curl event loop (exchanges, parked answers)", r"CurlMulti\.run\(", (EXCHANGE,)),
    Step("FCGX_Accept_r (read the request's records)", r"^FCGX_Accept_r$", EVERY),
    Step("FastCGIConnection.readBody (drain FCGI_STDIN)", r"FastCGIConnection\.readBody"),
    Step("param lookup closure (FCGX_GetParam + copy to [UInt8])", r"^closure #1 in static FastCGIConnection\.(serve|read)"),
    Step("FCGX_GetParam (linear scan of the params)", r"^FCGX_GetParam$"),
    Step("AppInboxWorker.reply (route + handler + metrics + log)", r"AppInboxWorker\.(respond|reply)\(to:\)"),
    Step("RequestTarget.path (REQUEST_URI → path)", r"RequestTarget\.path\(of:\)"),
    Step("Route.match", r"Route\.match\("),
    Step("OriginCheck.refusal (cross-site guard)", r"OriginCheck\.(refusal|verdict)"),
    Step("AppInboxWorker.token (the token route's handler)", r"AppInboxWorker\.token\("),
    Step("ContactIdentity.read (identity params, validation)", r"ContactIdentity\.read\(from:"),
    Step("ContactIdentity.isEmail", r"ContactIdentity\.isEmail"),
    Step("ContactIdentity.masked (for the log line)", r"ContactIdentity\.masked"),
    # The cache's key; with the cache off, single flight keys on the identity itself.
    Step("IdentityKeyer.key (HMAC-SHA256 of the identity)", r"IdentityKeyer\.key\(", (CACHE_HIT,)),
    Step("HMAC-SHA256 in OpenSSL (ccrypto_hmac_sha256: EVP_MAC)", r"^(ccrypto_hmac_sha256|HMAC)$", (CACHE_HIT,)),
    Step("TokenCache.lookup", r"TokenCache\.lookup", (CACHE_HIT,)),
    Step("RequestTarget.query (for fresh=1)", r"RequestTarget\.query\(of:\)", (CACHE_HIT,)),
    Step("SingleFlight.join", r"SingleFlight\.(run|join)", (EXCHANGE,)),
    Step("guarded exchange (cap, breaker, exchange, metrics)",
         r"AppInboxService\.guardedExchange\(|TokenSource\.(call|token)\(", (EXCHANGE,)),
    Step("refreshExchange (reload check)", r"refreshExchange\(", (EXCHANGE,),
         optional="a private check of a few hundred instructions that the compiler may inline into its caller, "
                  "whose step then carries the cost"),
    Step("TokenExchange.exchange (attempts, deadline)", r"TokenExchange\.exchange\(", (EXCHANGE,)),
    Step("ContactIdentity.upstreamBody (JSON body for eSputnik)", r"ContactIdentity\.upstreamBody", (EXCHANGE,)),
    Step("CurlMultiTransport.post (a pooled handle, handed to the loop)", r"(CurlUpstream|CurlMultiTransport)\.post\(",
         (EXCHANGE,)),
    Step("curl_multi_socket_action (curl's work on a ready socket)", r"^(curl_easy_perform|curl_multi_socket_action)$",
         (EXCHANGE,)),
    Step("UpstreamAttempt.verdict (parse eSputnik's JSON)", r"UpstreamAttempt\.verdict", (EXCHANGE,)),
    Step("TokenAnswer.body (answer JSON)", r"TokenAnswer\.body"),
    Step("JSONString.append", r"JSONString\.append\("),
    Step("Metrics recordRequest", r"Metrics\.(Shard\.)?recordRequest\("),
    Step("Log.write (request log line)", r"^Log\.write\("),
    Step("Log.appendTimestamp", r"Log\.appendTimestamp\("),
    Step("ResponseEncoding.head (Status + headers)", r"ResponseEncoding\.head\(of:\)"),
    Step("FCGX_PutStr", r"^FCGX_PutStr$", EVERY),
    Step("FCGX_FFlush", r"^FCGX_FFlush$"),
    Step("FCGX_Finish_r", r"^FCGX_Finish_r$", EVERY),
    Step("malloc (calls)", r"^malloc$", EVERY),
    Step("swift_allocObject (calls)", r"^swift_allocObject$"),
    Step("swift_retain (calls)", r"^swift_retain$"),
    Step("swift_release (calls)", r"^swift_release$"),
]

CATEGORIES = [
    ("libcurl (HTTP client)", r"libcurl"),
    ("libssl (TLS records)", r"libssl"),
    ("libcrypto (HMAC of the cache key; TLS ciphers)", r"libcrypto"),
    ("libfcgi (FastCGI records, params)", r"libfcgi"),
    ("malloc / free", r"^(malloc|free|_int_malloc|_int_free|calloc|realloc|cfree|tcache\w*|malloc_consolidate|"
                      r"unlink_chunk|_int_realloc|__libc_malloc|__libc_free|__libc_calloc|__libc_realloc)$"),
    ("Swift refcounting / object allocation", r"^swift_(retain|release|allocObject|deallocObject|deallocClassInstance|"
                                              r"bridgeObjectRe\w+|isUniquelyReferenced\w*|slowAlloc|slowDealloc|"
                                              r"allocBox|beginAccess|endAccess|retain_n|release_n|tryRetain|"
                                              r"unknownObjectRe\w+)$|RefCounts|_swift_release_dealloc"),
    ("locks (Synchronization.Mutex, pthread, futex)", r"_MutexHandle|pthread_mutex|pthread_cond|futex|__lll_"),
]


def demangle(text):
    if shutil.which("swift"):
        result = subprocess.run(["swift", "demangle", "--simplified"], input=text, capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout
    return text


def categorize(function, obj):
    for name, pattern in CATEGORIES:
        if re.search(pattern, Path(obj).name) or re.search(pattern, function):
            return name
    if "libswift" in obj:
        return "Swift stdlib (String, Array, Dictionary, hashing, Unicode)"
    if "app-inbox-fcgi" in obj:
        return "app-inbox-fcgi's own code (with inlined generics)"
    if "libc.so" in obj or "ld-linux" in obj:
        return "libc other (memcpy, strlen, sscanf, …)"
    if "responder" in obj:
        return "C responder code"
    return f"other ({Path(obj).name})"


def parse_callgrind(path):
    """Self cost (Ir) per (object, function), calls per function and inclusive cost per function
    (summed over call sites, so recursive functions are overcounted) from a callgrind file."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    cost, calls, called_cost = {}, {}, {}
    current_ob = current_fn = callee = ""
    in_call = False
    total = 0

    def resolve(kind, text):
        text = text.strip()
        match = re.match(r"\((\d+)\)(?:\s+(.*))?", text)
        if match:
            if match.group(2) is not None:
                names[kind][match.group(1)] = match.group(2)
            return names[kind].get(match.group(1), text)
        return text

    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("ob="):
                current_ob = resolve("ob", line[3:])
            elif line.startswith("fn="):
                current_fn = resolve("fn", line[3:])
            elif line.startswith("cfn="):
                callee = resolve("fn", line[4:])
            elif line.startswith(("cob=", "cfi=", "cfl=")):
                resolve("ob" if line.startswith("cob=") else "fl", line[4:])
            elif line.startswith(("fl=", "fi=", "fe=")):
                resolve("fl", line[3:])
            elif line.startswith("calls="):
                in_call = True
                calls[callee] = calls.get(callee, 0) + int(line[6:].split()[0])
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    continue
                value = int(parts[1])
                if in_call:
                    in_call = False  # the call's inclusive cost, not self cost
                    if callee != current_fn:
                        called_cost[callee] = called_cost.get(callee, 0) + value
                    continue
                cost[(current_ob, current_fn)] = cost.get((current_ob, current_fn), 0) + value
                total += value
    inclusive = {}
    for (_ob, fn), value in cost.items():
        inclusive[fn] = inclusive.get(fn, 0) + value
    for fn, value in called_cost.items():
        inclusive[fn] = inclusive.get(fn, 0) + value
    return cost, calls, inclusive, total


def callgrind_report(out_file, case, requests, title):
    """The report text and Ir per request; ProfileError if a required step of `case` is missing."""
    cost, calls, inclusive, total = parse_callgrind(out_file)
    every = sorted(set(fn for _ob, fn in cost) | set(calls) | set(inclusive))
    readable = dict(zip(every, demangle("\n".join(every)).splitlines()))
    functions = sorted(cost.items(), key=lambda kv: -kv[1])
    by_category = {}
    for (ob, fn), value in functions:
        category = categorize(readable.get(fn, fn), ob)
        by_category[category] = by_category.get(category, 0) + value
    lines = [f"# {title}", f"callgrind: {total:,} instructions (Ir) for {requests} requests = "
             f"{total / requests:,.0f} Ir per request", "", "## Self cost by category", ""]
    for category, value in sorted(by_category.items(), key=lambda kv: -kv[1]):
        lines.append(f"{value / requests:>10,.0f} Ir/req  {100 * value / total:5.1f}%  {category}")
    lines += ["", "## Steps of the request path: inclusive cost and calls per request", "",
              f"{'Ir/req':>10}  {'%':>5}  {'calls/req':>9}  step"]
    missing, absent = [], []
    for step in (s for s in STEPS if case in s.cases):
        matched = step.matches(readable)
        if not matched:
            (absent if step.optional else missing).append(step)
            continue
        value = max(inclusive.get(fn, 0) for fn in matched)
        count = sum(calls.get(fn, 0) for fn in matched)
        lines.append(f"{value / requests:>10,.0f}  {100 * value / total:5.1f}  {count / requests:>9.2f}  {step.label}")
    if missing:
        raise ProfileError(f"{case}: {len(missing)} step(s) of the request path matched no function in the profile "
                           f"({out_file}); rename the pattern in bench/harness/profile.py STEPS, or declare the "
                           "step optional with the reason:\n"
                           + "\n".join(f"  step {s.label!r}: no function matches /{s.pattern}/" for s in missing))
    lines += [f"{'–':>10}  {'–':>5}  {'–':>9}  {s.label}: not in this profile ({s.optional})" for s in absent]
    lines += ["", "## Top 40 functions by self cost", ""]
    for (ob, fn), value in functions[:40]:
        lines.append(f"{value / requests:>10,.0f} Ir/req  {100 * value / total:5.1f}%  "
                     f"{readable.get(fn, fn)[:150]}  [{Path(ob).name}]  {calls.get(fn, 0) / requests:.2f} calls/req")
    return "\n".join(lines) + "\n", total / requests


def profile(args, procs, workdir, binaries):
    RESULTS.mkdir(parents=True, exist_ok=True)
    upstream = Upstream(procs, workdir)
    # Valgrind 3.19 cannot read the DWARF 5 that Swift's toolchain writes ("Possibly corrupted
    # debuginfo file"): profile a copy without debug info; the symbol table keeps function names.
    app_copy = Path(workdir) / "app-inbox-fcgi-nodebug"
    subprocess.run(["objcopy", "--strip-debug", str(binaries.app), str(app_copy)], check=True)
    summary = [f"app-inbox-fcgi binary: sha256 {binary_fingerprint(binaries.app)}"]
    requests, connections, threads = args.profile_requests, 8, args.threads
    listen = ["--listen", "127.0.0.1:PORT", "--threads", str(threads)]
    # Served by the process valgrind runs: under its supervisor the requests would go to a child
    # process that valgrind does not follow.
    app = [str(app_copy), *listen, "--no-supervise"]
    cases = [
        (EXCHANGE, app, upstream.app_env("fixed", cache=False), EXCHANGE_IDENTITIES),
        (CACHE_HIT, app, upstream.app_env("fixed", cache=True), HIT_IDENTITIES),
        (C_RESPONDER, [str(binaries.c_responder), *listen], None, HIT_IDENTITIES),
    ]
    for name, argv, env, identities in cases:
        port = free_port()
        out = Path(workdir) / f"callgrind.{name}.out"
        vg = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]
        proc = procs.start(vg + [a.replace("PORT", str(port)) for a in argv], Path(workdir) / f"{name}.log", env=env)
        wait_for_port(port, timeout=120, proc=proc)
        # warm-up: handles, TLS, cache, code paths
        fixed_load(port, min(400, requests), connections, identities=identities)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        started = time.perf_counter()
        fixed_load(port, requests, connections, identities=identities)
        elapsed = time.perf_counter() - started
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        procs.stop(proc, timeout=60)
        dumps = sorted(glob.glob(f"{out}.*"), key=os.path.getmtime)
        report, per_request = callgrind_report(dumps[-1] if dumps else out, name, requests,
                                               f"{name}: {requests} requests over {connections} kept FastCGI "
                                               f"connections, {threads} threads, under valgrind ({elapsed:.1f} s)")
        (RESULTS / f"profile-callgrind-{name}.txt").write_text(report)
        summary.append(f"{name}: {per_request:,.0f} Ir/request (callgrind)")
        print(f"  {summary[-1]}", flush=True)

    if perf_works():
        summary += perf_profiles(args, procs, workdir, upstream, binaries)
    else:
        summary.append("perf: not usable here (perf stat -e instructions true failed)")
    (RESULTS / "profile-summary.txt").write_text("\n".join(summary) + "\n")
    return 0


def perf_profiles(args, procs, workdir, upstream, binaries):
    summary = []
    front = [contender(key, args.threads, [64]) for key in ("app-exch-keep", "app-hit-keep", "c-keep")]
    start_nginx(procs, Path(workdir) / "front", "".join(c.front_server() for c in front), [c.front_port for c in front])
    for c in front:
        c.start(procs, workdir, upstream, binaries)
        wrk(c.front_port, 64, 2, c.identities, args.wrk_threads, Path(workdir) / "wrk.log")
        data = Path(workdir) / f"perf.{c.key}.data"
        serving = str(serving_pid(c.proc.pid))  # app-inbox-fcgi's serving child, not its supervisor
        recorder = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "1999", "-g", "-p", serving,
                                     "-o", str(data), "--", "sleep", "6"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stat = subprocess.Popen(["perf", "stat", "-e", "instructions,cycles,task-clock,context-switches",
                                 "-p", serving, "--", "sleep", "6"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        result = wrk(c.front_port, 64, 7, c.identities, args.wrk_threads, Path(workdir) / "wrk.log")
        recorder.wait()
        stat_text = stat.communicate()[1]
        procs.stop(c.proc)
        report = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "dso,sym",
                                 "--stdio", "--percent-limit", "0.7", "-g", "none"],
                                capture_output=True, text=True).stdout
        by_dso = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort", "dso",
                                 "--stdio", "-g", "none"], capture_output=True, text=True).stdout
        callers = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                                  "-g", "caller,2,callee,function,percent", "--percent-limit", "4"],
                                 capture_output=True, text=True).stdout
        instructions = re.search(r"([\d,.]+)\s+instructions", stat_text)
        per_req = ""
        if instructions:
            count = float(instructions.group(1).replace(",", "").replace(".", ""))
            per_req = f"{count / (result['rps'] * 6):,.0f} instructions per request (perf stat, 6 s window at " \
                      f"{result['rps']:,.0f} req/s)"
        text = (f"# perf: {c.key} ({c.label}), wrk 64 connections through nginx, {result['rps']:,.0f} req/s\n"
                f"{per_req}\n\n## perf stat\n{stat_text}\n## by shared object\n"
                + "\n".join(l for l in by_dso.splitlines() if l and not l.startswith("#"))
                + "\n\n## by symbol (≥ 0.7%)\n"
                + demangle("\n".join(l for l in report.splitlines() if l and not l.startswith("#")))
                + "\n\n## call chains of the top symbols (≥ 4% self, branches ≥ 2%)\n"
                + demangle("\n".join(l for l in callers.splitlines() if l.strip() and not l.startswith("#"))))
        (RESULTS / f"profile-perf-{c.key}.txt").write_text(text)
        summary.append(f"{c.key}: perf at {result['rps']:,.0f} req/s; {per_req}")
        print(f"  {summary[-1]}", flush=True)
    return summary


def perf_works():
    try:
        return subprocess.run(["perf", "stat", "-e", "instructions", "true"], capture_output=True,
                              timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
