-- Revoke: close what req.source granted; "admin" closes every grant of
-- req.product for req.user.
local src = req.source
if src == "admin" then
  local u, prod = req.user, req.product
  local ukey = userKey(u)
  local all = redis.call("HGETALL", ukey)
  local adminField = prod .. "|admin"
  local sawAdmin = false
  for i = 1, #all, 2 do
    local g = cjson.decode(all[i + 1])
    if g.product == prod then
      if all[i] == adminField then sawAdmin = true end
      if not g.revoked then
        local wasLive = liveAt(g, now)
        g.revoked = true
        g.revoked_by = "admin"
        g.cause = cause
        putGrant(ukey, all[i], g)
        audit("revoke", u, prod, g.source, "")
        if wasLive then changedFor(u) end
      end
    end
  end
  if not sawAdmin then
    putGrant(ukey, adminField, {product = prod, source = "admin", revoked = true,
      revoked_by = "admin", created = created, cause = cause})
  end
  return finish()
end

local u, prod = str(req.user), str(req.product)
if u == "" or prod == "" then
  local mu, mp = lookup(src)
  if mu then u, prod = mu, mp end
end
-- Whatever happens below, a payment for this source arriving later must
-- stay closed.
redis.call("SET", P .. "tomb:" .. src, cjson.encode({cause = cause, created = created}), "EX", TOMB_TTL)
if u == "" or prod == "" then
  audit("tombstone", "", "", src, "revoked before its payment was seen")
  return finish()
end
local ukey = userKey(u)
local field = prod .. "|" .. src
local g = getGrant(ukey, field)
if not g then
  putGrant(ukey, field, {product = prod, source = src, revoked = true,
    revoked_by = cause, created = created, cause = cause})
  audit("tombstone", u, prod, src, "revoked before its payment was seen")
  return finish()
end
if g.revoked or num(g.created) > created then
  return finish()
end
local wasLive = liveAt(g, now)
g.revoked = true
g.revoked_by = cause
g.created = created
g.cause = cause
putGrant(ukey, field, g)
audit("revoke", u, prod, src, "")
if wasLive then changedFor(u) end
return finish()
