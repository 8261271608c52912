-- wrk script for bench/soak: 50 identities in turn; every 200 must carry the token of the
-- identity it was asked for (nginx echoes the asked identity in X-Test-Echo-Email).
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  mismatches = 0
  checked = 0
  sent = 0
end

function request()
  sent = sent + 1
  local email = "user" .. (sent % 50) .. "@example.com"
  return wrk.format("GET", "/app-inbox/token", { ["X-Test-Email"] = email })
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    checked = checked + 1
    local email = headers["X-Test-Echo-Email"]
    local expected = email and ('{"token":"sbx-' .. email .. '-') or nil
    if expected == nil or string.sub(body, 1, #expected) ~= expected then
      mismatches = mismatches + 1
    end
  end
end

function done(summary, latency, requests)
  local totals, wrong, ok = {}, 0, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
    wrong = wrong + thread:get("mismatches")
    ok = ok + thread:get("checked")
  end
  local parts = {}
  for status, count in pairs(totals) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  io.write(string.format(
    'SOAK-RESULT {"statuses":{%s},"checked":%d,"mismatches":%d,"requests":%d,"socket_errors":%d,"p99_ms":%.1f}\n',
    table.concat(parts, ","), ok, wrong, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(99) / 1000))
end
