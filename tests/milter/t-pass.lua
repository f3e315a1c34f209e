-- Recipients that are not held pass, several messages on one connection,
-- an aborted transaction in between, invalid addresses ignored.
dofile(TESTDIR .. "/common.lua")
-- A held recipient with no {i} macro at all (a fresh connection: macros
-- stay for the connection's later messages): no queue ID, no hold record,
-- so a retry rather than an untracked hold. An unheld message passes.
local conn = connect()
envelope(conn, nil, {"<carol@example.org>"})
expect(conn, SMFIR_CONTINUE, false, "normal recipient without queue ID")
envelope(conn, nil, {"<alice@example.org>"})
expect_tempfail(conn, "held recipient without queue ID")
mt.disconnect(conn)
conn = connect()
envelope(conn, "9A5501", {"<carol@example.org>"})
expect(conn, SMFIR_CONTINUE, false, "normal recipient")
envelope(conn, "9A5502", {"<x@elsewhere.net>", "<nobody@example.org>", "<>", "<no-at-sign>",
	"<\"bad@example.org>"})
expect(conn, SMFIR_CONTINUE, false, "unknown and invalid recipients")
envelope(conn, "AB0D01", {"<alice@example.org>"})
check(mt.abort(conn) == nil, "abort")
envelope(conn, "9A5503", {"<carol@example.org>"})
expect(conn, SMFIR_CONTINUE, false, "after an abort")
mt.disconnect(conn)
