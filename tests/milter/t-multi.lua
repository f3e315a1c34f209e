-- Several recipients, one held: the whole message waits.
dofile(TESTDIR .. "/common.lua")
local conn = connect()
envelope(conn, "8D1E02", {"<carol@example.org>", "<alice@example.org>", "<x@elsewhere.net>"})
expect(conn, SMFIR_CONTINUE, true, "one held among three")
mt.disconnect(conn)
