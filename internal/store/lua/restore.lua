-- Restore: reopen what a revoke by req.source closed (a dispute won). An
-- admin revoke stays.
local src = req.source
local u, prod = str(req.user), str(req.product)
if u == "" or prod == "" then
  local mu, mp = lookup(src)
  if mu then u, prod = mu, mp end
end
redis.call("DEL", P .. "tomb:" .. src)
if u == "" or prod == "" then return finish() end
local ukey = userKey(u)
local field = prod .. "|" .. src
local g = getGrant(ukey, field)
if not g or not g.revoked or g.revoked_by == "admin" or num(g.created) > created then
  return finish()
end
g.revoked = false
g.revoked_by = nil
g.created = created
g.cause = cause
putGrant(ukey, field, g)
audit("restore", u, prod, src, "")
if liveAt(g, now) then changedFor(u) end
return finish()
