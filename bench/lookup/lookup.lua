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
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
