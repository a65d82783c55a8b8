-- Grant: open req.product for req.user from req.source (a payment).
local u, prod, src = req.user, req.product, req.source
local ukey = userKey(u)
local field = prod .. "|" .. src

-- A refund or dispute may have come first: its tombstone keeps this
-- payment's grant closed.
local tomb = nil
for _, s in ipairs({src, str(req.payment_intent), str(req.checkout_session)}) do
  if s ~= "" then
    local t = redis.call("GET", P .. "tomb:" .. s)
    if t then tomb = cjson.decode(t) break end
  end
end

local cur = getGrant(ukey, field)
if cur and src ~= "admin" and cur.granted then
  -- This payment was applied already (webhook, success page, reconcile):
  -- nothing changes, whatever happened to it since.
  return finish()
end
if cur and num(cur.created) > created and src == "admin" then
  return finish()
end

local expires = num(req.expires)
if num(req.access_for) > 0 then
  local base = now
  local all = redis.call("HGETALL", ukey)
  for i = 1, #all, 2 do
    local g = cjson.decode(all[i + 1])
    if g.product == prod and all[i] ~= field and liveAt(g, now) and num(g.expires) > base then
      base = num(g.expires)
    end
  end
  expires = base + num(req.access_for)
end

local g = {
  product = prod, source = src, granted = true, expires = expires,
  created = created, cause = cause,
  customer = str(req.customer), subscription = str(req.subscription),
  payment_intent = str(req.payment_intent),
}
if cur and cur.revoked and src ~= "admin" then
  -- A revoke for this source arrived before the payment.
  g.revoked = true
  g.revoked_by = cur.revoked_by
elseif tomb then
  g.revoked = true
  g.revoked_by = str(tomb.cause)
end
putGrant(ukey, field, g)
if g.revoked then
  audit("grant-blocked", u, prod, src, "revoked before it was paid: " .. str(g.revoked_by))
else
  audit("grant", u, prod, src, expires > 0 and ("until " .. expires) or "")
  changedFor(u)
end

remember(str(req.payment_intent), u, prod)
remember(str(req.checkout_session), u, prod)
remember(str(req.subscription), u, prod)
remember(str(req.customer), u, prod)
if str(req.customer) ~= "" then
  redis.call("SET", P .. "customer-of:" .. enc(u), req.customer)
end
return finish()
