// Package hexfixture reads and writes the .hex byte-fixture files kept in
// testdata: '#' comment lines, some of them "key: value" headers, and a
// body of hex digits in any spacing. The protocol packages' packettest
// wrappers give the headers their meaning.
package hexfixture
