-- wrk script for bench/http.py: sends pre-formatted raw HTTP requests read from a file, in order.
--   wrk -t1 -c N -d S -s bench/http.lua URL -- REQUESTS MODE [CAPTURE]
-- REQUESTS: raw requests separated by NUL bytes (prepared, tokens signed, before timing); the
--   first is a spare copy of the second, for the request() call wrk makes before it connects.
-- MODE: "cycle" repeats the list; "once" sends each request once (single-use launches, new
--   badges) and then only GET /healthz, counted as "exhausted" (bench/http.py rejects the run).
-- CAPTURE: a file for the tool's login redirects (Location and Set-Cookie), one per line.
-- A response counts as bad when its status is 4xx/5xx, or its body carries (GraphQL) errors,
-- or a postBadge answer is not RECORDED. done() prints one JSON line after "BENCH ".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  requests = {}
  for item in string.gmatch(data, "([^%z]+)") do
    requests[#requests + 1] = item
  end
  once = args[2] == "once"
  if args[3] then
    capture = assert(io.open(args[3], "a"))
  end
  cursor = 0
  exhausted = 0
  bad = 0
  sample = ""
  filler = wrk.format("GET", "/healthz")
end

function request()
  cursor = cursor + 1
  if cursor > #requests then
    if once then
      exhausted = exhausted + 1
      return filler
    end
    cursor = 1
  end
  return requests[cursor]
end

local function note(text)
  bad = bad + 1
  if sample == "" then
    sample = string.gsub(string.sub(text, 1, 300), '[%c"\\]', " ")
  end
end

function response(status, headers, body)
  if status >= 400 then
    note(status .. " " .. (body or ""))
    return
  end
  if body and string.find(body, '"errors":%s*%[%s*{') then
    note(body)
  elseif body and string.find(body, '"postBadge"', 1, true)
      and not string.find(body, '"outcome":%s*"RECORDED"') then
    note(body)
  end
  if capture then
    local location = headers["location"] or headers["Location"]
    local cookie = headers["set-cookie"] or headers["Set-Cookie"]
    if location and cookie then
      capture:write(location, "\t", cookie, "\n")
      capture:flush()
    end
  end
end

function done(summary, latency, requests)
  local total_bad, total_exhausted, first = 0, 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
    total_exhausted = total_exhausted + (thread:get("exhausted") or 0)
    if first == "" then
      first = thread:get("sample") or ""
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "bad": %d, "exhausted": %d, "sample": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write, e.timeout, total_bad, total_exhausted, first))
end
