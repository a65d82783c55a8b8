-- SetSubscription: store a subscription's state as fetched from Stripe.
local u, prod, sub = req.user, req.product, req.subscription
local ukey = userKey(u)
local field = prod .. "|" .. sub

-- A plan change moves the grant: drop this subscription's grant under any
-- other product.
local all = redis.call("HGETALL", ukey)
for i = 1, #all, 2 do
  local g = cjson.decode(all[i + 1])
  if g.source == sub and all[i] ~= field then
    if num(g.created) > created then return finish() end
    redis.call("HDEL", ukey, all[i])
    if liveAt(g, now) then
      audit("revoke", u, g.product, sub, "plan changed to " .. prod)
      changedFor(u)
    end
  end
end

local cur = getGrant(ukey, field)
if cur and num(cur.created) > created then return finish() end
local wasLive = cur ~= nil and liveAt(cur, now)
local g = {
  product = prod, source = sub, granted = true, status = req.status,
  expires = num(req.live_until), created = created, cause = cause,
  customer = str(req.customer), subscription = sub,
}
if not req.live then
  g.revoked = true
  g.revoked_by = "subscription:" .. str(req.status)
end
if cur and cur.revoked_by == "admin" and not req.payment then
  g.revoked = true
  g.revoked_by = "admin"
end
putGrant(ukey, field, g)
local isLive = liveAt(g, now)
if isLive ~= wasLive then
  audit(isLive and "grant" or "revoke", u, prod, sub, "subscription " .. str(req.status))
  changedFor(u)
elseif not cur or cur.status ~= g.status then
  audit("subscription", u, prod, sub, str(req.status))
  changedFor(u)
end
remember(sub, u, prod)
remember(str(req.customer), u, prod)
if str(req.customer) ~= "" then
  redis.call("SET", P .. "customer-of:" .. enc(u), req.customer)
end
return finish()
