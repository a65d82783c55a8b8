-- Counts one view of a page on a user's free-view meter for one product.
-- KEYS[1]  the meter: a hash of the pages counted in the current window
--          (field: the page, value: when it was first opened, unix ms),
--          plus "@start" and "@end" (unix ms), the window's bounds.
-- ARGV[1]  the page (a path, or "sha256:..." for a long one)
-- ARGV[2]  the limit: how many distinct pages a window allows (>= 1)
-- ARGV[3]  the window's length in ms
-- ARGV[4]  now, unix ms (the gateway's clock, so tests can set it)
-- Returns {outcome, used, window end ms}: outcome 1 counted now, 2 counted
-- before (free again), 0 used up (not counted). used counts this page when
-- it was counted.
local key = KEYS[1]
local page = ARGV[1]
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local now = tonumber(ARGV[4])

local ends = tonumber(redis.call('HGET', key, '@end'))
if ends == nil or now >= ends then
	-- A fixed window starts with the first view and ends `per` later; the
	-- key expires with it.
	redis.call('DEL', key)
	ends = now + window
	redis.call('HSET', key, '@start', now, '@end', ends, page, now)
	redis.call('PEXPIRE', key, window)
	return {1, 1, ends}
end

local used = redis.call('HLEN', key) - 2
if redis.call('HEXISTS', key, page) == 1 then
	return {2, used, ends}
end
if used >= limit then
	return {0, used, ends}
end
redis.call('HSET', key, page, now)
return {1, used + 1, ends}
