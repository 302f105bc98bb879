-- wrk script: POST /api/v1/statuses with a form body, a different text each request.
-- The token comes from the environment: SLUICE_BENCH_TOKEN.
-- Usage: wrk -t2 -c16 -d10s -s bench/post_status.lua http://127.0.0.1:PORT

local token = os.getenv("SLUICE_BENCH_TOKEN") or ""
local counter = 0
local thread_tag = 0

function setup(thread)
  thread_tag = thread_tag + 1
  thread:set("tag", thread_tag)
end

function init(args)
  wrk.method = "POST"
  wrk.path = "/api/v1/statuses"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local body = "status=Benchmark+post+" .. tostring(tag) .. "-" .. tostring(counter) ..
    "+from+wrk+%23bench&visibility=public"
  return wrk.format(nil, nil, nil, body)
end

-- Non-2xx answers are counted by wrk itself ("Non-2xx or 3xx responses").
