-- wrk script: authenticated GET requests over a list of paths built from a
-- file, one per line, in turn.  Env: COOKIE, LIST, KIND (cf|name), NAMES
-- (year|date: surname|name|birth year or birth date, default year);
-- COOKIES (optional): a file of session cookies, one a line, taken in turn
-- request by request (the load spread evenly over the accounts).
local items = {}
for line in io.lines(os.getenv("LIST")) do items[#items + 1] = line end
wrk.headers["Cookie"] = os.getenv("COOKIE")
local cookies = {}
if os.getenv("COOKIES") then
  for line in io.lines(os.getenv("COOKIES")) do cookies[#cookies + 1] = line end
end
local kind = os.getenv("KIND")
-- NAMES=date: the list's third field is the birth date, not the year
local born = os.getenv("NAMES") == "date" and "birth_date" or "birth_year"
local i = math.random(#items)
local c = math.random(math.max(#cookies, 1))
request = function()
  i = i % #items + 1
  local it = items[i]
  local h = nil
  if #cookies > 1 then
    c = c % #cookies + 1
    h = {Cookie = cookies[c]}
  end
  if kind == "cf" then
    return wrk.format("GET", "/api/v1/persons?purpose=1&cf=" .. it, h)
  end
  local s, n, y = it:match("([^|]*)|([^|]*)|([^|]*)")
  return wrk.format("GET", "/api/v1/persons?purpose=1&surname=" .. s .. "&name=" .. n .. "&" .. born .. "=" .. y, h)
end
-- Each thread counts its answers by status, and apart the 422
-- query_too_broad (a correct refusal: more matches than the agreement's
-- max_results); done() prints the sums ("status N: COUNT", "too broad:
-- COUNT"), which run.sh's REFUSALS=count reads.
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
statuses = {}
broad = 0
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 422 and body and body:find("query_too_broad", 1, true) then broad = broad + 1 end
end
done = function(summary, latency, requests)
  local all, nb = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do all[k] = (all[k] or 0) + v end
    nb = nb + t:get("broad")
  end
  for k, v in pairs(all) do io.write(string.format("status %d: %d\n", k, v)) end
  io.write(string.format("too broad: %d\n", nb))
end
