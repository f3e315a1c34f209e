# tests/: the agent path end to end (fedmig-apid, fedmig-agent, the data
# buffer) over the lab, with a test CA and a dropping proxy.
INTEG_TESTS += tests/integ/agent_labself.sh
