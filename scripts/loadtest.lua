-- wrk script: GET <path><query> cycling through real queries, one per line in the file given
-- as the first script argument; the second argument is the path and parameter to put before
-- each query (default "/v1/lookup?postcode="). scripts/loadtest.sh writes the file from
-- geodata/postcodes/postcodes.csv (postcodes) or geodata/places/gazetteer.csv (autocomplete
-- keystrokes). Each thread starts at a different place in the list. Prints requests/s and
-- latency percentiles (p50, p99) at the end.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local queries = {}
local prefix = "/v1/lookup?postcode="
local i = 0

-- Percent-encode everything but unreserved characters (RFC 3986).
local function encode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

function init(args)
  local path = args[1] or "postcodes.txt"
  prefix = args[2] or prefix
  for line in io.lines(path) do
    if line ~= "" then
      queries[#queries + 1] = encode(line)
    end
  end
  if #queries == 0 then
    error("no queries in " .. path)
  end
  -- Spread the threads over the list so they do not ask the same queries in step.
  i = math.floor(#queries * id / 16) % #queries
end

function request()
  i = i % #queries + 1
  return wrk.format("GET", prefix .. queries[i])
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write("------------------------------------------------------------\n")
  io.write(string.format("requests      %d in %.1f s\n", summary.requests, seconds))
  io.write(string.format("requests/s    %.0f\n", summary.requests / seconds))
  io.write(string.format("latency p50   %.2f ms\n", latency:percentile(50) / 1000))
  io.write(string.format("latency p99   %.2f ms\n", latency:percentile(99) / 1000))
  io.write(string.format("latency max   %.2f ms\n", latency.max / 1000))
  io.write(string.format("errors        connect %d, read %d, write %d, timeout %d, non-2xx %d\n",
    e.connect, e.read, e.write, e.timeout, e.status))
end
