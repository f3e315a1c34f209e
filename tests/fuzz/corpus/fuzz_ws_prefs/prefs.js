// Mozilla User Preferences
/* c
user_pref("in.comment", 1);
*/
user_pref("mail.server.server1.hostname", "mail.old.example");
user_pref("mail.server.server1.type", "imap");
user_pref("mail.server.server1.userName", "u");
user_pref("mail.server.server2.realhostname", "POP.old.example");
user_pref("mail.server.server2.hostname", "x");
user_pref("mail.server.server2.type", "pop3");
user_pref("mail.smtpserver.smtp1.hostname", "smtp.old.example");
user_pref("mail.smtpserver.smtp1.try_ssl", 0);
user_pref("k", "\u00e9\x41\"");
user_pref("last", true);