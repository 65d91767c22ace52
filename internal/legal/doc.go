// Package legal holds the pure parts of mirroring terms acceptances
// (Nexudus CoworkerLegalContentAudits) into CoreData: the register's bytes,
// the register month, the tags, titles and file names, and the bytes of an
// accepted text. It does no I/O and knows neither the Nexudus nor the
// CoreData client; the engine feeds it plain values.
//
// # What is mirrored
//
// Each accepted version of a legal text (a LegalContentAudit record, joined
// to its acceptances by UniqueId) becomes one CoreData file: its Content as
// the file's bytes (TextBytes, ".md", TextFilename), titled from
// legal.text_title and tagged TextTag(UniqueId). The acceptances become one
// register per location and calendar month: a CSV file (Register,
// RegisterFilename) titled from legal.register_title and tagged
// RegisterTag(BusinessId, Month). A row whose version is not yet known has
// empty text_sha256 and text_coredata_id; it is never left out.
//
// # Choices
//
// The month comes from Nexudus' own wall clock. Month takes the
// acceptance's CreatedOn as Nexudus sent it, read in UTC: some tenants send
// their local wall-clock time followed by a literal "Z", and that cannot be
// detected from the value. Correcting it would need a guess at the
// tenant's zone, and reading it in syncd's zone would make the month depend
// on where and when syncd runs. Nexudus' value is the only thing every run
// (and a rebuild after a lost state file) agrees on, so an acceptance sent
// as "2024-02-01T00:30:00Z" is in register 2024-02 even if it really
// happened at 23:30 UTC on 31 January. A time with an offset is converted
// to UTC first, which is what the "Z" Nexudus normally sends means. Text
// titles render CreatedOn the same way (its UTC date).
//
// The register's CSV dialect is RFC 4180 and nothing else: UTF-8 without a
// byte order mark, CRLF after every record including the last, a comma
// between fields, a field quoted only when it holds a comma, a double
// quote, CR or LF, and a quote inside a quoted field doubled. Field bytes
// are written as given (invalid UTF-8 becomes U+FFFD): a CR or LF inside a
// Name is kept inside its quotes, not rewritten. Rows are sorted by Id (the
// last of several rows with one Id wins); CreatedOn is RFC 3339 in UTC
// with seconds, and with fractional seconds (no trailing zeros) only when
// the time has them. So the same acceptances always give the same bytes,
// whatever order they were read in, and a register can be rebuilt from
// Nexudus alone. Values are not escaped against spreadsheet formulas (a
// Name starting with "=" stays so): the register is evidence, and a prefix
// would change what it records. ParseRegister accepts exactly what Register
// writes, so a register it reads without error is reproduced byte for byte
// by Register; anything else (another dialect, unsorted rows, a time not in
// canonical form) is an error naming the line and column.
//
// A text's sha256 (text_sha256) is over its Content's bytes as Nexudus
// sent them: nothing is added or normalised (no trailing newline, no
// line-end or Unicode normalisation), so anyone holding the Content can
// check the hash. Only invalid UTF-8, which a JSON string cannot carry
// anyway, is replaced (one U+FFFD per bad byte), and TextBytes reports it.
package legal
