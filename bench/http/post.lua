-- bench/http/post.lua — wrk script for POST /v1/chat/completions.
-- Sends the file named by BENCH_BODY_FILE (the chat body, as is) with
-- Content-Type: application/json, and a Bearer key when BENCH_AUTH is set.
-- No response() callback: it would make wrk parse every response in Lua and
-- slow the load generator down; run.sh checks the answers with curl instead.
local path = os.getenv("BENCH_BODY_FILE")
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end
