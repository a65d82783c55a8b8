-- Shared by every script. ARGV: prefix, now (unix ms), event id, cause,
-- created (unix s), request (JSON). KEYS[1] is the audit stream: it names
-- the hash slot; every other key shares the prefix's {hash tag}, so the
-- keys computed here live in the same slot (Redis Cluster).
local P = ARGV[1]
local nowMs = tonumber(ARGV[2])
local now = math.floor(nowMs / 1000)
local eventId = ARGV[3]
local cause = ARGV[4]
local created = tonumber(ARGV[5])
local req = cjson.decode(ARGV[6])

local EVENT_TTL = 2592000 -- 30 days: Stripe retries for 3
local TOMB_TTL = 7776000  -- 90 days
local PENDING_TTL = 604800 -- 7 days

if eventId ~= "" and redis.call("EXISTS", P .. "event:" .. eventId) == 1 then
  return {1, 0}
end

local changed = 0
local audits = {}
local touched = {}

local function enc(u)
  return (string.gsub(u, "[^A-Za-z0-9%._~@%-]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local function userKey(u) return P .. "user:" .. enc(u) end

local function str(v) if v == nil or v == cjson.null then return "" end return tostring(v) end
local function num(v) if v == nil or v == cjson.null then return 0 end return tonumber(v) or 0 end

local function audit(action, user, product, source, detail)
  audits[#audits + 1] = {action, user, product, source, detail or ""}
end

local function changedFor(user)
  changed = changed + 1
  touched[user] = true
end

local function liveAt(g, t)
  return (not g.revoked) and (num(g.expires) == 0 or t < num(g.expires))
end

local function getGrant(ukey, field)
  local raw = redis.call("HGET", ukey, field)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function putGrant(ukey, field, g)
  g.updated = now
  redis.call("HSET", ukey, field, cjson.encode(g))
end

local function remember(id, user, product)
  if id and id ~= "" and id ~= cjson.null then
    redis.call("HSET", P .. "map:" .. id, "user", user, "product", product)
  end
end

local function lookup(id)
  local m = redis.call("HMGET", P .. "map:" .. id, "user", "product")
  if m[1] and m[2] then return m[1], m[2] end
  return nil, nil
end

local function finish()
  for _, a in ipairs(audits) do
    redis.call("XADD", P .. "audit", "MAXLEN", "~", "1000000", "*",
      "action", a[1], "user", a[2], "product", a[3], "source", a[4],
      "cause", cause, "detail", a[5], "time", tostring(nowMs))
  end
  for u, _ in pairs(touched) do
    redis.call("PUBLISH", P .. "changes", u)
  end
  if eventId ~= "" then
    redis.call("SET", P .. "event:" .. eventId, "1", "EX", EVENT_TTL)
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
