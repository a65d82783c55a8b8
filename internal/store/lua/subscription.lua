-- SetSubscription: store a subscription's state as fetched from Stripe in
-- the grant keyed by the subscription id. See Store.SetSubscription.
local u, prod, sub = req.user, req.product, req.subscription
local field = prod .. "|" .. sub
local cur = nil
local moved = {} -- this subscription's grants under another product
for _, e in ipairs(allGrants(u)) do
  if e.field == field then
    cur = e.g
  elseif e.g.source == sub then
    moved[#moved + 1] = e
  end
end
-- An older state never overwrites a newer one.
if cur and num(cur.created) > created then return finish() end
for _, e in ipairs(moved) do
  if num(e.g.created) > created then return finish() end
end

local base = cur -- what was known of this subscription
if base == nil and #moved > 0 then base = moved[1].g end

local g = {
  product = prod, source = sub, subscription = sub, status = nz(req.status),
  expires = num(req.live_until), created = created, cause = cause,
  customer = nz(req.customer) or (base and nz(base.customer)),
}
if req.live ~= true then
  g.revoked = true
  g.revoked_by = "subscription:" .. str(req.status)
end
if base and base.revoked == true and base.revoked_by == "admin" and req.payment ~= true then
  -- An admin revoke holds until a new payment.
  g.revoked = true
  g.revoked_by = "admin"
end

-- Writes. A plan change moves the grant: revoke under the old product,
-- grant under the new.
for _, e in ipairs(moved) do
  delGrant(u, e.field)
  count(e.g, nil)
  if liveAt(e.g, now) then
    audit("revoke", u, e.g.product, sub, "plan changed to " .. prod)
  end
end
putGrant(u, field, g, cur)
count(cur, g)
local wasLive, isLive = liveAt(cur, now), liveAt(g, now)
if isLive and not wasLive then
  audit("grant", u, prod, sub, "subscription " .. str(req.status))
elseif wasLive and not isLive then
  audit("revoke", u, prod, sub, "subscription " .. str(req.status))
end
local was = base and str(base.status) or ""
if str(req.status) ~= was then
  audit("subscription", u, prod, sub, was == "" and str(req.status) or (str(req.status) .. " (was " .. was .. ")"))
end
remember(sub, u, prod)
remember(g.customer, u, prod)
rememberCustomer(u, g.customer)
return finish()
