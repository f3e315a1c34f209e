-- Live lookups for tests/integ/store_damage.sh: one message after another
-- on one connection, each one's outcome appended to OUT ("O" passed, "T"
-- tempfail, "X" anything else), until the file STOP exists.
dofile(TESTDIR .. "/common.lua")
local conn = connect()
local n = 0
while io.open(STOP) == nil do
	n = n + 1
	envelope(conn, string.format("11FE%02X", n), {"<carol@example.org>"})
	check(mt.eom(conn) == nil, "eom")
	local reply = mt.getreply(conn)
	local f = io.open(OUT, "a")
	if reply == SMFIR_CONTINUE then
		f:write("O\n")
	elseif reply == SMFIR_REPLYCODE then
		f:write("T\n")
	else
		f:write("X\n")
	end
	f:close()
	mt.sleep(0.01)
end
mt.disconnect(conn)
