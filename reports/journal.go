package reports

import (
	"fmt"
	"sort"
	"strings"

	"github.com/trendtactics/loadlab/result"
)

// JournalEntry is one line of a run's game-day journal.
type JournalEntry struct {
	At   float64 // seconds since the run start; -1 for lines before the run (the hypothesis)
	Text string
}

// Journal is the game-day record of a run, in time order: the hypothesis (the thresholds
// and the verification), what was injected and when, what clients saw in each fault's
// window, each rollback and recovery, the verification and the verdict.
func Journal(res *result.Result) []JournalEntry {
	var j []JournalEntry
	for _, t := range res.Thresholds {
		j = append(j, JournalEntry{-1, fmt.Sprintf("hypothesis: %s %s", t.Metric, t.Source)})
	}
	if v := res.Verification; v != nil {
		for _, c := range v.Checks {
			j = append(j, JournalEntry{-1, "hypothesis: verify " + c.Name})
		}
	}
	if l := capacityLine(res); l != "" {
		j = append(j, JournalEntry{0, "before the load: " + l})
	}
	j = append(j, JournalEntry{0, fmt.Sprintf("load started: %d iterations planned", res.Generator.Planned)})
	windows := map[string]*result.WindowStats{}
	for _, w := range res.Windows {
		if w != nil {
			windows[w.Name] = w
		}
	}
	recovery := map[string]result.FaultResult{}
	for _, f := range res.Faults {
		recovery[f.Name] = f
	}
	var timed []JournalEntry
	for _, ev := range res.Events {
		switch ev.Kind {
		case result.EventFaultStart:
			text := "injected " + ev.Name
			if ev.Detail != "" {
				text += ": " + ev.Detail
			}
			timed = append(timed, JournalEntry{ev.At, text})
		case result.EventFaultEnd:
			text := "rolled back " + ev.Name
			if w := windows[ev.Name]; w != nil && w.Total != nil {
				t := w.Total
				text += fmt.Sprintf("; during it clients saw %d responses, %s errors, p99 %s ms", t.Count, errorsCell(t), lat(t, t.Latency.P99))
			}
			if f, ok := recovery[ev.Name]; ok {
				if f.RecoveryS >= 0 {
					text += fmt.Sprintf("; recovered %s after", seconds(f.RecoveryS))
				} else {
					text += "; not recovered before the run ended"
				}
			}
			timed = append(timed, JournalEntry{ev.At, text})
		case result.EventFaultError:
			timed = append(timed, JournalEntry{ev.At, "fault " + ev.Name + " failed: " + ev.Detail})
		case result.EventProcessStarted:
			timed = append(timed, JournalEntry{ev.At, "restarted " + ev.Detail + " (" + ev.Name + ")"})
		case result.EventProcessReady:
			text := ev.Detail + " ready again (" + ev.Name + ")"
			if f, ok := recovery[ev.Name]; ok && f.ReadyS > 0 {
				text += fmt.Sprintf(", %s after the kill", seconds(f.TimeToRestartS))
				if f.RecoveryAfterRestartS >= 0 {
					text += fmt.Sprintf("; clients recovered %s after", seconds(f.RecoveryAfterRestartS))
				}
			}
			timed = append(timed, JournalEntry{ev.At, text})
		default:
			text := ev.Kind
			if ev.Name != "" {
				text += " " + ev.Name
			}
			if ev.Detail != "" {
				text += ": " + ev.Detail
			}
			timed = append(timed, JournalEntry{ev.At, text})
		}
	}
	for _, f := range res.Faults {
		if !f.Injected && f.Error != "" && !strings.HasPrefix(f.Error, "inject") {
			timed = append(timed, JournalEntry{f.Start, "fault " + f.Name + " not injected: " + f.Error})
		}
	}
	sort.SliceStable(timed, func(a, b int) bool { return timed[a].At < timed[b].At })
	j = append(j, timed...)
	end := res.DurationMS / 1000
	if res.StopReason != "" {
		j = append(j, JournalEntry{end, "load stopped early: " + res.StopReason})
	} else {
		j = append(j, JournalEntry{end, fmt.Sprintf("load ended: %d of %d iterations sent", res.Generator.Sent, res.Generator.Planned)})
	}
	if v := res.Verification; v != nil {
		for _, c := range v.Checks {
			state := "held"
			if !c.Pass {
				state = "FAILED"
			}
			figures := fmt.Sprintf("lost %d, unexpected %d, recovered %d, duplicated %d", c.Lost, c.Unexpected, c.Recovered, c.Duplicated)
			if c.Name == "reads-see-own-writes" {
				figures = strings.ReplaceAll(checkFigures(c), " · ", ", ")
			}
			j = append(j, JournalEntry{end, fmt.Sprintf("verification %s %s (%s)", c.Name, state, figures)})
		}
	}
	j = append(j, JournalEntry{end, "verdict: " + verdictSummary(res)})
	return j
}

// journalTime renders an entry's time: "before" for the hypothesis, else seconds.
func journalTime(e JournalEntry) string {
	if e.At < 0 {
		return "before"
	}
	return seconds(e.At)
}
