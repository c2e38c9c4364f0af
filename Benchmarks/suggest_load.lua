-- wrk script of Benchmarks/suggest_load.py: each wrk thread (one connection) types its own share
-- of the synth queries, keystroke by keystroke, in order (a contiguous slice of the prefix list in
-- SUGGEST_PATHS, one request path a line), over and over until the run ends.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local all = {}
  local f = assert(io.open(os.getenv("SUGGEST_PATHS")))
  for line in f:lines() do all[#all + 1] = line end
  f:close()
  local threads = tonumber(os.getenv("SUGGEST_THREADS") or "8")
  local chunk = math.ceil(#all / threads)
  paths = {}
  for i = id * chunk + 1, math.min(#all, (id + 1) * chunk) do paths[#paths + 1] = all[i] end
  if #paths == 0 then paths[1] = all[1] end
  idx = 0
end

function request()
  idx = idx % #paths + 1
  return wrk.format("GET", paths[idx])
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("status " .. status .. "\n")
  end
end
