-- One MCP `tools/call` POST, repeated; the request comes from the environment:
--   BENCH_BODY      the JSON-RPC body
--   BENCH_HEADERS   header lines "Name: value", separated by newlines
--   BENCH_SESSIONS  optional comma-separated Mcp-Session-Id values, one per wrk thread
--   BENCH_LIMIT     optional: each thread stops after this many responses (bounded runs)
--   BENCH_EXPECT    optional, with BENCH_LIMIT: a response body must contain this text
-- On a session every request gets its own JSON-RPC id (a per-thread counter), as a
-- session requires: a server routes responses by id, so repeated ids would collide.
-- Stateless requests are independent, so they repeat one pre-formatted request, which
-- keeps wrk's own cost per request low (no Lua call per request).
-- `done` prints one JSON line with the totals and latency percentiles (microseconds).

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

local sessions = {}
for sid in string.gmatch(os.getenv("BENCH_SESSIONS") or "", "[^,]+") do
  table.insert(sessions, sid)
end
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
local expect = os.getenv("BENCH_EXPECT") or ""

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("sid", sessions[((next_id - 1) % math.max(#sessions, 1)) + 1] or "")
  table.insert(threads, thread)
end

local before, after = string.match(wrk.body, '^(.-"id":)1(,.*)$')
local counter = 0

function init(args)
  if sid ~= "" then
    wrk.headers["Mcp-Session-Id"] = sid
  end
  seen = 0
  bad = 0
end

if #sessions > 0 then
  function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, before .. counter .. after)
  end
end

if limit > 0 then
  function response(status, headers, body)
    seen = seen + 1
    if status < 200 or status > 299 or not string.find(body, expect, 1, true) then
      bad = bad + 1
    end
    if seen == limit then
      io.stderr:write("bench: thread done\n")
      io.stderr:flush()
      wrk.thread:stop()
    end
  end
end

function done(summary, latency, requests)
  local checked, wrong = 0, 0
  for _, thread in ipairs(threads) do
    checked = checked + (thread:get("seen") or 0)
    wrong = wrong + (thread:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{"duration_us": %d, "requests": %d, "bytes": %d, "connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d, "checked": %d, "wrong": %d, '
      .. '"lat_mean": %.1f, "lat_max": %d, "p50": %d, "p90": %d, "p99": %d, "p999": %d}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, checked, wrong, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
