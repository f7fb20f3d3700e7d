// Package auth provides mqgate's authentication and authorization sources:
// a bcrypt password file, an ACL file, an HTTP callback service, chains that
// combine sources, and AllowAll for anonymous access.
//
// Every source implements core.Authenticator, core.Authorizer or both, and
// answers core.Allow, core.Deny or core.Ignore. Ignore hands the decision to
// the next source of a chain (Authenticators, Authorizers); the first other
// verdict wins. A source that fails returns core.Deny with an error, which
// callers log.
//
// # Password file
//
// One user per line, "username:hash", where hash is a bcrypt hash with the
// prefix $2a$, $2b$ or $2y$, as written by "mqgate passwd" (SetPassword). Blank lines and lines whose
// first non-blank character is '#' are ignored. A username may not be empty,
// contain ':' or a line break, or start with '#'. Duplicate users are an
// error.
//
//	# mqgate password file
//	alice:$2y$10$...
//
// A user the file does not list is answered core.Ignore, so a chain can try
// another source; a listed user with a wrong or missing password gets
// core.Deny.
//
// # ACL file
//
// One rule per line, evaluated top to bottom; the first matching rule wins.
// Blank lines and lines whose first non-blank character is '#' are ignored;
// there are no trailing comments, because '#' is also a topic wildcard.
//
//	allow|deny  <who>  publish|subscribe|all  <topic filter pattern>
//
// who selects clients:
//
//	all              every client
//	user:<name>      clients authenticated as <name>
//	client:<id>      the client with client id <id>
//	ip:<addr>        clients connecting from <addr> (IPv4 or IPv6)
//	ip:<cidr>        clients connecting from within <cidr>, e.g. 10.0.0.0/8
//
// The pattern is the rest of the line: an MQTT topic filter in which "%u"
// stands for the client's username and "%c" for its client id. A rule whose
// placeholder would be replaced by an empty value or by one containing '+',
// '#' or '/' does not match, so a client named "#" cannot widen a rule
// (CVE-2017-7650).
//
// A publish matches when the topic matches the pattern. A subscribe matches
// when the pattern covers the requested filter: the filter equals the
// pattern or matches only topics the pattern matches ("sensors/#" covers
// "sensors/+/temp"; "sensors/+" does not cover "sensors/#"). Shared
// subscriptions are judged by their filter: "$share/{group}/" and "$queue/"
// are stripped first. As in MQTT, a pattern starting with '+' or '#' matches
// no topic starting with '$', and "a/#" also matches "a".
//
// When no rule matches, the ACL answers the default verdict given to
// LoadACL. testdata/auth/acl.conf is a commented example.
//
// # HTTP callbacks
//
// HTTP POSTs JSON to a service. Authentication sends
//
//	{"protocol","listener","namespace","clientid","username","password",
//	 "peerhost","cert_cn","mountpoint"}
//
// and authorization sends
//
//	{"protocol","clientid","username","peerhost","action","topic"}
//
// with action "publish" or "subscribe". The service answers 200 with
// {"result":"allow"|"deny"|"ignore"} or 204 for allow; any other status, a
// malformed body or a timeout is an error. Authorization verdicts are cached
// per request (all fields above) for CacheTTL; passwords are never cached.
//
// # Reload
//
// PasswordFile and ACL re-read their file on Reload and swap the parsed
// result atomically; a check never sees half a file, and a file with errors
// leaves the previous contents in force.
package auth
