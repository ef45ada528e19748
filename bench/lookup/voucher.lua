-- wrk script: look-ups by codice fiscale as a PDND client, every request
-- with its own voucher and tracking evidence (visura refuses a jti it has
-- seen).  Env: LIST (codici fiscali, one a line), TOKENS (vouchers.py's
-- file: voucher TAB evidence, one pair a line); the script's argument is
-- wrk's thread count (-s voucher.lua URL -- THREADS).  Each wrk thread takes
-- its own share of the pairs (line k goes to thread k mod THREADS), uses each
-- once; when its share runs out it sends the request without credentials,
-- which visura refuses, so the run fails (non-2xx) rather than replay.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local cfs, vouchers, evidences = {}, {}, {}
function init(args)
  local nthreads = tonumber(args[1])
  for line in io.lines(os.getenv("LIST")) do cfs[#cfs + 1] = line end
  local k = 0
  for line in io.lines(os.getenv("TOKENS")) do
    if k % nthreads == id then
      local v, e = line:match("([^\t]+)\t([^\t]+)")
      vouchers[#vouchers + 1] = v
      evidences[#evidences + 1] = e
    end
    k = k + 1
  end
end

local i, c = 0, math.random(1000000)
local warned = false
request = function()
  i = i + 1
  c = c % #cfs + 1
  local path = "/api/v1/persons?cf=" .. cfs[c]
  if i > #vouchers then
    if not warned then
      io.stderr:write("voucher.lua: thread " .. id .. " used up its " .. #vouchers .. " vouchers\n")
      warned = true
    end
    return wrk.format("GET", path)
  end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. vouchers[i],
                                  ["Agid-JWT-TrackingEvidence"] = evidences[i]})
end
