-- wrk script of Benchmarks/cart_load.py (the cart HTTP API under load); see that file's docstring.
-- Run by it as:  CART_LOAD_CONFIG=FILE wrk -t16 -c16 -d30s --timeout 10s -s cart_load.lua http://127.0.0.1:PORT/
--
-- FILE (written by cart_load.py) holds lines
--   param <name> <value>                                    (numbers, except `out`)
--   cart <pair> <token> <private0> <private1> <shared1> ... <sharedN>
-- Client (= wrk thread, one connection each) i belongs to pair floor(i/2) and is side i%2 of it; the
-- two clients of a pair walk through the same list of guest carts, about `ops_per_cart` operations
-- each per cart, so they work on the same cart at the same time. On a cart a client:
--   * first adds its private product (POST /api/v1/cart/items, random quantity 1-9);
--   * then sends GET /api/v1/cart with probability get_share (rescaled so that GETs are get_share
--     of all operations, the forced first add included), otherwise a write: with probability
--     update_share a PATCH of its private line to a random quantity 1-9 (a POST add while the
--     line is known to be absent; a PATCH after an unanswered write: 404 then means absent),
--     otherwise a POST add of quantity 1 to a random shared product, at most max_adds per shared
--     product per client per cart (2 x 49 <= 99, the API's line limit).
-- A write's effect is recorded only when its answer is 2xx (4xx: not applied). A write sent without
-- an answer (socket error, run end) or answered 5xx is an "orphan": its effect is unknown, and
-- cart_load.py accepts the line with or without it.
--
-- done() writes the file named by `param out` (each thread's part from its report(), see below),
-- one record a line, then `end`:
--   summary <key> <value>                      wrk's totals (duration us, requests, bytes, socket errors)
--   latency <key> <us>                         wrk's latency: min mean max stdev p50 p90 p99 p99.9
--   count <thread> <key> <n>                   per-thread counters (ops get add patch post ...)
--   status <thread> <code> <n>                 answers by status
--   add <thread> <cart#> <product> <n>         confirmed shared adds (cart# = 1-based index in the pair's list)
--   private <thread> <cart#> <product> <q>     the private line's last confirmed quantity (0: absent)
--   orphan <thread> <cart#> <kind> <product> <q>
--   lat <thread> <kind> <bucket us> <n>        client-side latency by kind (10 us buckets, 1 ms over 100 ms)
--   lines <thread> <line_count> <n>            line_count of the carts the GETs read
--   error <thread> <text>                      the first non-2xx answers (kind, status, body)

local CONFIG = os.getenv("CART_LOAD_CONFIG")

-- A monotonic microsecond clock for the client-side latency by kind (LuaJIT FFI; none: no latency by kind).
local now_us = nil
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    local defined = pcall(ffi.cdef, [[
      typedef struct { long tv_sec; long tv_nsec; } cart_load_timespec;
      int clock_gettime(int clk_id, cart_load_timespec *tp);
    ]])
    if defined then
      local ts = ffi.new("cart_load_timespec")
      now_us = function()
        ffi.C.clock_gettime(1, ts)   -- CLOCK_MONOTONIC
        return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
      end
    end
  end
end

local function split(s)
  local t = {}
  for w in s:gmatch("%S+") do t[#t + 1] = w end
  return t
end

-- MARK: - Setup (the main Lua state: reads the config, hands each thread its id and carts)

local threads = {}
local params = nil
local carts_by_pair = nil

local function load_config()
  if not CONFIG then error("cart_load.lua: set CART_LOAD_CONFIG to the file written by cart_load.py") end
  local f = assert(io.open(CONFIG, "r"))
  params, carts_by_pair = {}, {}
  for line in f:lines() do
    local w = split(line)
    if w[1] == "param" then
      params[w[2]] = tonumber(w[3]) or w[3]
    elseif w[1] == "cart" then
      local pair = tonumber(w[2])
      carts_by_pair[pair] = carts_by_pair[pair] or {}
      local list = carts_by_pair[pair]
      list[#list + 1] = table.concat(w, " ", 3)   -- "token private0 private1 shared..."
    end
  end
  f:close()
end

function setup(thread)
  if not params then load_config() end
  local i = #threads
  threads[i + 1] = thread
  local pair = math.floor(i / 2)
  local list = carts_by_pair[pair]
  if not list or #list == 0 then error("cart_load.lua: no carts for pair " .. pair .. " (more wrk threads than clients?)") end
  thread:set("id", i)
  thread:set("pair", pair)
  thread:set("side", i % 2)
  thread:set("carts", list)
  thread:set("ops_per_cart", params.ops_per_cart)
  thread:set("get_share", params.get_share)
  thread:set("update_share", params.update_share)
  thread:set("max_adds", params.max_adds)
  thread:set("seed", params.seed)
  thread:set("interval_us", params.interval_us or 0)
  -- wrk calls request() once on its first thread to check the request; that call is not sent.
  thread:set("dry_first", i == 0)
end

-- MARK: - Running (each thread's own Lua state)

local cart = nil          -- the current cart: {index, token, private, shared = {...}, headers}
local cart_list = nil
local ops_here = 0
pending = nil             -- the request in flight: {kind, product, q, cart, t0} (global: report() reads it)
local p_get = 0
local adds_by_cart = {}   -- cart# -> {product -> confirmed adds by this client}
local private_state = {}  -- cart# -> confirmed quantity (0: absent) or -1 (unknown after an orphan)

function init(args)
  math.randomseed(seed * 7919 + id * 104729 + 17)
  for _ = 1, 10 do math.random() end
  cart_list = {}
  for k, s in ipairs(carts) do
    local w = split(s)
    local c = {index = k, token = w[1], private = w[2 + side], shared = {}}
    for j = 4, #w do c.shared[#c.shared + 1] = w[j] end
    c.headers = {["Authorization"] = "Bearer " .. c.token}
    c.get_path = "/api/v1/cart"
    cart_list[k] = c
  end
  -- GETs are get_share of all operations although the first on each cart is a write.
  local n = ops_per_cart
  p_get = n > 1 and math.min(1, get_share * n / (n - 1)) or 0
  count = {ops = 0, get = 0, add = 0, patch = 0, post_private = 0, ok = 0, non2xx = 0, orphans = 0,
           carts = 1, wraps = 0, capped = 0, dry = 0}
  status = {}
  adds = {}        -- "cart# product" -> n   (flat, for thread:get)
  private = {}     -- cart# -> "product q"
  orphan = {}      -- {"cart# kind product q", ...}
  lat = {}         -- "kind bucket" -> n
  lines = {}       -- line_count -> n
  errors = {}      -- {"kind status body", ...}
  cart = cart_list[1]
  ops_here = 0
end

local function next_cart()
  local k = cart.index + 1
  if k > #cart_list then
    k = 1
    count.wraps = count.wraps + 1
  end
  cart = cart_list[k]
  ops_here = 0
  count.carts = count.carts + 1
end

local function build(kind, product, q)
  local c = cart
  local h = {["Authorization"] = c.headers["Authorization"]}
  if kind == "get" then
    return wrk.format("GET", "/api/v1/cart", h, nil)
  end
  h["Content-Type"] = "application/json"
  if kind == "patch" then
    return wrk.format("PATCH", "/api/v1/cart/items/" .. product, h, '{"quantity":' .. q .. '}')
  end
  return wrk.format("POST", "/api/v1/cart/items", h, '{"product_id":"' .. product .. '","quantity":' .. q .. '}')
end

local function record_orphan(p)
  count.orphans = count.orphans + 1
  orphan[#orphan + 1] = p.cart .. " " .. p.kind .. " " .. p.product .. " " .. p.q
  if p.kind ~= "add" then private_state[p.cart] = -1 end
end

-- The private line's next write: POST while it is known to be absent, PATCH otherwise.
local function private_op()
  local st = private_state[cart.index]
  local q = math.random(1, 9)
  if st == nil or st == 0 then return "post_private", cart.private, q end
  return "patch", cart.private, q
end

local function choose()
  if ops_here == 0 and private_state[cart.index] == nil then return private_op() end
  if math.random() < p_get then return "get", "-", 0 end
  if math.random() < update_share then return private_op() end
  local mine = adds_by_cart[cart.index]
  if not mine then mine = {}; adds_by_cart[cart.index] = mine end
  local n = #cart.shared
  local start = math.random(1, n)
  for j = 0, n - 1 do
    local p = cart.shared[((start - 1 + j) % n) + 1]
    if (mine[p] or 0) < max_adds then return "add", p, 1 end
  end
  count.capped = count.capped + 1   -- every shared line is at this client's cap: update the private line instead
  return private_op()
end

-- Pacing (--rate): each client sends on a fixed schedule, interval_us apart (staggered start); a
-- client that is behind sends at once. wrk calls delay() before each request (whole milliseconds).
local next_due = nil
function delay()
    if (interval_us or 0) <= 0 or not now_us then return 0 end
    local t = now_us()
    if not next_due then next_due = t + math.random() * interval_us end
    local d = next_due - t
    next_due = math.max(next_due, t - interval_us) + interval_us
    if d <= 0 then return 0 end
    return math.floor(d / 1000)
end

function request()
  if dry_first then
    -- wrk's check of the request on its first thread: built but never sent, so not tracked.
    dry_first = false
    count.dry = count.dry + 1
    return build("get")
  end
  if pending then
    -- No answer came for the previous request (socket error; wrk reconnected).
    if pending.kind ~= "get" then record_orphan(pending) end
    pending = nil
  end
  if ops_here >= ops_per_cart then next_cart() end
  local kind, product, q = choose()
  ops_here = ops_here + 1
  count.ops = count.ops + 1
  count[kind] = count[kind] + 1
  pending = {kind = kind, product = product, q = q, cart = cart.index, t0 = now_us and now_us() or 0}
  return build(kind, product, q)
end

function response(st, headers, body)
  local p = pending
  pending = nil
  if not p then return end
  if now_us then
    local us = now_us() - p.t0
    local b = us < 100000 and math.floor(us / 10) * 10 or math.floor(us / 1000) * 1000
    local key = p.kind .. " " .. b
    lat[key] = (lat[key] or 0) + 1
  end
  status[st] = (status[st] or 0) + 1
  if st >= 200 and st < 300 then
    count.ok = count.ok + 1
    if p.kind == "get" then
      local n = tonumber(body:match('"line_count"%s*:%s*(%d+)') or "-1")
      lines[n] = (lines[n] or 0) + 1
    elseif p.kind == "add" then
      local mine = adds_by_cart[p.cart]
      mine[p.product] = (mine[p.product] or 0) + 1
      local key = p.cart .. " " .. p.product
      adds[key] = (adds[key] or 0) + 1
    else
      -- post_private on an absent line and patch both leave the line at q.
      private_state[p.cart] = p.q
      private[p.cart] = p.product .. " " .. p.q
    end
  else
    count.non2xx = count.non2xx + 1
    if #errors < 20 then
      errors[#errors + 1] = p.kind .. " " .. p.product .. " " .. st .. " " .. (body or ""):sub(1, 300):gsub("%s+", " ")
    end
    if p.kind ~= "get" then
      if st >= 500 then
        record_orphan(p)                   -- unknown whether it was applied
      elseif p.kind == "patch" and st == 404 and private_state[p.cart] == -1 then
        private_state[p.cart] = 0          -- after an orphan: the line is not there
        private[p.cart] = p.product .. " 0"
      end
    end
  end
end

-- MARK: - Done
-- wrk 4.1's thread:get() cannot hand back tables: its script_copy_value pops the copied table and
-- thread:get pops again, below the thread's stack (corrupted strings, segfaults). So each thread
-- hands back one string, its report, built on demand by an __index metamethod on its globals
-- (thread:get is a lua_getglobal on the thread's state, which honours metamethods).

local function report()
  local r = {}
  local function put(fmt, ...) r[#r + 1] = string.format(fmt, ...) end
  for k, v in pairs(count) do put("count %d %s %d", id, k, v) end
  for k, v in pairs(status) do put("status %d %d %d", id, k, v) end
  for k, v in pairs(adds) do put("add %d %s %d", id, k, v) end
  for k, v in pairs(private) do put("private %d %d %s", id, k, v) end
  for _, v in ipairs(orphan) do put("orphan %d %s", id, v) end
  if pending and pending.kind ~= "get" then   -- in flight when the run ended
    put("orphan %d %d %s %s %d", id, pending.cart, pending.kind, pending.product, pending.q)
    put("count %d orphans_at_end 1", id)
  end
  for k, v in pairs(lat) do put("lat %d %s %d", id, k, v) end
  for k, v in pairs(lines) do put("lines %d %d %d", id, k, v) end
  for _, v in ipairs(errors) do put("error %d %s", id, v) end
  r[#r + 1] = ""
  return table.concat(r, "\n")
end

setmetatable(_G, {__index = function(_, key)
  if key == "report" and count then return report() end
  return nil
end})

-- The main Lua state again.
function done(summary, latency, requests)
  local out = assert(io.open(params.out, "w"))
  out:write(string.format("summary duration_us %.0f\nsummary requests %.0f\nsummary bytes %.0f\n",
                          summary.duration, summary.requests, summary.bytes))
  for _, k in ipairs({"connect", "read", "write", "status", "timeout"}) do
    out:write(string.format("summary errors_%s %.0f\n", k, summary.errors[k]))
  end
  out:write(string.format("latency min %.0f\nlatency mean %.1f\nlatency max %.0f\nlatency stdev %.1f\n",
                          latency.min, latency.mean, latency.max, latency.stdev))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    out:write(string.format("latency p%s %.0f\n", tostring(p), latency:percentile(p)))
  end
  for _, t in ipairs(threads) do
    out:write(t:get("report") or "")
  end
  out:write("end\n")
  out:close()
end
