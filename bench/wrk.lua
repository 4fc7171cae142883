-- wrk script of the web benchmark: GET or POST (when BENCH_BODY is set) over the paths in
-- the file BENCH_PATHS, with the session cookie BENCH_COOKIE; prints its figures as JSON.
-- Each POST gets its own idempotency key, and the threads take turns over the paths, so
-- concurrent requests go to different cases (no 409s from the benchmark itself).
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local body = os.getenv("BENCH_BODY") or ""
local cookie = os.getenv("BENCH_COOKIE") or ""
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
local created = 0
local counter = 0

function setup(thread)
  created = created + 1
  thread:set("id", created)
end

function request()
  counter = counter + 1
  local path = paths[((counter * threads + id) % #paths) + 1]
  local headers = {["Cookie"] = cookie}
  if body == "" then
    return wrk.format("GET", path, headers)
  end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  local key = "bench-" .. id .. "-" .. counter .. "-" .. math.random(1000000000)
  return wrk.format("POST", path, headers, (body:gsub("IDEMPOTENCY", key)))
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
