-- The directory cannot be read: tempfail, whatever the recipient.
dofile(TESTDIR .. "/common.lua")
local conn = connect()
envelope(conn, "TEMP1", {"<carol@example.org>"})
expect_tempfail(conn, "store unreadable, normal recipient")
envelope(conn, "TEMP2", {"<alice@example.org>"})
expect_tempfail(conn, "store unreadable, held recipient")
mt.disconnect(conn)
