package main

import "testing"

// The hot pieces; the bodies are in hot.go, shared with the harness.
//
//	go test -run '^$' -bench 'Skip|State|MD5|ListPage' ./bench/

func BenchmarkSkipDecision(b *testing.B)     { benchSkipDecision(b) }
func BenchmarkStateRead(b *testing.B)        { benchStateRead(b) }
func BenchmarkStateWriteFsync(b *testing.B)  { benchStateWrite(false)(b) }
func BenchmarkStateWriteNoSync(b *testing.B) { benchStateWrite(true)(b) }
func BenchmarkMD5(b *testing.B)              { benchMD5(b) }
func BenchmarkDownloadMD5(b *testing.B)      { benchDownloadMD5(b) }
func BenchmarkListPage(b *testing.B)         { benchListPage(b) }
