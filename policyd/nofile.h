/*
 * nofile - fedmig-policyd's connection limits and the open files limit:
 * nofile_fit() raises the soft RLIMIT_NOFILE to what *POLICY_MAX +
 * *SOCKETMAP_MAX connections plus the listeners and the store need (up
 * to the hard limit), or lowers the two limits to what fits, logged.
 */
#ifndef FEDMIG_POLICYD_NOFILE_H
#define FEDMIG_POLICYD_NOFILE_H

void nofile_fit(long long *policy_max, long long *socketmap_max);

#endif
