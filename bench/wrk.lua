-- wrk script for bench/run. Each request signs in as one of BENCH_IDENTITIES users in turn
-- (the front nginx maps the X-Bench-Email header to the FastCGI param INBOX_EMAIL); done()
-- prints one JSON line that bench/run reads. No response() callback: defining one makes wrk
-- parse every answer's headers into Lua tables, which would cost more than the responders.
local identities = tonumber(os.getenv("BENCH_IDENTITIES") or "50")
local prepared = {}
local turn = 0

-- BENCH_DIRECT_AUTH set: the request goes straight to the eSputnik stand-in, as the responder
-- would send it (POST, that Authorization header, a JSON body), for the stand-in's own ceiling.
local direct = os.getenv("BENCH_DIRECT_AUTH")

-- BENCH_TOKENS set (a file of signed identity tokens): requests sign in with the identity cookie,
-- which the responder verifies, instead of the header, each token in turn.
local tokens = nil
if os.getenv("BENCH_TOKENS") then
  tokens = {}
  for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
  identities = #tokens
end

function init(args)
  for i = 0, identities - 1 do
    local email = "user" .. i .. "@example.com"
    if direct then
      prepared[i] = wrk.format("POST", nil, { ["Authorization"] = direct, ["Content-Type"] = "application/json" },
        '{"email":"' .. email .. '"}')
    elseif tokens then
      prepared[i] = wrk.format("GET", nil, { ["Cookie"] = "app_inbox_identity=" .. tokens[i + 1] })
    else
      prepared[i] = wrk.format("GET", nil, { ["X-Bench-Email"] = email })
    end
  end
  -- Threads start at different users, so concurrent requests rarely share an identity.
  turn = math.floor(identities / 2) * (tonumber(wrk.thread and wrk.thread:get("index") or 0) or 0)
end

local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function request()
  turn = (turn + 1) % identities
  return prepared[turn]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
