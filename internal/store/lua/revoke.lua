-- Revoke: close what req.source granted; "admin" closes every grant of
-- req.product for req.user. See Store.Revoke.
local src = req.source

if src == "admin" then
  local u, prod = req.user, req.product
  local adminField = prod .. "|admin"
  local grants = allGrants(u)
  local sawAdmin = false
  for _, e in ipairs(grants) do
    local old = e.g
    if old.product == prod then
      if e.field == adminField then sawAdmin = true end
      -- Every grant is closed by "admin", including one a refund already
      -- closed, so that a dispute won later does not reopen it.
      if num(old.created) <= created and not (old.revoked == true and old.revoked_by == "admin") then
        local g = copy(old)
        g.revoked, g.revoked_by = true, "admin"
        g.created, g.cause = created, cause
        putGrant(u, e.field, g, old)
        count(old, g)
        if old.revoked ~= true then audit("revoke", u, prod, old.source, "") end
      end
    end
  end
  if not sawAdmin then
    -- So that `show` tells who closed it.
    putGrant(u, adminField, {product = prod, source = "admin", revoked = true,
      revoked_by = "admin", created = created, cause = cause}, nil)
  end
  return finish()
end

local u, prod = str(req.user), str(req.product)
local given = u ~= "" and prod ~= ""
if not given then
  local mu, mp = lookup(src)
  if mu then u, prod = mu, mp end
end
local tombKey = P .. "tomb:" .. src
local tomb = cjson.encode({cause = cause, created = created})
local rawPrev = redis.call("GET", tombKey)
local prev = rawPrev and cjson.decode(rawPrev)
if prev and prev.restored == true and num(prev.created) > created then
  return finish() -- a restore newer than this revoke was applied first
end

if u == "" or prod == "" then
  -- Nobody known yet: a tombstone keeps the payment closed when it comes.
  if prev and prev.restored ~= true then return finish() end
  redis.call("SET", tombKey, tomb, "EX", meta.tomb_ttl)
  audit("tombstone", "", "", src, "revoked before its payment was seen")
  return finish()
end

local field = prod .. "|" .. src
local cur = getGrant(u, field)
if cur and (cur.revoked == true or num(cur.created) > created) then
  return finish() -- closed already, or this revoke is older than the grant's last change
end

-- Writes.
if given then remember(src, u, prod) end -- so a restore finds it
if not cur then
  -- The payment is not known yet: a placeholder (shown by `show`) and a
  -- tombstone keep it closed when it comes.
  putGrant(u, field, {product = prod, source = src, revoked = true, revoked_by = cause,
    placeholder = true, created = created, cause = cause}, nil)
  redis.call("SET", tombKey, tomb, "EX", meta.tomb_ttl)
  audit("tombstone", u, prod, src, "revoked before its payment was seen")
  return finish()
end
local g = copy(cur)
g.revoked, g.revoked_by, g.created, g.cause = true, cause, created, cause
putGrant(u, field, g, cur)
count(cur, g)
audit("revoke", u, prod, src, "")
return finish()
