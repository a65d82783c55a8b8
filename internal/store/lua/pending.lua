-- Pending sessions: req.op is "mark" (completed, unpaid), "forget"
-- (expired), "fail" (async payment failed) or "ack" (only the marker).
local op = req.op
if op == "ack" then return finish() end
local key = P .. "pending:" .. str(req.session)
if op == "mark" then
  redis.call("HSET", key, "user", req.user, "product", req.product)
  redis.call("EXPIRE", key, PENDING_TTL)
  audit("pending", req.user, req.product, req.session, "payment processing")
  return finish()
end
local m = redis.call("HMGET", key, "user", "product")
local u, prod = str(req.user), str(req.product)
if u == "" and m[1] then u, prod = m[1], m[2] end
local existed = redis.call("DEL", key) == 1
if op == "fail" then
  audit("payment-failed", u, prod, req.session, "")
elseif existed then
  audit("pending-expired", u, prod, req.session, "")
end
return finish()
