package funchost

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// timerInfo is Data.<trigger name> for a timerTrigger.
type timerInfo struct {
	Schedule       timerSchedule   `json:"Schedule"`
	ScheduleStatus *scheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

type timerSchedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

type scheduleStatus struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// dotnetMinDate is DateTime.MinValue as Newtonsoft writes it: the Last of a
// schedule that has never run.
const dotnetMinDate = "0001-01-01T00:00:00"

// FireTimer invokes a timerTrigger function now (by Config.Now), as the host
// does when its schedule comes due. Data carries {"Schedule":
// {"AdjustForDST": true}, "ScheduleStatus": {"Last", "Next", "LastUpdated"},
// "IsPastDue"}: Last is the time of this Host's previous firing of the
// function (DateTime.MinValue before the first), Next the schedule's next
// occurrence after now, LastUpdated now. The error is about the harness (no
// such timer); whether the handler succeeded is in the Invocation.
func (h *Host) FireTimer(ctx context.Context, function string, pastDue bool) (Invocation, error) {
	fn := h.app.Function(function)
	if fn == nil || fn.Trigger.Type != TypeTimerTrigger {
		return Invocation{}, fmt.Errorf("funchost: fire timer: %q is not a timerTrigger function of the app", function)
	}
	if fn.Disabled {
		return Invocation{}, fmt.Errorf("funchost: fire timer: %s is disabled", fn.Name)
	}
	now := h.cfg.Now().UTC()
	h.mu.Lock()
	last, fired := h.timerLast[fn.Name]
	h.timerLast[fn.Name] = now
	h.mu.Unlock()

	status := &scheduleStatus{Last: dotnetMinDate, LastUpdated: now.Format(dotnetOffset)}
	if fired {
		status.Last = last.Format(dotnetOffset)
	}
	if next := h.schedules[fn.Name].Next(now); !next.IsZero() {
		status.Next = next.Format(dotnetOffset)
	}
	data := map[string]json.RawMessage{fn.Trigger.Name: mustJSON(timerInfo{
		Schedule:       timerSchedule{AdjustForDST: true},
		ScheduleStatus: status,
		IsPastDue:      pastDue,
	})}
	reason := fmt.Sprintf("Timer fired at %s", now.Format(dotnetOffset))
	return h.invoke(ctx, fn, TriggerTimer, reason, data, nil), nil
}

// RunTimers fires every enabled timer function when its schedule comes due
// (by Config.Now, waiting in real time) until ctx ends, and at once for
// functions with runOnStartup. It returns nil when ctx ends, or at once when
// the app has no timers.
func (h *Host) RunTimers(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, fn := range h.app.Functions {
		if fn.Trigger.Type != TypeTimerTrigger || fn.Disabled {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if fn.Trigger.RunOnStartup {
				_, _ = h.FireTimer(ctx, fn.Name, false)
			}
			for {
				now := h.cfg.Now()
				next := h.schedules[fn.Name].Next(now)
				if next.IsZero() {
					h.log.Warn("timer schedule never comes due", "function", fn.Name, "schedule", h.schedules[fn.Name].String())
					return
				}
				t := time.NewTimer(next.Sub(now))
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				_, _ = h.FireTimer(ctx, fn.Name, false)
			}
		}()
	}
	wg.Wait()
	return nil
}

// Run serves the HTTP front end on addr, polls the queues and fires the
// timers until ctx ends: the whole host, for local runs and demos.
func (h *Host) Run(ctx context.Context, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = h.RunQueues(ctx) }()
	go func() { defer wg.Done(); _ = h.RunTimers(ctx) }()
	err := h.Serve(ctx, addr)
	cancel()
	wg.Wait()
	return err
}
