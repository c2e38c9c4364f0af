-- Category pages for wrk (Benchmarks/http_load.sh, Benchmarks/browse_under_updates.py): each request a
-- department or department > category page, sometimes with a query, a price cap, a sort and a
-- later page; all ask for brand, category and price facets.
local cats = {"Furniture", "Rugs", "Lighting", "Kitchen", "Bed+and+Bath", "Outdoor+and+Garden", "Storage+and+Organization",
              "Furniture+%3E+Living+Room+Furniture", "Rugs+%3E+Outdoor+Rugs", "Lighting+%3E+Lamps"}
local qs = {"", "", "", "modern", "black", "wood", "outdoor", "set+of+2"}
local sorts = {"relevance", "price_asc", "price_desc", "rating"}
local i = 0
request = function()
  i = i + 1
  local path = "/api/v1/products/search?category=" .. cats[(i % #cats) + 1]
  local q = qs[(i % #qs) + 1]
  if q ~= "" then path = path .. "&q=" .. q end
  if i % 3 == 0 then path = path .. "&max_price=" .. (50 + (i % 10) * 40) end
  path = path .. "&sort=" .. sorts[(i % #sorts) + 1] .. "&page=" .. ((i % 4) + 1) .. "&limit=24"
  return wrk.format("GET", path)
end
