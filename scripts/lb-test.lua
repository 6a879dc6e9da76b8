-- wrk script for scripts/lb-test.sh: GET /v1/lookup?postcode= cycling through a few Norfolk and
-- Bristol postcodes, through the load balancer. Counts, over all threads, the answers that are
-- not 200 and the answers whose body names the dataset version in the environment variable
-- NEW_VERSION (the reloaded data). At the end prints one line for the script to read:
--   lb-test: requests=N non200=N errors=N new_version=N
-- where errors are wrk's socket errors (connect, read, write, timeout).

local postcodes = { "NR1%201AA", "NR25%207PQ", "BS1%205TR", "NR2%204SX", "BS8%201TH", "NR9%203DB" }
local new_version = os.getenv("NEW_VERSION") or ""
local threads = {}
local i = 0
-- Globals, so that done() can read each thread's counts with thread:get.
non200 = 0
seen_new = 0

function setup(thread)
  table.insert(threads, thread)
end

function request()
  i = i % #postcodes + 1
  return wrk.format("GET", "/v1/lookup?postcode=" .. postcodes[i])
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  elseif new_version ~= "" and body:find('"dataset_version":"' .. new_version .. '"', 1, true) then
    seen_new = seen_new + 1
  end
end

function done(summary, latency, requests)
  local non, new = 0, 0
  for _, t in ipairs(threads) do
    non = non + t:get("non200")
    new = new + t:get("seen_new")
  end
  local e = summary.errors
  io.write(string.format("lb-test: requests=%d non200=%d errors=%d new_version=%d\n",
    summary.requests, non, e.connect + e.read + e.write + e.timeout, new))
end
