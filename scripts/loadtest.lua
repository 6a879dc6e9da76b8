-- wrk script: GET /v1/lookup?postcode= cycling through real postcodes, one per line in the
-- file given as the first script argument (scripts/loadtest.sh writes it from
-- geodata/postcodes/postcodes.csv). Each thread starts at a different place in the list.
-- Prints requests/s and latency percentiles (p50, p99) at the end.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local postcodes = {}
local i = 0

function init(args)
  local path = args[1] or "postcodes.txt"
  for line in io.lines(path) do
    if line ~= "" then
      postcodes[#postcodes + 1] = (line:gsub(" ", "%%20"))
    end
  end
  if #postcodes == 0 then
    error("no postcodes in " .. path)
  end
  -- Spread the threads over the list so they do not ask the same postcodes in step.
  i = math.floor(#postcodes * id / 16) % #postcodes
end

function request()
  i = i % #postcodes + 1
  return wrk.format("GET", "/v1/lookup?postcode=" .. postcodes[i])
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
