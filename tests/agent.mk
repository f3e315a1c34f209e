# tests/: the agent path end to end (fedmig-apid, fedmig-agent, the data
# buffer) over the lab, with a test CA and a dropping proxy.
INTEG_TESTS += tests/integ/agent_labself.sh tests/integ/agent_copy.sh tests/integ/agent_faults.sh \
	tests/integ/agent_refusals.sh tests/integ/agent_many.sh
BENCHES += bench/agent
