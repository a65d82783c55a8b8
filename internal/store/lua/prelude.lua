-- The head of every change script (scripts.go appends the body).
--
-- KEYS[1]  the audit stream; it names the hash slot the script runs in.
--          Every other key is computed here from the prefix ARGV[1]; the
--          prefix's {hash tag} keeps them all in KEYS[1]'s slot, so the
--          script also runs on Redis Cluster.
-- ARGV[2]  the change's meta (JSON): now_ms (the caller's clock; the
--          scripts never read Redis's), event, cause, created, and the
--          TTLs and audit length.
-- ARGV[3]  the request (JSON), read by the body.
-- ARGV[4]  the request's user id, as is: JSON would mangle invalid UTF-8,
--          and a mangled id could name another user's key.
--
-- A body reads and checks everything first and writes after, then calls
-- finish(): Redis does not roll a script back, so nothing may fail once
-- the first write is done.
local P = ARGV[1]
local meta = cjson.decode(ARGV[2])
local req = cjson.decode(ARGV[3])
req.user = ARGV[4]
local nowMs = meta.now_ms
local now = math.floor(nowMs / 1000)
local eventId = meta.event
local cause = meta.cause
local created = meta.created

-- (1) An event already applied changes nothing.
if eventId ~= "" and redis.call("EXISTS", P .. "event:" .. eventId) == 1 then
  return {1, 0}
end

local changed = 0     -- grants whose access changed (Result.Changed)
local audits = {}     -- {action, user, product, source, detail}
local touched = {}    -- users whose grants hash changed: published
local touchedOrder = {}

local function str(v)
  if v == nil or v == cjson.null or v == false then return "" end
  return tostring(v)
end
local function num(v)
  if v == nil or v == cjson.null then return 0 end
  return tonumber(v) or 0
end
local function nz(v) -- "" becomes nil, so it is left out of the JSON
  local s = str(v)
  if s == "" then return nil end
  return s
