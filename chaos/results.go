package chaos

import (
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Results turns a timeline's events into the result's: the events themselves (seconds
// since the run start) and one FaultResult per scenario fault, in scenario order, with when
// it took effect and when it was rolled back. A fault that never started has its planned
// window and the error that kept it out ("not reached before the run ended" when no event
// names it). A restarted process (process.kill with restart-after) has ReadyS, when its
// first process.ready event came, and TimeToRestartS, from the kill to then. Recovery times
// are left at -1: they are judged from what was measured (reports.Recover).
func Results(faults []*scenarios.Fault, events []Event) ([]result.Event, []result.FaultResult) {
	type span struct {
		start, end, ready float64
		ok                bool
		err               string
	}
	spans := map[string]*span{}
	var evs []result.Event
	for _, ev := range events {
		evs = append(evs, result.Event{At: ev.At.Seconds(), Kind: ev.Kind, Name: ev.Fault, Detail: ev.Detail})
		s := spans[ev.Fault]
		if s == nil {
			s = &span{}
			spans[ev.Fault] = s
		}
		switch ev.Kind {
		case result.EventFaultStart:
			s.start, s.ok = ev.At.Seconds(), true
		case result.EventFaultEnd:
			s.end = ev.At.Seconds()
		case result.EventFaultError:
			s.err = ev.Detail
			s.end = ev.At.Seconds()
		case result.EventProcessReady:
			if s.ready == 0 {
				s.ready = ev.At.Seconds()
			}
		}
	}
	var out []result.FaultResult
	for _, f := range faults {
		fr := result.FaultResult{Name: f.Name, Kind: f.Kind, Target: f.Target,
			Start: f.At.Seconds(), End: f.End().Seconds(), RecoveryS: -1}
		if s := spans[f.Name]; s != nil {
			fr.Injected, fr.Error = s.ok, s.err
			if s.ok {
				fr.Start = s.start
			}
			if s.end > 0 {
				fr.End = s.end
			}
			if s.ok && s.ready > 0 {
				fr.ReadyS, fr.TimeToRestartS = s.ready, s.ready-fr.Start
			}
		} else {
			fr.Error = "not reached before the run ended"
		}
		out = append(out, fr)
	}
	return evs, out
}
