-- wrk script: POST /api/v1/parts-requests for a random demo station and a random stocked part.
-- ECHELON_TOKEN, ECHELON_STATIONS and ECHELON_PARTS (comma-separated) come from the environment.
local token = os.getenv("ECHELON_TOKEN")
local stations, parts = {}, {}
for s in string.gmatch(os.getenv("ECHELON_STATIONS"), "[^,]+") do stations[#stations + 1] = s end
for p in string.gmatch(os.getenv("ECHELON_PARTS"), "[^,]+") do parts[#parts + 1] = p end
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  local body = string.format('{"station": "%s", "lines": [{"part_code": "%s", "qty": 1}]}',
    stations[math.random(#stations)], parts[math.random(#parts)])
  return wrk.format(nil, "/api/v1/parts-requests", nil, body)
end

local non2xx = 0
function response(status, headers, body)
  if status ~= 201 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
