-- Prints one JSON line with requests/s and latency percentiles (ms) when wrk finishes.
-- Request shape comes from environment variables set by bench/api_bench.py.
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/healthz"
local token = os.getenv("BENCH_TOKEN")
local body_file = os.getenv("BENCH_BODY_FILE")
local people = tonumber(os.getenv("BENCH_PEOPLE") or "1")
local purposes = tonumber(os.getenv("BENCH_PURPOSES") or "1")
local bodies = {}

if body_file then
  for line in io.lines(body_file) do bodies[#bodies + 1] = line end
end

-- Each wrk thread has its own Lua state and, unseeded, the same random sequence: two threads
-- would send the same bodies at the same moment (the same people, so their batches would
-- wait on each other's locks). Seed each thread differently.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

init = function(args)
  math.randomseed(thread_id * 1000003 + os.time())
end

request = function()
  local headers = {}
  if token then headers["Authorization"] = "Bearer " .. token end
  local p = path
  if string.find(p, "{subject}") then
    p = string.gsub(p, "{subject}", "p" .. math.random(0, people - 1))
    p = string.gsub(p, "{purpose}", "purpose" .. math.random(0, purposes - 1))
  end
  if #bodies > 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format(method, p, headers, bodies[math.random(1, #bodies)])
  end
  return wrk.format(method, p, headers)
end

-- "rps" counts only the requests answered with success: a refused batch (503, 4xx) stored nothing.
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p99_ms": %.2f, "errors": %d, "status_errors": %d}\n',
    summary.requests, seconds, (summary.requests - summary.errors.status) / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.errors.status))
end
