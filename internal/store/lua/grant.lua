-- Grant: open req.product for req.user from req.source (a payment, or
-- "admin"). See Store.Grant.
local u, prod, src = req.user, req.product, req.source
local field = prod .. "|" .. src
local cur = getGrant(u, field)
local admin = src == "admin"

if cur and cur.placeholder ~= true then
  -- A payment is applied once, whichever path comes first (webhook,
  -- success page, reconcile); what became of it since (a refund, an
  -- admin revoke, its expiry) stands.
  if not admin then return finish() end
  -- An admin grant: an older change never overwrites a newer one.
  if num(cur.created) > created then return finish() end
end

-- A refund or dispute may have come before the payment: the placeholder
-- it left (user known) or its tombstone (user unknown) keeps this closed.
local blockedBy = nil
if cur and cur.placeholder == true then blockedBy = str(cur.revoked_by) end
if not admin then
  for _, id in ipairs({src, str(req.payment_intent), str(req.checkout_session)}) do
    if blockedBy == nil and id ~= "" then
      local t = redis.call("GET", P .. "tomb:" .. id)
      local d = t and cjson.decode(t)
      if d and d.restored ~= true then blockedBy = str(d.cause) end -- a restore's marker does not block
    end
  end
end

-- A time pass runs from the end of the user's latest live pass for this
-- product (a second purchase extends the first), else from now.
local expires = num(req.expires)
if num(req.access_for) > 0 then
  local base = now
  for _, e in ipairs(allGrants(u)) do
    if e.field ~= field and e.g.product == prod and liveAt(e.g, now) and num(e.g.expires) > base then
      base = num(e.g.expires)
    end
  end
  expires = base + num(req.access_for)
end

if admin and liveAt(cur, now) and num(cur.expires) == expires then
  return finish() -- granted already, same terms
end

local g = {
  product = prod, source = src, expires = expires, created = created, cause = cause,
  customer = nz(req.customer), subscription = nz(req.subscription),
  payment_intent = nz(req.payment_intent),
}
if blockedBy then
  g.revoked = true
  g.revoked_by = blockedBy
end

-- Writes.
putGrant(u, field, g, cur)
count(cur, g)
if blockedBy then
  audit("grant-blocked", u, prod, src, "revoked before it was paid: " .. blockedBy)
else
  audit("grant", u, prod, src, expires > 0 and string.format("expires %.0f", expires) or "")
end
if not admin then
  tally() -- the payment, counted once whichever path fulfils it first
  remember(src, u, prod)
  remember(req.payment_intent, u, prod)
  remember(req.checkout_session, u, prod)
  remember(req.subscription, u, prod)
  remember(req.customer, u, prod)
  rememberCustomer(u, req.customer)
end
return finish()
