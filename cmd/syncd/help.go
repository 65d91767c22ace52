package main

import (
	"fmt"
	"io"
	"strings"
)

// helpEntry is one entry of `syncd help`.
type helpEntry struct {
	name, summary, help string
}

// helpEntries lists every command dispatch knows, in the order help shows
// them; the help of each is what `syncd COMMAND -h` prints, and needs no
// configuration.
var helpEntries = []helpEntry{
	{"run", "the daemon; or one poll (-once), a backfill (-backfill-from), a dry run (-dry-run)", `usage: syncd run [-config FILE] [-once] [-backfill-from TIME] [-dry-run]

With no flag, the daemon: polls at start and on sync.schedule, serves
/metrics, /healthz and /readyz on http.listen, and stops on SIGINT/SIGTERM
within sync.shutdown_timeout.

  -config FILE          configuration file (default $SYNCD_CONFIG, else /etc/syncd/syncd.yaml)
  -once                 poll once, then exit
  -backfill-from TIME   mirror every signed file updated since TIME (2021-01-01T00:00
                        or RFC 3339), window by window with progress, then exit;
                        resumes from its last completed window after a restart
  -dry-run              list what would be created or updated; write nothing anywhere
`},
	{"check-config", "load and validate the configuration, contacting nothing; warns on example placeholders", `usage: syncd check-config [-config FILE]

Loads and validates the configuration (secrets included) without contacting
anything, prints what would be mirrored where, and warns on values left from
the shipped examples. Exit 0 when it loads, 2 otherwise.

  -config FILE   configuration file (default $SYNCD_CONFIG, else /etc/syncd/syncd.yaml)
`},
	{"state", "inspect and repair the state file: ls, show, retry, forget, backup, rebuild", `usage: syncd state [-config FILE] SUBCOMMAND

  ls [-json]     every file syncd knows: status, CoreData id, md5, attempts, last error
  show ID        one file's whole entry, as JSON
  backup FILE    a consistent copy of the state file
  retry ID...    clear these files' backoff and parking; the next poll tries them again
  retry -parked  the same for every parked file
  retry -all     the same for every failing or parked file
  forget ID      drop what syncd knows of a file (nothing is deleted in CoreData)
  forget -backfill  abandon an unfinished backfill (state ls and every start name it until then)
  rebuild        restore the mappings from CoreData's nexudus-file-<Id> tags

IDs are Nexudus file Ids. ls, show and backup read the state file beside a
running daemon and need none of the secrets; retry, forget and rebuild need
the daemon stopped (exit 3 otherwise); rebuild talks to CoreData.

  -config FILE   configuration file (default $SYNCD_CONFIG, else /etc/syncd/syncd.yaml)
`},
	{"verify", "read-only audit: is each signed file in CoreData, once, unaltered? (-deep, -json)", `usage: syncd verify [-config FILE] [-from TIME] [-deep] [-json]

Checks every signed Nexudus file against CoreData and the state file, and
writes nothing anywhere (safe beside a running daemon). Each file is:
  ok         CoreData holds one file tagged for it, with the recorded bytes
  missing    no CoreData file under the parents is tagged nexudus-file-<Id>
  stale      Nexudus has newer bytes (a newer UpdatedOn; with -deep, other bytes)
  drift      CoreData's current digest (or file) is not the one syncd recorded
  duplicate  more than one CoreData file is tagged for it
  orphan     a tagged CoreData file whose Nexudus file is gone or unsigned
  unverified it could not be checked (unreadable record, failed -deep download)
Files of locations without a CoreData parent are counted as skipped.
Exit 0 when all is ok (orphans alone are not an error), 1 otherwise.

  -config FILE   configuration file (default $SYNCD_CONFIG, else /etc/syncd/syncd.yaml)
  -from TIME     only files updated since TIME (2021-01-01T00:00 or RFC 3339);
                 orphans are then not looked for
  -deep          download and hash each Nexudus file (one download per file)
                 instead of trusting the digest recorded at mirror time
  -json          one JSON object per line per file, instead of the summary
`},
	{"demo", "mirror sample contracts between built-in simulators; needs no account", `usage: syncd demo

Starts simulators of Nexudus and CoreData on loopback, mirrors sample
contracts into a temporary state file, runs again to show that nothing
is uploaded twice, then has a person delete a file in CoreData and shows
syncd verify finding it.
`},
	{"version", "print the version, commit, build date and Go version (also --version)", `usage: syncd version
`},
	{"help", "this text; syncd COMMAND -h for a command's flags", `usage: syncd help [COMMAND]
`},
}

const exitCodesText = `exit codes:
  0  success
  1  the poll failed or some files failed (each named by its Nexudus Id);
     verify: some file is not ok
  2  usage or configuration error
  3  the state file is locked by another process
`

// usage is the text of `syncd help`, `syncd -h` and of a usage error.
var usage = func() string {
	var b strings.Builder
	b.WriteString("syncd mirrors signed contracts from Nexudus into CoreData.\n\nusage: syncd COMMAND [flags]\n\ncommands:\n")
	for _, c := range helpEntries {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString("\n-config defaults to $SYNCD_CONFIG, else /etc/syncd/syncd.yaml.\n\n")
	b.WriteString(exitCodesText)
	return b.String()
}()

// wantsHelp reports whether a command's arguments ask for help (-h, -help
// or --help before any "--"), so that help never needs a configuration.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// printHelp prints the help of one command, or the overview.
func printHelp(w io.Writer, name string) error {
	if name == "" {
		fmt.Fprint(w, usage)
		return nil
	}
	for _, c := range helpEntries {
		if c.name == name {
			fmt.Fprint(w, c.help)
			return nil
		}
	}
	return &ExitError{Code: exitUsage, Err: fmt.Errorf("help: unknown command %q%w", name, errShowUsage)}
}
