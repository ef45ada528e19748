-- wrk script: authenticated GET requests over a list of paths built from a
-- file, one per line, in turn.  Env: COOKIE, LIST, KIND (cf|name).
local items = {}
for line in io.lines(os.getenv("LIST")) do items[#items + 1] = line end
wrk.headers["Cookie"] = os.getenv("COOKIE")
local kind = os.getenv("KIND")
local i = math.random(#items)
request = function()
  i = i % #items + 1
  local it = items[i]
  if kind == "cf" then
    return wrk.format("GET", "/api/v1/persons?purpose=1&cf=" .. it)
  end
  local s, n, y = it:match("([^|]*)|([^|]*)|([^|]*)")
  return wrk.format("GET", "/api/v1/persons?purpose=1&surname=" .. s .. "&name=" .. n .. "&birth_year=" .. y)
end
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
