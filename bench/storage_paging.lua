-- The Storage query as a client paging through it sends it: a different continuationToken on
-- every request, so no kept answer (platforms/altinn/domain/answers.py) can serve it.
--   TOKEN=<service-owner token> wrk -t1 -c16 -d6s -s bench/storage_paging.lua http://127.0.0.1:PORT
-- Cursors fall in the seeded world's lastChanged range (seed 1, --now 2026-01-01T00:00:00Z), so
-- every answer is a full page.
math.randomseed(7)
local token = os.getenv("TOKEN")
local query = "/altinn/storage/api/v1/instances?org=ttd&size=10&lastChanged=gt:2025-01-01T00:00:00Z"
request = function()
  local cursor = "6390062" .. string.format("%05d", math.random(0, 99999)) .. "000000%253b" .. math.random(1, 100000)
  return wrk.format("GET", query .. "&continuationToken=" .. cursor, {["Authorization"] = "Bearer " .. token})
end
