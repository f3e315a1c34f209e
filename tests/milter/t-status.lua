-- The status socket: an open transaction shows with its MAIL FROM time
-- until its end of message (or abort, or disconnect).
dofile(TESTDIR .. "/common.lua")
local oldest, open = status()
check(oldest == 0 and open == 0, "idle: oldest=" .. oldest .. " open=" .. open)
local before = now_us()
local conn = connect()
envelope(conn, "5A7501", {"<carol@example.org>"})
oldest, open = wait_open(1)
local after = now_us()
check(oldest >= before and oldest <= after, "oldest=" .. oldest .. " not in [" .. before .. ", " ..
	after .. "]")
-- A second, later transaction does not change the oldest.
local conn2 = connect()
envelope(conn2, "5A7502", {"<carol@example.org>"})
local oldest2, open2 = wait_open(2)
check(open2 == 2 and oldest2 == oldest, "two open: oldest=" .. oldest2 .. " open=" .. open2)
expect(conn, SMFIR_CONTINUE, false, "status eom")
oldest, open = status()
check(open == 1 and oldest > oldest2, "after first eom: oldest=" .. oldest .. " open=" .. open)
check(mt.abort(conn2) == nil, "abort")
oldest, open = status()
check(oldest == 0 and open == 0, "after eom and abort: oldest=" .. oldest .. " open=" .. open)
-- A transaction the client abandons (disconnect) is closed too.
envelope(conn, "5A7503", {"<carol@example.org>"})
wait_open(1)
mt.disconnect(conn)
mt.disconnect(conn2)
for i = 1, 50 do
	oldest, open = status()
	if open == 0 then break end
	mt.sleep(0.05)
end
check(oldest == 0 and open == 0, "after disconnect: oldest=" .. oldest .. " open=" .. open)
