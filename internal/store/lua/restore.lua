-- Restore: reopen what a revoke from req.source closed (a dispute won)
-- and lift its tombstone. An admin revoke stays, and so does a
-- subscription's own state. See Store.Restore.
local src = req.source
local u, prod = str(req.user), str(req.product)
if u == "" or prod == "" then
  local mu, mp = lookup(src)
  if mu then u, prod = mu, mp end
end

local tombKey = P .. "tomb:" .. src
local rawTomb = redis.call("GET", tombKey)
if rawTomb and num(cjson.decode(rawTomb).created) > created then
  return finish() -- a revoke newer than this restore
end

local field = prod .. "|" .. src
local cur = nil
if u ~= "" and prod ~= "" then cur = getGrant(u, field) end
local reopen = cur ~= nil and cur.revoked == true and num(cur.created) <= created and
  cur.revoked_by ~= "admin" and not startsWith(cur.revoked_by, "subscription:")

local isTomb = rawTomb and cjson.decode(rawTomb).restored ~= true

-- Writes.
-- The tombstone is lifted and this restore is remembered in its place, so
-- that the revoke it answers, arriving after it, is taken for the older
-- change it is (a won dispute whose "closed" outran its "created").
redis.call("SET", tombKey, cjson.encode({restored = true, cause = cause, created = created}), "EX", meta.tomb_ttl)
if not reopen then
  if isTomb and not (cur and cur.revoked_by == "admin") then
    audit("restore", u, prod, src, "tombstone lifted")
  end
  return finish()
end
if cur.placeholder == true then
  -- Revoked before its payment was seen: lift the revoke; the payment,
  -- when it comes, grants as usual (with its own expiry).
  delGrant(u, field)
  audit("restore", u, prod, src, "revoke lifted before its payment was seen")
  return finish()
end
local g = copy(cur)
g.revoked, g.revoked_by, g.created, g.cause = nil, nil, created, cause
putGrant(u, field, g, cur)
count(cur, g)
audit("restore", u, prod, src, "")
return finish()
