-- Pending sessions. req.op: "mark" (completed, unpaid), "forget"
-- (expired), "fail" (the delayed payment failed) or "ack" (only the event
-- marker). None of them grants anything.
local op = req.op
if op == "ack" then return finish() end
local key = P .. "pending:" .. req.session

if op == "mark" then
  if redis.call("EXISTS", P .. "map:" .. req.session) == 1 then
    return finish() -- fulfilled already (its payment succeeded first)
  end
  local m = redis.call("HMGET", key, "user", "product")
  if m[1] == req.user and m[2] == req.product then return finish() end
  redis.call("HSET", key, "user", req.user, "product", req.product)
  redis.call("EXPIRE", key, meta.pending_ttl)
  audit("pending", req.user, req.product, req.session, "payment processing")
  return finish()
end

local m = redis.call("HMGET", key, "user", "product")
local u, prod = str(req.user), str(req.product)
if u == "" then u, prod = str(m[1]), str(m[2]) end
local existed = redis.call("DEL", key) == 1
if op == "fail" then
  audit("payment-failed", u, prod, req.session, "")
elseif existed then
  audit("pending-expired", u, prod, req.session, "")
end
return finish()
