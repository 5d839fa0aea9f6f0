"""Lua fragments shared by several checkpoint scripts (key encoding, TTL, the drop walk).

Each script that needs one concatenates it in front of its own body; the scripts live
beside their plans (:mod:`.plans`, :mod:`.threads`), as STYLE.md asks.
"""

# -- Lua -------------------------------------------------------------------------------
# Scripts touch only keys of one thread (one hash tag), so they are Cluster-safe: keys
# derived inside a script hash to the slot of the key passed in KEYS.
#
# Memory limit (maxmemory, noeviction): a server checks a script (without shebang flags,
# which Redis 6.2 lacks) only at its first write, and only if that command is one it
# denies when full (SET, HSET, SADD, ZADD, ... but not DEL, UNLINK, EXPIRE, SREM). So a
# script that stores data starts with such a command: at the limit it is refused before
# it wrote anything; deleting scripts write nothing first and keep working at the limit.

LUA_ENCODE = r"""
local function enc(s)
  return (string.gsub(s, '[%%{}:%c]', function(c) return string.format('%%%02X', string.byte(c)) end))
end
"""

LUA_CHAIN = r"""
-- Channel deltas (_core/checkpoint/deltas.py): a blob 'delta\0<base version>\0<base length>\0<tail>'
-- holds a list's new tail; its value is its base's value (the blob of the same channel
-- at that version: same key up to the last ':') plus the tail.
local DELTA = 'delta\0'
local function base_key(k, v)
  return string.match(k, '^(.*:)') .. string.sub(v, 7, string.find(v, '\0', 7, true) - 1)
end
local function base_of(k)
  if redis.call('GETRANGE', k, 0, 5) ~= DELTA then return nil end
  return base_key(k, redis.call('GET', k))
end
-- The keys a blob's value is assembled from, after itself (bounded: damaged data).
local function chain(k)
  local out = {}
  local b = base_of(k)
  while b and #out < 10000 do
    table.insert(out, b)
    b = base_of(b)
  end
  return out
end
"""

LUA_TTL = r"""
local function touch(ttl, keys)
  if ttl > 0 then
    for _, k in ipairs(keys) do redis.call('EXPIRE', k, ttl) end
  end
end
"""

LUA_DROP = r"""
-- The ids checkpoint `cid` of one namespace needs: itself and, for every delta channel
-- it stores no value of (its 'd:<channel>' fields, see plan_put), each ancestor up to
-- and including the nearest one holding a value of that channel -- the seed where
-- LangGraph's get_delta_channel_history stops; the writes stored on those ancestors are
-- the deltas it replays. A missing ancestor ends the walk (nothing older is reachable).
local function needed(base, ens, cid)
  local keep = {[cid] = true}
  local need, n, parent = {}, 0, nil
  local cp = redis.call('HGETALL', base .. 'cp:' .. ens .. ':' .. enc(cid))
  for i = 1, #cp, 2 do
    if string.sub(cp[i], 1, 2) == 'd:' then
      need[string.sub(cp[i], 3)] = true
      n = n + 1
    elseif cp[i] == 'p' then
      parent = cp[i + 1]
    end
  end
  while n > 0 and parent and not keep[parent] do
    local flat = redis.call('HGETALL', base .. 'cp:' .. ens .. ':' .. enc(parent))
    if #flat == 0 then break end
    keep[parent] = true
    local f = {}
    for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
    for ch in pairs(need) do
      local b = f['b:' .. ch]
      if b then  -- a stored value: neither missing nor the EMPTY marker (serde.py)
        local v = redis.call('GET', b)
        if v and v ~= 'empty\0' then
          need[ch] = nil
          n = n - 1
        end
      end
    end
    parent = f['p']
  end
  return keep
end

-- Runs that a shallow put left with nothing in this thread; only PUT sets it (to a
-- table): they leave the thread's run set, and PUT returns them so its caller takes
-- the thread out of their run indexes (other slots).
local GONE = nil

-- Take `member` out of run `run`'s set of what it wrote in this thread.
local function unlist(base, registry, run, member)
  local rkey = base .. 'run:' .. enc(run)
  redis.call('SREM', rkey, member)
  if redis.call('EXISTS', rkey) == 0 then
    redis.call('SREM', registry, rkey)
    if GONE then
      redis.call('SREM', base .. 'runs', run)
      table.insert(GONE, run)
    end
  end
end

-- Before a checkpoint (tail '<ns>:<id>') is dropped: unlist it from its run ('r' field)
-- and from the runs of its pending writes, and drop the hash naming those runs.
local function forget(base, registry, tail)
  local run = redis.call('HGET', base .. 'cp:' .. tail, 'r')
  if run then unlist(base, registry, run, 'c:' .. tail) end
  local wr = base .. 'wr:' .. tail
  local seen = {}
  local flat = redis.call('HGETALL', wr)
  for i = 2, #flat, 2 do
    if not seen[flat[i]] then
      seen[flat[i]] = true
      unlist(base, registry, flat[i], 'w:' .. tail)
    end
  end
  redis.call('UNLINK', wr)
  redis.call('SREM', registry, wr)
end

-- Delete checkpoints (and their writes) of one namespace, then every blob of that
-- namespace that no remaining checkpoint names.
local function drop(base, registry, ens, ids)
  local idx = base .. 'idx:' .. ens
  for _, cid in ipairs(ids) do
    local tail = ens .. ':' .. enc(cid)
    forget(base, registry, tail)
    redis.call('UNLINK', base .. 'cp:' .. tail, base .. 'w:' .. tail)
    redis.call('SREM', registry, base .. 'cp:' .. tail, base .. 'w:' .. tail)
    redis.call('ZREM', idx, cid)
  end
  local keep, named = {}, {}
  for _, cid in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local cp = redis.call('HGETALL', base .. 'cp:' .. ens .. ':' .. enc(cid))
    for i = 1, #cp, 2 do
      if string.sub(cp[i], 1, 2) == 'b:' and not keep[cp[i + 1]] then
        keep[cp[i + 1]] = true
        table.insert(named, cp[i + 1])
      end
    end
  end
  -- the bases of kept deltas are kept too, whether a checkpoint names them or not
  for _, b in ipairs(named) do
    for _, link in ipairs(chain(b)) do keep[link] = true end
  end
  local bset = base .. 'blobs:' .. ens
  for _, b in ipairs(redis.call('SMEMBERS', bset)) do
    if not keep[b] then
      redis.call('UNLINK', b)
      redis.call('SREM', bset, b)
      redis.call('SREM', registry, b)
    end
  end
end
"""