end
local function startsWith(s, p) return string.sub(str(s), 1, #p) == p end
local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

-- EncodeUser (keys.go): every byte outside [A-Za-z0-9._~@-] as %XX.
local function enc(u)
  return (string.gsub(u, "[^A-Za-z0-9%._~@%-]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end
local function userKey(u) return P .. "user:" .. enc(u) end

local function audit(action, user, product, source, detail)
  audits[#audits + 1] = {action, str(user), str(product), str(source), detail or ""}
end

local function touch(u)
  if not touched[u] then
    touched[u] = true
    touchedOrder[#touchedOrder + 1] = u
  end
end

local function liveAt(g, t)
  return g ~= nil and g.revoked ~= true and (num(g.expires) == 0 or t < num(g.expires))
end

-- access is what decides and describes a grant's access; a change to it
-- counts in Result.Changed. No grant and a revoked grant are alike.
local function access(g)
  if g == nil or g.revoked == true then
    return "closed|" .. str(g and g.status)
  end
  return "open:" .. str(num(g.expires)) .. "|" .. str(g.status)
end
local function count(old, new)
  if access(old) ~= access(new) then changed = changed + 1 end
end

-- The fields a reader sees; a write that changes one is published.
local SHOWN = {"product", "source", "revoked", "revoked_by", "expires", "status",
  "customer", "subscription", "payment_intent", "placeholder"}
local function norm(v)
  if v == nil or v == cjson.null or v == false or v == "" or v == 0 then return "" end
  return tostring(v)
end
local function differs(a, b)
  if a == nil or b == nil then return a ~= b end
  for _, k in ipairs(SHOWN) do
    if norm(a[k]) ~= norm(b[k]) then return true end
  end
  return false
end

local function getGrant(u, field)
  local raw = redis.call("HGET", userKey(u), field)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- allGrants reads a user's grants as {field, g} pairs.
local function allGrants(u)
  local all = redis.call("HGETALL", userKey(u))
  local out = {}
  for i = 1, #all, 2 do
    out[#out + 1] = {field = all[i], g = cjson.decode(all[i + 1])}
  end
  return out
end

local function putGrant(u, field, g, old)
  g.updated = now
  redis.call("HSET", userKey(u), field, cjson.encode(g))
  if differs(old, g) then touch(u) end
end

local gone = {} -- user -> {product = true}: grants deleted (a plan change)
local function delGrant(u, field)
  redis.call("HDEL", userKey(u), field)
  touch(u)
  gone[u] = gone[u] or {}
  gone[u][string.match(field, "^[^|]*")] = true
end

-- tally adds meta.tally to the day's counters (stats.go), at most once per
-- script. finish() calls it for an event's tally (the event marker makes a
-- redelivery count nothing); a body calls it where a source is first
-- applied, for a per-source tally.
local tallied = false
local function tally()
  local t = meta.tally
  if tallied or t == nil or t == cjson.null then return end
  tallied = true
  local k = meta.stats_key
  for _, f in ipairs({"payments", "refunds", "disputes"}) do
    if num(t[f]) ~= 0 then redis.call("HINCRBY", k, f, string.format("%.0f", num(t[f]))) end
  end
  if num(t.amount) ~= 0 and str(t.currency) ~= "" then
    redis.call("HINCRBY", k, "revenue:" .. string.lower(str(t.currency)), string.format("%.0f", num(t.amount)))
  end
  redis.call("EXPIRE", k, meta.stats_ttl)
end

-- holders keeps <p>holders:<product> (user -> end of the latest live
-- grant, +inf for never) for a user whose grants changed, so the console
-- counts live entitlements with ZCOUNT instead of a scan.
local function holders(u)
  local best = {}
  for _, e in ipairs(allGrants(u)) do
    local g = e.g
    local p = str(g.product)
    if p ~= "" then
      if liveAt(g, now) then
        local ends = num(g.expires)
        if ends == 0 then ends = math.huge end
        if best[p] == nil or best[p] == false or ends > best[p] then best[p] = ends end
      elseif best[p] == nil then
        best[p] = false
      end
    end
  end
  for p in pairs(gone[u] or {}) do
    if best[p] == nil then best[p] = false end
  end
  for p, ends in pairs(best) do
    if ends then
      redis.call("ZADD", P .. "holders:" .. p, ends == math.huge and "+inf" or string.format("%.0f", ends), u)
    else
      redis.call("ZREM", P .. "holders:" .. p, u)
    end
  end
end

local function remember(id, u, product)
  if str(id) ~= "" then
    redis.call("HSET", P .. "map:" .. id, "user", u, "product", product)
  end
end

local function rememberCustomer(u, customer)
  if str(customer) ~= "" then
    redis.call("SET", P .. "customer-of:" .. enc(u), customer)
  end
end

local function lookup(id)
  local m = redis.call("HMGET", P .. "map:" .. id, "user", "product")
  if m[1] and m[2] and m[1] ~= "" and m[2] ~= "" then return m[1], m[2] end
  return nil, nil
end

-- finish writes (3) the audit entries, (4) the publishes and (5) the
-- event marker, and returns {0, changed, then action, user, product,
-- source per audit entry}.
local function finish()
  local ms = string.format("%.0f", nowMs)
  for _, a in ipairs(audits) do
    local id = redis.call("XADD", P .. "audit", "MAXLEN", "~", meta.audit_max, "*",
      "action", a[1], "user", a[2], "product", a[3], "source", a[4],
      "cause", cause, "detail", a[5], "time", ms)
    if a[2] ~= "" then -- the user's trail, for the console
      local k = P .. "audit-of:" .. enc(a[2])
      redis.call("LPUSH", k, id)
      redis.call("LTRIM", k, 0, meta.audit_of_max - 1)
    end
  end
  for _, u in ipairs(touchedOrder) do
    holders(u)
    redis.call("PUBLISH", P .. "changes", u)
  end
  if eventId ~= "" and meta.tally and meta.tally ~= cjson.null and meta.tally.per_source ~= true then
    tally()
  end
  if eventId ~= "" then
    redis.call("SET", P .. "event:" .. eventId, "1", "EX", meta.event_ttl)
  end
  local reply = {0, changed}
  for _, a in ipairs(audits) do
    reply[#reply + 1] = a[1]
    reply[#reply + 1] = a[2]
    reply[#reply + 1] = a[3]
    reply[#reply + 1] = a[4]
  end
  return reply
end
