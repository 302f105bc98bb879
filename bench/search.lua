-- wrk script: GET /api/v2/search?type=statuses with the queries of SLUICE_BENCH_QUERIES
-- (URL-encoded, separated by newlines), in turn, a different one each request.
-- The token comes from the environment: SLUICE_BENCH_TOKEN.
-- Usage: wrk -t2 -c16 -d20s -s bench/search.lua http://127.0.0.1:PORT

local token = os.getenv("SLUICE_BENCH_TOKEN") or ""
local kind = os.getenv("SLUICE_BENCH_SEARCH_TYPE") or "statuses"
local queries = {}
for q in string.gmatch(os.getenv("SLUICE_BENCH_QUERIES") or "", "[^\n]+") do
  table.insert(queries, q)
end
local counter = 0

function init(args)
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local q = queries[(counter % #queries) + 1]
  return wrk.format("GET", "/api/v2/search?type=" .. kind .. "&limit=20&q=" .. q)
end

-- Non-2xx answers are counted by wrk itself ("Non-2xx or 3xx responses").
