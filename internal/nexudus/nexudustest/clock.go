package nexudustest

import "time"

// clock is the simulator's time: the base clock shifted by Advance, or a
// frozen instant after SetNow. Its users hold Server.mu.
type clock struct {
	base   func() time.Time
	fixed  time.Time
	frozen bool
	offset time.Duration
}

func (c *clock) now() time.Time {
	if c.frozen {
		return c.fixed
	}
	base := c.base
	if base == nil {
		base = time.Now
	}
	return base().Add(c.offset)
}

// Now returns the simulator clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock.now()
}

// SetNow freezes the simulator clock at t; Advance moves it.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.fixed, s.clock.frozen = t, true
}

// Advance moves the simulator clock forward by d (expiring tokens,
// sliding the throttle window, ageing presigned URLs).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clock.frozen {
		s.clock.fixed = s.clock.fixed.Add(d)
		return
	}
	s.clock.offset += d
}
