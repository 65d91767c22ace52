package main

import "time"

// sizes are the scale of each measurement.
type sizes struct {
	name string

	newFiles, updatedFiles int

	backfillFiles int
	backfillSpan  time.Duration // history the files are spread over
	// backfillRPM and backfillRPH are the client's budget; the full run
	// uses the defaults. The smoke run lowers the hourly one so that a
	// few hundred files still cross it.
	backfillRPM, backfillRPH int

	latency        time.Duration
	wallFiles      int // no rate limit: latency-bound
	wallRatedFiles int // at the default rate limit; 0 skips

	bigFiles, bigBytes int
	idle               time.Duration

	scale int // also the mapped files of the audit

	repairFiles int // mapped files around the one the audit repairs

	polls, pollRecords int

	legalPerPoll, legalPolls int // new acceptances per 5-minute poll, steady polls
}

var fullSizes = sizes{
	name:     "full",
	newFiles: 2000, updatedFiles: 200,
	backfillFiles: 10_000, backfillSpan: 2 * 365 * 24 * time.Hour, backfillRPM: 100, backfillRPH: 4500,
	latency: 20 * time.Millisecond, wallFiles: 200, wallRatedFiles: 60,
	bigFiles: 100, bigBytes: 10 << 20, idle: 60 * time.Second,
	scale:       100_000,
	repairFiles: 2000,
	polls:       1000, pollRecords: 200,
	legalPerPoll: 150, legalPolls: 3,
}

var smokeSizes = sizes{
	name:     "smoke",
	newFiles: 150, updatedFiles: 20,
	backfillFiles: 300, backfillSpan: 60 * 24 * time.Hour, backfillRPM: 100, backfillRPH: 150,
	latency: 20 * time.Millisecond, wallFiles: 20, wallRatedFiles: 0,
	bigFiles: 4, bigBytes: 1 << 20, idle: 2 * time.Second,
	scale:       1000,
	repairFiles: 150,
	polls:       20, pollRecords: 30,
	legalPerPoll: 5, legalPolls: 2,
}
