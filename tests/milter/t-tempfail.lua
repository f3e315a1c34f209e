-- The directory cannot be read: tempfail, whatever the recipient.
dofile(TESTDIR .. "/common.lua")
local conn = connect()
envelope(conn, "7E3901", {"<carol@example.org>"})
expect_tempfail(conn, "store unreadable, normal recipient")
envelope(conn, "7E3902", {"<alice@example.org>"})
expect_tempfail(conn, "store unreadable, held recipient")
mt.disconnect(conn)
